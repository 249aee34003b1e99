# ruff: noqa: F811  (fixtures imported from test_campaigns are then named as parameters)
"""WeChat's mass-send rules for service accounts (CONTRACT.md §6): one send to all followers per
Beijing day, refused at creation; API mass-send protection declared in settings: a campaign to
all says "waiting for confirmation in WeChat" once sent, then WeChat's outcome."""

from __future__ import annotations

import datetime as dt
import time

from chalicelib.campaigns import admin as services
from chalicelib.campaigns import mass
from chalicelib.campaigns.spec import BEIJING
from tests import stream
from tests.functional.helpers import admin, body_json, post_xml
from tests.functional.test_campaigns import (  # noqa: F401  (fixtures)
    SENDALL,
    _moto_for_module,
    aws,
    clock,
    dispatch,
    finish_event,
    mass_body,
    openids,
    wx,
)


def beijing(day_offset: int, hour: int) -> int:
    """Epoch seconds of `hour`:00 Beijing time, `day_offset` days from today (Beijing)."""
    today = dt.datetime.now(BEIJING).date() + dt.timedelta(days=day_offset)
    return int(dt.datetime.combine(today, dt.time(hour), BEIJING).timestamp())


def post(client, body: dict):
    return admin(client, "POST", "/admin/campaigns", body)


# --------------------------------------------------------------------------- one send to all a day


def test_a_second_send_to_all_on_the_same_beijing_day_is_409(client):
    first = post(client, mass_body({"type": "all"}, beijing(1, 9), name="早间问候"))
    assert first.status_code == 201, first.body
    # 23:30 the same Beijing day (15:30 UTC): the same day for WeChat's quota
    second = post(client, mass_body({"type": "all"}, beijing(1, 23) + 1800, name="晚间问候"))
    assert second.status_code == 409, second.body
    answer = body_json(second)
    assert "once per day" in answer["error"] and answer["campaign"] == body_json(first)["id"]
    assert len(body_json(admin(client, "GET", "/admin/campaigns"))["items"]) == 1
    # the next Beijing day, a tag, a follower query: all fine
    assert post(client, mass_body({"type": "all"}, beijing(2, 0) + 60)).status_code == 201
    assert post(client, mass_body({"type": "tag", "tag_id": 2}, beijing(1, 10))).status_code == 201
    query = {"type": "query", "query": {"region": "深圳"}}
    assert post(client, mass_body(query, beijing(1, 11))).status_code == 201


def test_a_cancelled_send_to_all_frees_its_day(client):
    first = body_json(post(client, mass_body({"type": "all"}, beijing(3, 9))))
    assert post(client, mass_body({"type": "all"}, beijing(3, 20))).status_code == 409
    cancelled = admin(client, "POST", f"/admin/campaigns/{first['id']}/cancel")
    assert cancelled.status_code == 200
    assert post(client, mass_body({"type": "all"}, beijing(3, 20))).status_code == 201


def test_subscription_accounts_keep_their_own_daily_rule(client, monkeypatch):
    monkeypatch.setenv("WECHAT_ACCOUNT_TYPE", "subscription")
    assert post(client, mass_body({"type": "tag", "tag_id": 2}, beijing(4, 9))).status_code == 201
    refused = post(client, mass_body({"type": "all"}, beijing(4, 20)))
    assert refused.status_code == 409 and "subscription" in body_json(refused)["error"]


# --------------------------------------------------------------------------- settings


def test_wechat_settings(client):
    assert body_json(admin(client, "GET", "/admin/settings/wechat")) == {
        "mass_send_protection": False
    }
    put = admin(client, "PUT", "/admin/settings/wechat", {"mass_send_protection": True})
    assert put.status_code == 200 and body_json(put)["mass_send_protection"] is True
    assert body_json(admin(client, "GET", "/admin/settings/wechat"))["mass_send_protection"]
    for bad in ({"mass_send_protection": "yes"}, {"protection": True}, {}):
        response = admin(client, "PUT", "/admin/settings/wechat", bad)
        assert response.status_code == 400, bad
    assert body_json(admin(client, "GET", "/admin/settings/wechat"))["mass_send_protection"]


# --------------------------------------------------------------------------- protection


def protected_campaign(client, fake_wechat, clock) -> dict:
    for openid in openids(3):
        fake_wechat.add_follower(openid)
    fake_wechat.mass_protection = True
    admin(client, "PUT", "/admin/settings/wechat", {"mass_send_protection": True})
    return services.create(mass_body({"type": "all"}, clock.t), now=clock.t)


def test_a_protected_send_waits_for_confirmation_then_reports_it(client, wx, fake_wechat, clock):
    created = protected_campaign(client, fake_wechat, clock)
    assert created["confirmation"]["state"] == "not_sent"
    dispatch(wx, clock)
    detail = body_json(admin(client, "GET", f"/admin/campaigns/{created['id']}"))
    assert detail["confirmation"]["state"] == "waiting"
    assert detail["confirmation"]["message"] == "waiting for confirmation in WeChat"
    sent_at = detail["batches"][0]["sent_at"]
    assert detail["confirmation"]["deadline"] == sent_at + 1800
    listed = body_json(admin(client, "GET", "/admin/campaigns"))["items"]
    assert listed[0]["confirmation"]["state"] == "waiting"  # the listing says it too

    (job,) = fake_wechat.mass_jobs
    fake_wechat.confirm_mass(job)
    assert post_xml(client, finish_event(str(job), int(time.time()), total=3, sent=3))
    stream.drain()
    detail = body_json(admin(client, "GET", f"/admin/campaigns/{created['id']}"))
    assert detail["confirmation"]["state"] == "confirmed"
    assert detail["results"]["sent"] == 3


def test_an_unconfirmed_send_is_reported_refused_and_frees_the_day(client, wx, fake_wechat, clock):
    created = protected_campaign(client, fake_wechat, clock)
    dispatch(wx, clock)
    assert fake_wechat.count(SENDALL) == 1
    # nobody confirms: no completion event comes; an hour later mass/get says SEND_FAIL
    fake_wechat.clock = lambda: time.time() + 3600
    try:
        clock.advance(mass.RECONCILE_AFTER + 1)
        dispatch(wx, clock)
        dispatch(wx, clock)
    finally:
        fake_wechat.clock = time.time
    detail = services.detail(created["id"], now=clock.t)
    assert detail["confirmation"]["state"] == "refused"
    assert "SEND_FAIL" in detail["confirmation"]["message"]
    # the day's one send to all did not happen: another may be scheduled
    again = post(client, mass_body({"type": "all"}, clock.t + 600))
    assert again.status_code == 201, again.body


def test_a_send_to_a_tag_is_not_held(client, wx, fake_wechat, clock):
    fake_wechat.add_follower("o_tagged")
    admin(client, "PUT", "/admin/settings/wechat", {"mass_send_protection": True})
    created = services.create(mass_body({"type": "tag", "tag_id": 2}, clock.t), now=clock.t)
    assert "confirmation" not in created
    without = admin(client, "PUT", "/admin/settings/wechat", {"mass_send_protection": False})
    assert without.status_code == 200
    plain = services.create(mass_body({"type": "all"}, clock.t + 86400), now=clock.t)
    assert "confirmation" not in plain
