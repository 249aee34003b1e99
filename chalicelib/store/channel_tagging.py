"""Tags a channel code gives its followers, waiting to be applied at WeChat: the retry queue for
the few the stream-side tagging could not apply (WeChat busy or unreachable).

    channels table:  pk = "<account>#tagging"   sk = "<tag id>#<openid>"   tries, at, ttl_at

Tagging is idempotent at WeChat, so a pair is put (not counted) and deleted once applied; a
pair that keeps failing is given up after MAX_TRIES or when its TTL passes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from chalicelib import config
from chalicelib.store import ddb, keys
from chalicelib.store.aws import client

KEEP_SECONDS = 3 * 86400
MAX_TRIES = 10


def table_name() -> str:
    return config.table_name("channels")


def _pk() -> str:
    return keys.scoped("tagging")


def add(pairs: Iterable[tuple[int, str]], now: float | None = None) -> int:
    """Queue (tag, openid) pairs; the number queued."""
    now = int(time.time() if now is None else now)
    count = 0
    for tag, openid in pairs:
        upd = ddb.Update().set(at=now, ttl_at=now + KEEP_SECONDS).add(tries=1)
        ddb.update(table_name(), ddb.key(_pk(), f"{int(tag)}#{openid}"), upd)
        count += 1
    return count


def pending(limit: int = 1000) -> dict[int, list[str]]:
    """Queued pairs, grouped by tag (at most `limit`)."""
    request = {
        "TableName": table_name(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": ddb.ser(_pk())},
    }
    grouped: dict[int, list[str]] = {}
    for item in ddb.query(request, max_items=limit):
        tag, _, openid = str(item["sk"]).partition("#")
        if int(item.get("tries") or 0) > MAX_TRIES:
            done([(int(tag), openid)])  # given up
            continue
        grouped.setdefault(int(tag), []).append(openid)
    return grouped


def done(pairs: Iterable[tuple[int, str]]) -> None:
    dynamodb = client("dynamodb")
    for tag, openid in pairs:
        dynamodb.delete_item(TableName=table_name(), Key=ddb.key(_pk(), f"{int(tag)}#{openid}"))


def count() -> int:
    request: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": ddb.ser(_pk())},
        "Select": "COUNT",
    }
    return int(client("dynamodb").query(**request).get("Count", 0))
