"""The channel report: per channel (QR code scene), the followers it brought first, how many
are still subscribed, and how many stayed 7 and 30 days, with the messages they sent.

Read from follower records (`first_channel`, `first_subscribed_at`, `subscribed`,
`unsubscribed_at`, kept by the stream aggregator from subscribes and unsubscribes) with one
parallel Scan that reads only those attributes, and each such follower's messages counted in
their timeline (the messages table keeps RETENTION_DAYS of them): a report is asked for rarely,
and keeping these figures per message would cost a write per message for a screen opened a few
times a day. The budget below (REPORT_SECONDS) covers tens of thousands of channel followers;
past it the report says `complete: false`.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.store import channel_stats, ddb, followers, keys, messages, qrcodes
from chalicelib.store.aws import client
from chalicelib.store.guard import guarded

DAY = 86400
SEGMENTS = 4
REPORT_SECONDS = 20.0
_ATTRS = (
    "pk",
    "first_channel",
    "first_subscribed_at",
    "subscribed",
    "unsubscribed_at",
)
COUNTERS = 8  # timelines counted at once


def _empty() -> dict[str, Any]:
    return {
        "followers": 0,
        "still_subscribed": 0,
        "retained_7d": {"eligible": 0, "retained": 0},
        "retained_30d": {"eligible": 0, "retained": 0},
        "messages": 0,
    }


def fold(row: dict[str, Any], record: dict[str, Any], now: float) -> None:
    """Add one follower record (first channel = this row's) to the row."""
    row["followers"] += 1
    row["messages"] += int(record.get("message_count") or 0)
    subscribed = bool(record.get("subscribed"))
    row["still_subscribed"] += int(subscribed)
    since = record.get("first_subscribed_at")
    if since is None:
        return
    left = record.get("unsubscribed_at")
    for days, name in ((7, "retained_7d"), (30, "retained_30d")):
        if since > now - days * DAY:
            continue  # too recent to tell
        row[name]["eligible"] += 1
        stayed = subscribed or (left is not None and left - since >= days * DAY)
        row[name]["retained"] += int(stayed)


def _segment(segment: int, deadline: float) -> tuple[list[dict[str, Any]], bool]:
    cond = ddb.Condition().where(
        "begins_with({pk}, :mine) AND attribute_exists({first_channel}) "
        "AND {first_channel} <> :none",
        mine=keys.prefix(),
        none="",
    )
    projection = [cond.name(attr) for attr in _ATTRS]
    request: dict[str, Any] = {
        "TableName": followers.table_name(),
        "Segment": segment,
        "TotalSegments": SEGMENTS,
        "FilterExpression": cond.condition(),
        "ProjectionExpression": ", ".join(projection),
        "ExpressionAttributeNames": cond.names,
        "ExpressionAttributeValues": cond.values,
    }
    scan = client("dynamodb").scan
    found: list[dict[str, Any]] = []
    while True:
        page = scan(**request)
        found.extend(ddb.from_raw(raw) or {} for raw in page.get("Items", []))
        last = page.get("LastEvaluatedKey")
        if not last:
            return found, True
        if time.monotonic() > deadline:
            return found, False
        request["ExclusiveStartKey"] = last


@guarded
def build(now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    deadline = time.monotonic() + REPORT_SECONDS
    with ThreadPoolExecutor(max_workers=SEGMENTS) as pool:
        parts = list(pool.map(lambda s: _segment(s, deadline), range(SEGMENTS)))
    records = [record for found, _ in parts for record in found]
    counted = _count_messages(records, deadline)
    rows: dict[str, dict[str, Any]] = {}
    for record in records:
        fold(rows.setdefault(str(record["first_channel"]), _empty()), record, now)
    codes = {code["scene"]: code for code in qrcodes.list_codes()}
    counts = channel_stats.totals([*codes, *rows])
    items = []
    for scene in sorted(set(codes) | set(rows)):
        code = codes.get(scene)
        items.append(
            {
                "scene": scene,
                "id": code["id"] if code else None,
                "name": code["name"] if code else None,
                **counts[scene],
                **rows.get(scene, _empty()),
            }
        )
    items.sort(key=lambda row: (-row["followers"], -row["scans"], row["scene"]))
    complete = counted and all(done for _, done in parts)
    return {"items": items, "complete": complete, "generated_at": int(now)}


def _count_messages(records: list[dict[str, Any]], deadline: float) -> bool:
    """Set each record's `message_count` from its timeline; False when the budget ran out
    first (the records not counted show none)."""

    def count(record: dict[str, Any]) -> bool:
        if time.monotonic() > deadline:
            return False
        record["message_count"] = messages.count_messages(keys.natural(str(record["pk"])))
        return True

    if not records:
        return True
    with ThreadPoolExecutor(max_workers=min(COUNTERS, len(records))) as pool:
        return all(list(pool.map(count, records)))
