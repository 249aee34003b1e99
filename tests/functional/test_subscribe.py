"""Subscribe notifications (订阅通知): templates at WeChat (/wxaapi/newtmpl/*), consents recorded
per follower from the popup and change events by the stream aggregator, and sending only to
followers who consented (the notify API's `channel: subscribe`)."""

from __future__ import annotations

import time

import pytest

from tests import wxsim
from tests.functional.helpers import admin, body_json, post_xml

DEMO = "sub_card_txn_0001"  # the fake WeChat's one-time template (2301: time1 amount2 thing3)
BIZSEND = "/cgi-bin/message/subscribe/bizsend"


def popup(openid: str, answers: list[tuple[str, str]], scene: int = 2, event=None) -> str:
    """A subscribe_msg_popup_event (or, with event="subscribe_msg_change_event", a refusal in
    the follower's settings), as WeChat posts it."""
    name = event or "subscribe_msg_popup_event"
    container = (
        "SubscribeMsgPopupEvent" if name.endswith("popup_event") else "SubscribeMsgChangeEvent"
    )
    entries = "".join(
        f"<List><TemplateId><![CDATA[{t}]]></TemplateId>"
        f"<SubscribeStatusString><![CDATA[{s}]]></SubscribeStatusString>"
        + (f"<PopupScene>{scene}</PopupScene>" if container.endswith("PopupEvent") else "")
        + "</List>"
        for t, s in answers
    )
    return (
        f"<xml><ToUserName><![CDATA[{wxsim.ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{name}]]></Event><{container}>{entries}</{container}></xml>"
    )


def sent_event(openid: str, template_id: str, msgid: str, errcode: int = 0) -> str:
    status = "success" if errcode == 0 else "failed"
    return (
        f"<xml><ToUserName><![CDATA[{wxsim.ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[subscribe_msg_sent_event]]></Event><SubscribeMsgSentEvent><List>"
        f"<TemplateId><![CDATA[{template_id}]]></TemplateId><MsgID>{msgid}</MsgID>"
        f"<ErrorCode>{errcode}</ErrorCode><ErrorStatus><![CDATA[{status}]]></ErrorStatus>"
        "</List></SubscribeMsgSentEvent></xml>"
    )


@pytest.fixture
def sub(client, fake_wechat):
    fake_wechat.add_follower("o_s_1")
    return client


def _consents(client, openid: str) -> dict[str, dict]:
    answer = body_json(admin(client, "GET", f"/admin/subscribe/consents?openid={openid}"))
    return {c["template_id"]: c for c in answer["items"]}


def _notify(client, client_msg_id: str, template_id: str = DEMO, openid: str = "o_s_1"):
    body = {
        "client_msg_id": client_msg_id,
        "openid": openid,
        "template_id": template_id,
        "channel": "subscribe",
        "data": {"time1": "2026-01-05 12:30", "amount2": "¥128.00", "thing3": "星巴克"},
        "url": "https://bank.example/txn/1",
    }
    return admin(client, "POST", "/admin/notify", body)


def test_templates_at_wechat(sub, fake_wechat):
    items = body_json(admin(sub, "GET", "/admin/subscribe/templates"))["items"]
    (demo,) = items
    assert demo["template_id"] == DEMO and demo["kind"] == "one_time"
    assert [f["key"] for f in demo["fields"]] == ["time1", "amount2", "thing3"]
    assert demo["fields"][2] == {"key": "thing3", "type": "thing", "max": 20}
    categories = body_json(admin(sub, "GET", "/admin/subscribe/categories"))["items"]
    assert {c["id"] for c in categories} == {616, 617}
    titles = body_json(admin(sub, "GET", "/admin/subscribe/titles?category_ids=617&limit=10"))
    assert titles["count"] == 2 and {t["tid"] for t in titles["items"]} == {"2301", "2302"}
    words = body_json(admin(sub, "GET", "/admin/subscribe/titles/2303/keywords"))["items"]
    assert [w["rule"] for w in words] == ["time", "amount"]

    created = admin(
        sub,
        "POST",
        "/admin/subscribe/templates",
        {"tid": "2303", "kid_list": [1, 2], "scene_desc": "账户变动"},
    )
    assert created.status_code == 201, created.body
    added = body_json(created)
    assert added["kind"] == "long_term" and added["title"] == "账户变动通知"
    assert len(body_json(admin(sub, "GET", "/admin/subscribe/templates"))["items"]) == 2
    path = f"/admin/subscribe/templates/{added['template_id']}"
    assert admin(sub, "DELETE", path).status_code == 204
    assert admin(sub, "DELETE", path).status_code == 422  # WeChat: 40037
    assert fake_wechat.count("/wxaapi/newtmpl/deltemplate") == 2


