"""The desk list's walk of the listing, kept per container (chalicelib.wiring.desk_walk builds
one): the first request reads the listing's last 48 hours once; later ones read only the pages
that may be new since, and drop what fell out of the window. The trails it gives are those a
fresh walk at the same `now` would give.

What a GET /admin/conversations reads of the listing (eventually consistent, 8 KB per read unit;
a listed keyword message is ~120 B; bench/cost.py's note models it):
- cold (a container's first request, or one asking for a time before what it kept): every page
  of the window, 16 queries paged by 1 MB: messages in the last 48 h x ~120 B / 8 KB, ~30k read
  units at a million messages a day (and as many rows to decode: the walk logs what it took);
- warm: per bucket, the pages whose newest message came at most PAGE_MARGIN_MS before the last
  read began (16 queries), plus one query of the late markers (listing.py) of the last
  MARKER_MARGIN_MS and a BatchGetItem of the pages they name, if any: ~(PAGE_MARGIN_MS + the
  poll interval) of traffic, ~1,100 messages in 17 requests (~17 read units) at a million a
  day, whatever the window holds.
Memory: one entry per message in the window (its receipt, CreateTime and delivery id, its kind;
the first MAX_TEXT characters of those that may yet be a trail's newest message): ~250 B with its
share of the folded trail, plus the sort key of every page read.

Why the margins are enough. A page is keyed by its newest message's receipt time. One the
aggregator wrote within listing.LATE_MS of that time and that the last read missed (written, or
visible to an eventually consistent query, after that read began) has a newest time within
LATE_MS + CLOCK_SLACK_MS of the read's start: PAGE_MARGIN_MS. A later one has a late marker,
keyed by the writer's clock after the page was in; the marker of a page the last read missed
was written at most MARKER_MARGIN_MS (clock difference, consistency lag, the marker's own
retries) before that read began. Pages the walk already holds are known by their sort key and
size (a page rewritten under its key holds the same messages, or more when its batch came back
longer); messages repeated in overlapping pages (a batch retried halved) are one entry, by their
identity, as the listing's readers drop them.
"""

from __future__ import annotations

import heapq
import json
import logging
import sys
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

from chalicelib.cs.window import opened_at
from chalicelib.desk.conversations import MAX_TEXT, Trail, window_start_ms
from chalicelib.store import listing

CLOCK_SLACK_MS = 30_000  # readers' and writers' clocks, and an eventually consistent query's lag
PAGE_MARGIN_MS = listing.LATE_MS + CLOCK_SLACK_MS
MARKER_MARGIN_MS = 10 * 60_000  # markers are rare: look back generously
log = logging.getLogger("wxless.desk")

# One message: its receipt (ms) << 32 | a CRC of its CreateTime and delivery id. Sorted, these
# give receipt order; two of one follower's messages in one ms with equal CRCs are one (1 in 2^32).
Identity = int
# (CreateTime - receipt s, kind, the first MAX_TEXT characters of a message's content or ""):
# one small int, an interned string and, mostly, a tuple shared by many (_shape)
Entry = tuple[int, str, str]


