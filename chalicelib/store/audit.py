"""The `audit` table: one item per admin write (allowed or refused) and per sign-in.

Keys: `pk` = `<acct>#audit#<YYYY-MM>` (UTC month), `sk` = `<ms since epoch, 13 digits>#<id>`, so
a month's entries are one Query, newest first. Admin writes are rare (people clicking, a few
systems): a month's partition stays far below DynamoDB's per-partition limits. Items expire by
TTL (`expires_at`, default 400 days after the entry: WXLESS_AUDIT_TTL_DAYS).

An entry is written before the change it records (`begin`, status null) and completed after
(`finish`): a change is never made without its entry (chalicelib/access/audit.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib import config
from chalicelib.store import ddb, keys
from chalicelib.store.guard import guarded
from chalicelib.store.models import register, table


@register
class AuditItem(Model):
    """Declares the table (keys and TTL); items are read and written with store.ddb."""

    Meta = table("audit")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    expires_at = TTLAttribute(null=True)


def table_name() -> str:
    return config.table_name("audit")


def month_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m")


def entry_key(entry_id: str) -> ddb.Raw:
    """`entry_id` is `<ms>#<random>` (the sort key): its month is in it."""
    return ddb.key(keys.scoped("audit", month_of(int(entry_id.split("#", 1)[0]))), entry_id)


@guarded
def begin(entry_id: str, fields: dict[str, Any], ttl_seconds: int) -> None:
    """Put the entry (new: its id is fresh)."""
    item = ddb.to_raw({**fields, "expires_at": int(time.time()) + ttl_seconds})
    item.update(entry_key(entry_id))
    request = ddb.Condition().where("attribute_not_exists({pk})").put_request(table_name(), item)
    ddb.put(request)  # a condition failure: botocore re-sent it after a lost answer: it landed


@guarded
def finish(entry_id: str, fields: dict[str, Any]) -> None:
    """SET the outcome of an entry begun before."""
    upd = ddb.Update().set_attrs(fields).where("attribute_exists({pk})")
    ddb.update(table_name(), entry_key(entry_id), upd)


@guarded
def newest(
    *,
    limit: int,
    since_ms: int,
    until_ms: int,
    actor: str | None = None,
    path_prefix: str | None = None,
    max_read: int = 20_000,
) -> list[dict[str, Any]]:
    """Entries between `since_ms` and `until_ms` (inclusive), newest first, month by month,
    optionally of one actor and under one path prefix (filtered by DynamoDB). Reads at most
    `max_read` items (filtered ones included) so a narrow filter over a year stays bounded."""
    out: list[dict[str, Any]] = []
    scanned = [0]  # items DynamoDB read, filtered ones included
    for month in _months_back(until_ms, since_ms):
        if len(out) >= limit or scanned[0] >= max_read:
            break
        for item in _query_month(month, since_ms, until_ms, actor, path_prefix, scanned, max_read):
            out.append(item)
            if len(out) >= limit:
                break
    return out


def _months_back(until_ms: int, since_ms: int) -> Iterator[str]:
    cursor = datetime.fromtimestamp(until_ms / 1000, UTC).replace(day=1)
    first = datetime.fromtimestamp(max(since_ms, 0) / 1000, UTC).strftime("%Y-%m")
    while True:
        month = cursor.strftime("%Y-%m")
        yield month
        if month <= first:
            return
        cursor = (cursor - timedelta(days=1)).replace(day=1)


def _query_month(
    month: str,
    since_ms: int,
    until_ms: int,
    actor: str | None,
    path_prefix: str | None,
    scanned: list[int],
    max_read: int,
) -> Iterator[dict[str, Any]]:
    from chalicelib.store.aws import client

    request: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {
            ":pk": ddb.ser(keys.scoped("audit", month)),
            ":lo": ddb.ser(f"{max(since_ms, 0):013d}#"),
            ":hi": ddb.ser(f"{until_ms:013d}#~"),
        },
        "ScanIndexForward": False,
        "ConsistentRead": True,
        "Limit": 500,
    }
    filters = []
    if actor:
        filters.append("#actor = :actor")
        request.setdefault("ExpressionAttributeNames", {})["#actor"] = "actor"
        request["ExpressionAttributeValues"][":actor"] = ddb.ser(actor)
    if path_prefix:
        filters.append("begins_with(#path, :path)")
        request.setdefault("ExpressionAttributeNames", {})["#path"] = "path"
        request["ExpressionAttributeValues"][":path"] = ddb.ser(path_prefix)
    if filters:
        request["FilterExpression"] = " AND ".join(filters)
    while scanned[0] < max_read:
        page = client("dynamodb").query(**request)
        scanned[0] += int(page.get("ScannedCount", 0))
        for raw in page.get("Items", []):
            item = ddb.from_raw(raw) or {}
            item["id"] = item.pop("sk")
            item.pop("pk", None)
            item.pop("expires_at", None)
            yield item
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
