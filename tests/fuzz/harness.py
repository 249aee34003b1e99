"""A callback with no AWS behind it: the in-memory inbox and a fixed rule book.

Shared by the hypothesis properties and the atheris harness, so both drive the exact code path
the Lambda runs from the signature check to the rendered (and encrypted) answer.
"""

from __future__ import annotations

from chalicelib.engine.memory_inbox import MemoryInbox
from chalicelib.engine.pipeline import Pipeline
from chalicelib.engine.replying import ReplyBook
from chalicelib.engine.rules import compile_rules
from tests import wxsim

RULES = [
    {
        "id": "r1",
        "name": "exact",
        "match": "exact",
        "keywords": ["余额"],
        "priority": 1,
        "enabled": True,
        "seq": 1,
        "reply": {"type": "text", "content": "balance"},
    },
    {
        "id": "r2",
        "name": "contains",
        "match": "contains",
        "keywords": ["卡"],
        "priority": 0,
        "enabled": True,
        "seq": 2,
        "reply": {"type": "news", "articles": [{"title": "t", "url": "https://e.com"}] * 3},
    },
    {
        "id": "r3",
        "name": "regex",
        "match": "regex",
        "keywords": [r"^\d{6}$"],
        "priority": 2,
        "enabled": True,
        "seq": 3,
        "reply": {"type": "text", "content": "code"},
    },
    {
        "id": "r4",
        "name": "click",
        "match": "click",
        "keywords": ["K"],
        "priority": 0,
        "enabled": True,
        "seq": 4,
        "reply": {"type": "image", "media_id": "m"},
    },
]


class StaticBook:
    def __init__(self) -> None:
        self.book = ReplyBook(
            compile_rules(RULES),
            subscribe={"type": "text", "content": "welcome"},
            default={"type": "text", "content": "default"},
        )
        self.last = self.book

    def get(self) -> ReplyBook:
        return self.book


def make_callback() -> Pipeline:
    return Pipeline(
        wxsim.TOKEN, wxsim.APP_ID, wxsim.AES_KEY, inbox=MemoryInbox(), book=StaticBook()
    )
