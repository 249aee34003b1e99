"""Four eyes and WeChat's day rules: a pending campaign approved after its send time starts at
once, on the approval's Beijing day, so that day's rule is checked again then
(chalicelib.campaigns.limits.check_late_start), and the campaign counts on the day it sends."""

from __future__ import annotations

import time

import pytest

from chalicelib.campaigns import admin as services
from chalicelib.campaigns import approval
from chalicelib.errors import Conflict
from chalicelib.store import campaigns as table

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
