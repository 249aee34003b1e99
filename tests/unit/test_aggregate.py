"""What a batch of messages adds up to, without AWS: the stream aggregator's targets (one write
per item) for hour counters, text counters, follower records and flow statistics, built from
message items exactly as the callback writes them."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.aggregate import summaries
from chalicelib.engine.flows import FlowStep
from chalicelib.engine.pipeline import log_entry
from chalicelib.engine.replying import Decision
from chalicelib.store import analytics, ddb, followers, messages
from chalicelib.store.stream import StreamRecord, pad
from chalicelib.wechat.messages import parse_message

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = 1795000000


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("WXLESS_TABLE_PREFIX", "unit")
    monkeypatch.delenv("WXLESS_TIMEZONE", raising=False)
    monkeypatch.delenv("WXLESS_ACCOUNT_ID", raising=False)


_seq = [100]


def logged(
    outcome: str = "none", rule_id: str | None = None, flow: FlowStep | None = None, **fields: Any
) -> summaries.Logged:
    """A message as the stream delivers it: parsed, decided, written as the callback writes it."""
    base = {"ToUserName": "gh_x", "FromUserName": "o_1", "CreateTime": str(T0)}
    message = parse_message({**base, **{k: str(v) for k, v in fields.items()}})
    entry = log_entry(message, Decision({"type": "text"}, outcome, rule_id, flow), "<xml/>")
    item = messages.to_item(entry, T0 + 0.5)
    _seq[0] += 1
    record = StreamRecord(pad(str(_seq[0])), "INSERT", item, T0 * 1000, {})
    found = summaries.logged(record)
    assert found is not None
    return found


def effect(upd: ddb.Update) -> dict[str, tuple[str, Any]]:
    """attribute -> (SET | SET_IF_ABSENT | ADD | REMOVE, value), from the built expression."""
    names, values = upd.names, {k: ddb.de(v) for k, v in upd.values.items()}
    out: dict[str, tuple[str, Any]] = {}
    for clause in upd.sets:
        target, _, rhs = clause.partition(" = ")
        if rhs.startswith("if_not_exists("):
            out[names[target]] = ("SET_IF_ABSENT", values[rhs.split(", ")[1].rstrip(")")])
        else:
            out[names[target]] = ("SET", values[rhs])
    for clause in upd.adds:
        target, value = clause.split(" ")
        out[names[target]] = ("ADD", values[value])
    for target in upd.removes:
        out[names[target]] = ("REMOVE", None)
    return out


def build(target: Any) -> dict[str, tuple[str, Any]]:
    return effect(target.build([p.value for p in target.parts]))


# -- hour and text counters --------------------------------------------------------------------


def test_a_text_message_adds_to_its_hour_and_to_its_text():
    record = logged("default", MsgType="text", Content="余额？", MsgId="42")
    (hour,) = summaries.hour_targets([record])
    local = dt.datetime.fromtimestamp(T0, SHANGHAI)
    day = local.date().isoformat()
    assert hour.table == "unit-analytics"
    assert hour.key == ddb.key("default#h", f"{day}T{local.hour:02d}")
    assert build(hour) == {"t:text": ("ADD", 1), "o:default": ("ADD", 1)}

    (text,) = summaries.text_targets([record])
    shard = analytics.text_shard("余额")
    assert text.key == ddb.key(f"default#x#{shard}", f"{day}#余额")
    got = build(text)
    assert got["hits"] == ("ADD", 1) and got["unanswered"] == ("ADD", 1)
    assert got["sample"] == ("SET", "余额？") and got["last_unanswered_at"] == ("SET", T0)
    assert got["last_at"] == ("SET", T0) and "rule_id" not in got


def test_rule_hits_are_counted_by_rule_id_and_flows_are_not_rule_hits():
    hit = logged("rule", "r1", MsgType="text", Content="余额", MsgId="43")
    step = logged("flow.step", "flow:f1", MsgType="text", Content="1", MsgId="44")
    (hour,) = summaries.hour_targets([hit, step])
    assert build(hour) == {
        "t:text": ("ADD", 2),
        "o:rule": ("ADD", 1),
        "o:flow": ("ADD", 1),
        "r:r1": ("ADD", 1),
    }
    texts = {
        t.key["sk"]["S"].split("#", 1)[1]: build(t) for t in summaries.text_targets([hit, step])
    }
    assert texts["余额"]["rule_id"] == ("SET", "r1") and "unanswered" not in texts["余额"]
    assert "rule_id" not in texts["1"]


def test_one_item_per_text_and_hour_per_batch():
    batch = [logged("default", MsgType="text", Content=f"余额{'!' * i}", MsgId=str(50 + i))
             for i in range(5)]  # fmt: skip
    (hour,) = summaries.hour_targets(batch)
    assert build(hour)["t:text"] == ("ADD", 5) and len(hour.parts) == 5
    (text,) = summaries.text_targets(batch)  # "余额!" and "余额" are one question
    assert build(text)["hits"] == ("ADD", 5)


def test_events_count_in_their_hour_only():
    event = logged("subscribe", MsgType="event", Event="subscribe", EventKey="qrscene_7")
    image = logged(MsgType="image", PicUrl="http://x", MediaId="m", MsgId="45")
    assert summaries.text_targets([event, image]) == []
    (hour,) = summaries.hour_targets([event, image])
    assert build(hour) == {
        "t:event.subscribe": ("ADD", 1),
        "o:subscribe": ("ADD", 1),
        "t:image": ("ADD", 1),
        "o:none": ("ADD", 1),
    }


# -- follower records --------------------------------------------------------------------------


def follower_effect(*records: summaries.Logged) -> dict[str, tuple[str, Any]]:
    (target,) = summaries.follower_targets(list(records))
    assert target.own and target.key == ddb.key("default#o_1")
    return build(target)


def test_subscribe_with_qrscene():
    got = follower_effect(logged(MsgType="event", Event="subscribe", EventKey="qrscene_b42"))
    assert got["subscribed"] == ("SET", True)
    assert got["first_subscribed_at"] == ("SET_IF_ABSENT", T0)
    assert got["last_subscribed_at"] == ("SET", T0)
    assert got["scene"] == ("SET", "b42")
    assert got["profile_sync"] == ("SET", followers.pending_flag("o_1"))
    assert got["subscribe_count"] == ("ADD", 1)
    assert got["state_changed_ms"] == ("SET", T0 * 1000 + 500)


def test_subscribe_without_scene_removes_the_old_one():
    assert follower_effect(logged(MsgType="event", Event="subscribe"))["scene"] == ("REMOVE", None)


def test_messages_and_other_events_write_no_follower_record():
    """Activity (last interaction, windows, message count) is read from the timeline: a batch
    of messages, clicks and views writes no follower record at all."""
    records = [
        logged(MsgType="text", Content="hi", MsgId="1"),
        logged(MsgType="event", Event="CLICK", EventKey="menu_1"),
        logged(MsgType="event", Event="VIEW", EventKey="https://example.com"),
        logged(MsgType="image", PicUrl="http://x", MediaId="m", MsgId="2"),
    ]
    assert summaries.follower_targets(records) == []


def test_unsubscribe():
    got = follower_effect(logged(MsgType="event", Event="unsubscribe"))
    assert got["subscribed"] == ("SET", False) and got["unsubscribed_at"] == ("SET", T0)
    assert "profile_sync" not in got and "scene" not in got


def test_a_batch_of_one_follower_folds_into_one_write_in_stream_order():
    got = follower_effect(
        logged(MsgType="event", Event="subscribe", EventKey="qrscene_a"),
        logged(MsgType="text", Content="hi", MsgId="2"),
        logged(MsgType="event", Event="unsubscribe"),
    )
    assert got["subscribe_count"] == ("ADD", 1) and got["subscribed"] == ("SET", False)
    assert got["first_channel"] == ("SET_IF_ABSENT", "a") and "scene" not in got
    again = follower_effect(
        logged(MsgType="event", Event="unsubscribe"),
        logged(MsgType="event", Event="subscribe"),
        logged(MsgType="text", Content="hi", MsgId="3"),
    )
    assert again["subscribed"] == ("SET", True) and again["scene"] == ("REMOVE", None)
    assert again["profile_sync"] == ("SET", followers.pending_flag("o_1"))


def test_job_reports_do_not_touch_followers():
    report = logged(MsgType="event", Event="TEMPLATESENDJOBFINISH", MsgID="9", Status="success")
    assert summaries.follower_targets([report]) == []
    assert report.facts["job"] == {"id": "9", "status": "success"}


# -- flows and the listing ---------------------------------------------------------------------


def test_flow_counters_are_summed_per_flow_and_day():
    step = FlowStep(None, None, (("f1", None, "entered"), ("f1", "n1", "reached")))
    records = [logged("flow.enter", "flow:f1", step, MsgType="text", Content="办卡", MsgId=str(i))
               for i in (60, 61)]  # fmt: skip
    (target,) = summaries.flow_targets(records)
    day = dt.datetime.fromtimestamp(T0, SHANGHAI).date().isoformat()
    assert target.key == ddb.key("default#f1", day)
    assert build(target) == {"entered": ("ADD", 2), "n:n1:reached": ("ADD", 2)}


def test_listing_pages_hold_the_batch_newest_last():
    records = [logged(MsgType="text", Content=f"m{i}", MsgId=str(70 + i)) for i in range(3)]
    (page,) = summaries.listing_pages("shard0", records)
    assert page["pk"].startswith("default#log#")
    assert [row[5] for row in page["m"]] == ["m0", "m1", "m2"]
    assert page["sk"].endswith(f"#shard0#{records[0].seq}")


def test_items_that_are_not_messages_are_ignored_and_unreadable_ones_raise():
    removed = StreamRecord(pad("1"), "REMOVE", None, 0, {})
    assert summaries.logged(removed) is None
    other = StreamRecord(pad("2"), "INSERT", {"pk": "default#o", "sk": "flow"}, 0, {})
    assert summaries.logged(other) is None
    broken = StreamRecord(pad("3"), "INSERT", {"pk": "default#o", "sk": "m:011", "ct": 1}, 0, {})
    with pytest.raises(KeyError):
        summaries.logged(broken)


# -- the knowledge base's follow-ups -----------------------------------------------------------


def test_the_answer_before_is_read_only_for_a_first_text_that_can_follow_up_one(monkeypatch):
    """The answer an earlier batch gave a follower (their text just before, in their timeline)
    only pairs with their first text of the batch, and only when that text can be a follow-up:
    a keyword reply or a thanks cannot, so their timelines are not read (a batch of keyword
    replies reads nothing)."""
    from chalicelib.aggregate import faq_quality
    from chalicelib.store import messages

    asked: list[str] = []
    # every follower was just answered by entry e1
    answered = {"created_at": T0 - 30, "received_ms": (T0 - 30) * 1000, "outcome": "faq",
                "rule_id": "e1"}  # fmt: skip

    def texts_before(openid: str, key: str) -> list[dict[str, Any]]:
        assert key.startswith("m:")
        asked.append(openid)
        return [answered]

    monkeypatch.setattr(messages, "texts_before", texts_before)

    def text(outcome: str, rule_id: str | None, content: str, openid: str) -> summaries.Logged:
        return logged(outcome, rule_id, MsgType="text", Content=content, MsgId=str(len(batch)),
                      FromUserName=openid)  # fmt: skip

    batch: list[summaries.Logged] = []
    for args in [
        ("rule", "r1", "余额", "o_rule"),  # a keyword reply first: no read
        ("default", None, "还是不行", "o_rule"),  # its follow-up, but of the keyword reply
        ("default", None, "还是不行", "o_again"),  # asks again after e1: "g"
        ("rule", "r1", "转人工", "o_human"),  # wants a person after e1: "h"
        ("default", None, "谢谢", "o_thanks"),  # thanks: no read
        ("faq", "e1", "再问一下", "o_same"),  # e1 again: "g", and answered
    ]:
        batch.append(text(*args))
    got = {t.key["sk"]["S"]: build(t) for t in faq_quality.targets(batch)}
    assert sorted(asked) == ["o_again", "o_human", "o_same"]
    day, _hour = analytics.local_day_hour(T0)
    assert got == {day: {"g:e1": ("ADD", 2), "h:e1": ("ADD", 1), "a:e1": ("ADD", 1)}}
    asked.clear()
    keyword_replies = [text("rule", "r1", "余额", f"o_{i}") for i in range(3)]
    assert faq_quality.targets(keyword_replies) == [] and asked == []
    # A text answered otherwise just before: no follow-up of anything.
    answered.update(outcome="rule", rule_id="r9")
    assert faq_quality.targets([text("default", None, "还是不行", "o_x")]) == []
