"""Conversations, derived: nothing per follower message is written for the desk.

A follower's conversation is what their own records say (the cross-follower listing for the
list, their timeline for one conversation) joined with what agents set (store.desk's state
item: status, assignment, read marker):

- the 48-hour window after their newest message, the one-minute window after their newest
  click, subscribe or scan, opened when the quota opens it (chalicelib.cs.window.opened_at), so
  the list shows open exactly the windows a send is allowed in; an unsubscribe closes every
  window opened before it;
- unread: their messages received after the read marker;
- status: the agent's, except that a message received after the agent closed (or transferred)
  it reopens it, as it always did.

The list is the listing of the last 48 hours (and a margin for WeChat's clock), walked once per
container and then read only where it grew (chalicelib.desk.walk), so it lags the callback by the
aggregator's seconds, as before; a single conversation reads the timeline, exact at once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.cs.window import OPENING_EVENTS, opened_at
from chalicelib.engine.pipeline import kind_of
from chalicelib.errors import NotFound
from chalicelib.store import desk as store
from chalicelib.store import messages

MESSAGE_WINDOW_SECONDS = 48 * 3600
EVENT_WINDOW_SECONDS = 60
# WeChat's CreateTime and our clock may differ a little: walk the listing a bit further back.
LOOKBACK_MARGIN = 600
MAX_TEXT = 100
TIMELINE_ENTRIES = 100  # of one follower, read for their conversation (unread counts up to it)


@dataclass(slots=True)
class Trail:
    """One follower's records, folded newest first (by our receipt)."""

    openid: str
    message: tuple[int, str, str] | None = None  # the newest message: (at, kind, content)
    event_at: int | None = None  # the newest click, subscribe or scan
    window_until: int = 0  # of the windows opened after the newest unsubscribe
    left: bool = False  # an unsubscribe was met: what is older opens no window
    message_ms: list[int] = field(default_factory=list)  # received ms of every message

    @staticmethod
    def counts(kind: str) -> bool:
        """Whether a record of `kind` changes a trail: messages, the events that open the short
        window, unsubscribes (system reports, views, locations: no window, nothing to read)."""
        event = kind[6:] if kind.startswith("event.") else None
        return event is None or event == "unsubscribe" or event in OPENING_EVENTS

    def add(self, received_ms: int, created_at: int, kind: str, content: str) -> None:
        """Fold in one record; records come newest first (by receipt)."""
        if not self.counts(kind):
            return
        event = kind[6:] if kind.startswith("event.") else None
        if event == "unsubscribe":
            self.left = True
            return
        at = opened_at(created_at, received_ms)
        if event is None:
            self.message_ms.append(received_ms)
            if self.message is None or at > self.message[0]:  # a tie: the later received
                self.message = (at, kind, content)
            length = MESSAGE_WINDOW_SECONDS
        else:
            self.event_at = max(self.event_at or 0, at)
            length = EVENT_WINDOW_SECONDS
        if not self.left:
            self.window_until = max(self.window_until, at + length)

    @property
    def last_at(self) -> int:
        return max(self.message[0] if self.message else 0, self.event_at or 0)

    @property
    def order(self) -> tuple[int, str]:
        """The list's order: newest message first (a click alone: its time), then openid."""
        return -(self.message[0] if self.message else self.event_at or 0), self.openid

    def conversation(self, state: dict[str, Any] | None) -> dict[str, Any]:
        """As the API shows it, with the agents' `state`."""
        state = state or {}
        status = state.get("status") or "open"
        closed_at = state.get("closed_at")
        # Items from before status_ms existed: their close time stands in.
        status_ms = int(state.get("status_ms") or int(closed_at or 0) * 1000)
        if status != "open" and self.message_ms and max(self.message_ms) > status_ms:
            status, closed_at = "open", None  # they wrote after the agent closed it
        read_ms = int(state.get("read_ms") or 0)
        at, kind, content = self.message or (None, None, "")
        return {
            "openid": self.openid,
            "last_message_at": at,
            "last_event_at": self.event_at,
            "window_until": self.window_until or None,
            "last_text": content[:MAX_TEXT],
            "last_kind": kind,
            "unread": sum(1 for ms in self.message_ms if ms > read_ms),
            "status": status,
            "assigned_to": state.get("assigned_to"),
            "closed_at": None if closed_at is None else int(closed_at),
        }


# -- the list ------------------------------------------------------------------------------------


def window_start_ms(now: float) -> int:
    """The oldest receipt time the list looks at, at `now`."""
    return (int(now) - MESSAGE_WINDOW_SECONDS - LOOKBACK_MARGIN) * 1000


def open_conversations(
    trails: list[Trail],
    *,
    limit: int,
    status: str | None = None,
    assigned_to: str | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """(the first `limit` of the open conversations `trails` (chalicelib.desk.walk), newest
    first, that pass the filters; how many pass them). Agent states are read for the shown
    ones, or for all when filtering."""
    trails = sorted(trails, key=lambda t: t.order)
    filtering = bool(status) or assigned_to is not None
    wanted = trails if filtering else trails[:limit]
    states = store.states(t.openid for t in wanted)
    found = [t.conversation(states.get(t.openid)) for t in wanted]
    if status:
        found = [c for c in found if c["status"] == status]
    if assigned_to is not None:
        found = [c for c in found if (c["assigned_to"] or "") == assigned_to]
    return found[:limit], len(found) if filtering else len(trails)


# -- one conversation ------------------------------------------------------------------------------


def trail_of(openid: str, timeline: Iterable[dict[str, Any]]) -> Trail:
    """A follower's trail from their timeline entries (newest first, as messages.timeline)."""
    trail = Trail(openid)
    for entry in timeline:
        received = int(entry["received_at"] or entry["created_at"] * 1000)
        trail.add(received, int(entry["created_at"]), kind_of(entry), entry["content"])
    return trail


def exists(trail: Trail, state: dict[str, Any] | None, now: float) -> bool:
    """Agents touched it, or the follower did something that opens one lately (a window, and
    store.desk.KEEP_SECONDS after it: as long as an agent's state would outlive it)."""
    if state is not None:
        return True
    return bool(trail.last_at) and trail.last_at + MESSAGE_WINDOW_SECONDS + store.KEEP_SECONDS > now


def conversation(openid: str, now: float | None = None) -> dict[str, Any] | None:
    """The conversation with `openid` (their timeline and its state); None if there is none."""
    now = time.time() if now is None else now
    trail = trail_of(openid, messages.timeline(openid, TIMELINE_ENTRIES))
    state = store.state(openid)
    return trail.conversation(state) if exists(trail, state, now) else None


def change(openid: str, now: float | None = None, **fields: Any) -> dict[str, Any]:
    """Set agent-side fields on the conversation with `openid` (NotFound if there is none);
    the conversation after."""
    now = time.time() if now is None else now
    trail = trail_of(openid, messages.timeline(openid, TIMELINE_ENTRIES))
    if not exists(trail, store.state(openid), now):
        raise NotFound(f"no conversation with {openid[:40]}")
    return trail.conversation(store.set_state(openid, now, **fields))
