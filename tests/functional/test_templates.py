# ruff: noqa: F811  (fixtures imported from test_campaigns are then named as parameters)
"""Template messages since 2023 over HTTP (CONTRACT.md §6): the account's templates synced from
the fake WeChat with their typed fields, template data checked before a campaign is scheduled,
47003 counted per recipient, templates added and deleted."""

from __future__ import annotations

import time

import pytest

from chalicelib import wiring
from chalicelib.campaigns import admin as services
from chalicelib.jobs import campaigns
from chalicelib.store import campaigns as table
from chalicelib.store import wxaccount
from chalicelib.wxaccount import templates
from tests.functional.helpers import admin, body_json
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

LIST = "/cgi-bin/template/get_all_private_template"
SEND = "/cgi-bin/message/template/send"
CARD = "tmpl_card_txn_0002"


def card(data: dict) -> dict:
    return {"template_id": CARD, "data": data}


def create(client, template: dict, **extra):
    body = template_body({"type": "all"}, time.time() + 3600, template=template, **extra)
    return admin(client, "POST", "/admin/campaigns", body)


# --------------------------------------------------------------------------- listing


def test_templates_are_listed_with_typed_fields(client, fake_wechat):
    response = admin(client, "GET", "/admin/templates")
    assert response.status_code == 200, response.body
    items = {t["template_id"]: t for t in body_json(response)["items"]}
    card_template = items[CARD]
    assert card_template["title"] == "信用卡交易提醒"
    assert "{{thing2.DATA}}" in card_template["content"]
    assert card_template["fields"] == [
        {"key": "character_string1", "type": "character_string", "max": 32},
        {"key": "thing2", "type": "thing", "max": 20},
        {"key": "amount3", "type": "amount", "max": None},
        {"key": "time4", "type": "time", "max": None},
    ]
    assert card_template["category"] is True
    industry = items["tmpl_txn_notice_0001"]
    assert industry["category"] is False
    assert [f["type"] for f in industry["fields"]] == ["first", "keyword", "keyword", "remark"]


def test_the_listing_is_kept_and_synced_again(client, fake_wechat):
    assert admin(client, "GET", "/admin/templates").status_code == 200
    assert admin(client, "GET", "/admin/templates").status_code == 200
    assert fake_wechat.count(LIST) == 1  # fresh enough: our copy
    fake_wechat.add_template("tmpl_new_0009", "到账提醒", "到账金额：{{amount1.DATA}}")
    listed = body_json(admin(client, "GET", "/admin/templates?refresh=1"))
    assert fake_wechat.count(LIST) == 2
    assert "tmpl_new_0009" in {t["template_id"] for t in listed["items"]}
    # WeChat down: the copy we have, said to be stale
    fake_wechat.inject_error(LIST, -1, "system error", times=5)
    stale = body_json(admin(client, "GET", "/admin/templates?refresh=true"))
    assert stale["stale"] is True and len(stale["items"]) == len(listed["items"])


def test_without_a_copy_a_wechat_failure_is_the_answer(client, fake_wechat):
    fake_wechat.inject_error(LIST, -1, "system error", times=5)
    response = admin(client, "GET", "/admin/templates")
    assert response.status_code == 502 and body_json(response)["errcode"] == -1


# --------------------------------------------------------------- checked before scheduling


def test_a_valid_category_campaign_is_scheduled(client, fake_wechat):
    data = {
        "character_string1": "6222****1234",
        "thing2": "消费",
        "amount3": "¥1280.00",
        "time4": "2025-01-02 09:30",
    }
    response = create(client, card(data))
    assert response.status_code == 201, response.body
    assert body_json(response)["template"]["data"]["thing2"] == {"value": "消费"}


@pytest.mark.parametrize(
    ("data", "field", "needle"),
    [
        ({"thing2": "境外消费" * 6}, "thing2", "20 characters"),
        ({"amount3": "一千元"}, "amount3", "currency amount"),
        ({"time4": "昨天下午"}, "time4", "24-hour time"),
        ({"thing2": "第一行\n第二行"}, "thing2", "line breaks"),
        ({"thing2": {"value": "消费", "color": "#FF0000"}}, "thing2", "dropped them in 2023"),
        ({"first": "尊敬的客户"}, "first", "stopped showing first and remark"),
        ({"remark": "感谢使用"}, "remark", "stopped showing first and remark"),
        ({"keyword1": "x"}, "keyword1", "has no field"),
        # the fixed part of a per-follower value is checked too
        ({"thing2": "尊敬的{remark}" + "客户" * 9}, "thing2", "20 characters"),
    ],
)
def test_data_breaking_the_template_is_400_naming_the_field(
    client, fake_wechat, data, field, needle
):
    response = create(client, card(data))
    assert response.status_code == 400, response.body
    answer = body_json(response)
    assert f"template.data.{field}" in answer["error"] and needle in answer["error"]
    assert answer["field"] == field
    assert body_json(admin(client, "GET", "/admin/campaigns"))["items"] == []
    assert fake_wechat.count(SEND) == 0


