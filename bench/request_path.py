"""Item 1: CPU per message on the whole request path (storage excluded) vs wechatpy and WeRoBot.

Every contender does the same work for the same signed (and, in AES mode, encrypted) bodies:
check the signature, decrypt, parse, match the demo bank rules (infra/seed.py), build the reply,
render it and encrypt + sign it. Ours is the real `Callback.receive` with a `MemoryInbox` (the
dedup/log record, in memory) and a fixed rule book; it also checks the timestamp window and
records the message, which the peers do not do at all. Ours is measured twice:

- the peers' work (PEER_WORK): the path above, without the exactly-once side-effect items. The
  issue compares "the same work done with wechatpy", so this row carries the <= 0.5x target.
- the whole path (WHOLE): also builds the counter and follower items (chalicelib/store/effects.py)
  that ride in the message's one DynamoDB transaction; no peer keeps either, so it is reported
  with its ratio and no target.

- wechatpy 1.8: `check_signature`, `WeChatCrypto.decrypt_message`, `parse_message`,
  `create_reply(...).render()`, `WeChatCrypto.encrypt_message`. wechatpy has no keyword matcher,
  so it gets the loop its users write (rules in priority order, `==` / `in` / `startswith` /
  `re.search`). Its AES backend is `cryptography` when importable, else pycryptodome: both are
  measured and the faster one is the peer figure.
- WeRoBot 1.13: `BaseRoBot.check_signature`, `parse_message` (decrypts), `get_encrypted_reply`,
  with its own `filter`/`key_click`/`text` handlers (sessions off: storage is excluded).

Figures are this thread's CPU time (time.thread_time) per message, median over interleaved
rounds. The mix cycles through five messages: an exact hit (text reply), a contains hit (news
reply), a prefix hit, a regex hit and a miss (default reply).
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import pstats
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from bench.common import Row, Section, interleaved, quick, ratio, us, verdict

TOKEN = "benchtoken"
APP_ID = "wx5f3d0c9e7a1b2c4d"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = "gh_bench_account"
OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
# exact (text), contains (news), prefix (text), regex (text), no rule (default text)
CONTENTS = ("余额", "我想办一张信用卡", "转账手续费是多少", "123456", "你好，请问营业时间")

TARGET_AES = 0.5  # ours <= 0.5x the faster peer, AES mode
# The issue measures "the same work done with wechatpy": that row carries the target. It still does
# more than the peers (replay window, typed message, the dedup/log record in memory). The whole
# path adds the exactly-once counter and follower items no peer builds: reported next to it.
PEER_WORK = "wxless, the peers' work (+ replay window, dedup record)"
WHOLE = "wxless, whole path (+ exactly-once counters, follower record)"
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


# -- ours -------------------------------------------------------------------------------------


class FixedBook:
    """A book cache that never reloads: `Callback` only needs `.get()` (and `.last`)."""

    def __init__(self, book: Any) -> None:
        self.last = book

    def get(self) -> Any:
        return self.last


def demo_rules() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from infra.seed import DEMO_DEFAULT, DEMO_RULES, DEMO_SUBSCRIBE

    rules = [
        {"id": f"r{seq}", "enabled": True, "priority": 0, **rule, "seq": seq}
        for seq, rule in enumerate(DEMO_RULES, start=1)
    ]
    return rules, {"subscribe": DEMO_SUBSCRIBE, "default": DEMO_DEFAULT}


def our_callback() -> Any:
    from chalicelib.store.inbox import MemoryInbox

    from chalicelib.engine.replying import build_book
    from chalicelib.handlers.callback import Callback

    book = build_book(demo_rules())
    return Callback(TOKEN, APP_ID, AES_KEY, MemoryInbox(), FixedBook(book))


def ours(aes: bool) -> Callable[[list], Callable[[], list[str]]]:
    import os

    from chalicelib.store.inbox import MemoryInbox

    # Deployed functions always have both (infra/template.json Globals); unset, each read would
    # cost two failed environment lookups per message, which no deployment pays.
    os.environ.setdefault("WXLESS_TABLE_PREFIX", "wxless-bench")
    os.environ.setdefault("WXLESS_TIMEZONE", "Asia/Shanghai")
    callback = our_callback()

    def prepare(batch: list) -> Callable[[], list[str]]:
        callback.inbox = MemoryInbox()  # fresh dedup record: every message is a first delivery
        receive = callback.receive

        def run() -> list[str]:
            return [receive(query, body).body for query, body in batch]

        return run

    return prepare


def _xmltodict_parse_xml(body: bytes | str) -> dict[str, Any]:
    """The design card's parser: xmltodict, with the same size cap and DTD refusal as ours."""
    import xmltodict

    from chalicelib.wechat.errors import InvalidMessageError
    from chalicelib.wechat.xml import _DTD_RE, _to_bytes

    data = _to_bytes(body)
    if _DTD_RE.search(data):
        raise InvalidMessageError("DTD and entities are not allowed")
    try:
        doc = xmltodict.parse(data, disable_entities=True)
    except Exception as exc:
        raise InvalidMessageError("malformed XML") from exc
    root = doc.get("xml") if isinstance(doc, dict) else None
    if not isinstance(root, dict):
        raise InvalidMessageError("not a WeChat <xml> document")
    return {k: ("" if v is None else v) for k, v in root.items()}


