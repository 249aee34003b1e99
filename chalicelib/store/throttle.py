"""Brute-force throttle for the admin token: failed attempts counted per source IP in DynamoDB.

Counting in DynamoDB (not per container) matters because Lambda spreads an attacker's requests
over many containers. Only a presented-but-wrong token counts; a missing header does not. The
counter update returns the global count, so a container learns that an IP is over the limit on
its first failure from it and then refuses that IP (429) until the window ends, even with the
right token: each container allows at most one more guess per window, and a valid request
costs no extra read.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

from chalicelib import config
from chalicelib.store.models import ConfigItem

log = logging.getLogger("wxless.throttle")
DEFAULT_MAX_FAILURES = 200
WINDOW_SECONDS = 600

_locked: dict[str, float] = {}  # ip -> locked until (epoch s)


def _limit() -> int:
    try:
        return int(config.get("WXLESS_AUTH_MAX_FAILURES", str(DEFAULT_MAX_FAILURES)))
    except ValueError:
        return DEFAULT_MAX_FAILURES


def locked_for(ip: str, now: float | None = None) -> int:
    """Seconds the IP must still wait, 0 when it may try."""
    now = time.time() if now is None else now
    until = _locked.get(ip, 0.0)
    return int(until - now) + 1 if until > now else 0


def record_failure(ip: str, now: float | None = None) -> int:
    """Count a wrong token; returns the seconds the IP is now locked for (0 if not locked)."""
    now = time.time() if now is None else now
    window = int(now // WINDOW_SECONDS)
    window_end = (window + 1) * WINDOW_SECONDS
    try:
        item = ConfigItem(f"authfail#{ip}#{window}")
        item.update(
            actions=[
                ConfigItem.version.add(1),
                ConfigItem.expires_at.set(datetime.fromtimestamp(window_end + 60, UTC)),
            ]
        )
        if int(item.version) >= _limit():
            _locked[ip] = window_end
    except Exception:  # best effort: a failed count must not turn a 401 into a 5xx
        log.warning("throttle.count_failed ip=%s", ip, exc_info=True)
    return locked_for(ip, now)


def reset() -> None:
    _locked.clear()
