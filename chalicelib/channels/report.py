"""The channel report: per channel (QR code scene), the followers it brought first, how many
are still subscribed, and how many stayed 7 and 30 days, with the messages they sent.

Read from follower records (`first_channel`, `first_subscribed_at`, `subscribed`,
`unsubscribed_at`, `message_count`, all kept by the stream aggregator) with one parallel Scan
that reads only those attributes: a report is asked for rarely, and keeping these figures per
message would cost a write per message for a screen opened a few times a day. At ~1 KB per
record a Scan page holds ~1,000 followers; the budget below (REPORT_SECONDS) covers a few
hundred thousand; past it the report says `complete: false`.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.store import channel_stats, ddb, followers, keys, qrcodes
from chalicelib.store.aws import client
from chalicelib.store.guard import guarded

DAY = 86400
SEGMENTS = 4
REPORT_SECONDS = 20.0
_ATTRS = (
    "first_channel",
    "first_subscribed_at",
    "subscribed",
    "unsubscribed_at",
    "message_count",
)


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
    rows: dict[str, dict[str, Any]] = {}
    for records, _ in parts:
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
    return {"items": items, "complete": all(done for _, done in parts), "generated_at": int(now)}
