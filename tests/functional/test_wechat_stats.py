"""WeChat's own statistics (CONTRACT.md §6): the daily job syncs datacube (followers, articles,
messages) into one item per day, `GET /admin/stats/wechat?from&to` reads them; the job resumes
where it stopped and re-reads the last days."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from chalice.test import Client

from app import app
from chalicelib import wiring
from chalicelib.jobs import wechat_stats as job
from chalicelib.store import wechat_stats as store
from chalicelib.wxaccount import stats
from tests.functional.helpers import admin, body_json

SUMMARY = "/datacube/getusersummary"
ARTICLES = "/datacube/getarticlesummary"


def yesterday() -> dt.date:
    return stats.beijing_today() - dt.timedelta(days=1)


def test_the_first_sync_backfills_30_days_and_the_api_shows_them(client, fake_wechat):
    report = job.run()
    assert report["days"] == stats.BACKFILL_DAYS
    assert report["to"] == yesterday().isoformat()
    # a week per call where WeChat allows it; articles one day per call
    assert fake_wechat.count(SUMMARY) == 5 and fake_wechat.count(ARTICLES) == 30

    first = yesterday() - dt.timedelta(days=6)
    response = admin(
        client, "GET", f"/admin/stats/wechat?from={first.isoformat()}&to={yesterday().isoformat()}"
    )
    assert response.status_code == 200, response.body
    answer = body_json(response)
    assert answer["synced_through"] == yesterday().isoformat()
    items = answer["items"]
    assert [i["date"] for i in items] == [
        (first + dt.timedelta(days=n)).isoformat() for n in range(7)
    ]
    for day, before in zip(items[1:], items, strict=False):
        followers = day["followers"]
        assert followers["net"] == followers["new"] - followers["cancelled"]
        # WeChat's total moves by the day's net growth
        assert followers["total"] == before["followers"]["total"] + followers["net"]
        assert sum(s["new"] for s in followers["by_source"].values()) == followers["new"]
        assert {"search", "qr_code", "other"} <= set(followers["by_source"])
        assert day["articles"]["reads"] >= day["articles"]["read_users"] > 0
        assert day["messages"]["count"] >= day["messages"]["users"] > 0
        assert set(day["messages"]["by_type"]) == {"text", "image"}
    assert any(item["articles"]["items"] for item in items)
    article = next(a for item in items for a in item["articles"]["items"])
    assert article["title"] and article["msgid"] and article["reads"] >= article["read_users"]


def test_later_runs_fetch_only_the_last_days_again(client, fake_wechat):
    job.run()
    calls = fake_wechat.count(ARTICLES)
    report = job.run()
    assert report["days"] == stats.RESYNC_DAYS  # WeChat revises its last days
    assert fake_wechat.count(ARTICLES) - calls == stats.RESYNC_DAYS


def test_a_run_out_of_time_carries_on_next_time(client, fake_wechat):
    ticks = iter(range(1000))
    report = stats.sync(wiring.wechat(), budget=0.5, clock=lambda: next(ticks))
    assert report["days"] == 7 and "stopped" in report  # one week, then out of time
    marker = store.sync_marker()["through"]
    assert marker == (yesterday() - dt.timedelta(days=stats.BACKFILL_DAYS - 7)).isoformat()
    report = job.run()
    assert report["from"] == (dt.date.fromisoformat(marker) + dt.timedelta(days=1)).isoformat()
    assert store.sync_marker()["through"] == yesterday().isoformat()


def test_a_wechat_failure_keeps_what_was_synced(client, fake_wechat):
    fake_wechat.inject_error(SUMMARY, None, times=1)  # the first week goes through
    fake_wechat.inject_error(SUMMARY, 61501, "date range error")
    with pytest.raises(Exception, match="61501"):
        job.run()
    marker = store.sync_marker()["through"]
    assert marker == (yesterday() - dt.timedelta(days=stats.BACKFILL_DAYS - 7)).isoformat()
    assert len(body_json(admin(client, "GET", "/admin/stats/wechat"))["items"]) == 6


def test_the_range_is_checked(client, fake_wechat):
    assert admin(client, "GET", "/admin/stats/wechat?from=2025-13-01").status_code == 400
    assert (
        admin(client, "GET", "/admin/stats/wechat?from=2025-02-02&to=2025-02-01").status_code == 400
    )
    empty = body_json(admin(client, "GET", "/admin/stats/wechat"))
    assert empty["items"] == [] and empty["synced_through"] is None


def test_the_schedule_runs_the_job(aws, fake_wechat):
    """app.py's daily schedule (EventBridge) reaches the same job."""
    with Client(app) as chalice:
        event = chalice.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        )
        result = chalice.lambda_.invoke("wechat_stats", event)
    assert result.payload["days"] == stats.BACKFILL_DAYS
    assert store.sync_marker()["at"] <= time.time()
