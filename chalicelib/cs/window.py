"""Customer-service windows, read from a follower's own timeline (pure).

WeChat lets an account send customer-service messages to a follower only for a while after the
follower did something (NOTES.md, "WeChat since 2023"):

- after a message (text, image, voice, ...): 5 messages within 48 hours;
- after a menu click, a subscribe or a QR-code scan: 3 messages within one minute.

Each follower message opens a new 48-hour window with a fresh count; each click, subscribe or
scan a new one-minute window. An unsubscribe closes both. A window is identified by the
timeline key of the item that opened it (a message's MsgId, an event's CreateTime: unique, and
ordered within each kind), so sends are counted per window and a newer window never inherits an
older one's count.

Times: a window opens at the earlier of WeChat's CreateTime and our receipt of the message, so
a clock difference can only close our window before WeChat's, never after.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.wechat.notices import REPORTS

MESSAGE, EVENT = "m", "e"
MESSAGE_WINDOW_SECONDS = 48 * 3600
MESSAGE_QUOTA = 5
EVENT_WINDOW_SECONDS = 60
EVENT_QUOTA = 3
# Events after which WeChat allows a few messages for a minute (a click, subscribe or scan).
OPENING_EVENTS = frozenset({"subscribe", "scan", "click", "scancode_push", "scancode_waitmsg"})
# Events that are reports about the account's own jobs, not something the follower did.
SYSTEM_EVENTS = REPORTS
LIMITS = {MESSAGE: MESSAGE_QUOTA, EVENT: EVENT_QUOTA}
LENGTHS = {MESSAGE: MESSAGE_WINDOW_SECONDS, EVENT: EVENT_WINDOW_SECONDS}


@dataclass(frozen=True, slots=True)
class Window:
    """One window: `kind` m (after a message) or e (after a click, subscribe or scan), `id`
    the timeline key of the item that opened it."""

    kind: str
    id: str
    opened_at: int
    until: int

    @property
    def limit(self) -> int:
        return LIMITS[self.kind]

    def open(self, now: float) -> bool:
        return now < self.until


def opened_at(created_at: int, received_ms: int) -> int:
    received = received_ms // 1000 if received_ms else created_at
    return min(created_at, received) if created_at else received


def windows(items: Iterable[Mapping[str, Any]], now: float) -> dict[str, Window]:
    """The follower's latest window of each kind, from timeline items newest first (each with
    `created_at`, `id` (its timeline key), `kind` and `received_ms`). Reads no further than
    needed: past the newest message, only items young enough to hold an open one-minute window.
    An unsubscribe closes everything older than itself."""
    found: dict[str, Window] = {}
    for item in items:
        kind = str(item.get("kind") or "")
        event = kind[6:] if kind.startswith("event.") else None
        start = opened_at(int(item.get("created_at") or 0), int(item.get("received_ms") or 0))
        if MESSAGE in found and (EVENT in found or start + EVENT_WINDOW_SECONDS <= now):
            break
        if event in SYSTEM_EVENTS:
            continue
        if event == "unsubscribe":
            break
        if event is not None and event not in OPENING_EVENTS:
            continue  # view, location, subscribe-notification popups...: no window
        which = EVENT if event is not None else MESSAGE
        if which not in found:
            found[which] = Window(which, str(item["id"]), start, start + LENGTHS[which])
    return found
