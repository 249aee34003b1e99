"""Account-wide campaign markers in `campaign-items`: the mass-send rate limiter, the template
daily-quota pause and the quota-period versions that keep two concurrent creates honest.

Each is one small item under the account (`<acct>#limit#mass`, `<acct>#limit#template`,
`<acct>#quota#<period>`), written conditionally; none is touched per follower message.
"""

from __future__ import annotations

import math
from typing import Any

from chalicelib.store import ddb, keys
from chalicelib.store.campaign_items import table_name
from chalicelib.store.guard import guarded


def _mass_limiter() -> ddb.Raw:
    return ddb.key(keys.scoped("limit", "mass"), "gcra")


def template_pause_key() -> ddb.Raw:
    return ddb.key(keys.scoped("limit", "template"), "quota")


def _quota_key(period: str) -> ddb.Raw:
    return ddb.key(keys.scoped("quota", period), "v")


# --------------------------------------------------------------------------- quota periods


@guarded
def quota_version(period: str) -> int:
    """How many campaigns were created in `period` (e.g. `month#2026-01`) under the limits."""
    item = ddb.get(table_name(), _quota_key(period), consistent=True)
    return int(item["v"]) if item else 0


def quota_guard(period: str, seen: int) -> ddb.Raw:
    """A transaction entry that moves the period's version from `seen` to `seen + 1`: it fails
    (and so the whole create) when another campaign was created in the period meanwhile."""
    update = ddb.Update().set(v=seen + 1)
    if seen:
        update.where("{v} = :seen", seen=seen)
    else:
        update.where("attribute_not_exists({v})")
    return {"Update": update.request(table_name(), _quota_key(period))}


# --------------------------------------------------------------------------- mass rate limit


@guarded
def acquire_mass_slot(now: float, interval: float) -> float:
    """Take one mass-send call slot: 0.0 when taken, else the seconds to wait.

    A GCRA ("theoretical arrival time") in one item, shared by every Lambda: a slot is free when
    `tat <= now`; taking it sets `tat = now + interval`, conditional on the `tat` we read, so two
    callers racing for one slot cannot both win. With interval = 60/59 s no 60-second window ever
    holds more than 60 calls, whatever mix of dispatcher runs, campaigns and previews makes them.
    """
    key = _mass_limiter()
    tat = (ddb.get(table_name(), key, consistent=True) or {}).get("tat")
    for _ in range(5):
        if tat is not None and tat > now:
            return float(tat - now)
        # Rounded up to the millisecond: never a hair early.
        update = ddb.Update().set(tat=math.ceil((now + interval) * 1000) / 1000)
        if tat is None:
            update.where("attribute_not_exists({tat})")
        else:
            update.where("{tat} = :old", old=tat)
        done, old = ddb.update(table_name(), key, update)
        if done:
            return 0.0
        tat = (old or {}).get("tat")
    return interval


# --------------------------------------------------------------------------- template quota pause


@guarded
def pause_template_sends(until: float, now: float, *, errcode: int, campaign_id: str) -> bool:
    """Record, for the whole account, that template/send is refused (daily quota) until `until`.
    Idempotent: the write only ever moves `until` later, so chunks racing to report the same
    45009 write one marker; False when it already said as much."""
    update = (
        ddb.Update()
        .set(
            until=until,
            paused_at=now,
            errcode=errcode,
            campaign=campaign_id,
            expires_at=int(until) + 86400,  # TTL: gone a day after it stopped mattering
        )
        .where("attribute_not_exists({until}) OR {until} < :u", u=until)
    )
    done, _ = ddb.update(table_name(), template_pause_key(), update)
    return done


@guarded
def template_pause() -> dict[str, Any] | None:
    """The marker (callers compare `until` with their clock: an old one is not deleted).
    Eventually consistent, half the cost: a read that misses a pause written a moment ago costs
    one refused call, whose 45009 writes the same marker again."""
    return ddb.get(table_name(), template_pause_key())
