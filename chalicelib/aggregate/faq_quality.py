"""What a batch of logged messages tells about the knowledge base's answers: per entry and
local day, how often it answered, and how often the follower's next text (within FOLLOW_UP
seconds) asked again or asked for a human: signs of a bad answer (store/faq_stats.py).

A follower's texts come in order, one shard each. The answer a batch's first text follows may
sit in an earlier batch: it is read from the follower's own timeline (the text just before it,
by MsgId), only for a first text that can follow an answer up at all. The timeline holds what
WeChat sent, not what an aggregator wrote, so a redelivered batch reads the same and counts
nothing twice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.engine.faq import looks_like_choice
from chalicelib.engine.pipeline import timeline_key
from chalicelib.store import analytics, faq_stats, messages
from chalicelib.store.ledger import Part, Target

# A follow-up asking for a person.
HUMAN = re.compile(r"人工|客服|真人|转接|投诉|找人|有人吗|柜员|经理")
# A follow-up that says thanks or "got it": the answer did its job.
_ACK = re.compile(
    r"^(谢谢|多谢|感谢|谢了|好的?|好吧|嗯+|哦+|噢|ok|okay|知道了?|明白了?|懂了|收到|了解|行|可以了?|"
    r"没问题|👍|thanks?|thank you)+(你|您|啦|了|哈|呀)*$"
)
_STRIP = re.compile(r"[\s\W_]+")
FAQ = "faq"
ASKED_AGAIN = ("default", "unanswered", "faq_clarify")


def _ack(content: str) -> bool:
    text = _STRIP.sub("", unicodedata.normalize("NFKC", content).casefold())
    return not text or bool(_ACK.match(text)) or looks_like_choice(content)


def _texts(records: Sequence[Any]) -> list[Any]:
    return [r for r in records if r.kind == "text"]


def _follow_up(answer: tuple[str, int], record: Any) -> str | None:
    """ "g" (asked again) or "h" (asked for a human) when `record` follows the answer."""
    entry_id, at = answer
    if record.at - at > faq_stats.FOLLOW_UP or record.at < at:
        return None
    if HUMAN.search(record.content):
        return "h"
    if _ack(record.content):
        return None
    if record.outcome in ASKED_AGAIN or (record.outcome == FAQ and record.rule_id == entry_id):
        return "g"
    return None


def _answer_before(record: Any) -> tuple[str, int] | None:
    """(entry, time) when the follower's text just before `record` was answered from the
    knowledge base."""
    key = timeline_key(record.created_at, record.delivery)
    for text in messages.texts_before(record.openid, key):
        if text["outcome"] != FAQ or not text["rule_id"]:
            return None
        received = text["received_ms"] / 1000 or text["created_at"]
        return str(text["rule_id"]), analytics.event_time(text["created_at"], received)
    return None


def may_follow_up(record: Any) -> bool:
    """Whether `record` is a follow-up of some answer: of one to the entry it was itself given,
    just before it (the most `_follow_up` can say yes to). When not, no answer before it counts
    it, and the trail before a follower's first text need not be read."""
    return _follow_up((record.rule_id or "", record.at), record) is not None


def targets(records: Sequence[Any]) -> list[Target[Any]]:
    tallies: dict[tuple[str, str], list[Part[dict[str, int]]]] = {}

    def count(entry_id: str, at: int, seq: str, kind: str) -> None:
        day, _hour = analytics.local_day_hour(at)
        tallies.setdefault((entry_id, day), []).append(Part(seq, {f"{kind}:{entry_id}": 1}))

    by_follower: dict[str, list[Any]] = {}
    for record in _texts(records):
        by_follower.setdefault(record.openid, []).append(record)
    if not by_follower:
        return []
    # The answer before each follower's first text of the batch, if an earlier batch holds it:
    # only for a first text that can follow one up (a keyword reply cannot: no read for it).
    firsts = [texts[0] for texts in by_follower.values() if may_follow_up(texts[0])]
    with ThreadPoolExecutor(max_workers=min(8, len(firsts) or 1)) as pool:
        found = pool.map(_answer_before, firsts)
        answers = dict(zip((r.openid for r in firsts), found, strict=True))
    for openid, texts in by_follower.items():
        previous = answers.get(openid)
        for record in texts:
            if previous is not None:
                kind = _follow_up(previous, record)
                if kind is not None:
                    count(previous[0], previous[1], record.seq, kind)
            if record.outcome == FAQ and record.rule_id:
                count(record.rule_id, record.at, record.seq, "a")
                previous = (record.rule_id, record.at)
            else:
                previous = None
    table = analytics.table_name()
    return [
        Target(table, faq_stats.item_key(entry_id, day), parts, analytics.hour_update)
        for (entry_id, day), parts in tallies.items()
    ]
