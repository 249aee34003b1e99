"""A follower's activity, read from their own partition of the messages table: when they last
did something, their customer-service windows, how many messages they sent.

None of it is written per message: the callback's message item already says it, on a key that
is the follower's own, so keeping a copy on the follower record would cost a second write per
message (1 write unit, as much as the message itself) to save a read on admin screens that are
opened a few times a day. Reading it costs, per follower: the newest message and the newest
events (two one-page Queries) and a counting Query of their messages (RETENTION_DAYS of them).

- `last_interaction_at`: the newest message, or event the follower made (not an unsubscribe,
  not a report about our own sends), at its event time (store.analytics.event_time);
- `cs_window_until` / `cs_event_window_until`: the customer-service windows as the quota sees
  them (chalicelib/cs/window.py: after a message 48 h, after a click, scan or subscribe 60 s;
  an unsubscribe closes both);
- `message_count`: messages (not events) in the timeline: the last RETENTION_DAYS days;
- `cs_window_open`: subscribed and either window open now.

`active_since` (search, campaign audiences) is decided from the same reads, for the records the
other filters kept: a follower search reads at most a Scan request's worth of candidates.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.cs.window import EVENT, MESSAGE, opened_at, windows
from chalicelib.store import analytics, messages
from chalicelib.store import followers as store
from chalicelib.store.errors import NotFound

WORKERS = 8  # timelines read at once (each a few small Queries)


def _at(item: dict[str, Any]) -> int:
    created = int(item["created_at"])
    received = int(item["received_ms"]) / 1000 or created
    return analytics.event_time(created, received)


def _newest(openid: str) -> list[dict[str, Any]]:
    found = messages.newest_interactions(openid)
    found.sort(key=lambda e: opened_at(int(e["created_at"]), int(e["received_ms"])), reverse=True)
    return found


def last_interaction(items: Iterable[dict[str, Any]]) -> int | None:
    return max((_at(i) for i in items if i["kind"] != "event.unsubscribe"), default=None)


def of(openid: str, now: float, newest: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The activity fields of one follower (`cs_window_open` without the record's state);
    `newest`: their newest items, when the caller has read them already."""
    newest = _newest(openid) if newest is None else newest
    found = windows(newest, now)
    message, event = found.get(MESSAGE), found.get(EVENT)
    return {
        "message_count": messages.count_messages(openid),
        "last_interaction_at": last_interaction(newest),
        "cs_window_until": message.until if message else None,
        "cs_event_window_until": event.until if event else None,
    }


def _with(record: dict[str, Any], activity: dict[str, Any], now: float) -> dict[str, Any]:
    untils = (activity["cs_window_until"] or 0, activity["cs_event_window_until"] or 0)
    open_now = bool(record.get("subscribed")) and max(untils) > now
    return {**record, **activity, "cs_window_open": open_now}


def _map(fn: Any, openids: list[str]) -> list[Any]:
    if len(openids) <= 1:
        return [fn(o) for o in openids]
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(openids))) as pool:
        return list(pool.map(fn, openids))


def enrich(records: list[dict[str, Any]], now: float | None = None) -> list[dict[str, Any]]:
    now = time.time() if now is None else now
    found = _map(lambda openid: of(openid, now), [r["openid"] for r in records])
    return [_with(r, a, now) for r, a in zip(records, found, strict=True)]


def get(openid: str) -> dict[str, Any]:
    """One follower with their activity. A follower with no record but a timeline (they came
    before the account used wxless and the full sync has not run yet) is shown from it."""
    now = time.time()
    try:
        record: dict[str, Any] | None = store.get_follower(openid)
    except NotFound:
        if len(openid) > store.MAX_OPENID_CHARS:  # could have no timeline either
            raise
        record = None
    newest = _newest(openid)
    if record is None:
        if last_interaction(newest) is None:
            raise NotFound(f"follower {openid} not found")
        left = bool(newest) and newest[0]["kind"] == "event.unsubscribe"
        record = {**store.to_dict(store.item(openid)), "subscribed": not left}
    return _with(record, of(openid, now, newest), now)


def ensure_record(openid: str) -> dict[str, Any]:
    """The follower's record, made first for a follower known only from their timeline (a PUT
    needs one). NotFound when there is neither."""
    try:
        return store.get_follower(openid)
    except NotFound:
        if len(openid) > store.MAX_OPENID_CHARS:
            raise
        seen = last_interaction(_newest(openid))
        if seen is None:
            raise
        store.create_if_absent(openid, seen)
        return store.get_follower(openid)


def _keep(filters: store.Filters) -> store.Keep | None:
    """The records whose follower was active at or after `filters.active_since`."""
    since = filters.active_since
    if since is None:
        return None

    def keep(records: list[dict[str, Any]]) -> list[bool]:
        seen = _map(lambda o: last_interaction(_newest(o)), [r["openid"] for r in records])
        return [at is not None and at >= since for at in seen]

    return keep


def search(
    filters: store.Filters,
    limit: int = 50,
    cursor: str | None = None,
    *,
    with_activity: bool = True,
) -> tuple[list[dict[str, Any]], str | None]:
    """store.search with `active_since` decided from timelines; the records with their activity
    (campaign audiences, which need only openids, skip reading it)."""
    items, cursor = store.search(filters, limit, cursor, keep=_keep(filters))
    return (enrich(items) if with_activity else items), cursor
