"""A per-container cache of a compiled snapshot, refreshed when a version number changes.

The callback must not scan the rules table per message. A warm container checks the version
item at most every `ttl` seconds (one small read, amortised over every message in that window)
and rebuilds only when the version moved, so a rule change is visible within about `ttl` seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class SnapshotCache(Generic[T]):
    def __init__(
        self,
        read_version: Callable[[], int],
        load: Callable[[], tuple[int, Any]],
        build: Callable[[Any], T],
        *,
        ttl: float = 2.0,
        max_age: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read_version = read_version
        self._load = load
        self._build = build
        self._ttl = ttl
        # A full reload at least this often, whatever the version says: the safety net for a data
        # write whose version bump was lost to a fault (writers bump best-effort, see store.rules).
        self._max_age = max_age
        self._loaded_at = float("-inf")
        self._clock = clock
        self._lock = threading.Lock()
        self._value: T | None = None
        self._version: int | None = None
        self._checked = float("-inf")

    @property
    def last(self) -> T | None:
        """The last good snapshot, for answering while storage is failing."""
        return self._value

    def get(self) -> T:
        if self._value is not None and self._clock() - self._checked < self._ttl:
            return self._value
        if self._value is not None and not self._lock.acquire(blocking=False):
            return self._value  # another thread is refreshing; serve what we have
        if self._value is None:
            self._lock.acquire()
        try:
            return self._refresh()
        finally:
            self._lock.release()

    def _refresh(self) -> T:
        now = self._clock()
        if self._value is not None and now - self._checked < self._ttl:
            return self._value
        try:
            version = self._read_version()
            stale = now - self._loaded_at >= self._max_age
            if self._value is None or version != self._version or stale:
                version, data = self._load()
                self._value = self._build(data)
                self._version = version
                self._loaded_at = now
        except Exception:
            if self._value is None:
                raise
            # Keep serving the last snapshot; try again after another ttl.
            log.warning("snapshot refresh failed; serving version %s", self._version, exc_info=True)
        self._checked = now
        return self._value

    def invalidate(self) -> None:
        self._checked = float("-inf")
        self._version = None

    def clear(self) -> None:
        with self._lock:
            self._value = None
            self._version = None
            self._checked = float("-inf")
            self._loaded_at = float("-inf")
