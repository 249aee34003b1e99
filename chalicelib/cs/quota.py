"""The customer-service quota, enforced before WeChat is called (cs/window.py has the rules).

A send needs an open window with room: the follower's message window (5 sends in 48 h) first,
else their click / subscribe / scan window (3 in a minute). The windows are read from the
follower's timeline at the moment of sending (strongly consistent), never from the follower
record, which lags by seconds. Sends are counted per window with a conditional write
(store/cs_quota.py), so concurrent senders (admins, agents, the notify API's siblings) never
get past the limit together.

The API, for every sender of customer-service messages (the admin API, the agent desk):

    allowance(openid)            -> Allowance(remaining, window_until, windows)
    take(openid)                 -> Ticket; raises QuotaRefused (409) when closed or spent
    give_back(ticket)            the send did not happen (WeChat refused the message itself)
    refused(ticket)              WeChat said 45015 / 45047: the window counts as spent
    send(openid, call)           take, call(), give back or count as spent on refusal;
                                 -> (call's result, Allowance after the send)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from chalicelib.cs.window import (
    EVENT,
    EVENT_WINDOW_SECONDS,
    MESSAGE,
    MESSAGE_WINDOW_SECONDS,
    Window,
    windows,
)
from chalicelib.errors import Conflict
from chalicelib.store import cs_quota as store
from chalicelib.wechat.api.errors import (
    OutOfWindowError,
    TooManyMessagesError,
    TransportError,
    WeChatAPIError,
)

log = logging.getLogger("wxless.cs")
T = TypeVar("T")
# WeChat's CreateTime and our clock may differ a little: read the timeline a bit further back.
LOOKBACK_MARGIN = 600
ORDER = (MESSAGE, EVENT)  # the message window first: it is the longer one


class QuotaRefused(Conflict):
    """409: no customer-service message may be sent to this follower now."""

    def __init__(self, message: str, window_until: int | None) -> None:
        super().__init__(message, retryable=False, remaining=0, window_until=window_until)


@dataclass(frozen=True, slots=True)
class WindowState:
    window: Window
    used: int

    @property
    def remaining(self) -> int:
        return max(0, self.window.limit - self.used)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "message" if self.window.kind == MESSAGE else "event",
            "opened_at": self.window.opened_at,
            "until": self.window.until,
            "limit": self.window.limit,
            "used": min(self.used, self.window.limit),
            "remaining": self.remaining,
        }


@dataclass(frozen=True, slots=True)
class Allowance:
    """What may still be sent now: `remaining` over the open windows, `window_until` the end of
    the latest window (open or closed; None when the follower never wrote or clicked, as far
    as the timeline goes)."""

    remaining: int
    window_until: int | None
    windows: list[WindowState] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "remaining": self.remaining,
            "window_until": self.window_until,
            "windows": [w.as_dict() for w in self.windows],
        }


@dataclass(frozen=True, slots=True)
class Ticket:
    """One counted send: give it back if nothing was sent."""

    openid: str
    window: Window
    used: int


def _now(now: float | None) -> float:
    return time.time() if now is None else now


def _windows(openid: str, now: float) -> dict[str, Window]:
    since = int(now) - MESSAGE_WINDOW_SECONDS - LOOKBACK_MARGIN
    events_since = int(now) - EVENT_WINDOW_SECONDS - LOOKBACK_MARGIN
    return windows(store.recent(openid, since, events_since), now)


def _state(found: dict[str, Window], counters: dict[str, dict[str, Any]]) -> list[WindowState]:
    out = []
    for kind in ORDER:
        window = found.get(kind)
        if window is None:
            continue
        counter = counters.get(kind) or {}
        used = int(counter.get("n") or 0) if counter.get("win") == window.id else 0
        out.append(WindowState(window, used))
    return out


def _allowance(states: list[WindowState], now: float) -> Allowance:
    live = [s for s in states if s.window.open(now)]
    until = max((s.window.until for s in states), default=None)
    return Allowance(sum(s.remaining for s in live), until, live)


def allowance(openid: str, now: float | None = None) -> Allowance:
    """What may be sent to `openid` now (a timeline read and one counter query)."""
    now = _now(now)
    return _allowance(_state(_windows(openid, now), store.usage(openid)), now)


def take(openid: str, now: float | None = None) -> Ticket:
    """Count one send, or raise QuotaRefused (nothing counted)."""
    now = _now(now)
    for _ in range(3):
        found = _windows(openid, now)
        stale = False
        for kind in ORDER:
            window = found.get(kind)
            if window is None or not window.open(now):
                continue
            taken = store.take(openid, kind, window.id, window.until, window.limit)
            if taken.used:
                return Ticket(openid, window, taken.used)
            if taken.held > window.id:
                stale = True  # a newer interaction came meanwhile: read the timeline again
                break
        if not stale:
            break
    until = max((w.until for w in found.values()), default=None)
    if not any(w.open(now) for w in found.values()):
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


def give_back(ticket: Ticket) -> None:
    if not store.give_back(ticket.openid, ticket.window.kind, ticket.window.id):
        log.warning("cs.give_back_missed window=%s", ticket.window.kind)


def refused(ticket: Ticket) -> None:
    """WeChat refused for the window (45015 closed, 45047 full): no more sends in it."""
    store.spend(ticket.openid, ticket.window.kind, ticket.window.id, ticket.window.limit)


def send(openid: str, call: Callable[[], T], now: float | None = None) -> tuple[T, Allowance]:
    """Take a send, make it with `call()`, and settle the count by WeChat's answer:
    sent -> counted; 45015/45047 -> the window counts as spent (409, as WeChat answered);
    another refusal of the message itself -> given back; no answer (network, timeout, 5xx)
    -> kept counted: the message may have gone out."""
    ticket = take(openid, now)
    try:
        result = call()
    except (OutOfWindowError, TooManyMessagesError):
        refused(ticket)
        raise
    except TransportError:
        raise
    except WeChatAPIError as exc:
        if exc.errcode != -1:  # -1: WeChat busy, the message may or may not have gone
            give_back(ticket)
        raise
    except Exception:
        give_back(ticket)  # ours (a bad media item, a bug): nothing reached WeChat
        raise
    return result, allowance(openid, now)
