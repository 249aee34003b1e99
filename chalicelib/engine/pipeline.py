"""One WeChat message, from request to answer: verify -> decrypt -> parse -> decide -> render ->
record. No HTTP and no AWS: storage comes in as ports (the inbox, the flow-state reader, the
rule and points snapshots, the article expander), built by the composition root
(chalicelib/wiring.py), so the benchmark, the fuzzers and the unit tests drive this same path.

Recording is one conditional write of the message's log entry, which is also its dedup record
(store/messages.py). Everything else a message causes (counters, follower records, listings,
flow and campaign statistics) is summed later from the messages table's stream
(chalicelib/aggregate): nothing written here is shared between followers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib import logsafe
from chalicelib.engine.flows import FlowState, FlowStep, conflict_fallback
from chalicelib.engine.replying import Decision, ReplyBook, decide, max_articles
from chalicelib.wechat import notices, signature
from chalicelib.wechat.crypto import WeChatCrypto
from chalicelib.wechat.errors import InvalidMessageError, PayloadTooLarge, SignatureError
from chalicelib.wechat.messages import Message, parse_message
from chalicelib.wechat.replies import render_reply
from chalicelib.wechat.xml import MAX_BODY, parse_xml

if TYPE_CHECKING:
    from chalicelib.engine.faq_index import FaqIndex
    from chalicelib.engine.geo import PlaceBook  # geo loads with the first location (cold start)

log = logging.getLogger("wxless.callback")

XML = "application/xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
SUCCESS = "success"
MAX_EVENT_KEY = 200  # chars of an EventKey kept in the timeline key and the log

BaseUrl = Callable[[], str]


def _no_base() -> str:
    return ""


@dataclass(slots=True)
class Answer:
    status: int
    body: str
    content_type: str = TEXT


@dataclass(slots=True)
class LogEntry:
    """One message as the follower's timeline records it: the dedup record, the log line and
    everything the stream aggregator needs (`facts`), in one item."""

    openid: str
    created_at: int  # WeChat's CreateTime
    delivery: str  # this delivery within the follower's timeline: "m:<MsgId>" or "e:<event>:<key>"
    kind: str  # text, image, ..., event.subscribe, ...
    content: str
    outcome: str  # rule | default | unanswered | subscribe | none | location | flow.<step> | ...
    rule_id: str | None
    reply: str  # the rendered plaintext reply XML; "" for `success`
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def msg_id(self) -> str:
        """The admin API's msg_id: WeChat's MsgId, or the event dedup key."""
        return msg_id_of(self.openid, self.created_at, self.delivery)

    @property
    def key(self) -> str:
        """The entry's key in the follower's timeline (its dedup identity, NOTES.md "Dedup keys"):
        a message is its MsgId alone, whatever CreateTime a retry carries; an event is its
        CreateTime, Event and EventKey. MsgIds are length-prefixed so that they sort as numbers
        (WeChat's grow with time), events by CreateTime."""
        return timeline_key(self.created_at, self.delivery)


def timeline_key(created_at: int, delivery: str) -> str:
    kind, _, rest = delivery.partition(":")
    if kind == "m":
        return f"m:{len(rest):02d}{rest}"
    return f"e:{max(0, int(created_at)):010d}:{rest}"


def delivery_of_key(key: str) -> str:
    """The delivery a timeline key was made from (timeline_key's inverse, without the time)."""
    kind, _, rest = key.partition(":")
    if kind == "m":
        return f"m:{rest[2:]}"
    return f"e:{rest[11:]}"


def log_type(kind: str) -> dict[str, str]:
    """An entry's kind as the admin log shows it: `msg_type` is WeChat's MsgType (`event` for
    every event) and an event also has its name (kind `event.subscribe` -> event `subscribe`)."""
    if kind.startswith("event."):
        return {"msg_type": "event", "event": kind[6:]}
    return {"msg_type": kind}


def kind_of(entry: dict[str, Any]) -> str:
    """log_type's inverse: the kind of an entry as the admin log shows it."""
    event = entry.get("event")
    return f"event.{event}" if event and entry["msg_type"] == "event" else entry["msg_type"]


def msg_id_of(openid: str, created_at: int, delivery: str) -> str:
    kind, _, rest = delivery.partition(":")
    return rest if kind == "m" else f"{openid}:{created_at}:{rest}"


def delivery_of(message: Message) -> str:
    """Identity of one delivery (NOTES.md "Dedup keys"): MsgId for messages, event + EventKey
    for events (with the openid and CreateTime, which the timeline key already holds). Events
    carry a job id as MsgID (completion events), so they never use it. A message without MsgId
    (WeChat always sends one; a hand-made document may not) is told apart by a digest of the
    document: a retry repeats it, a second message of the same second does not."""
    if not message.is_event:
        msg_id = message.msg_id
        if msg_id:
            return f"m:{msg_id}"
        document = json.dumps(message.raw, sort_keys=True, ensure_ascii=False)
        digest = hashlib.sha1(document.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        return f"e:{message.msg_type}:#{digest}"
    return f"e:{message.event or message.msg_type}:{message.event_key[:MAX_EVENT_KEY]}"


def log_entry(message: Message, decision: Decision, reply_xml: str) -> LogEntry:
    """The log entry of a message: what the callback writes and a replay rebuilds."""
    facts: dict[str, Any] = {}
    if message.is_event:
        if message.event_key:
            facts["key"] = message.event_key[:MAX_EVENT_KEY]
        scene = getattr(message, "scene", None)
        if scene:
            facts["scene"] = scene[:64]
        if message.event in ("masssendjobfinish", "templatesendjobfinish") and message.msg_id:
            facts["job"] = _job_facts(message)
        if message.event in notices.EVENTS:  # consents, subscribe sends, publish jobs
            notice = notices.facts(message.event, message.raw)
            if notice:
                facts["notice"] = notice
    if decision.flow is not None and decision.flow.counters:
        facts["flow"] = [[f, n or "", c] for f, n, c in decision.flow.counters]
    return LogEntry(
        openid=message.from_user,
        created_at=message.create_time,
        delivery=delivery_of(message),
        kind=(message.event and f"event.{message.event}") or message.msg_type,
        content=message.summary(),
        outcome=decision.outcome,
        rule_id=decision.rule_id,
        reply=reply_xml,
        facts=facts,
    )


def _job_facts(message: Message) -> dict[str, Any]:
    job: dict[str, Any] = {"id": str(message.msg_id), "status": str(getattr(message, "status", ""))}
    for name in ("total_count", "filter_count", "sent_count", "error_count"):
        if hasattr(message, name):
            job[name] = int(getattr(message, name) or 0)
    return job


class WriteConflict(Exception):
    """The flow step's own condition failed (another message of the same follower moved the
    flow meanwhile): nothing was written."""


class Inbox(Protocol):
    def record(self, entry: LogEntry, flow: FlowStep | None = None) -> str | None:
        """Store a first delivery (with its flow step, atomically) and return None, or return
        the stored reply of a retry and write nothing. Raises WriteConflict when the flow step
        lost a race, anything else when storage failed."""


class Snapshot(Protocol):
    """A cached snapshot (engine.cache.SnapshotCache): `get()` may fail; `last` survives."""

    def get(self) -> Any: ...


class Pipeline:
    """Everything one message needs, built once per container (and per settings)."""

    def __init__(
        self,
        token: str,
        app_id: str,
        aes_key: str,
        *,
        inbox: Inbox,
        previous_aes_key: Callable[[], str] | None = None,
        book: Snapshot,
        places: Snapshot | None = None,
        read_flow_state: Callable[[str], FlowState] | None = None,
        expand_reply: Callable[[dict[str, Any], BaseUrl], dict[str, Any] | None] | None = None,
        faq: Snapshot | None = None,
    ) -> None:
        self.token = token
        self.app_id = app_id
        self.crypto: WeChatCrypto | None = None
        if aes_key:
            try:
                self.crypto = WeChatCrypto(token, aes_key, app_id)
            except ValueError:
                # A mistyped key must not take plaintext mode down with it.
                log.error("callback.bad_aes_key: WECHAT_ENCODING_AES_KEY is not a valid key")
        # The key before the last EncodingAESKey change, read only when the current key fails
        # (so the current key's path costs nothing more), and built once per value.
        self.previous_aes_key = previous_aes_key
        self._previous: tuple[str, WeChatCrypto | None] = ("", None)
        self.inbox = inbox
        self.book = book
        self.places = places  # points of service, loaded only when a location arrives
        self.read_flow_state = read_flow_state
        self.expand_reply = expand_reply  # news by CMS article id -> today's titles and links
        self.faq = faq  # the knowledge base's index, loaded when a text first reaches it

    # -- GET: URL verification ------------------------------------------------------------
    def verify(self, query: dict[str, str]) -> Answer:
        try:
            signature.check_signature(
                self.token, query.get("signature"), query.get("timestamp"), query.get("nonce")
            )
        except SignatureError:
            return Answer(403, "forbidden")
        echostr = query.get("echostr")
        if not echostr:
            return Answer(403, "forbidden")
        return Answer(200, echostr)

    # -- POST: one message ----------------------------------------------------------------
    def receive(self, query: dict[str, str], body: bytes, base_url: BaseUrl = _no_base) -> Answer:
        """`base_url`: where this app's pages are (news replies link to them), asked only when a
        reply needs it."""
        if len(body) > MAX_BODY:
            return Answer(413, "payload too large")
        aes = query.get("encrypt_type", "").lower() == "aes"
        timestamp, nonce = query.get("timestamp"), query.get("nonce")
        try:
            # Both signature checks check the timestamp window first (a replay is a 403,
            # whatever its body).
            if aes:
                if self.crypto is None:
                    signature.check_timestamp(timestamp)
                    return Answer(400, "safe mode is not configured")
                crypto = self.crypto
                encrypt = crypto.signed_payload(body, query.get("msg_signature"), timestamp, nonce)
                try:
                    inner = crypto.decrypt(encrypt)
                except InvalidMessageError:
                    # Signed by our token but not decryptable with the current key: WeChat may
                    # still use the previous one (an EncodingAESKey change in progress).
                    crypto = self.previous_crypto()
                    if crypto is None:
                        raise
                    inner = crypto.decrypt(encrypt)
                    log.info("callback.previous_aes_key: decrypted with the previous key")
            else:
                signature.check_signature(self.token, query.get("signature"), timestamp, nonce)
                inner = body
            message = parse_message(parse_xml(inner))
        except SignatureError:
            return Answer(403, "forbidden")
        except PayloadTooLarge:
            return Answer(413, "payload too large")
        except InvalidMessageError as exc:
            return Answer(400, f"bad request: {exc}")
        except Exception:  # a bug while validating: we cannot call it valid
            log.exception("callback.validate_bug")
            return Answer(400, "bad request")

        reply_xml = self.respond(message, base_url)
        if not reply_xml:
            return Answer(200, SUCCESS)
        if aes:
            try:
                # With the key that decrypted the message: the one WeChat uses right now.
                return Answer(200, crypto.encrypt_reply(reply_xml, nonce=nonce), XML)
            except Exception:
                log.exception("callback.encrypt_bug")
                return Answer(200, SUCCESS)
        return Answer(200, reply_xml, XML)

    def previous_crypto(self) -> WeChatCrypto | None:
        """The previous EncodingAESKey's crypto (WECHAT_ENCODING_AES_KEY_PREVIOUS), or None."""
        if self.previous_aes_key is None or self.crypto is None:
            return None
        try:
            key = self.previous_aes_key()
        except Exception:  # SSM unreachable: keep what we had
            log.warning("callback.previous_aes_key_unread", exc_info=True)
            return self._previous[1]
        if not key or key == self._previous[0]:
            return self._previous[1] if key else None
        try:
            crypto: WeChatCrypto | None = WeChatCrypto(self.token, key, self.app_id)
        except ValueError:
            log.error("callback.bad_aes_key: WECHAT_ENCODING_AES_KEY_PREVIOUS is not a valid key")
            crypto = None
        self._previous = (key, crypto)
        return crypto

    def respond(self, message: Message, base_url: BaseUrl = _no_base) -> str:
        """Decide, render, record. Never raises: a fault degrades to the best answer we have."""
        try:
            book = self.book.get()
        except Exception:
            log.warning("callback.rules_unavailable", exc_info=True)
            book = getattr(self.book, "last", None)
        now = time.time()
        state = self.flow_state(message, book)
        places = self.places_for(message)
        decision = self._decide(message, book, state, places, now)
        for attempt in (1, 2, 3):
            reply_xml = self.render(message, decision, base_url)
            entry = log_entry(message, decision, reply_xml)
            try:
                stored = self.inbox.record(entry, decision.flow)
            except WriteConflict:
                # A flow step raced another message of the same follower (its condition on the
                # step read failed; nothing was written). Re-read and decide again once; after
                # a second loss answer the current node's fallback and change nothing.
                if attempt == 1 and book is not None:
                    log.info("callback.flow_conflict: re-deciding")
                    state = self.flow_state(message, book)
                    decision = self._decide(message, book, state, places, now)
                    continue
                if attempt == 2 and book is not None:
                    fallback = conflict_fallback(book.flows, state)
                    decision = Decision(fallback, "flow.conflict", decision.rule_id)
                    continue
                self._store_failed(message, entry, "WriteConflict")
                return reply_xml
            except Exception as exc:
                self._store_failed(message, entry, type(exc).__name__)
                return reply_xml
            if stored is not None:  # a retry: the first delivery's answer, nothing new happens
                return stored
            return reply_xml
        raise AssertionError("unreachable")

    def _decide(
        self,
        message: Message,
        book: ReplyBook | None,
        state: FlowState | None,
        places: PlaceBook | None,
        now: float,
    ) -> Decision:
        faq = self.faq_index if self.faq is not None else None
        try:
            return decide(message, book, flow=state, places=places, now=now, faq=faq)
        except Exception:
            log.exception("callback.decide_bug")
            return Decision(book.default if book else None, "default")

    def faq_index(self) -> FaqIndex | None:
        """The knowledge base's snapshot; on a storage fault the last one (or none)."""
        if self.faq is None:
            return None
        try:
            return self.faq.get()
        except Exception:
            log.warning("callback.faq_unavailable", exc_info=True)
            return getattr(self.faq, "last", None)

    def flow_state(self, message: Message, book: ReplyBook | None) -> FlowState | None:
        """The follower's flow state: one consistent GetItem, for text messages only and only
        while some flow is enabled, or when the text may answer a knowledge-base clarifying
        question ("1", "第二个"). None when not read (or unreadable: decide without it)."""
        if message.msg_type != "text" or book is None:
            return None
        if not book.flows:
            if self.faq is None:
                return None
            from chalicelib.engine.faq import looks_like_choice  # loaded with the first text

            if not (looks_like_choice(message.content) and self.faq_index()):  # type: ignore[attr-defined]
                return None
        if self.read_flow_state is None:
            return None
        try:
            return self.read_flow_state(message.from_user)
        except Exception:
            log.warning("callback.flow_state_unavailable", exc_info=True)
            return None

    def places_for(self, message: Message) -> PlaceBook | None:
        """The points snapshot, for location messages and LOCATION events only."""
        if self.places is None or message.msg_type not in ("location", "event"):
            return None
        if message.msg_type == "event" and message.event != "location":
            return None
        try:
            return self.places.get()
        except Exception:
            log.warning("callback.points_unavailable", exc_info=True)
            return getattr(self.places, "last", None)

    @staticmethod
    def _store_failed(message: Message, entry: LogEntry, error: str) -> None:
        # The message must not be lost: this line carries everything needed to replay it, sealed
        # (chalicelib.logsafe), so the logs never hold the openid or the follower's words in clear.
        replay = {
            "msg_id": entry.msg_id,
            "openid": entry.openid,
            "created_at": entry.created_at,
            "outcome": entry.outcome,
            "rule_id": entry.rule_id,
            "raw": message.raw,
        }
        log.error(
            json.dumps(
                {
                    "event": "callback.store_failed",
                    "error": error,
                    "follower": logsafe.follower(entry.openid),
                    "sealed": logsafe.seal(replay),
                },
                ensure_ascii=False,
            )
        )

    def render(self, message: Message, decision: Decision, base_url: BaseUrl = _no_base) -> str:
        if decision.reply is None:
            return ""
        try:
            reply = decision.reply
            if self.expand_reply is not None:
                reply = self.expand_reply(reply, base_url)
                if reply is None:  # none of its articles is published (any more)
                    log.warning("callback.no_published_articles: %s", decision.reply)
                    return ""
            return render_reply(
                reply,
                to_user=message.from_user,
                from_user=message.to_user,
                create_time=int(time.time()),
                max_articles=max_articles(message),
            )
        except Exception:
            log.exception("callback.render_bug")
            return ""
