"""WeChat's customer-service quota for the desk's replies: a STAND-IN for `chalicelib.cs.quota`
(issue 17 part B, built in parallel), with the same API, until that lands on main. Then
`desk/service.py` imports `chalicelib.cs.quota` instead and this module goes.

    allowance(openid) -> Allowance(remaining, window_until)
    send(openid, call) -> (call's result, Allowance after)   counts first; QuotaRefused (409)

The windows are read from the follower's timeline (strongly consistent), never from the
follower record (which lags): after a message, 5 sends within 48 hours; after a click, subscribe
or scan, 3 within a minute; an unsubscribe closes both. Each window is named by the arrival and
timeline key of the item that opened it, and its sends are counted with one conditional
UpdateItem, so concurrent agents can never send past the limit together.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from chalicelib.errors import Conflict
from chalicelib.store import ddb, desk, keys, messages
from chalicelib.store.guard import guarded
from chalicelib.wechat.api.errors import (
    OutOfWindowError,
    TooManyMessagesError,
    TransportError,
    WeChatAPIError,
)

T = TypeVar("T")
MESSAGE, EVENT = "m", "e"
LIMITS = {MESSAGE: 5, EVENT: 3}
LENGTHS = {MESSAGE: 48 * 3600, EVENT: 60}
OPENING_EVENTS = frozenset({"subscribe", "scan", "click", "scancode_push", "scancode_waitmsg"})
SYSTEM_EVENTS = frozenset({"templatesendjobfinish", "masssendjobfinish", "publishjobfinish"})
LOOKBACK_MARGIN = 600  # WeChat's CreateTime and our clock may differ a little
MAX_ITEMS = 500


class QuotaRefused(Conflict):
    """409: no customer-service message may be sent to this follower now."""

    def __init__(self, message: str, window_until: int | None) -> None:
        super().__init__(message, retryable=False, remaining=0, window_until=window_until)


@dataclass(frozen=True, slots=True)
class Window:
    kind: str
    id: str  # arrival (ms) and timeline key of the item that opened it: newer sorts later
    until: int

    @property
    def limit(self) -> int:
        return LIMITS[self.kind]


@dataclass(frozen=True, slots=True)
class Allowance:
    remaining: int
    window_until: int | None


@dataclass(frozen=True, slots=True)
class Ticket:
    openid: str
    window: Window


def _items(openid: str, prefix: str, low: str, limit: int) -> list[dict[str, Any]]:
    """The follower's timeline items under `prefix` from `low` on, newest key first."""
    request = {
        "TableName": messages.table_name(),
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
        "ExpressionAttributeValues": {
            ":pk": ddb.ser(messages.follower_pk(openid)),
            ":low": ddb.ser(low),
            ":high": ddb.ser(prefix + "~"),
        },
        "ScanIndexForward": False,
        "ConsistentRead": True,
        # names for every attribute: short names may be DynamoDB reserved words
        "ProjectionExpression": "#sk, #t, #ct, #at",
        "ExpressionAttributeNames": {"#sk": "sk", "#t": "t", "#ct": "ct", "#at": "at"},
    }
    return list(ddb.query(request, max_items=limit))