class ListingWalk:
    """What this container has read of the listing, folded per follower. Thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.warm = False  # the window has been read once
        self._start(0)

    def _start(self, floor_ms: int) -> None:
        self.floor_ms = floor_ms  # nothing received before it is kept
        self.read_ms = 0  # our clock when the last read began
        self._pages: dict[str, int] = {}  # sort key of every page folded in -> its messages
        self._page_expiry: list[tuple[int, str]] = []  # (newest ms, sort key)
        self._entries: dict[str, dict[Identity, Entry]] = {}  # per openid, in the window
        self._oldest: dict[str, int] = {}  # per openid: its oldest entry's receipt
        self._expiry: list[tuple[int, str]] = []  # (an oldest receipt, openid), lazily current
        self._trails: dict[str, Trail] = {}  # folded, of the openids whose entries did not change
        self._shapes: dict[tuple[int, str], Entry] = {}  # the entries without text, shared

    @property
    def held(self) -> int:
        """How many records the walk holds."""
        return sum(len(found) for found in self._entries.values())

    def open_trails(self, now: float) -> list[Trail]:
        """Every follower whose window is open at `now`, from the listing's last 48 hours (and
        the lookback margin), as a fresh walk would find them."""
        since_ms = window_start_ms(now)
        with self._lock:
            started = int(self._clock() * 1000)
            cold = not self.warm or since_ms < self.floor_ms
            if cold:
                pages = listing.pages_from(since_ms)
                self._start(since_ms)
                self.warm = True
            else:
                pages = listing.pages_from(self.read_ms - PAGE_MARGIN_MS)
                pages += listing.late_pages(self.read_ms - MARKER_MARGIN_MS, self._pages)
            for page in pages:
                self._add_page(page)
            self.read_ms = started
            self._drop_before(since_ms)
            if cold:  # what a container's first list costs, in the logs
                took = int(self._clock() * 1000) - started
                found = {"pages": len(pages), "messages": self.held, "ms": took}
                log.info(json.dumps({"event": "desk.walk_cold", **found}))
            trails = (self._trail(openid) for openid in self._entries)
            return [trail for trail in trails if trail.window_until > now]

    # -- inside the lock -------------------------------------------------------------------------

    def _add_page(self, page: dict[str, Any]) -> None:
        sk, rows = str(page["sk"]), page["m"]
        if self._pages.get(sk) == len(rows):
            return  # read already (a page rewritten with more messages is read again)
        if sk not in self._pages:
            heapq.heappush(self._page_expiry, (int(sk.split("#", 1)[0]), sk))
        self._pages[sk] = len(rows)
        for received, openid, created_at, delivery, kind, content, *_ in rows:
            received, kind = int(received), str(kind)
            if received < self.floor_ms or not Trail.counts(kind):
                continue
            text = "" if kind.startswith("event.") else str(content)[:MAX_TEXT]
            crc = zlib.crc32(f"{created_at}#{delivery}".encode())
            delta = int(created_at) - received // 1000
            self._add(str(openid), received << 32 | crc, received, self._entry(delta, kind, text))

    def _entry(self, delta: int, kind: str, text: str) -> Entry:
        if text:
            return delta, sys.intern(kind), text
        found = self._shapes.get((delta, kind))
        if found is None:
            found = self._shapes[(delta, kind)] = (delta, sys.intern(kind), "")
        return found

    def _add(self, openid: str, identity: Identity, received: int, entry: Entry) -> None:
        found = self._entries.setdefault(openid, {})
        if identity in found:
            return  # the same message in an overlapping page
        found[identity] = entry
        self._trails.pop(openid, None)
        if received < self._oldest.get(openid, received + 1):
            self._oldest[openid] = received
            heapq.heappush(self._expiry, (received, openid))

    def _drop_before(self, since_ms: int) -> None:
        """Forget what was received before `since_ms` (the floor only moves on)."""
        self.floor_ms = max(self.floor_ms, since_ms)
        floor = self.floor_ms << 32  # the least identity kept
        while self._expiry and self._expiry[0][0] < self.floor_ms:
            _, openid = heapq.heappop(self._expiry)
            found = self._entries.get(openid)
            if found is None:
                continue
            kept = {identity: e for identity, e in found.items() if identity >= floor}
            if len(kept) == len(found):
                continue  # an entry made stale by an older one: that one was pushed too
            self._trails.pop(openid, None)
            if not kept:
                del self._entries[openid], self._oldest[openid]
                continue
            self._entries[openid] = kept
            self._oldest[openid] = min(kept) >> 32
            heapq.heappush(self._expiry, (self._oldest[openid], openid))
        while self._page_expiry and self._page_expiry[0][0] < self.floor_ms:
            _, sk = heapq.heappop(self._page_expiry)
            del self._pages[sk]  # a page that old adds nothing if read again

    def _trail(self, openid: str) -> Trail:
        trail = self._trails.get(openid)
        if trail is None:
            trail = Trail(openid)
            entries = self._entries[openid]
            newest_at = None  # of the messages received after the one at hand
            for identity in sorted(entries, reverse=True):
                delta, kind, text = entries[identity]
                received = identity >> 32
                created_at = received // 1000 + delta
                trail.add(received, created_at, kind, text)  # newest first, as a walk
                if kind.startswith("event."):
                    continue
                at = opened_at(created_at, received)
                if newest_at is not None and at <= newest_at and text:
                    # A message received before one it does not beat can never be the trail's
                    # newest again (only older ones leave the window): its text goes.
                    entries[identity] = self._entry(delta, kind, "")
                newest_at = at if newest_at is None else max(newest_at, at)
            self._trails[openid] = trail
        return trail
