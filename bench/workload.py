"""What item 1's contenders all answer: freshly signed WeChat callback requests (plaintext or
safe mode) for the bank rules of infra/seed.py (BANK_RULES), and the check that every contender
answered each of them with the same reply.

The mix cycles through five messages: an exact hit (text reply), a contains hit (news reply), a
prefix hit, a regex hit and a miss (default reply).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

TOKEN = "benchtoken"
APP_ID = "wx5f3d0c9e7a1b2c4d"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_bench_account"
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
# exact (text), contains (news), prefix (text), regex (text), no rule (default text)
CONTENTS = ("余额", "我想办一张信用卡", "转账手续费是多少", "123456", "你好，请问营业时间")
Prepare = Callable[[list], Callable[[], list[str]]]


# -- the messages -----------------------------------------------------------------------------


def _text_xml(content: str, msg_id: int, ts: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>"
        f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def make_batch(count: int, aes: bool, first_id: int) -> list[tuple[dict[str, str], bytes]]:
    """`count` distinct, freshly signed callback requests (query, body); unique MsgIds so that no
    contender takes a retry shortcut."""
    from chalicelib.wechat.crypto import WeChatCrypto
    from chalicelib.wechat.signature import compute_signature

    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    ts = str(int(time.time()))
    batch = []
    for i in range(count):
        nonce = f"{1000000 + first_id + i}"
        xml = _text_xml(CONTENTS[i % len(CONTENTS)], first_id + i, ts)
        query = {
            "signature": compute_signature(TOKEN, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": OPENID,
        }
        if aes:
            enc = crypto.encrypt(xml)
            query["encrypt_type"] = "aes"
            query["msg_signature"] = compute_signature(TOKEN, ts, nonce, enc)
            body = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<Encrypt><![CDATA[{enc}]]></Encrypt></xml>"
            )
        else:
            body = xml
        batch.append((query, body.encode("utf-8")))
    return batch


def demo_rules() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from infra.seed import BANK_RULES, DEMO_DEFAULT, DEMO_SUBSCRIBE

    rules = [
        {"id": f"r{seq}", "enabled": True, "priority": 0, **rule, "seq": seq}
        for seq, rule in enumerate(BANK_RULES, start=1)
    ]
    return rules, {"subscribe": DEMO_SUBSCRIBE, "default": DEMO_DEFAULT}


# -- checking that everybody did the same work ------------------------------------------------


def expected_replies() -> list[str]:
    """Per CONTENTS entry: the reply's Content (text) or first article Title (news)."""
    from chalicelib.engine.replying import build_book, decide
    from chalicelib.wechat.messages import parse_message
    from chalicelib.wechat.xml import parse_xml

    book = build_book(demo_rules())
    out = []
    for i, content in enumerate(CONTENTS):
        reply = decide(parse_message(parse_xml(_text_xml(content, i + 1, "1"))), book).reply
        assert reply is not None
        out.append(reply.get("content") or reply["articles"][0]["title"])
    return out


def reply_text(body: str, aes: bool) -> str:
    """Decrypt (AES) and pull the Content / first article Title out of a reply body."""
    from chalicelib.wechat.crypto import WeChatCrypto
    from chalicelib.wechat.signature import compute_signature
    from chalicelib.wechat.xml import parse_xml

    if aes:
        outer = parse_xml(body.strip())
        crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
        signed = compute_signature(TOKEN, outer["TimeStamp"], outer["Nonce"], outer["Encrypt"])
        assert signed == outer["MsgSignature"], "reply signature does not verify"
        body = crypto.decrypt(outer["Encrypt"]).decode("utf-8")
    doc = parse_xml(body.strip())
    if doc.get("MsgType") != "news":
        return doc["Content"]
    articles = doc["Articles"]
    item = articles["item"] if isinstance(articles, dict) else articles[0]
    if isinstance(item, list):
        item = item[0]
    return item["Title"]


def check_same_work(prepare: Callable[[list], Callable[[], list[str]]], aes: bool) -> None:
    batch = make_batch(len(CONTENTS), aes, first_id=1)
    got = [reply_text(body, aes) for body in prepare(batch)()]
    want = expected_replies()
    assert got == want, f"replies differ: {got} != {want}"
