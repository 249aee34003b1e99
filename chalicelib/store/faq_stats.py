"""The knowledge base's quality counters, summed from the messages stream (chalicelib/aggregate
/faq_quality.py), and the follower trail they are paired with.

Counter items live in the analytics table: `pk = <account>#q#<k>` (k: a hash of the entry id
over SHARDS, so a busy day's counters spread over a few items), `sk = <local date>`, with
numeric attributes `a:<entry>` (answers), `g:<entry>` (the follower asked again within
FOLLOW_UP seconds) and `h:<entry>` (the follower asked for a human). A range is SHARDS Queries.

The trail: a follower's record (store/followers.py) carries `fq = "<entry>|<at>|<seq>"` while
their last text was answered by the knowledge base, so a follow-up that arrives in a later
stream batch is still paired with the answer before it (one BatchGetItem per batch).
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable
from typing import Any

from chalicelib.store import analytics, ddb, followers, keys
from chalicelib.store.guard import guarded

SHARDS = 16
FOLLOW_UP = 120  # seconds: a message within this of an answer is a follow-up to it
COUNTERS = {"a": "answered", "g": "asked_again", "h": "human"}


def shard(entry_id: str) -> int:
    return zlib.crc32(entry_id.encode()) % SHARDS


def item_key(entry_id: str, day: str) -> dict[str, Any]:
    return ddb.key(keys.scoped("q", str(shard(entry_id))), day)


def trail(entry_id: str, at: int, seq: str) -> str:
    return f"{entry_id}|{at}|{seq}"


def parse_trail(value: Any) -> tuple[str, int, str] | None:
    if not isinstance(value, str) or value.count("|") < 2:
        return None
    entry_id, at, seq = value.rsplit("|", 2)
    try:
        return entry_id, int(at), seq
    except ValueError:
        return None


def read_trails(openids: Iterable[str]) -> dict[str, tuple[str, int, str]]:
    """The trail of each of these followers that has one (eventually consistent reads: the
    previous batch's follower writes finished before this batch was handed over)."""
    wanted = [ddb.key(followers.follower_key(o)) for o in dict.fromkeys(openids)]
    items = ddb.batch_get(followers.table_name(), wanted, projection="pk, fq", profile="bulk")
    found: dict[str, tuple[str, int, str]] = {}
    for item in items:
        parsed = parse_trail(item.get("fq"))
        if parsed is not None:
            found[keys.natural(item["pk"])] = parsed
    return found


@guarded
def quality(first: dt.date, last: dt.date) -> dict[str, dict[str, int]]:
    """entry id -> {"answered", "asked_again", "human"} over the local dates first..last."""
    out: dict[str, dict[str, int]] = {}
    for k in range(SHARDS):
        found = ddb.query(
            {
                "TableName": analytics.table_name(),
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
                "ExpressionAttributeValues": {
                    ":pk": ddb.ser(keys.scoped("q", str(k))),
                    ":lo": ddb.ser(first.isoformat()),
                    ":hi": ddb.ser(last.isoformat()),
                },
            }
        )
        for item in found:
            for attr, value in item.items():
                kind, sep, entry_id = attr.partition(":")
                if not sep or kind not in COUNTERS or not isinstance(value, int | float):
                    continue
                row = out.setdefault(entry_id, dict.fromkeys(COUNTERS.values(), 0))
                row[COUNTERS[kind]] += int(value)
    return out