@contextlib.contextmanager
def xmltodict_parser() -> Iterator[None]:
    """Swap our pyexpat parser for xmltodict where the request path calls it."""
    from chalicelib.handlers import callback as callback_module
    from chalicelib.wechat import crypto as crypto_module

    saved = (callback_module.parse_xml, crypto_module.parse_xml, crypto_module._ENVELOPE)
    callback_module.parse_xml = crypto_module.parse_xml = _xmltodict_parse_xml
    crypto_module._ENVELOPE = re.compile(rb"(?!)")  # no envelope shortcut: xmltodict parses it
    try:
        yield
    finally:
        callback_module.parse_xml, crypto_module.parse_xml, crypto_module._ENVELOPE = saved


def peer_work_only(base: Prepare) -> Prepare:
    """Ours doing only what the peers do: no side-effect items (message counters, follower
    record, campaign totals) are built. The dedup/log record still is."""
    from chalicelib.store import effects

    def prepare(batch: list) -> Callable[[], list[str]]:
        run = base(batch)

        def without_effects() -> list[str]:
            effects._load()
            saved = effects._providers[:]
            effects._providers[:] = []
            try:
                return run()
            finally:
                effects._providers[:] = saved

        return without_effects

    return prepare


def ours_with_xmltodict(aes: bool) -> Callable[[list], Callable[[], list[str]]]:
    base = ours(aes)

    def prepare(batch: list) -> Callable[[], list[str]]:
        run = base(batch)

        def patched() -> list[str]:
            with xmltodict_parser():
                return run()

        return patched

    return prepare


def cryptography_crypto() -> Any:
    """Our WeChatCrypto with AES done by `cryptography` (OpenSSL) instead of the design card's
    pycryptodome: same scheme, same checks, only the cipher calls differ."""
    import base64
    import os
    import struct

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    from chalicelib.wechat.crypto import WeChatCrypto

    class OpenSSLCrypto(WeChatCrypto):
        def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
            super().__init__(token, encoding_aes_key, app_id)
            self._cipher = Cipher(algorithms.AES(self._key), modes.CBC(self._iv))

        def _decrypt_blocks(self, data: bytes) -> bytes:
            decryptor = self._cipher.decryptor()
            return decryptor.update(data) + decryptor.finalize()

        def encrypt(self, msg: bytes | str, *, random_prefix: bytes | None = None) -> str:
            if isinstance(msg, str):
                msg = msg.encode("utf-8")
            prefix = os.urandom(16) if random_prefix is None else random_prefix
            plain = b"".join((prefix, struct.pack(">I", len(msg)), msg, self._app_id))
            pad = 32 - len(plain) % 32
            plain += bytes([pad]) * pad
            encryptor = self._cipher.encryptor()
            return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    return OpenSSLCrypto(TOKEN, AES_KEY, APP_ID)


def ours_with_cryptography(aes: bool) -> Callable[[list], Callable[[], list[str]]]:
    from chalicelib.store.inbox import MemoryInbox

    callback = our_callback()
    callback.crypto = cryptography_crypto()

    def prepare(batch: list) -> Callable[[], list[str]]:
        callback.inbox = MemoryInbox()
        receive = callback.receive
        return lambda: [receive(query, body).body for query, body in batch]

    return prepare


# -- peers ------------------------------------------------------------------------------------


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


def wechatpy_side(aes: bool, backend: str) -> Callable[[list], Callable[[], list[str]]]:
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


def werobot_side(aes: bool) -> Callable[[list], Callable[[], list[str]]]:
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


