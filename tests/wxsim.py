"""An independent WeChat server simulator for tests: signs, encrypts and parses on its own.

It deliberately shares no code with chalicelib, so a test that passes shows the app agrees with a
second implementation of the protocol, not with itself.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import struct
import time
import xml.etree.ElementTree as ET
from urllib.parse import urlencode

from Crypto.Cipher import AES

TOKEN = "test-token"
APP_ID = "wx1234567890abcdef"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ADMIN = "test-admin-token"
ACCOUNT = "gh_bank_account"


def sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signed_query(
    token: str = TOKEN, *, ts: int | None = None, nonce: str = "n0nce", **extra: str
) -> dict:
    ts_s = str(int(time.time()) if ts is None else ts)
    return {"signature": sha1(token, ts_s, nonce), "timestamp": ts_s, "nonce": nonce, **extra}


def qs(params: dict) -> str:
    return urlencode(params)


def _cdata(value: str) -> str:
    return f"<![CDATA[{value}]]>"


def message_xml(fields: dict) -> str:
    parts = []
    for key, value in fields.items():
        if isinstance(value, int | float):
            parts.append(f"<{key}>{value}</{key}>")
        else:
            parts.append(f"<{key}>{_cdata(str(value))}</{key}>")
    return "<xml>" + "".join(parts) + "</xml>"


_counter = [int(time.time() * 1000)]


def next_msg_id() -> int:
    _counter[0] += 1
    return _counter[0]


# A retry is the same message: WeChat sends the first delivery's CreateTime again. Building the
# same MsgId twice here means a retry, so it gets the first CreateTime (as WeChat's would).
_created: dict[tuple[str, int], int] = {}


def created_at(openid: str, msg_id: int, create_time: int | None = None) -> int:
    if create_time:
        return create_time
    return _created.setdefault((openid, msg_id), int(time.time()))


def text(
    content: str,
    openid: str = "o_follower_1",
    msg_id: int | None = None,
    create_time: int | None = None,
) -> str:
    msg_id = msg_id or next_msg_id()
    return message_xml(
        {
            "ToUserName": ACCOUNT,
            "FromUserName": openid,
            "CreateTime": created_at(openid, msg_id, create_time),
            "MsgType": "text",
            "Content": content,
            "MsgId": msg_id,
        }
    )


def event(
    name: str, key: str = "", openid: str = "o_follower_1", create_time: int | None = None, **extra
) -> str:
    fields = {
        "ToUserName": ACCOUNT,
        "FromUserName": openid,
        "CreateTime": create_time or int(time.time()),
        "MsgType": "event",
        "Event": name,
    }
    if key:
        fields["EventKey"] = key
    fields.update(extra)
    return message_xml(fields)


def parse(xml_text: str) -> dict:
    root = ET.fromstring(xml_text)
    assert root.tag == "xml"
    out: dict = {}
    for child in root:
        if len(child):
            out[child.tag] = (
                [
                    {g.tag: g.text or "" for g in item} if len(item) else (item.text or "")
                    for item in child
                ]
                if child.tag == "Articles"
                else {g.tag: g.text or "" for g in child}
            )
        else:
            out[child.tag] = child.text or ""
    return out


class Crypto:
    def __init__(self, key: str = AES_KEY, app_id: str = APP_ID, token: str = TOKEN) -> None:
        self.key = base64.b64decode(key + "=")
        self.app_id = app_id
        self.token = token

    def encrypt(self, plain: str, prefix: bytes | None = None) -> str:
        body = plain.encode()
        raw = (
            (prefix or os.urandom(16)) + struct.pack(">I", len(body)) + body + self.app_id.encode()
        )
        pad = 32 - len(raw) % 32
        raw += bytes([pad]) * pad
        return base64.b64encode(
            AES.new(self.key, AES.MODE_CBC, self.key[:16]).encrypt(raw)
        ).decode()

    def decrypt(self, b64: str) -> tuple[str, str]:
        raw = AES.new(self.key, AES.MODE_CBC, self.key[:16]).decrypt(base64.b64decode(b64))
        raw = raw[: -raw[-1]]
        (length,) = struct.unpack(">I", raw[16:20])
        return raw[20 : 20 + length].decode(), raw[20 + length :].decode()

    def envelope(
        self, plain_xml: str, *, ts: int | None = None, nonce: str = "aesnonce"
    ) -> tuple[dict, str]:
        enc = self.encrypt(plain_xml)
        ts_s = str(int(time.time()) if ts is None else ts)
        query = {
            "signature": sha1(self.token, ts_s, nonce),
            "timestamp": ts_s,
            "nonce": nonce,
            "encrypt_type": "aes",
            "msg_signature": sha1(self.token, ts_s, nonce, enc),
        }
        body = (
            f"<xml><ToUserName>{_cdata(ACCOUNT)}</ToUserName><Encrypt>{_cdata(enc)}</Encrypt></xml>"
        )
        return query, body

    def open_reply(self, reply_xml: str) -> dict:
        outer = parse(reply_xml)
        expected = sha1(self.token, outer["TimeStamp"], outer["Nonce"], outer["Encrypt"])
        assert outer["MsgSignature"] == expected, "reply signature does not verify"
        plain, app_id = self.decrypt(outer["Encrypt"])
        assert app_id == self.app_id
        return parse(plain)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
