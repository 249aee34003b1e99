"""Brute-force throttle for the admin token: failed attempts counted per source IP in DynamoDB.

Counting in DynamoDB (not per container) matters because Lambda spreads an attacker's requests
over many containers. Only a presented-but-wrong token counts; a missing header does not. The
counter update returns the global count, so a container learns that an IP is over the limit on
its first failure from it and then refuses that IP (429) until the window ends, even with the
right token: each container allows at most one more guess per window.

What a container has learnt is its `Lockouts` (one per container, built by `wiring.lockouts()`
and passed in by the handler): with it a valid request costs no extra read. Called without one,
`locked_for` reads the window's counter instead (same answer, one GetItem).
The counter is the config item `<account>#authfail#<ip>#<window>`, deleted by TTL.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from pynamodb.exceptions import DoesNotExist

from chalicelib import config
from chalicelib.store import keys
from chalicelib.store.models import ConfigItem

log = logging.getLogger("wxless.throttle")
DEFAULT_MAX_FAILURES = 200
WINDOW_SECONDS = 600


class Lockouts:
    """The IPs this container has seen go over the limit, each with the end of its window."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def wait(self, ip: str, now: float) -> int:
        return _seconds_until(self._until.get(ip, 0.0), now)

    def lock(self, ip: str, until: float, now: float) -> None:
        # Forget finished lockouts while here (locking is rare): the map holds live ones only.
        self._until = {k: v for k, v in self._until.items() if v > now}
        self._until[ip] = until


def _limit() -> int:
    try:
        return int(config.get("WXLESS_AUTH_MAX_FAILURES", str(DEFAULT_MAX_FAILURES)))
    except ValueError:
        return DEFAULT_MAX_FAILURES


def _counter(ip: str, now: float) -> tuple[str, float]:
    """The key of the IP's counter for the window holding `now`, and the end of that window."""
    window = int(now // WINDOW_SECONDS)
    return keys.scoped("authfail", ip, str(window)), (window + 1) * WINDOW_SECONDS


def _seconds_until(until: float, now: float) -> int:
    return int(until - now) + 1 if until > now else 0


def locked_for(ip: str, now: float | None = None, lockouts: Lockouts | None = None) -> int:
    """Seconds the IP must still wait, 0 when it may try."""
    now = time.time() if now is None else now
    if lockouts is not None:
        return lockouts.wait(ip, now)
    key, window_end = _counter(ip, now)
    try:
        count = ConfigItem.get(key).version or 0
    except DoesNotExist:
        return 0
    except Exception:  # best effort, as counting: the token check still guards the request
        log.warning("throttle.read_failed ip=%s", ip, exc_info=True)
        return 0
    return _seconds_until(window_end, now) if int(count) >= _limit() else 0


def record_failure(ip: str, now: float | None = None, lockouts: Lockouts | None = None) -> int:
    """Count a wrong token; returns the seconds the IP is now locked for (0 if not locked)."""
    now = time.time() if now is None else now
    key, window_end = _counter(ip, now)
    try:
        item = ConfigItem(key)
        item.update(
            actions=[
                ConfigItem.version.add(1),
                ConfigItem.expires_at.set(datetime.fromtimestamp(window_end + 60, UTC)),
            ]
        )
    except Exception:  # best effort: a failed count must not turn a 401 into a 5xx
        log.warning("throttle.count_failed ip=%s", ip, exc_info=True)
        return lockouts.wait(ip, now) if lockouts is not None else 0
    if int(item.version) < _limit():
        return 0
    if lockouts is not None:
        lockouts.lock(ip, window_end, now)
    return _seconds_until(window_end, now)