# -- breakdown of our AES path ----------------------------------------------------------------


def stage_breakdown(count: int) -> dict[str, float]:
    """CPU seconds per message for each stage of our AES path, measured inside the real
    `Callback.receive` (stages timed alone run 30-40% faster than in the pipeline: the whole path
    does not fit the CPU caches the way one stage looped on its own does).

    Each stage function (and each side-effect provider) is wrapped with a wall-clock timer for
    the run; the shares are then scaled to the run's thread CPU time, so time spent descheduled
    on this shared machine spreads over the stages instead of inflating them. "rest of receive"
    is what no wrapper covers (the timestamp check, reading the envelope by its one regex match, the
    inbox record, the answer) minus the wrappers' own cost. "parse envelope XML" appears only
    when envelopes fall back to parse_xml (never for the envelopes WeChat sends).
    """
    from chalicelib.handlers import callback as cb_module
    from chalicelib.store import effects
    from chalicelib.wechat import crypto as crypto_module

    acc: dict[str, int] = {}
    calls: dict[str, int] = {}
    clock = time.perf_counter_ns

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        acc.setdefault(name, 0)
        calls.setdefault(name, 0)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            try:
                return fn(*args, **kwargs)
            finally:
                acc[name] += clock() - start
                calls[name] += 1

        timed.__name__ = getattr(fn, "__name__", name)
        return timed

    callback = our_callback()
    crypto_cls = type(callback.crypto)
    candidates = [
        (crypto_module, "parse_xml", "parse envelope XML"),
        (crypto_module, "verify_msg_signature", "check msg_signature"),
        (crypto_cls, "decrypt", "AES decrypt"),
        (cb_module, "parse_xml", "parse message XML"),
        (cb_module, "parse_message", "typed message"),
        (cb_module.Callback, "flow_state", "flow state lookup"),
        (cb_module.Callback, "places_for", "places lookup"),
        (cb_module, "decide", "decide (rules, flows)"),
        (cb_module.Callback, "render", "render reply"),
        (cb_module, "inbox_entry", "inbox entry"),
        (cb_module, "_flow_writes", "flow writes"),
        (crypto_cls, "encrypt_reply", "encrypt + sign reply"),
    ]
    patches = [p for p in candidates if p[1] in vars(p[0])]  # the callback evolves
    saved = [(obj, attr, vars(obj)[attr]) for obj, attr, _ in patches]
    providers = list(getattr(effects, "_providers", []))
    try:
        for obj, attr, name in patches:
            original = vars(obj)[attr]
            if isinstance(original, staticmethod):
                setattr(obj, attr, staticmethod(wrap(name, original.__func__)))
            else:
                setattr(obj, attr, wrap(name, getattr(obj, attr)))
        receive = callback.receive
        for query, body in make_batch(50, True, first_id=800_000):
            receive(query, body)  # warm-up; also loads the effect providers
        providers = list(getattr(effects, "_providers", []))
        if providers:
            effects._providers[:] = [
                wrap(f"effect {p.__module__.rsplit('.', 1)[-1]}.{p.__name__}", p) for p in providers
            ]
        batch = make_batch(count, True, first_id=850_000)
        for name in acc:
            acc[name] = calls[name] = 0
        cpu_start = time.thread_time()
        start = clock()
        for query, body in batch:
            receive(query, body)
        wall = clock() - start
        cpu = (time.thread_time() - cpu_start) * 1e9
        noop = wrap("_noop", lambda: None)  # the wrappers' own cost, per wrapped call
        t0 = clock()
        for _ in range(count):
            noop()
        per_wrapper = (clock() - t0) / count
        del acc["_noop"], calls["_noop"]
    finally:
        for obj, attr, original in saved:
            setattr(obj, attr, original)
        if providers:
            effects._providers[:] = providers
    scale = cpu / wall if wall else 1.0
    wrapped_calls = sum(calls.values())
    out = {name: value * scale / count / 1e9 for name, value in acc.items() if calls[name]}
    rest = wall - sum(acc.values()) - per_wrapper * wrapped_calls
    out["rest of receive"] = max(0.0, rest * scale / count / 1e9)
    out["total (CPU, instrumented)"] = cpu / count / 1e9
    return out


def profile_ours(aes: bool, count: int, top: int = 30) -> str:
    """cProfile of our whole path: top functions by cumulative time, then by own time
    (cProfile's own overhead inflates small calls: read it for shape, not for figures)."""
    run = ours(aes)(make_batch(count, aes, first_id=900_000))
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return stream.getvalue()


