"""Template campaigns through the subscribe-notification channel: only followers who consented
get one (their one-time consent spent once), the others are recorded `no_consent` without a
call; previews too."""

# ruff: noqa: F811  (fixtures imported from test_campaigns are then named as parameters)

from __future__ import annotations

import re

import pytest

from chalicelib.campaigns import admin as services
from chalicelib.errors import InvalidInput
from chalicelib.jobs import campaigns
from chalicelib.store import campaign_items as items
from chalicelib.store import campaign_recipients as recipients
from chalicelib.store import campaigns as table
from chalicelib.store import consents, ddb, outbound
from tests.functional.test_campaigns import (  # noqa: F401  (fixtures)
    _moto_for_module,
    aws,
    clock,
    dispatch,
    drain_queue,
    queue,
    template_body,
    wx,
)

BIZSEND = "/cgi-bin/message/subscribe/bizsend"
DEMO = "sub_card_txn_0001"  # the fake WeChat's one-time template


def consent(openid: str, template_id: str = DEMO, times: int = 1) -> None:
    """What the stream aggregator writes for `times` accepts in the follower's popups."""
    changes = [("accept", 1_700_000_000 + i, "2") for i in range(times)]
    ddb.update(
        outbound.table_name(), consents.consent_key(template_id, openid),
        consents.change_update(changes),
    )  # fmt: skip


def subscribe_template() -> dict:
    return {
        "template_id": DEMO,
        "channel": "subscribe",
        "data": {"time1": "2026-01-05 09:00", "amount2": "¥88.00", "thing3": "{remark}"},
        "url": "https://bank.example.com/card",
    }


def test_only_consenting_followers_get_a_subscribe_notification(wx, fake_wechat, clock, queue):
    audience = ["o_sub_a", "o_sub_b", "o_sub_c"]
    for openid in audience:
        fake_wechat.add_follower(openid, remark="王先生")
    for openid in ("o_sub_a", "o_sub_b"):
        fake_wechat.subscribe_popup(openid, DEMO)
        consent(openid)
    body = template_body(
        {"type": "openids", "openids": audience}, clock.t, template=subscribe_template()
    )
    created = services.create(body, now=clock.t, client=wx)
    dispatch(wx, clock)
    drain_queue(lambda bodies: campaigns.handle_sqs(bodies, wx, clock=clock))
    dispatch(wx, clock)

    detail = services.detail(created["id"])
    assert detail["status"] == "completed"
    progress = detail["progress"]
    assert (progress["sent"], progress["failed"]) == (2, 1)
    assert progress["errors"] == {"no_consent": 1}
    assert fake_wechat.count(BIZSEND) == 2  # never called for the follower without consent
    sent = {m["touser"]: m for m in fake_wechat.subscribe_messages}
    assert set(sent) == {"o_sub_a", "o_sub_b"}
    assert sent["o_sub_a"]["data"]["thing3"] == {"value": "王先生"}
    assert sent["o_sub_a"]["page"] == "https://bank.example.com/card"
    refused = recipients.get_recipient(created["id"], "o_sub_c")
    assert refused["state"] == items.FAILED_STATE and refused["errcode"] == "no_consent"
    # Each one-time consent was spent once.
    assert consents.get(DEMO, "o_sub_a")["left"] == 0


def test_a_refused_message_gives_its_consent_back(wx, fake_wechat, clock, queue):
    fake_wechat.add_follower("o_sub_d")
    fake_wechat.subscribe_popup("o_sub_d", DEMO)
    consent("o_sub_d", times=2)
    fake_wechat.inject_error(BIZSEND, 47003, "argument invalid!")
    body = template_body(
        {"type": "openids", "openids": ["o_sub_d"]}, clock.t, template=subscribe_template()
    )
    created = services.create(body, now=clock.t, client=wx)
    dispatch(wx, clock)
    drain_queue(lambda bodies: campaigns.handle_sqs(bodies, wx, clock=clock))
    assert services.detail(created["id"])["progress"]["errors"] == {"47003": 1}
    assert consents.get(DEMO, "o_sub_d")["left"] == 2  # given back


def test_preview_needs_consent_too(wx, fake_wechat, clock, queue):
    fake_wechat.add_follower("o_sub_e")
    body = template_body(
        {"type": "openids", "openids": ["o_sub_e"]}, clock.t + 3600, template=subscribe_template()
    )
    created = services.create(body, now=clock.t, client=wx)
    answer = services.preview(created["id"], {"openids": ["o_sub_e"]}, wx)
    assert answer["results"] == [
        {
            "openid": "o_sub_e",
            "ok": False,
            "errcode": "no_consent",
            "error": "the follower has not consented to this subscribe template",
        }
    ]
    fake_wechat.subscribe_popup("o_sub_e", DEMO)
    consent("o_sub_e")
    (result,) = services.preview(created["id"], {"openids": ["o_sub_e"]}, wx)["results"]
    assert result["ok"] is True and fake_wechat.count(BIZSEND) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"template_id": "sub_not_at_wechat"}, "template.template_id"),
        ({"data": {"time1": "2026-01-05 09:00", "thing3": "尊敬的{remark}" + "客" * 18}},
         "template.data.thing3"),  # the fixed part alone is over 20
        ({"data": {"amount2": "八十八元"}}, "template.data.amount2"),
        ({"data": {"thing3": "x", "first": "您好"}}, "template.data.first"),
    ],
)  # fmt: skip
def test_a_subscribe_campaign_is_checked_against_its_synced_template(
    wx, fake_wechat, clock, queue, change, field
):
    template = {**subscribe_template(), **change}
    body = template_body({"type": "openids", "openids": ["o_sub_f"]}, clock.t, template=template)
    with pytest.raises(InvalidInput, match=re.escape(field)):
        services.create(body, now=clock.t, client=wx)
    assert table.list_campaigns() == []  # nothing written
    assert fake_wechat.count(BIZSEND) == 0
