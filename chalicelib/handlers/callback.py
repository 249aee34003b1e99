"""The WeChat callback: `GET /wechat` (URL verification) and `POST /wechat` (messages).

The Chalice routes are the first and last lines; everything between is plain functions so the
benchmark and unit tests drive the same path without HTTP.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from chalice import Blueprint, Response

from chalicelib import config
from chalicelib.cms.links import is_article_reply
from chalicelib.engine.cache import SnapshotCache
from chalicelib.engine.flows import FlowState, conflict_fallback
from chalicelib.engine.geo import PlaceBook, build_place_book
from chalicelib.engine.replying import Decision, ReplyBook, build_book, decide, max_articles
from chalicelib.store import effects
from chalicelib.store.inbox import DynamoInbox, Inbox, InboxEntry, WriteConflict
from chalicelib.wechat import signature
from chalicelib.wechat.crypto import WeChatCrypto
from chalicelib.wechat.errors import InvalidMessageError, PayloadTooLarge, SignatureError
from chalicelib.wechat.messages import Message, parse_message
from chalicelib.wechat.replies import render_reply
from chalicelib.wechat.xml import MAX_BODY, parse_xml

log = logging.getLogger("wxless.callback")
bp = Blueprint(__name__)

XML = "application/xml; charset=utf-8"
TEXT = "text/plain; charset=utf-8"
SUCCESS = "success"


@dataclass(slots=True)
class Answer:
    status: int
    body: str
    content_type: str = TEXT


def inbox_entry(message: Message, decision: Decision, reply_xml: str) -> InboxEntry:
    """The message-log item for a message: what the callback writes and a replay rebuilds."""
    return InboxEntry(
        msg_id=message.dedup_key,
        openid=message.from_user,
        msg_type=(message.event and f"event.{message.event}") or message.msg_type,
        content=message.summary(),
        created_at=message.create_time,
        rule_id=decision.rule_id,
        outcome=decision.outcome,
        reply=reply_xml,
        raw=message.raw,
    )


class Callback:
    """Everything one message needs, built once per container (and per settings, for tests)."""

    def __init__(
        self,
        token: str,
        app_id: str,
        aes_key: str,
        inbox: Inbox,
        book: SnapshotCache[ReplyBook] | Any,
        places: SnapshotCache[PlaceBook] | Any = None,
        read_flow_state: Any = None,
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
        self.inbox = inbox
        self.book = book
        self.places = places  # points of service, loaded only when a location arrives
        self.read_flow_state = read_flow_state or _read_flow_state

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
    def receive(self, query: dict[str, str], body: bytes) -> Answer:
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
                inner = self.crypto.decrypt_message(
                    body, query.get("msg_signature"), timestamp, nonce
                )
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

        reply_xml = self.respond(message)
        if not reply_xml:
            return Answer(200, SUCCESS)
        if aes:
            try:
                return Answer(200, self.crypto.encrypt_reply(reply_xml, nonce=nonce), XML)
            except Exception:
                log.exception("callback.encrypt_bug")
                return Answer(200, SUCCESS)
        return Answer(200, reply_xml, XML)

    def respond(self, message: Message) -> str:
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
            reply_xml = self.render(message, decision)
            entry = inbox_entry(message, decision, reply_xml)
            try:
                writes = effects.collect(message, decision, now)
                if decision.flow is not None:
                    writes = [*_flow_writes(message.from_user, decision, now), *writes]
                stored = self.inbox.record(entry, writes)
            except WriteConflict as exc:
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
                self._store_failed(entry, exc)
                return reply_xml
            except Exception as exc:
                self._store_failed(entry, exc)
                return reply_xml
            if stored is not None:  # a retry: the first delivery's answer, nothing new happens
                return stored
            return reply_xml
        raise AssertionError("unreachable")

    @staticmethod
    def _decide(
        message: Message,
        book: ReplyBook | None,
        state: FlowState | None,
        places: PlaceBook | None,
        now: float,
    ) -> Decision:
        try:
            return decide(message, book, flow=state, places=places, now=now)
        except Exception:
            log.exception("callback.decide_bug")
            return Decision(book.default if book else None, "default")

    def flow_state(self, message: Message, book: ReplyBook | None) -> FlowState | None:
        """The follower's flow state: one consistent GetItem, for text messages only and only
        while some flow is enabled. None when not read (or unreadable: decide without it)."""
        if message.msg_type != "text" or book is None or not book.flows:
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
    def _store_failed(entry: InboxEntry, exc: Exception) -> None:
        # The message must not be lost: this line carries everything needed to replay it, sealed
        # (chalicelib.logsafe), so the logs never hold the openid or the follower's words in clear.
        from chalicelib import logsafe

        replay = {
            "msg_id": entry.msg_id,
            "openid": entry.openid,
            "created_at": entry.created_at,
            "outcome": entry.outcome,
            "rule_id": entry.rule_id,
            "raw": entry.raw,
        }
        log.error(
            json.dumps(
                {
                    "event": "callback.store_failed",
                    "error": type(exc).__name__,
                    "follower": logsafe.follower(entry.openid),
                    "sealed": logsafe.seal(replay),
                },
                ensure_ascii=False,
            )
        )

    @staticmethod
    def render(message: Message, decision: Decision) -> str:
        if decision.reply is None:
            return ""
        try:
            reply = decision.reply
            if is_article_reply(reply):  # news by CMS article id: today's titles and links
                from chalicelib.store import articles  # CMS code loads when a reply needs it

                reply = articles.expand_reply(reply)
                if reply is None:  # none of them is published (any more): nothing to send
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


# -- wiring ---------------------------------------------------------------------------------
_callback: Callback | None = None
_callback_key: tuple[str, ...] | None = None


def _load_book_data() -> tuple[int, Any]:
    from chalicelib.store import flows as flows_store
    from chalicelib.store import rules as rules_store

    version, rules, specials = rules_store.load_snapshot()
    return version, (rules, specials, flows_store.list_flows())


def _read_version() -> int:
    from chalicelib.store import rules as rules_store

    return rules_store.read_version()


def _read_flow_state(openid: str) -> FlowState:
    from chalicelib.store import flows as flows_store

    return flows_store.read_state(openid)


def _flow_writes(openid: str, decision: Decision, now: float) -> list[dict[str, Any]]:
    from chalicelib.store import flows as flows_store

    return flows_store.step_writes(openid, decision.flow, now)


def _points_cache() -> SnapshotCache[PlaceBook]:
    from chalicelib.store import points as points_store

    return SnapshotCache(points_store.read_version, points_store.load_snapshot, build_place_book)


def book_cache() -> SnapshotCache[ReplyBook]:
    return get_callback().book


def get_callback() -> Callback:
    """Built lazily (chalice local sets the environment before import; tests change it)."""
    global _callback, _callback_key
    key = (
        config.get(config.WECHAT_TOKEN),
        config.get(config.WECHAT_APP_ID),
        config.get(config.WECHAT_ENCODING_AES_KEY),
        config.get(config.TABLE_PREFIX),
    )
    if _callback is None or key != _callback_key:
        cache = SnapshotCache(_read_version, _load_book_data, build_book)
        _callback = Callback(key[0], key[1], key[2], DynamoInbox(), cache, _points_cache())
        _callback_key = key
    return _callback


def reset() -> None:
    global _callback, _callback_key
    _callback = None
    _callback_key = None


def _reply(answer: Answer) -> Response:
    return Response(
        answer.body, status_code=answer.status, headers={"Content-Type": answer.content_type}
    )


@bp.route("/wechat", methods=["GET"])
def wechat_verify() -> Response:
    query = bp.current_request.query_params or {}
    return _reply(get_callback().verify(dict(query)))


@bp.route("/wechat", methods=["POST"], content_types=["text/xml", "application/xml"])
def wechat_receive() -> Response:
    request = bp.current_request
    query = dict(request.query_params or {})
    try:
        answer = get_callback().receive(query, request.raw_body or b"")
    except Exception:  # last line of defence: WeChat never sees a 5xx
        log.exception("callback.unhandled")
        answer = Answer(200, SUCCESS)
    return _reply(answer)
