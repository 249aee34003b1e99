"""The notify API's limits in `outbound`: requests per caller and minute, template messages sent
per Beijing day.

- `<a>#nrate#<caller>#<minute>` / `r`: one conditional `ADD n 1` per request while `n < limit`
  (a fixed one-minute window; the item expires two minutes later). One write, no read.
- `<a>#nday#<day>` / `d`: `ADD n 1` per message sent (read before sending: the daily template
  quota is a budget, and WeChat's own 45009 stays the backstop).
"""

from __future__ import annotations

from chalicelib.store import ddb, keys, outbound
from chalicelib.store.guard import guarded


def _rate_key(caller: str, minute: int) -> ddb.Raw:
    return ddb.key(keys.scoped("nrate", caller, str(minute)), "r")


def _day_key(day: str) -> ddb.Raw:
    return ddb.key(keys.scoped("nday", day), "d")


@guarded
def take_request(caller: str, now: float, limit: int) -> bool:
    """Count one request of `caller` in the current minute; False when the minute is full."""
    minute = int(now // 60)
    upd = ddb.Update().add(n=1).set(expires_at=(minute + 2) * 60)
    upd.where("attribute_not_exists({n}) OR {n} < :limit", limit=limit)
    ok, _ = ddb.update(outbound.table_name(), _rate_key(caller, minute), upd)
    return ok


@guarded
def sent_today(day: str) -> int:
    item = ddb.get(outbound.table_name(), _day_key(day), consistent=True)
    return int((item or {}).get("n") or 0)


@guarded
def count_sent(day: str, expires_at: int) -> None:
    upd = ddb.Update().add(n=1).set(expires_at=expires_at)
    ddb.update(outbound.table_name(), _day_key(day), upd)