def contenders_for(aes: bool, have: dict[str, bool]) -> dict[str, Prepare]:
    # The design card's packages both ways (the issue asks for it): xmltodict instead of our
    # parser, `cryptography` instead of pycryptodome.
    contenders: dict[str, Prepare] = {
        PEER_WORK: peer_work_only(ours(aes)),
        f"{PEER_WORK}, xmltodict parser": peer_work_only(ours_with_xmltodict(aes)),
    }
    if aes and have["cryptography"]:
        contenders[f"{PEER_WORK}, cryptography AES"] = peer_work_only(ours_with_cryptography(aes))
    contenders[WHOLE] = ours(aes)
    if aes and have["cryptography"]:
        contenders[f"{WHOLE}, cryptography AES"] = ours_with_cryptography(aes)
    if have["wechatpy"]:
        contenders["wechatpy (cryptography)"] = wechatpy_side(aes, "cryptography")
        if aes:  # the AES backend makes no difference without AES
            contenders["wechatpy (pycryptodome)"] = wechatpy_side(aes, "pycryptodome")
    if have["WeRoBot"]:
        contenders["WeRoBot"] = werobot_side(aes)
    return contenders


def measure(contenders: dict[str, Prepare], aes: bool, per_batch: int, repeat: int) -> dict:
    """Median seconds per message of each contender, interleaved rounds on shared batches."""
    batches: dict[int, list] = {}

    def timed(prepare: Prepare) -> Callable[[int], float]:
        def one_round(rep: int) -> float:
            if rep not in batches:
                batches[rep] = make_batch(per_batch, aes, 10_000 + rep * per_batch)
            fn = prepare(batches[rep])
            fn()  # warm up on this batch's objects; the timed run gets a fresh inbox
            fn = prepare(batches[rep])
            # CPU time of this thread: time spent descheduled by the machine's other tenants
            # does not count (their cache pollution still does: hence medians).
            start = time.thread_time()
            fn()
            return (time.thread_time() - start) / per_batch

        return one_round

    return interleaved({name: timed(p) for name, p in contenders.items()}, repeat=repeat)


def run() -> Section:
    small = quick()
    per_batch = 25 if small else 400
    repeat = 3 if small else 9
    section = Section()
    have = peers_available()
    for aes in (False, True):
        mode = "AES" if aes else "plaintext"
        contenders = contenders_for(aes, have)
        for prepare in contenders.values():
            check_same_work(prepare, aes)
        medians = measure(contenders, aes, per_batch, repeat)
        section.data[mode] = medians
        peers = {k: v for k, v in medians.items() if not k.startswith("wxless")}
        best_name = min(peers, key=peers.__getitem__) if peers else ""
        best = peers.get(best_name, float("nan"))
        section.data[f"{mode} best peer"] = (best_name, best)
        for name, value in medians.items():
            row = Row("1", f"request path, {mode}: {name}", us(value))
            if name.startswith("wxless") and peers:
                row.baseline = f"{best_name} {us(best)}"
                row.ratio = ratio(value, best)
            if aes and name == PEER_WORK:
                row.target = f"<= {TARGET_AES}x faster peer"
                row.met = verdict(value <= TARGET_AES * best) if peers else "n/a"
            elif aes and name == WHOLE:
                row.target = "report (no peer does this work)"
            section.rows.append(row)

    missing = [name for name, ok in have.items() if not ok and name != "cryptography"]
    if missing:
        section.notes.append(
            f"Item 1: {', '.join(missing)} not installed (pip install -r requirements-bench.txt):"
            " no peer figure for them."
        )
    breakdown = stage_breakdown(100 if small else 5_000)
    section.data["breakdown"] = breakdown
    parts = ", ".join(f"{k} {v * 1e6:.1f}" for k, v in breakdown.items())
    section.notes.append(
        f"Item 1, where our AES time goes (us/message, measured inside Callback.receive): {parts}."
    )
    aes_ours = section.data["AES"][PEER_WORK]
    best_name, best = section.data["AES best peer"]
    section.data["profile"] = profile_ours(True, 200 if small else 2_000)
    missed = " (the target is missed)" if best == best and aes_ours > TARGET_AES * best else ""
    section.notes.append(
        f"Item 1: cProfile of our whole AES path is in bench/results/profile.txt{missed}."
    )
    return section
