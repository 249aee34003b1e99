"""Decide what to answer a message with. Pure: no storage, no HTTP.

Order for a text message: the follower's pick after a knowledge-base clarifying question, the
follower's active flow (engine/flows.py), then flow entries and keyword rules by priority (a flow
entry wins a tie), then the knowledge base (engine/faq.py), then the default reply. Clicks:
click rules and flow click entries. A location message: the nearest points (engine/geo.py).
Subscribe: the subscribe reply. A subscribe or SCAN through a channel QR code: that code's reply,
when it has one (else a subscribe gets the subscribe reply). Flow state, points and the clock are
passed in, so this stays pure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.engine import flows as flow_engine
from chalicelib.engine.rules import RuleSet, compile_rules
from chalicelib.wechat.messages import Message

if TYPE_CHECKING:
    from chalicelib.engine import faq as faq_engine
    from chalicelib.engine.faq_index import FaqIndex
    from chalicelib.engine.geo import PlaceBook  # geo loads with the first location (cold start)

# WeChat accepts one article when a reply answers a follower's message (since 2018-10-12) and up
# to eight when it answers an event; more breaks the reply.
MAX_ARTICLES_MESSAGE = 1
MAX_ARTICLES_EVENT = 8


@dataclass(slots=True)
class ReplyBook:
    rules: RuleSet
    subscribe: dict[str, Any] | None = None
    default: dict[str, Any] | None = None
    flows: flow_engine.FlowBook = flow_engine.EMPTY
    # QR code scene -> {"id", "reply"} of every channel code that has a reply
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(slots=True)
class Decision:
    reply: dict[str, Any] | None
    # rule | default | subscribe | none | location | flow.<step> | faq | faq_clarify | channel
    outcome: str
    rule_id: str | None = None
    flow: flow_engine.FlowStep | None = None  # flow state + counters to write with the message

    @property
    def answered(self) -> bool:
        return self.reply is not None


NOTHING = Decision(None, "none")


def build_book(data: tuple[Any, ...]) -> ReplyBook:
    """`(rules, specials)`, `(rules, specials, flows)` or `(rules, specials, flows, channels)`."""
    rules, specials, *more = data
    flows = flow_engine.compile_flows(more[0]) if more else flow_engine.EMPTY
    channels = dict(more[1]) if len(more) > 1 else {}
    return ReplyBook(
        compile_rules(rules), specials.get("subscribe"), specials.get("default"), flows, channels
    )


def max_articles(message: Message) -> int:
    return MAX_ARTICLES_EVENT if message.is_event else MAX_ARTICLES_MESSAGE


def decide(
    message: Message,
    book: ReplyBook | None,
    *,
    flow: flow_engine.FlowState | None = None,
    places: PlaceBook | None = None,
    now: float | None = None,
    faq: Callable[[], FaqIndex | None] | None = None,
) -> Decision:
    """`book` is None when storage failed before any rule set was ever loaded.

    `flow`: the follower's flow state as read (NO_STATE when they have none; None when it was
    not read, e.g. for events, or could not be). `places`: the points of service, for location
    messages. `now`: epoch seconds (flow timeouts). `faq`: the knowledge base's index, asked
    for only when a text reaches it.
    """
    if now is None:
        now = time.time()
    if message.msg_type == "location" and places is not None:
        return _nearest(places, message, MAX_ARTICLES_MESSAGE)
    if book is None:
        return NOTHING
    if message.is_event:
        event = message.event
        if event in ("subscribe", "scan"):
            channel = _channel(book, message)
            if channel is not None:
                return channel
        if event == "subscribe":
            return Decision(book.subscribe, "subscribe") if book.subscribe else NOTHING
        if event == "click":
            rule = book.rules.match_click(message.event_key)
            entry = book.flows.match_click(message.event_key)
            if entry is not None and (rule is None or entry.priority >= _priority(rule)):
                return _from_turn(flow_engine.enter(entry, None, now))  # state not read
            return Decision(rule["reply"], "rule", rule["id"]) if rule else NOTHING
        if (
            event == "location"
            and places is not None
            and places.settings.get("answer_location_events")
        ):
            return _nearest(places, message, MAX_ARTICLES_EVENT)
        return NOTHING
    if message.msg_type == "text":
        content = message.content  # type: ignore[attr-defined]
        carried: flow_engine.FlowStep | None = None
        # The knowledge base's modules load with the first text that reaches it (cold start).
        from chalicelib.engine import faq as faq_engine

        if faq_engine.pending(flow):  # a clarifying question: "1" / "2" answers it
            asked, flow = flow, flow_engine.FlowState(step=flow.step)  # type: ignore[union-attr]
            picked = faq_engine.answer_choice(faq() if faq else None, asked, content, now)
            if picked is not None:
                return _from_faq(picked)
        if flow is not None and flow.active:
            turn = flow_engine.take_turn(book.flows, flow, content, now)
            if turn.outcome is not None:
                return _from_turn(turn)
            carried = turn.step  # timed out / let go: recorded with whatever answers instead
        rule = book.rules.match_text(content)
        entry = book.flows.match_text(content)
        if entry is not None and (rule is None or entry.priority >= _priority(rule)):
            counters = carried.counters if carried else ()
            return _from_turn(flow_engine.enter(entry, flow, now, counters))
        if rule is not None:
            return Decision(rule["reply"], "rule", rule["id"], carried)
        if faq is not None:
            turn = faq_engine.respond(faq(), content, flow, now, carried)
            if turn is not None:
                return _from_faq(turn)
        if book.default:
            return Decision(book.default, "default", None, carried)
        return Decision(None, "unanswered", None, carried)
    return NOTHING


def _channel(book: ReplyBook, message: Message) -> Decision | None:
    """The reply of the channel code a subscribe (`qrscene_<scene>`) or a SCAN (`<scene>`)
    came through, if it has one."""
    if not book.channels:
        return None
    scene = getattr(message, "scene", None) if message.event == "subscribe" else message.event_key
    code = book.channels.get(scene) if scene else None
    if code is None:
        return None
    return Decision(code["reply"], "channel", f"qrcode:{code['id']}")


def _priority(rule: dict[str, Any]) -> int:
    try:
        return int(rule.get("priority") or 0)
    except (TypeError, ValueError):
        return 0


def _from_turn(turn: flow_engine.Turn) -> Decision:
    return Decision(turn.reply, turn.outcome or "none", f"flow:{turn.flow_id}", turn.step)


def _from_faq(turn: faq_engine.Turn) -> Decision:
    return Decision(turn.reply, turn.outcome, turn.entry_id, turn.step)


def _nearest(places: PlaceBook, message: Message, articles: int) -> Decision:
    lat = message.latitude  # type: ignore[attr-defined]
    lng = message.longitude  # type: ignore[attr-defined]
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return NOTHING
    reply = places.answer(lat, lng, max_articles=articles)
    return Decision(reply, "location") if reply else NOTHING
