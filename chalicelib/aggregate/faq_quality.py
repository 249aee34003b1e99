"""What a batch of logged messages tells about the knowledge base's answers: per entry and
local day, how often it answered, and how often the follower's next text (within FOLLOW_UP
seconds) asked again or asked for a human: signs of a bad answer (store/faq_stats.py).

A follower's texts come in order, one shard each. The answer a batch's first text follows may
sit in an earlier batch: the follower record's trail (`fq`, written by the follower summary
from `trail()` below) says which entry answered their last text, and when. A trail written by
this very batch (a redelivery) is not used, so a redelivered batch counts nothing twice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from chalicelib.engine.faq import looks_like_choice
from chalicelib.store import analytics, faq_stats
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


def trail(group: Sequence[Any]) -> tuple[str | None, bool]:
    """(the trail to keep on the follower's record, whether to clear it) after their batch."""
    texts = _texts(group)
    if not texts:
        return None, False
    last = texts[-1]
    if last.outcome == FAQ and last.rule_id:
        return faq_stats.trail(last.rule_id, last.at, last.seq), False
    return None, True


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
    firsts = {openid: texts[0] for openid, texts in by_follower.items()}
    trails = faq_stats.read_trails(o for o, first in firsts.items() if may_follow_up(first))
    for openid, texts in by_follower.items():
        previous: tuple[str, int] | None = None
        found = trails.get(openid)
        if found is not None and found[2] < firsts[openid].seq:
            previous = (found[0], found[1])
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
