"""The knowledge base's quality counters, summed from the messages stream (chalicelib/aggregate
/faq_quality.py).

Counter items live in the analytics table: `pk = <account>#q#<k>` (k: a hash of the entry id
over SHARDS, so a busy day's counters spread over a few items), `sk = <local date>`, with
numeric attributes `a:<entry>` (answers), `g:<entry>` (the follower asked again within
FOLLOW_UP seconds) and `h:<entry>` (the follower asked for a human). A range is SHARDS Queries.
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

from chalicelib.store import analytics, ddb, keys
from chalicelib.store.guard import guarded

SHARDS = 16
FOLLOW_UP = 120  # seconds: a message within this of an answer is a follow-up to it
COUNTERS = {"a": "answered", "g": "asked_again", "h": "human"}


def shard(entry_id: str) -> int:
    return zlib.crc32(entry_id.encode()) % SHARDS


def item_key(entry_id: str, day: str) -> dict[str, Any]:
    return ddb.key(keys.scoped("q", str(shard(entry_id))), day)


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
