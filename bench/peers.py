"""Item 1's peers: the same callback work done with wechatpy 1.8 and WeRoBot 1.13 (bench-only
dependencies, requirements-bench.txt), storage excluded on every side.

- wechatpy: `check_signature`, `WeChatCrypto.decrypt_message`, `parse_message`,
  `create_reply(...).render()`, `WeChatCrypto.encrypt_message`. wechatpy has no keyword matcher,
  so it gets the loop its users write (rules in priority order, `==` / `in` / `startswith` /
  `re.search`). Its AES backend is `cryptography` when importable, else pycryptodome: both are
  measured and the faster one is the peer figure.
- WeRoBot: `BaseRoBot.check_signature`, `parse_message` (decrypts), `get_encrypted_reply`, with
  its own `filter`/`key_click`/`text` handlers (sessions off).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from bench.workload import AES_KEY, APP_ID, TOKEN, Prepare, demo_rules


def peers_available() -> dict[str, bool]:
    found = {}
    pairs = (("wechatpy", "wechatpy"), ("WeRoBot", "werobot"), ("cryptography", "cryptography"))
    for name, module in pairs:
        try:
            __import__(module)
            found[name] = True
        except ImportError:
            found[name] = False
    return found


def _plain_matcher() -> Callable[[str], dict[str, Any] | None]:
    """What a wechatpy user writes: the same rules, tried in priority order."""
    rules, specials = demo_rules()
    ordered = sorted(rules, key=lambda r: (-r["priority"], r["seq"]))
    tests: list[tuple[Callable[[str], bool], dict[str, Any]]] = []
    for rule in ordered:
        kws = rule["keywords"]
        match = rule["match"]
        if match == "exact":
            tests.append((lambda c, kws=frozenset(kws): c.strip() in kws, rule["reply"]))
        elif match == "contains":
            tests.append((lambda c, kws=kws: any(k in c for k in kws), rule["reply"]))
        elif match == "prefix":
            tests.append((lambda c, kws=tuple(kws): c.strip().startswith(kws), rule["reply"]))
        elif match == "regex":
            pats = [re.compile(k) for k in kws]
            tests.append((lambda c, pats=pats: any(p.search(c) for p in pats), rule["reply"]))
    default = specials["default"]

    def decide(content: str) -> dict[str, Any] | None:
        for test, reply in tests:
            if test(content):
                return reply
        return default

    return decide


def wechatpy_side(aes: bool, backend: str) -> Prepare:
    """`backend`: "cryptography" or "pycryptodome" (wechatpy picks the first importable)."""
    from wechatpy import create_reply, parse_message
    from wechatpy.crypto import WeChatCrypto as WxCrypto
    from wechatpy.crypto import base as wx_base
    from wechatpy.replies import TransferCustomerServiceReply
    from wechatpy.utils import check_signature

    if backend == "pycryptodome":
        from wechatpy.crypto import pycrypto as cipher_module
    else:
        from wechatpy.crypto import cryptography as cipher_module
    crypto = WxCrypto(TOKEN, AES_KEY, APP_ID)
    decide = _plain_matcher()

    def handle(query: dict[str, str], body: bytes) -> str:
        ts, nonce = query["timestamp"], query["nonce"]
        check_signature(TOKEN, query["signature"], ts, nonce)
        xml = crypto.decrypt_message(body, query["msg_signature"], ts, nonce) if aes else body
        msg = parse_message(xml)
        reply = decide(msg.content) if msg.type == "text" else None
        if reply is None:
            return "success"
        kind = reply["type"]
        if kind == "text":
            out = create_reply(reply["content"], msg)
        elif kind == "news":
            articles = [
                {
                    "title": a.get("title", ""),
                    "description": a.get("description", ""),
                    "image": a.get("pic_url", ""),
                    "url": a.get("url", ""),
                }
                for a in reply["articles"][:1]
            ]
            out = create_reply(articles, msg)
        else:
            out = TransferCustomerServiceReply(message=msg)
        rendered = out.render()
        return crypto.encrypt_message(rendered, nonce, ts) if aes else rendered

    def prepare(batch: list) -> Callable[[], list[str]]:
        def run() -> list[str]:
            saved = wx_base.WeChatCipher
            wx_base.WeChatCipher = cipher_module.WeChatCipher
            try:
                return [handle(query, body) for query, body in batch]
            finally:
                wx_base.WeChatCipher = saved

        return run

    return prepare


def _werobot_answer(reply: dict[str, Any], transfer: Any) -> Callable[[Any], Any]:
    """A one-argument handler (WeRoBot passes as many arguments as the handler declares)."""
    if reply["type"] == "text":
        text = reply["content"]
        return lambda message: text
    if reply["type"] == "news":
        first = reply["articles"][0]
        article = [
            first.get("title", ""),
            first.get("description", ""),
            first.get("pic_url", ""),
            first.get("url", ""),
        ]
        return lambda message: [article]
    return lambda message: transfer(message=message)


def werobot_side(aes: bool) -> Prepare:
    import logging

    from werobot.replies import TransferCustomerServiceReply
    from werobot.robot import BaseRoBot

    logging.getLogger("WeRoBot").setLevel(logging.ERROR)
    robot = BaseRoBot(token=TOKEN, app_id=APP_ID, encoding_aes_key=AES_KEY if aes else None)
    robot.config["SESSION_STORAGE"] = False  # storage is excluded on every side
    rules, specials = demo_rules()
    # WeRoBot runs text handlers in registration order: register by priority, ties by seq.
    for rule in sorted(rules, key=lambda r: (-r["priority"], r["seq"])):
        answer = _werobot_answer(rule["reply"], TransferCustomerServiceReply)
        kws = rule["keywords"]
        if rule["match"] == "exact":
            robot.filter(*kws)(answer)
        elif rule["match"] == "contains":
            robot.filter(*[re.compile(".*" + re.escape(k)) for k in kws])(answer)
        elif rule["match"] == "prefix":
            robot.filter(*[re.compile(re.escape(k)) for k in kws])(answer)
        elif rule["match"] == "regex":
            robot.filter(*[re.compile(k) for k in kws])(answer)
        else:  # click
            for key in kws:
                robot.key_click(key)(answer)
    default_text = specials["default"]["content"]
    robot.text(lambda message: default_text)

    def handle(query: dict[str, str], body: bytes) -> str:
        ts, nonce = query["timestamp"], query["nonce"]
        if not robot.check_signature(ts, nonce, query["signature"]):
            raise ValueError("bad signature")
        message = robot.parse_message(
            body, timestamp=ts, nonce=nonce, msg_signature=query.get("msg_signature")
        )
        return robot.get_encrypted_reply(message)

    def prepare(batch: list) -> Callable[[], list[str]]:
        return lambda: [handle(query, body) for query, body in batch]

    return prepare
