"""Decide what to answer a message with. Pure: no storage, no HTTP.

Order: keyword/click rules, then the special replies (subscribe, default). Flows and location
answers slot in before the rules as they land.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.engine.rules import RuleSet, compile_rules
from chalicelib.wechat.messages import Message

# WeChat accepts one article when a reply answers a follower's message (since 2018-10-12) and up
# to eight when it answers an event; more breaks the reply.
MAX_ARTICLES_MESSAGE = 1
MAX_ARTICLES_EVENT = 8


@dataclass(slots=True)
class ReplyBook:
    rules: RuleSet
    subscribe: dict[str, Any] | None = None
    default: dict[str, Any] | None = None


@dataclass(slots=True)
class Decision:
    reply: dict[str, Any] | None
    outcome: str  # rule | default | subscribe | none
    rule_id: str | None = None

    @property
    def answered(self) -> bool:
        return self.reply is not None


NOTHING = Decision(None, "none")


def build_book(data: tuple[list[dict[str, Any]], dict[str, Any]]) -> ReplyBook:
    rules, specials = data
    return ReplyBook(compile_rules(rules), specials.get("subscribe"), specials.get("default"))


def max_articles(message: Message) -> int:
    return MAX_ARTICLES_EVENT if message.is_event else MAX_ARTICLES_MESSAGE


def decide(message: Message, book: ReplyBook | None) -> Decision:
    """`book` is None when storage failed before any rule set was ever loaded."""
    if book is None:
        return NOTHING
    if message.is_event:
        event = message.event
        if event == "subscribe":
            return Decision(book.subscribe, "subscribe") if book.subscribe else NOTHING
        if event == "click":
            rule = book.rules.match_click(message.event_key)
            return Decision(rule["reply"], "rule", rule["id"]) if rule else NOTHING
        return NOTHING
    if message.msg_type == "text":
        rule = book.rules.match_text(message.content)  # type: ignore[attr-defined]
        if rule is not None:
            return Decision(rule["reply"], "rule", rule["id"])
        if book.default:
            return Decision(book.default, "default")
        return Decision(None, "unanswered")
    return NOTHING