def _windows(openid: str, now: float) -> dict[str, Window]:
    """The follower's latest window of each kind: two consistent Queries of their timeline,
    the newest message (keys `m:` order by MsgId, which WeChat issues in time order) and the
    events of the last 48 hours (keys `e:<CreateTime>`); ordered by arrival."""
    since = max(0, int(now) - LENGTHS[MESSAGE] - LOOKBACK_MARGIN)
    found = _items(openid, "m:", "m:", 1) + _items(openid, "e:", f"e:{since:010d}", MAX_ITEMS)
    left_at = 0  # ms: an unsubscribe closes every window opened before it
    latest: dict[str, tuple[int, Window]] = {}
    for item in found:
        received = int(item.get("at") or 0)
        created = int(item.get("ct") or 0)
        kind = str(item.get("t") or "")
        event = kind[6:] if kind.startswith("event.") else None
        if event == "unsubscribe":
            left_at = max(left_at, received)
            continue
        if event in SYSTEM_EVENTS or (event is not None and event not in OPENING_EVENTS):
            continue
        which = EVENT if event is not None else MESSAGE
        start = min(created, received // 1000) if created else received // 1000
        window = Window(which, f"{received:013d}:{item['sk']}", start + LENGTHS[which])
        if which not in latest or received > latest[which][0]:
            latest[which] = (received, window)
    return {kind: window for kind, (at, window) in latest.items() if at > left_at}


def _counter_key(openid: str, kind: str) -> dict[str, Any]:
    return ddb.key(keys.scoped("csq", openid), kind)


def _used(openid: str, window: Window) -> int:
    item = ddb.get(desk.table_name(), _counter_key(openid, window.kind), consistent=True) or {}
    return int(item.get("n") or 0) if item.get("win") == window.id else 0


def _take(openid: str, window: Window) -> bool:
    table, key = desk.table_name(), _counter_key(openid, window.kind)
    ttl = window.until + 86400
    same = (
        ddb.Update().add(n=1).where("{win} = :w AND {n} < :limit", w=window.id, limit=window.limit)
    )
    ok, old = ddb.update(table, key, same)
    if ok:
        return True
    held = str((old or {}).get("win") or "")
    if held >= window.id:
        return False  # spent (or a newer window is counted: ours is stale)
    fresh = ddb.Update().set(win=window.id, n=1, ttl_at=ttl)
    fresh.where("attribute_not_exists({win}) OR {win} < :w", w=window.id)
    ok, _ = ddb.update(table, key, fresh)
    return ok


def _give_back(ticket: Ticket) -> None:
    upd = ddb.Update().add(n=-1).where("{win} = :w AND {n} > :zero", w=ticket.window.id, zero=0)
    ddb.update(desk.table_name(), _counter_key(ticket.openid, ticket.window.kind), upd)


def _spend(ticket: Ticket) -> None:
    upd = ddb.Update().set(n=ticket.window.limit).where("{win} = :w", w=ticket.window.id)
    ddb.update(desk.table_name(), _counter_key(ticket.openid, ticket.window.kind), upd)


@guarded
def allowance(openid: str, now: float | None = None) -> Allowance:
    now = time.time() if now is None else now
    found = _windows(openid, now)
    live = [w for w in found.values() if w.until > now]
    remaining = sum(max(0, w.limit - _used(openid, w)) for w in live)
    return Allowance(remaining, max((w.until for w in found.values()), default=None))


@guarded
def take(openid: str, now: float | None = None) -> Ticket:
    now = time.time() if now is None else now
    found = _windows(openid, now)
    for kind in (MESSAGE, EVENT):
        window = found.get(kind)
        if window is not None and window.until > now and _take(openid, window):
            return Ticket(openid, window)
    until = max((w.until for w in found.values()), default=None)
    if not any(w.until > now for w in found.values()):
        raise QuotaRefused(
            "the customer-service window is closed: the follower has not written within 48 "
            "hours (nor clicked the menu, subscribed or scanned within a minute)",
            until,
        )
    raise QuotaRefused(
        "the customer-service quota is spent: at most 5 messages within 48 hours of the "
        "follower's last message, 3 within a minute of a click, subscribe or scan",
        until,
    )


def send(openid: str, call: Callable[[], T], now: float | None = None) -> tuple[T, Allowance]:
    """Count one send, then `call()`: WeChat's 45015/45047 spend the window; another refusal
    of the message itself gives the send back; no answer keeps it counted (it may have gone)."""
    ticket = take(openid, now)
    try:
        result = call()
    except (OutOfWindowError, TooManyMessagesError):
        guarded(_spend)(ticket)
        raise
    except TransportError:
        raise
    except WeChatAPIError as exc:
        if exc.errcode != -1:
            guarded(_give_back)(ticket)
        raise
    except Exception:
        guarded(_give_back)(ticket)
        raise
    return result, allowance(openid, now)
