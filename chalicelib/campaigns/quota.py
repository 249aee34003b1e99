"""The account's template/send daily quota (WeChat's 45009): one pause for the whole account.

The chunk that meets a 45009 first writes one marker item, "paused until the next 00:00 Beijing
time" (WeChat's daily quotas reset then; store.campaign_limits). Every chunk reads it (one
GetItem) before any call; while it holds, the chunk makes no WeChat call and its SQS message stays
on the queue, invisible until just past the reset (chalicelib.campaigns.sender `hold`). Without
it, each of a million-recipient campaign's 8,000 chunks would meet its own 45009 every 15 minutes
until the reset.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from chalicelib.campaigns.run import Run
from chalicelib.store import campaign_limits as limits
from chalicelib.store.errors import StoreUnavailable

log = logging.getLogger("wxless.campaigns")

DAILY_QUOTA = 45009  # template/send's daily quota is spent: nothing goes out before the reset
BEIJING = 8 * 3600  # UTC+8 all year (no daylight saving since 1991)
RESUME_MARGIN = 60.0  # held chunks come back a minute after the reset: clocks differ a little


def quota_reset_after(now: float) -> float:
    """The next 00:00 Beijing time after `now`: when WeChat's daily API quotas reset."""
    day = 86400
    return (math.floor((now + BEIJING) / day) + 1) * day - BEIJING


def pause_account(cid: str, errcode: int, run: Run) -> None:
    """Campaign `cid` met the 45009: pause template sending for the account until the reset."""
    now = run.now()
    # A 45009 within a minute after midnight is taken for yesterday's (our clock a little ahead
    # of WeChat's): a pause until the reset just past, not for a whole day.
    until = quota_reset_after(now - RESUME_MARGIN)
    run.template_paused_until = max(run.template_paused_until, until)
    try:
        if limits.pause_template_sends(until, now, errcode=errcode, campaign_id=cid):
            log.warning("campaigns.template_quota_paused until=%d campaign=%s", until, cid)
    except StoreUnavailable:
        # Not written: the other chunks find out at WeChat, one refused call each, and write it.
        log.exception("campaigns.template_pause_unwritten campaign=%s", cid)


def paused_until(run: Run) -> float:
    """0.0, or until when template/send is paused for the daily quota: one GetItem per chunk
    (none once this invocation knows of a pause). A failed read is no pause: at worst the chunk
    meets WeChat's 45009 itself; it never skips or repeats a recipient."""
    now = run.now()
    if run.template_paused_until > now:
        return run.template_paused_until
    try:
        marker = limits.template_pause()
    except StoreUnavailable:
        log.warning("campaigns.template_pause_unread: trying WeChat")
        run.count("template_pause_unread")
        return 0.0
    until = float((marker or {}).get("until") or 0)
    if until <= now:
        return 0.0
    run.template_paused_until = until
    return until


def quota_pause(now: float) -> dict[str, Any] | None:
    """The pause as the admin sees it, while in force: no template campaign sends before `until`
    (the next 00:00 Beijing time)."""
    marker = limits.template_pause() or {}
    until = float(marker.get("until") or 0)
    if until <= now:
        return None
    return {
        "reason": "template_daily_quota",
        "errcode": int(marker.get("errcode") or DAILY_QUOTA),
        "since": int(float(marker.get("paused_at") or 0)) or None,
        "until": int(until),
    }
