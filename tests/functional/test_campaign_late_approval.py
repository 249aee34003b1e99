"""Four eyes and WeChat's day and month rules: a pending campaign approved after its send time
starts at once, on the approval's Beijing day, so what creation checked for the send day or month
is checked again then (chalicelib.campaigns.limits.check_late_start): one send to all a day, 4
mass messages per follower a month among openid lists, the daily template quota. The campaign
then counts on the day it sends."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from chalicelib.campaigns import admin as services
from chalicelib.campaigns import approval
from chalicelib.campaigns.spec import BEIJING
from chalicelib.errors import Conflict
from chalicelib.store import campaigns as table
from chalicelib.wechat.api import StaticTokenProvider, WeChatClient

DAY = 86400


def _all_send(name: str, send_at: float) -> dict:
    return {
        "name": name,
        "type": "mass",
        "send_at": send_at,
        "audience": {"type": "all"},
        "content": {"type": "text", "content": "感谢您的支持"},
    }


def test_a_late_approval_may_not_make_a_second_send_to_all_that_day(aws, fake_wechat):
    day_one = float(int(time.time()))
    pending = services.create(
        _all_send("第一天", day_one + 60), now=day_one, created_by="planner", needs_approval=True
    )
    # A day later, another send to all is scheduled for that day (the pending one counts on its
    # own day, the day before, so it is allowed) ...
    day_two = day_one + DAY
    other = services.create(_all_send("第二天", day_two + 60), now=day_two, created_by="planner")
    # ... and approving the first now would start it today: a second send to all today.
    with pytest.raises(Conflict) as refused:
        approval.decide(pending["id"], None, by="boss", approve=True, now=day_two)
    assert other["id"] in str(refused.value)
    assert table.get_campaign(pending["id"])["status"] == "pending_approval"  # nothing decided

    services.cancel(other["id"])  # today is free again: the late approval starts it now
    approved = approval.decide(pending["id"], None, by="boss", approve=True, now=day_two)
    assert approved["status"] == "scheduled"
    assert table.get_campaign(pending["id"])["send_at"] == day_two
    # It now holds today: another send to all today is refused at creation.
    with pytest.raises(Conflict):
        services.create(_all_send("再来一个", day_two + 3600), now=day_two, created_by="planner")


def test_an_approval_in_time_keeps_the_send_time(aws, fake_wechat):
    now = float(int(time.time()))
    pending = services.create(
        _all_send("准时", now + 3600), now=now, created_by="planner", needs_approval=True
    )
    approval.decide(pending["id"], None, by="boss", approve=True, now=now + 60)
    assert table.get_campaign(pending["id"])["send_at"] == now + 3600


def _list_send(name: str, send_at: float, openids: list[str]) -> dict:
    return {**_all_send(name, send_at), "audience": {"type": "openids", "openids": openids}}


def _next_beijing_month(ts: float) -> float:
    """The first instant of the Beijing month after `ts`'s."""
    start = datetime.fromtimestamp(ts, BEIJING).replace(day=1, hour=0, minute=0, second=0)
    year, month = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return start.replace(year=year, month=month).timestamp()


def test_a_late_approval_into_a_new_month_counts_the_monthly_mass_quota(aws, fake_wechat):
    followers = [f"o_late_{i}" for i in range(3)]
    month_two = _next_beijing_month(time.time())
    month_one_end = month_two - 4 * 3600  # 20:00 on the last day of the month, Beijing time
    pending = services.create(
        _list_send("月底", month_one_end + 60, followers),
        now=month_one_end,
        created_by="planner",
        needs_approval=True,
    )
    # The next month, the same followers get their 4 mass messages (the pending one counts in
    # the month before, its own) ...
    sent = [
        services.create(
            _list_send(f"第{i}条", month_two + 3600 * (i + 1), followers[:2]),
            now=month_two,
            created_by="planner",
        )
        for i in range(4)
    ]
    # ... so approving the first now would send a fifth to them this month.
    later = month_two + 60
    with pytest.raises(Conflict) as refused:
        approval.decide(pending["id"], None, by="boss", approve=True, now=later)
    assert "number 5" in str(refused.value) and "4 per follower per month" in str(refused.value)
    assert table.get_campaign(pending["id"])["status"] == "pending_approval"  # nothing decided
    assert table.get_campaign(pending["id"])["send_at"] == month_one_end + 60

    services.cancel(sent[0]["id"])  # a place is free again: the late approval starts it now
    approved = approval.decide(pending["id"], None, by="boss", approve=True, now=later)
    assert approved["status"] == "scheduled"
    assert table.get_campaign(pending["id"])["send_at"] == later


def _template(name: str, send_at: float, openids: list[str]) -> dict:
    return {
        "name": name,
        "type": "template",
        "send_at": send_at,
        "audience": {"type": "openids", "openids": openids},
        "template": {
            "template_id": "tmpl_txn_notice_0001",
            "data": {"keyword1": "2025-01-02", "keyword2": {"value": "¥100.00"}},
        },
    }


@pytest.fixture
def wx(fake_wechat, monkeypatch) -> WeChatClient:
    monkeypatch.setenv("WXLESS_TEMPLATE_DAILY_QUOTA", "5")
    return WeChatClient(
        fake_wechat.url, token_provider=StaticTokenProvider(fake_wechat.issue_token())
    )


def test_a_late_approval_on_another_day_counts_that_days_template_quota(aws, wx):
    day_one = float(int(time.time()))
    pending = services.create(
        _template("第一天", day_one + 60, [f"o_t_{i}" for i in range(4)]),
        now=day_one,
        client=wx,
        created_by="planner",
        needs_approval=True,
    )
    day_two = day_one + DAY
    other = services.create(
        _template("第二天", day_two + 60, ["o_u_0", "o_u_1"]), now=day_two, client=wx
    )
    # Approved now, the first would start today: 4 + 2 template messages on a day that has 5.
    with pytest.raises(Conflict) as refused:
        approval.decide(pending["id"], None, by="boss", approve=True, now=day_two)
    assert "daily template quota" in str(refused.value)
    assert table.get_campaign(pending["id"])["status"] == "pending_approval"

    services.cancel(other["id"])
    approved = approval.decide(pending["id"], None, by="boss", approve=True, now=day_two)
    assert approved["status"] == "scheduled"
    assert table.get_campaign(pending["id"])["send_at"] == day_two


def test_a_pending_template_campaign_holds_its_place_in_the_days_quota(aws, wx):
    send_at = float(int(time.time())) + 3600
    services.create(
        _template("待批", send_at, [f"o_t_{i}" for i in range(4)]),
        client=wx,
        created_by="planner",
        needs_approval=True,
    )
    with pytest.raises(Conflict) as refused:  # 4 pending + 2 > 5: approving it would break it
        services.create(_template("又一个", send_at + 60, ["o_u_0", "o_u_1"]), client=wx)
    assert "daily template quota" in str(refused.value)
