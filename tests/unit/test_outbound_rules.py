"""The pure rules behind what the account sends one follower: customer-service windows from a
timeline, the facts kept from subscribe-notification and publish events, typed template data."""

from __future__ import annotations

import re

import pytest

from chalicelib.cs.window import EVENT, MESSAGE, windows
from chalicelib.errors import InvalidInput
from chalicelib.wechat.notices import facts
from chalicelib.wechat.templates import CATEGORY_TYPES, check_data, field_of, template_view

NOW = 1_800_000_000


def item(seconds_ago: int, kind: str, n: int = 0) -> dict:
    at = NOW - seconds_ago
    return {"id": f"{at:010d}#x{n}", "created_at": at, "kind": kind, "received_ms": at * 1000}


def test_the_newest_message_opens_48_hours_and_a_click_one_minute():
    found = windows([item(10, "event.click"), item(100, "text")], NOW)
    assert found[MESSAGE].until == NOW - 100 + 48 * 3600
    assert found[EVENT].until == NOW - 10 + 60 and found[EVENT].limit == 3


def test_a_click_older_than_the_message_still_counts_within_its_minute():
    found = windows([item(5, "image"), item(30, "event.scan"), item(50, "text")], NOW)
    assert found[MESSAGE].opened_at == NOW - 5
    assert found[EVENT].opened_at == NOW - 30


def test_reading_stops_once_nothing_older_can_matter():
    seen = []

    def timeline():
        for entry in [item(5, "text"), item(120, "event.click"), item(200, "text")]:
            seen.append(entry)
            yield entry

    found = windows(timeline(), NOW)
    assert EVENT not in found and len(seen) == 2  # the click two minutes old ended the read


def test_unsubscribe_closes_older_windows_and_reports_open_nothing():
    assert windows([item(1, "event.unsubscribe"), item(10, "text")], NOW) == {}
    kinds = ["event.templatesendjobfinish", "event.view", "event.location",
             "event.subscribe_msg_popup_event", "event.subscribe_msg_sent_event"]  # fmt: skip
    assert windows([item(i, k, i) for i, k in enumerate(kinds)], NOW) == {}
    assert EVENT in windows([item(1, "event.subscribe")], NOW)


def test_a_window_opens_at_the_earlier_of_createtime_and_receipt():
    late_clock = {"id": "x", "created_at": NOW + 300, "kind": "text", "received_ms": NOW * 1000}
    assert windows([late_clock], NOW)[MESSAGE].opened_at == NOW


POPUP = {
    "SubscribeMsgPopupEvent": {
        "List": [
            {"TemplateId": "tA", "SubscribeStatusString": "accept", "PopupScene": "2"},
            {"TemplateId": "tB", "SubscribeStatusString": "reject", "PopupScene": "1"},
        ]
    }
}


def test_popup_change_and_sent_facts():
    assert facts("subscribe_msg_popup_event", POPUP) == [
        ["tA", "accept", "2"],
        ["tB", "reject", "1"],
    ]
    one = {
        "SubscribeMsgChangeEvent": {"List": {"TemplateId": "tA", "SubscribeStatusString": "reject"}}
    }
    assert facts("subscribe_msg_change_event", one) == [["tA", "reject", ""]]
    sent = {
        "SubscribeMsgSentEvent": {
            "List": {"TemplateId": "tA", "MsgID": "123", "ErrorCode": "0", "ErrorStatus": "success"}
        }
    }
    assert facts("subscribe_msg_sent_event", sent) == [["tA", "123", 0, "success"]]


def test_publish_finish_facts():
    raw = {
        "PublishEventInfo": {
            "publish_id": "2247503051",
            "publish_status": "0",
            "article_id": "b5O2",
            "article_detail": {"count": "1", "item": {"idx": "1", "article_url": "https://mp/s/1"}},
        }
    }
    assert facts("publishjobfinish", raw) == {
        "publish_id": "2247503051",
        "status": 0,
        "article_id": "b5O2",
        "urls": ["https://mp/s/1"],
        "fail_idx": [],
    }


@pytest.mark.parametrize(
    "raw",
    [
        {},
        {"SubscribeMsgPopupEvent": "text"},
        {"SubscribeMsgPopupEvent": {"List": ["x", {"TemplateId": {"a": "b"}}]}},
        {"SubscribeMsgPopupEvent": {"List": {"TemplateId": "t", "SubscribeStatusString": "maybe"}}},
        {"PublishEventInfo": {"publish_id": ["a"]}},
        {"SubscribeMsgSentEvent": {"List": {"TemplateId": "t", "ErrorCode": "x"}}},
    ],
)
def test_malformed_events_keep_nothing_and_never_raise(raw):
    for event in ("subscribe_msg_popup_event", "publishjobfinish", "subscribe_msg_sent_event"):
        kept = facts(event, raw)
        assert kept is None or kept == [["t", "", -1, ""]]


SUBSCRIBE_CONTENT = (
    "时间:{{time1.DATA}}\n金额:{{amount2.DATA}}\n状态:{{phrase3.DATA}}\n商户:{{thing4.DATA}}\n"
    "{{number5.DATA}}{{letter6.DATA}}{{phone_number7.DATA}}{{character_string8.DATA}}"
)


def test_typed_fields_of_a_subscribe_template():
    """Subscribe notifications keep the template messages' field rules (one module)."""
    template = template_view(
        {"template_id": "sub_1", "title": "交易提醒", "content": SUBSCRIBE_CONTENT}
    )
    assert template["category"] is True
    types = {f["key"]: f["type"] for f in template["fields"]}
    assert types["thing4"] == "thing" and types["character_string8"] == "character_string"
    assert field_of("keyword1").type not in CATEGORY_TYPES and field_of("first").type == "first"
    check_data(template, {"thing4": "两个字", "amount2": "¥100.50", "phrase3": "已入账"})
    check_data(
        template, {"number5": "12.5", "letter6": "ABC", "phone_number7": "+86 138-0000-0000"}
    )
    for bad, name in [
        ({"thing4": "x" * 21}, "data.thing4"),
        ({"phrase3": "六个字六个字"}, "data.phrase3"),
        ({"character_string8": "中文"}, "data.character_string8"),
        ({"number5": "1e5"}, "data.number5"),
        ({"amount2": "¥12345678901"}, "data.amount2"),
        ({"thing4": "a", "remark": "b"}, "data.remark"),
        ({"thing4": {"value": "a", "color": "#000000"}}, "data.thing4.color"),
        ({"thing4": "a\nb"}, "data.thing4"),
        ({"bad key": "x"}, "has no field 'bad key'"),
    ]:
        with pytest.raises(InvalidInput, match=re.escape(name)):
            check_data(template, bad)
    industry = template_view(
        {"template_id": "t", "content": "{{first.DATA}}{{keyword1.DATA}}{{remark.DATA}}"}
    )
    check_data(industry, {"first": "您好", "keyword1": "a", "remark": "谢谢"})  # an old template