BAD_TEMPLATE_BODIES = [
    ({"tid": "2301", "kid_list": [1], "scene_desc": "x"}, 400),
    ({"tid": "2301", "kid_list": [1, 1], "scene_desc": "x"}, 400),
    ({"tid": "2301", "kid_list": [1, 2], "scene_desc": "x" * 16}, 400),
    ({"tid": "2301", "kid_list": [1, 2]}, 400),
    ({"tid": "../x", "kid_list": [1, 2], "scene_desc": "x"}, 400),
    ({"tid": "9999", "kid_list": [1, 2], "scene_desc": "x"}, 400),  # WeChat: 200014
    ({"tid": "2301", "kid_list": [1, 9], "scene_desc": "x"}, 400),  # WeChat: 200020
    ({"tid": "2301", "kid_list": [1, 2], "scene_desc": "x", "extra": 1}, 400),
]


def test_bad_template_requests(sub, fake_wechat):
    for body, status in BAD_TEMPLATE_BODIES:
        response = admin(sub, "POST", "/admin/subscribe/templates", body)
        assert response.status_code == status, (body, response.body)
    assert admin(sub, "GET", "/admin/subscribe/titles").status_code == 400
    assert admin(sub, "GET", "/admin/subscribe/titles?category_ids=a").status_code == 400
    assert admin(sub, "GET", "/admin/subscribe/consents?openid=bad!").status_code == 400
    assert fake_wechat.count("/wxaapi/newtmpl/addtemplate") == 2  # the two WeChat refused


def test_consents_are_recorded_from_the_stream(sub, fake_wechat):
    admin(sub, "GET", "/admin/subscribe/templates")  # synced: the kinds are known
    assert _consents(sub, "o_s_1")[DEMO]["status"] is None
    event = popup("o_s_1", [(DEMO, "accept"), ("tpl_other", "reject")])
    assert post_xml(sub, event).status_code == 200
    assert post_xml(sub, event).status_code == 200  # WeChat's retry: counted once
    consent = _consents(sub, "o_s_1")[DEMO]
    assert consent["status"] == "accept" and consent["left"] == 1 and consent["may_send"]
    time.sleep(1.05)  # another popup: another CreateTime (the same second would be a retry)
    assert post_xml(sub, popup("o_s_1", [(DEMO, "accept")], scene=1)).status_code == 200
    assert _consents(sub, "o_s_1")[DEMO]["left"] == 2
    # A refusal in the follower's settings clears the one-time consents.
    time.sleep(1.05)
    change = popup("o_s_1", [(DEMO, "reject")], event="subscribe_msg_change_event")
    assert post_xml(sub, change).status_code == 200
    consent = _consents(sub, "o_s_1")[DEMO]
    assert consent["status"] == "reject" and consent["left"] == 0 and not consent["may_send"]
    assert consent["accepts"] == 2


