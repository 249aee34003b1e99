"""WeChat's own daily statistics (datacube), one item per day in the `analytics` table beside
our counters: `pk = "<account>#wx"`, `sk = "<YYYY-MM-DD>"` (WeChat's days, Beijing time),
`data` = the day as the admin API shows it (chalicelib.wxaccount.stats builds it). A date
range is one Query. How far the daily sync got is one config item,
`<account>#wechat#stats_sync` (`{"through": "<YYYY-MM-DD>", "at": epoch seconds}`).
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import JSONAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.models import Model

from chalicelib.store import keys
from chalicelib.store.guard import guarded
from chalicelib.store.models import ConfigItem, table, view


@view
class WeChatDay(Model):
    """A view of the `analytics` table (created and deployed through AnalyticsItem)."""

    Meta = table("analytics")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    data = JSONAttribute()
    synced_at = NumberAttribute()


def _pk() -> str:
    return keys.scoped("wx")


def _marker() -> str:
    return keys.scoped("wechat", "stats_sync")


@guarded
def put_days(days: dict[str, dict[str, Any]], now: float) -> None:
    """Write (or overwrite: WeChat revises its recent days) each day's statistics."""
    with WeChatDay.batch_write() as batch:
        for day, data in sorted(days.items()):
            batch.save(WeChatDay(_pk(), day, data=data, synced_at=int(now)))


@guarded
def days(first: str, last: str) -> list[dict[str, Any]]:
    """The stored days from `first` to `last` (ISO dates, inclusive), oldest first."""
    return [
        {"date": item.sk, **item.data, "synced_at": int(item.synced_at)}
        for item in WeChatDay.query(_pk(), WeChatDay.sk.between(first, last))
    ]


@guarded
def sync_marker() -> dict[str, Any] | None:
    try:
        return ConfigItem.get(_marker(), consistent_read=True).value
    except DoesNotExist:
        return None


@guarded
def set_sync_marker(through: str, now: float) -> None:
    ConfigItem(_marker(), value={"through": through, "at": int(now)}, updated_at=int(now)).save()
