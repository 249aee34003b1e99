"""Customer-service sends counted per follower and window (chalicelib/cs/quota.py decides).

Reads the follower's timeline (the messages table, strongly consistent: a message is there by
the time its reply was returned) and keeps one counter item per follower and window kind in
`outbound` (`<a>#csq#<openid>` / `m` or `e`): `win` the window's id, `n` the sends counted in
it. Taking a send is one conditional UpdateItem, so concurrent senders can never count past
the limit:

- same window, room left: `ADD n 1` if `win = :w AND n < :limit`;
- a newer window: `SET win = :w, n = 1` if the item holds an older window (or none).

A failed condition hands back the item as it is (ALL_OLD): spent, or our window is stale (a
newer message came meanwhile: the caller reads the timeline again).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.store import ddb, keys, messages, outbound
from chalicelib.store.errors import StoreUnavailable
from chalicelib.store.guard import guarded

MAX_TIMELINE_ITEMS = 2000  # a follower's items of 48 h read at most (LOCATION events every 5 s...)
PAGE = 100
KEEP_SECONDS = 86400  # counters outlive their window by a day (TTL), for the record


def quota_pk(openid: str) -> str:
    return keys.scoped("csq", openid)


@dataclass(frozen=True, slots=True)
class Taken:
    """What a take found: `used` the window's count after ours (0: not taken), else the item's
    window `held` (newer than ours: stale) and count."""

    used: int = 0
    held: str = ""
    count: int = 0


def recent(openid: str, since: int, events_since: int) -> list[dict[str, Any]]:
    """What the follower's windows are read from, newest first, as {id, created_at, kind,
    received_ms}: their newest message (messages are keyed by MsgId, which WeChat issues in
    time order: one item), and their events (keyed by CreateTime) since `events_since`, or
    since that message when it is older, but never before `since`. Strongly consistent,
    bounded."""
    try:
        return _recent(openid, since, events_since)
    except (BotoCoreError, ClientError) as exc:
        raise StoreUnavailable(f"storage error: {type(exc).__name__}") from exc


def _query(openid: str, condition: str, values: dict[str, Any], limit: int) -> list[dict]:
    request = {
        "TableName": messages.table_name(),
        "KeyConditionExpression": f"pk = :pk AND {condition}",
        "ExpressionAttributeValues": {":pk": ddb.ser(messages.follower_pk(openid)), **values},
        "ProjectionExpression": "sk, #ct, #t, #at",
        "ExpressionAttributeNames": {"#ct": "ct", "#t": "t", "#at": "at"},
        "ScanIndexForward": False,
        "ConsistentRead": True,
        "Limit": min(limit, PAGE),
    }
    return [
        {
            "id": item["sk"],
            "created_at": int(item.get("ct") or 0),
            "kind": item.get("t", ""),
            "received_ms": int(item.get("at") or 0),
        }
        for item in ddb.query(request, max_items=limit)
    ]


def _recent(openid: str, since: int, events_since: int) -> list[dict[str, Any]]:
    newest = _query(openid, "begins_with(sk, :m)", {":m": ddb.ser("m:")}, 1)
    if newest:
        events_since = min(events_since, newest[0]["created_at"])
    low = f"e:{max(since, events_since, 0):010d}"
    events = _query(
        openid, "sk BETWEEN :low AND :high",
        {":low": ddb.ser(low), ":high": ddb.ser("e:9999999999;")},
        MAX_TIMELINE_ITEMS,
    )  # fmt: skip
    found = newest + events
    found.sort(key=lambda e: min(e["created_at"], e["received_ms"] // 1000 or e["created_at"]),
               reverse=True)  # fmt: skip
    return found


@guarded
def usage(openid: str) -> dict[str, dict[str, Any]]:
    """The counter items of the follower, by kind: {win, n, until}."""
    request = {
        "TableName": outbound.table_name(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": ddb.ser(quota_pk(openid))},
        "ConsistentRead": True,
    }
    return {item["sk"]: item for item in ddb.query(request)}


@guarded
def take(openid: str, kind: str, window: str, until: int, limit: int) -> Taken:
    """Count one send in `window` (of `kind`) if it has room."""
    key = ddb.key(quota_pk(openid), kind)
    table = outbound.table_name()
    expires = until + KEEP_SECONDS
    for _ in range(3):
        add = ddb.Update().add(n=1).set(until=until, expires_at=expires)
        add.where("{win} = :w AND {n} < :limit", w=window, limit=limit)
        ok, item = ddb.update(table, key, add, returns="ALL_NEW")
        if ok:
            return Taken(used=int((item or {})["n"]))
        held = str((item or {}).get("win") or "")
        if held == window:
            return Taken(held=held, count=int((item or {}).get("n") or 0))  # spent
        if held > window:
            return Taken(held=held, count=int((item or {}).get("n") or 0))  # ours is stale
        fresh = ddb.Update().set(win=window, n=1, until=until, expires_at=expires)
        fresh.where("attribute_not_exists({win}) OR {win} < :w", w=window)
        ok, _ = ddb.update(table, key, fresh)
        if ok:
            return Taken(used=1)
        # Another sender opened this window first: count in it.
    return Taken(held=window, count=limit)


@guarded
def give_back(openid: str, kind: str, window: str) -> bool:
    """Undo one take that sent nothing (WeChat refused the message itself)."""
    upd = ddb.Update().add(n=-1).where("{win} = :w AND {n} > :zero", w=window, zero=0)
    ok, _ = ddb.update(outbound.table_name(), ddb.key(quota_pk(openid), kind), upd)
    return ok


@guarded
def spend(openid: str, kind: str, window: str, limit: int) -> None:
    """WeChat says the window is closed or full (45015/45047): count it full, so the next send
    is refused here without a call."""
    upd = ddb.Update().set(n=limit).where("{win} = :w", w=window)
    ddb.update(outbound.table_name(), ddb.key(quota_pk(openid), kind), upd)