def test_notify_sends_subscribe_notifications_only_with_consent(sub, fake_wechat):
    admin(sub, "GET", "/admin/subscribe/templates")
    refused = _notify(sub, "sub-1")
    assert refused.status_code == 409 and body_json(refused)["status"] == "refused"
    assert fake_wechat.count(BIZSEND) == 0
    assert _notify(sub, "sub-1").body == refused.body  # kept and replayed

    fake_wechat.subscribe_popup("o_s_1", DEMO)  # what WeChat knows
    assert post_xml(sub, popup("o_s_1", [(DEMO, "accept")])).status_code == 200  # what we know
    sent = _notify(sub, "sub-2")
    assert sent.status_code == 200, sent.body
    answer = body_json(sent)
    assert answer["channel"] == "subscribe" and answer["msgid"]
    (delivered,) = fake_wechat.subscribe_messages
    assert delivered["page"] == "https://bank.example/txn/1"
    assert delivered["data"]["thing3"] == {"value": "星巴克"}
    assert _consents(sub, "o_s_1")[DEMO]["left"] == 0  # the one-time consent is used
    third = _notify(sub, "sub-3")
    assert third.status_code == 409 and fake_wechat.count(BIZSEND) == 1
    # WeChat's report on the send.
    assert post_xml(sub, sent_event("o_s_1", DEMO, answer["msgid"])).status_code == 200
    record = body_json(admin(sub, "GET", "/admin/notify/sub-2"))
    assert record["delivery"] == "delivered" and record["channel"] == "subscribe"


def test_subscribe_data_is_checked_against_the_synced_template(sub, fake_wechat):
    """The template's fields (synced from WeChat on a miss) and their types' rules, before the
    consent is spent or anything is claimed."""
    fake_wechat.subscribe_popup("o_s_1", DEMO)
    assert post_xml(sub, popup("o_s_1", [(DEMO, "accept")])).status_code == 200
    good = {"time1": "2026-01-05 12:30", "amount2": "¥128.00", "thing3": "星巴克"}
    bad = [
        ({"template_id": "sub_not_at_wechat"}, "template_id"),
        ({"data": {**good, "thing3": "星" * 21}}, "data.thing3"),
        ({"data": {**good, "amount2": "一百元"}}, "data.amount2"),
        (
            {"data": {**good, "thing3": {"value": "星巴克", "color": "#FF0000"}}},
            "data.thing3.color",
        ),
        ({"data": {**good, "remark": "谢谢"}}, "data.remark"),
        ({"data": {**good, "character_string4": "8888"}}, "data.character_string4"),
    ]
    for n, (change, words) in enumerate(bad):
        body = {
            "client_msg_id": f"sub-bad-{n}",
            "openid": "o_s_1",
            "template_id": DEMO,
            "channel": "subscribe",
            "data": good,
            **change,
        }
        response = admin(sub, "POST", "/admin/notify", body)
        assert response.status_code == 400, (change, response.body)
        assert words in body_json(response)["error"], (change, response.body)
        assert admin(sub, "GET", f"/admin/notify/sub-bad-{n}").status_code == 404
    assert fake_wechat.count(BIZSEND) == 0
    assert _consents(sub, "o_s_1")[DEMO]["left"] == 1  # not spent
    assert _notify(sub, "sub-good").status_code == 200


def test_wechat_43101_revokes_the_consent(sub, fake_wechat):
    admin(sub, "GET", "/admin/subscribe/templates")
    assert post_xml(sub, popup("o_s_1", [(DEMO, "accept")])).status_code == 200
    # WeChat has no consent on record (the follower revoked it where we did not see).
    response = _notify(sub, "sub-43101")
    assert response.status_code == 409 and body_json(response)["errcode"] == 43101
    consent = _consents(sub, "o_s_1")[DEMO]
    assert consent["status"] == "reject" and consent["left"] == 0


def test_a_long_term_template_needs_an_accept_not_a_count(sub, fake_wechat):
    created = body_json(
        admin(
            sub,
            "POST",
            "/admin/subscribe/templates",
            {"tid": "2303", "kid_list": [1, 2], "scene_desc": "账户变动"},
        )
    )
    template_id = created["template_id"]
    fake_wechat.subscribe_popup("o_s_1", template_id)
    assert post_xml(sub, popup("o_s_1", [(template_id, "accept")])).status_code == 200
    for n in range(3):
        body = {
            "client_msg_id": f"acct-{n}",
            "openid": "o_s_1",
            "template_id": template_id,
            "channel": "subscribe",
            "data": {"time1": "2026-01-05 12:30", "amount2": "¥-50.00"},
        }
        assert admin(sub, "POST", "/admin/notify", body).status_code == 200
    assert len(fake_wechat.subscribe_messages) == 3
    consent = _consents(sub, "o_s_1")[template_id]
    assert consent["kind"] == "long_term" and consent["left"] is None and consent["may_send"]
