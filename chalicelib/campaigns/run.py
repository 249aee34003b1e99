"""What one dispatcher or sender invocation carries around: the WeChat client and the send queue
(the container's, passed down by the entry point), who it is (the lease owner), its clock and its
time budget; and the campaign settings, read lazily."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib import config

if TYPE_CHECKING:
    from chalicelib.campaigns.queue import SendQueue
    from chalicelib.wechat.api import WeChatClient

# Settings (environment; defaults in brackets)
MASS_CALLS_PER_MINUTE = "WXLESS_MASS_CALLS_PER_MINUTE"  # [60]; 0 = no limit (benchmarks only)
TEMPLATE_CHUNK = "WXLESS_TEMPLATE_CHUNK"  # [125] recipients per SQS message
TEMPLATE_RATE_PER_WORKER = "WXLESS_TEMPLATE_RATE_PER_WORKER"  # [0 = unpaced] calls/s per sender
DISPATCH_BUDGET = "WXLESS_DISPATCH_BUDGET"  # [50] seconds of work per dispatcher run

# A planning unit (one WeChat follower page, 10,000 openids) is written in one transaction of
# at most 100 items: the chunks plus the campaign's cursor, so a chunk holds >= 102 openids.
PLAN_UNIT = 10_000
MIN_CHUNK = 102
MAX_CHUNK = 1_000


def _int_setting(name: str, default: int, lo: int, hi: int) -> int:
    try:
        value = int(config.get(name, str(default)))
    except ValueError:
        return default
    return max(lo, min(hi, value))


def mass_interval() -> float:
    """Seconds between mass-send calls: 60/(limit-1), so no 60 s window holds more than limit."""
    limit = _int_setting(MASS_CALLS_PER_MINUTE, 60, 0, 10_000)
    if limit <= 0:
        return 0.0
    return 60.0 / max(1, limit - 1)


def template_chunk() -> int:
    return _int_setting(TEMPLATE_CHUNK, 125, MIN_CHUNK, MAX_CHUNK)


def template_pace() -> float:
    rate = _int_setting(TEMPLATE_RATE_PER_WORKER, 0, 0, 10_000)
    return 1.0 / rate if rate else 0.0


def dispatch_budget() -> float:
    return float(_int_setting(DISPATCH_BUDGET, 50, 1, 900))


@dataclass
class Run:
    """One invocation. `clock` is wall time (leases and send times are compared with it across
    processes); `budget` is measured on the monotonic clock."""

    client: WeChatClient
    queue: SendQueue | None = None  # template campaigns only: planning and sending put chunks on it
    budget: float = 50.0
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    owner: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: float = field(default_factory=time.monotonic)
    report: dict[str, Any] = field(default_factory=dict)
    # Until when template/send is paused for the daily quota, once this invocation knows it.
    template_paused_until: float = 0.0
    _last_send: float = 0.0

    def now(self) -> float:
        return self.clock()

    @property
    def sends(self) -> SendQueue:
        """The send queue (a run without one is a bug in its entry point)."""
        if self.queue is None:
            raise RuntimeError("this run was given no send queue")
        return self.queue

    def left(self) -> float:
        return self.budget - (time.monotonic() - self.started)

    def has_time(self, needed: float = 0.0) -> bool:
        return self.left() > needed

    def count(self, key: str, n: int = 1) -> None:
        self.report[key] = self.report.get(key, 0) + n

    def pace(self, interval: float) -> None:
        """Keep at least `interval` seconds between this worker's sends."""
        if interval <= 0:
            return
        wait = self._last_send + interval - time.monotonic()
        if wait > 0:
            self.sleep(wait)
        self._last_send = time.monotonic()


def budget_from(context: Any, default: float, margin: float = 10.0) -> float:
    """Seconds to work: the Lambda's remaining time minus a margin (at most a quarter of it),
    capped at `default`. Running out is safe (the next run carries on), just slower."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return default
    try:
        seconds = remaining() / 1000.0
    except Exception:
        return default
    return max(0.5, min(default, seconds - min(margin, seconds / 4)))
