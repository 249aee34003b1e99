"""Scans and subscribes per channel (QR code scene), summed from the messages stream.

Counter items in the `analytics` table, written by the stream aggregator once per batch and
key, exactly once (store.ledger):

    pk = "<account>#qr#<scene>"    sk = "<local date>"   scans, subscribes   (one per day)
                                   sk = "total"          scans, subscribes   (all time)

A `subscribe` through a code is a scan and a subscribe; a `SCAN` (already following) is a scan.
The listing of codes reads the `total` items (one BatchGetItem per 100 codes); a code's daily
figures are one Query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from chalicelib.store import analytics, ddb, keys
from chalicelib.store.guard import guarded

TOTAL = "total"
COUNTERS = ("scans", "subscribes")


def scene_pk(scene: str) -> str:
    return keys.scoped("qr", scene)


def day_key(scene: str, day: str) -> dict[str, Any]:
    return ddb.key(scene_pk(scene), day)


def total_key(scene: str) -> dict[str, Any]:
    return ddb.key(scene_pk(scene), TOTAL)


def tally(event: str | None) -> dict[str, int] | None:
    """What one event adds to its channel's counters (None: nothing)."""
    if event == "subscribe":
        return {"scans": 1, "subscribes": 1}
    if event == "scan":
        return {"scans": 1}
    return None


def _counts(item: dict[str, Any] | None) -> dict[str, int]:
    item = item or {}
    return {name: int(item.get(name) or 0) for name in COUNTERS}


@guarded
def totals(scenes: Iterable[str]) -> dict[str, dict[str, int]]:
    """All-time counts of each scene (zeros for a scene never scanned)."""
    wanted = list(dict.fromkeys(scenes))
    found: dict[str, dict[str, int]] = {scene: _counts(None) for scene in wanted}
    for item in ddb.batch_get(analytics.table_name(), [total_key(s) for s in wanted]):
        found[str(item["pk"]).split("#qr#", 1)[1]] = _counts(item)
    return found


@guarded
def daily(scene: str, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """One row per local day of the range (zeros included), oldest first."""
    rows = {
        item["sk"]: _counts(item)
        for item in ddb.query(
            {
                "TableName": analytics.table_name(),
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
                "ExpressionAttributeValues": {
                    ":pk": ddb.ser(scene_pk(scene)),
                    ":lo": ddb.ser(first.isoformat()),
                    ":hi": ddb.ser(last.isoformat()),
                },
            }
        )
    }
    return [
        {"date": day, **rows.get(day, _counts(None))} for day in analytics.days_between(first, last)
    ]
