"""WeChat's own daily statistics of the account (datacube): followers (new, cancelled, total,
by source), article reads, shares and favourites (per day and per article), and the messages
followers sent (per type). WeChat counts what we cannot (reads of articles we did not host,
unsubscribes while we were down), so the dashboard shows them beside our own counters.

A daily job (`sync`) fetches the days since the last sync (the last BACKFILL_DAYS the first
time), re-fetching the last RESYNC_DAYS (WeChat revises a day for a while), a week at a time, and
stores each day (chalicelib/store/wechat_stats.py). WeChat has data up to yesterday (Beijing).
`GET /admin/stats/wechat?from&to` reads the stored days (`listing`).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.store import analytics
from chalicelib.store import wechat_stats as store
from chalicelib.wechat.api.datacube import SPANS

if TYPE_CHECKING:
    from chalicelib.wechat.api import WeChatClient

log = logging.getLogger("wxless.wechat_stats")

BEIJING = dt.timezone(dt.timedelta(hours=8))  # WeChat's days
BACKFILL_DAYS = 30
RESYNC_DAYS = 3
STEP_DAYS = 7  # days fetched and stored together
EARLIEST = dt.date(2014, 12, 1)  # WeChat keeps nothing older

# WeChat's user_source codes (getusersummary) and msg_type codes (getupstreammsg).
SOURCES = {
    0: "other",
    1: "search",
    17: "card_share",
    30: "qr_code",
    43: "article_menu",
    51: "payment",
    57: "article",
    100: "ads",
    149: "mini_program",
    161: "moments_ads",
    200: "video",
    201: "live",
}
MSG_TYPES = {1: "text", 2: "image", 3: "voice", 4: "video", 6: "link"}
# getuserread / getarticlesummary fields -> ours
READ_FIELDS = {
    "int_page_read_user": "read_users",
    "int_page_read_count": "reads",
    "ori_page_read_user": "original_read_users",
    "ori_page_read_count": "original_reads",
    "share_user": "share_users",
    "share_count": "shares",
    "add_to_fav_user": "favorite_users",
    "add_to_fav_count": "favorites",
}


def beijing_today(now: float | None = None) -> dt.date:
    return dt.datetime.fromtimestamp(time.time() if now is None else now, BEIJING).date()


def _windows(first: dt.date, last: dt.date, span: int) -> list[tuple[dt.date, dt.date]]:
    out, start = [], first
    while start <= last:
        end = min(last, start + dt.timedelta(days=span - 1))
        out.append((start, end))
        start = end + dt.timedelta(days=1)
    return out


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _empty_day() -> dict[str, Any]:
    return {
        "followers": {"new": 0, "cancelled": 0, "net": 0, "total": None, "by_source": {}},
        "articles": {**dict.fromkeys(READ_FIELDS.values(), 0), "items": []},
        "messages": {"users": 0, "count": 0, "by_type": {}},
    }


def fetch(client: WeChatClient, first: dt.date, last: dt.date) -> dict[str, dict[str, Any]]:
    """WeChat's statistics of `first`..`last` (at most a week: six to twelve calls), per day."""
    days = {
        (first + dt.timedelta(days=n)).isoformat(): _empty_day()
        for n in range((last - first).days + 1)
    }
    cube = client.datacube

    def each(api: str, call: Callable[[dt.date, dt.date], list[dict[str, Any]]]):
        for begin, end in _windows(first, last, SPANS[api]):
            for row in call(begin, end):
                day = days.get(str(row.get("ref_date")))
                if day is not None:
                    yield day, row

    for day, row in each("getusersummary", cube.user_summary):
        followers = day["followers"]
        new, cancelled = _int(row.get("new_user")), _int(row.get("cancel_user"))
        followers["new"] += new
        followers["cancelled"] += cancelled
        followers["net"] += new - cancelled
        code = _int(row.get("user_source"))
        source = followers["by_source"].setdefault(
            SOURCES.get(code, str(code)), {"new": 0, "cancelled": 0}
        )
        source["new"] += new
        source["cancelled"] += cancelled
    for day, row in each("getusercumulate", cube.user_cumulate):
        day["followers"]["total"] = _int(row.get("cumulate_user"))
    for day, row in each("getuserread", cube.user_read):
        # Rows per user_source when WeChat splits them: summed into the day.
        for theirs, ours in READ_FIELDS.items():
            day["articles"][ours] += _int(row.get(theirs))
    for day, row in each("getarticlesummary", lambda b, _e: cube.article_summary(b)):
        article = {"msgid": str(row.get("msgid") or ""), "title": str(row.get("title") or "")}
        article.update({ours: _int(row.get(theirs)) for theirs, ours in READ_FIELDS.items()})
        day["articles"]["items"].append(article)
    for day, row in each("getupstreammsg", cube.upstream_messages):
        messages = day["messages"]
        messages["users"] += _int(row.get("msg_user"))
        count = _int(row.get("msg_count"))
        messages["count"] += count
        kind = MSG_TYPES.get(_int(row.get("msg_type")), str(row.get("msg_type")))
        messages["by_type"][kind] = messages["by_type"].get(kind, 0) + count
    return days


def sync(
    client: WeChatClient,
    *,
    now: float | None = None,
    budget: float = 50.0,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Fetch and store the days not synced yet (and the last RESYNC_DAYS again), a week at a
    time, while `budget` seconds last; the next run carries on from the marker."""
    now = time.time() if now is None else now
    started = clock()
    last = beijing_today(now) - dt.timedelta(days=1)
    floor = max(EARLIEST, last - dt.timedelta(days=BACKFILL_DAYS - 1))
    marker = store.sync_marker()
    first = floor
    if marker and marker.get("through"):
        through = dt.date.fromisoformat(marker["through"])
        first = max(
            floor, min(through + dt.timedelta(days=1), last - dt.timedelta(days=RESYNC_DAYS - 1))
        )
    report: dict[str, Any] = {"from": first.isoformat(), "to": last.isoformat(), "days": 0}
    for begin, end in _windows(first, last, STEP_DAYS):
        if report["days"] and clock() - started > budget:  # a week at least: progress
            report["stopped"] = "out of time; the next run carries on"
            break
        days = fetch(client, begin, end)
        store.put_days(days, now)
        report["days"] += len(days)
        if not marker or end.isoformat() > str(marker.get("through") or ""):
            store.set_sync_marker(end.isoformat(), now)
    log.info("wechat_stats.synced %s", report)
    return report


def listing(start: str | None, end: str | None) -> dict[str, Any]:
    """GET /admin/stats/wechat: the stored days of the range (default: the last 30 days)."""
    first, last = analytics.date_range(start, end, default_days=BACKFILL_DAYS)
    marker = store.sync_marker() or {}
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "items": store.days(first.isoformat(), last.isoformat()),
        "synced_through": marker.get("through"),
        "synced_at": marker.get("at"),
    }