def test_colour_is_refused_on_industry_templates_too(client, fake_wechat):
    data = {"keyword1": {"value": "2025-01-02", "color": "#173177"}}
    response = create(client, {"template_id": "tmpl_txn_notice_0001", "data": data})
    assert response.status_code == 400 and "colours" in body_json(response)["error"]


def test_an_unknown_template_is_400_after_asking_wechat(client, fake_wechat):
    response = create(client, {"template_id": "tmpl_nobody_has", "data": {"thing1": "x"}})
    assert response.status_code == 400, response.body
    assert "not one of the account's templates" in body_json(response)["error"]
    assert body_json(response)["field"] == "template.template_id"
    assert fake_wechat.count(LIST) == 1
    # Added in WeChat since: found once our copy is old enough to ask again.
    fake_wechat.add_template("tmpl_fresh_0010", "提醒", "内容：{{thing1.DATA}}")
    fresh = {"template_id": "tmpl_fresh_0010", "data": {"thing1": "x"}}
    assert create(client, fresh).status_code == 400  # asked a moment ago: not again
    age_our_copy(templates.MISS_MAX_AGE + 1)
    assert create(client, fresh).status_code == 201
    assert fake_wechat.count(LIST) == 2


def age_our_copy(seconds: float) -> None:
    kept = wxaccount.get_templates()
    wxaccount.put_templates(kept["items"], time.time() - seconds)


def test_the_check_alone(client, fake_wechat):
    ok = admin(client, "POST", "/admin/templates/check", card({"thing2": "消费"}))
    assert ok.status_code == 200 and body_json(ok)["template"]["template_id"] == CARD
    bad = admin(client, "POST", "/admin/templates/check", card({"thing2": "x" * 21}))
    assert bad.status_code == 400 and body_json(bad)["field"] == "thing2"


# --------------------------------------------------------------------------- at send time


def test_47003_fails_only_the_recipient_it_concerns(wx, fake_wechat, clock, queue):
    """A per-follower value WeChat finds too long (47003) fails that follower; the rest go."""
    fake_wechat.add_follower("o_short", remark="王")
    fake_wechat.add_follower("o_long", remark="尊贵客户" * 5)
    fake_wechat.add_follower("o_plain", remark="")
    body = template_body(
        {"type": "all"}, clock.t, template=card({"thing2": "{remark}消费", "amount3": "¥8.00"})
    )
    created = services.create(body, now=clock.t, client=wiring.wechat())
    dispatch(wx, clock)
    drain_queue(lambda bodies: campaigns.handle_sqs(bodies, wx, clock=clock))
    dispatch(wx, clock)
    detail = services.detail(created["id"])
    assert detail["status"] == table.COMPLETED
    assert detail["progress"]["sent"] == 2 and detail["progress"]["failed"] == 1
    assert detail["progress"]["errors"] == {"47003": 1}
    sent_to = {c.body["touser"] for c in fake_wechat.calls_to(SEND)}
    assert sent_to == {"o_short", "o_long", "o_plain"}  # asked once each, never again
    assert len(fake_wechat.template_messages) == 2


# --------------------------------------------------------------------------- add and delete


def test_add_and_delete_a_template(client, fake_wechat):
    body = {"template_id_short": "OPENTM_REPAYMENT", "keyword_name_list": ["还款金额", "温馨提示"]}
    added = admin(client, "POST", "/admin/templates", body)
    assert added.status_code == 201, added.body
    template = body_json(added)
    assert [f["key"] for f in template["fields"]] == ["amount1", "thing2"]
    listed = body_json(admin(client, "GET", "/admin/templates"))["items"]
    assert template["template_id"] in {t["template_id"] for t in listed}

    path = f"/admin/templates/{template['template_id']}"
    assert admin(client, "DELETE", path).status_code == 204
    listed = body_json(admin(client, "GET", "/admin/templates"))["items"]
    assert template["template_id"] not in {t["template_id"] for t in listed}
    assert admin(client, "DELETE", path).status_code == 404

    unknown = admin(client, "POST", "/admin/templates", {"template_id_short": "NOPE"})
    assert unknown.status_code == 422 and body_json(unknown)["errcode"] == 40037
    assert admin(client, "POST", "/admin/templates", {"template_id_short": ""}).status_code == 400
