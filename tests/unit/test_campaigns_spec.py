"""Campaign bodies, the WeChat messages they become, template data, keys and settings."""

from __future__ import annotations

from datetime import datetime

import pytest

from chalicelib.campaigns import mass, template
from chalicelib.campaigns import run as campaign_run
from chalicelib.campaigns.admin import _balanced
from chalicelib.campaigns.spec import (
    BEIJING,
    mass_message,
    parse_time,
    render_template_data,
    template_fields,
    validate_campaign,
)
from chalicelib.store import campaign_items as items
from chalicelib.store import campaign_results as results
from chalicelib.store import ddb

NOW = 1_760_000_000.0


def body(**extra):
    out = {
        "name": "n",
        "audience": {"type": "all"},
        "content": {"type": "text", "content": "hi"},
    }
    out.update(extra)
    return out


def test_a_mass_campaign_defaults_to_now():
    spec, openids = validate_campaign(body(), NOW)
    assert spec["type"] == "mass" and spec["send_at"] == NOW and openids == []
    assert spec["content"] == {"type": "text", "content": "hi"}


def test_type_follows_the_body():
    spec, _ = validate_campaign(
        {
            "name": "t",
            "audience": {"type": "tag", "tag_id": 7},
            "template": {"template_id": "x", "data": {"first": "hello {openid}"}},
        },
        NOW,
    )
    assert spec["type"] == "template" and spec["audience"] == {"type": "tag", "tag_id": 7}
    assert spec["template"]["data"] == {"first": {"value": "hello {openid}"}}


def test_openid_lists_are_deduplicated_and_checked():
    spec, openids = validate_campaign(
        body(audience={"type": "openids", "openids": ["o_a", "o_b", "o_a"]}), NOW
    )
    assert openids == ["o_a", "o_b"] and spec["audience"] == {"type": "openids", "count": 2}
    with pytest.raises(ValueError, match="not an openid"):
        validate_campaign(body(audience={"type": "openids", "openids": ["o a", "o_b"]}), NOW)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"audience": {"type": "query", "query": {}}}, "audience.query"),
        ({"audience": {"type": "query", "query": {"city": "x"}}}, "unknown field"),
        ({"audience": {"type": "tag", "tag_id": "2"}}, "tag_id"),
        ({"audience": {"type": "all", "x": 1}}, "unknown field"),
        ({"content": {"type": "music"}}, "content.type"),
        ({"content": {"type": "news"}}, "either media_id"),
        ({"content": {"type": "news", "media_id": "m", "article_ids": ["a"]}}, "either"),
        ({"content": {"type": "image"}}, "media_id"),
        ({"colour": "red"}, "unknown field"),
        ({"name": ""}, "name"),
        ({"send_at": NOW - 3600}, "past"),
        ({"send_at": NOW + 400 * 86400}, "year"),
        ({"send_at": "tomorrow"}, "ISO 8601"),
        ({"send_at": True}, "epoch"),
        ({"type": "push"}, "mass or template"),
    ],
)
def test_invalid_bodies(patch, message):
    with pytest.raises(ValueError, match=message):
        validate_campaign(body(**patch), NOW)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ({"template_id": "x", "data": {}}, "template.data"),
        ({"template_id": "x", "data": {"a": "{nickame}"}}, "nickame"),
        ({"template_id": "x", "data": {"a": "{}"}}, "literal brace"),
        (
            {"template_id": "x", "data": {"a": {"value": "v", "color": "#173177"}}},
            "dropped them in 2023",
        ),
        ({"template_id": "x", "data": {"a": 3}}, "text"),
        ({"template_id": "x", "data": {"a": "v"}, "url": "ftp://x"}, "http"),
        ({"template_id": "x", "data": {"a": "v"}, "miniprogram": {}}, "appid"),
        ({"data": {"a": "v"}}, "template_id"),
    ],
)
def test_invalid_templates(template, message):
    with pytest.raises(ValueError, match=message):
        validate_campaign({"name": "t", "audience": {"type": "all"}, "template": template}, NOW)


def test_send_times():
    assert parse_time(NOW + 60, NOW) == NOW + 60
    assert parse_time(NOW - 60, NOW) == NOW  # slightly late means now
    beijing = datetime(2030, 1, 2, 9, 0, tzinfo=BEIJING).timestamp()
    assert parse_time("2030-01-02T09:00:00", 1_890_000_000) == beijing  # no offset: Beijing
    assert parse_time("2030-01-02T01:00:00Z", 1_890_000_000) == beijing


def test_template_data_is_filled_from_follower_fields():
    data = {
        "first": {"value": "尊敬的{remark}，{{不是字段}}", "color": "#112233"},
        "k1": "{openid} {tags} {city}",
        "k2": "{openid.__class__} stays text",
    }
    assert template_fields(data) == {"remark", "openid", "tags", "city"}
    out = render_template_data(data, {"openid": "o_1", "remark": "张三", "tags": [2, 5]})
    assert out["first"] == {"value": "尊敬的张三，{不是字段}", "color": "#112233"}
    assert out["k1"] == {"value": "o_1 2,5 "}  # a missing field is empty
    assert out["k2"] == {"value": "{openid.__class__} stays text"}  # never str.format


def test_mass_messages():
    assert mass_message({"type": "text", "content": "hi"}) == ("text", {"content": "hi"})
    assert mass_message({"type": "image", "media_id": "m"}) == ("image", {"media_ids": ["m"]})
    assert mass_message({"type": "voice", "media_id": "m"}) == ("voice", {"media_id": "m"})
    # the mass video is media/uploadvideo's media_id, made when the campaign starts
    assert mass_message({"type": "video", "media_id": "v", "title": "t"}, "mass-v") == (
        "mpvideo",
        {"media_id": "mass-v", "title": "t"},
    )
    with pytest.raises(ValueError):
        mass_message({"type": "video", "media_id": "v"})
    assert mass_message({"type": "news", "media_id": "d"}) == ("mpnews", {"media_id": "d"})
    assert mass_message({"type": "news", "article_ids": ["a"]}, "made") == (
        "mpnews",
        {"media_id": "made"},
    )
    with pytest.raises(ValueError):
        mass_message({"type": "news", "article_ids": ["a"]})


@pytest.mark.parametrize("n", [2, 3, 9_999, 10_000, 10_001, 20_001, 100_000])
def test_batches_are_balanced_and_never_a_single_openid(n):
    parts = _balanced([str(i) for i in range(n)], 10_000)
    assert sum(map(len, parts)) == n and len(parts) == -(-n // 10_000)
    assert max(map(len, parts)) <= 10_000 and min(map(len, parts)) >= 2
    assert [o for p in parts for o in p] == [str(i) for i in range(n)]


def test_idempotency_keys_fit_wechat_limits():
    cid = "f" * 32
    assert len(mass.clientmsgid(cid, items.batch_sk(99_999)).encode()) <= 64
    key = template.client_msg_id(cid, "o" * 64)
    assert len(key.encode()) <= 64
    assert key == template.client_msg_id(cid, "o" * 64)  # deterministic
    assert key != template.client_msg_id(cid, "o" * 63)


def test_settings(monkeypatch):
    assert campaign_run.mass_interval() == pytest.approx(60 / 59)
    monkeypatch.setenv("WXLESS_MASS_CALLS_PER_MINUTE", "0")
    assert campaign_run.mass_interval() == 0.0
    monkeypatch.setenv("WXLESS_TEMPLATE_CHUNK", "5")
    assert campaign_run.template_chunk() == campaign_run.MIN_CHUNK  # a page fits one transaction
    monkeypatch.setenv("WXLESS_TEMPLATE_CHUNK", "nonsense")
    assert campaign_run.template_chunk() == 125


def test_budget_from_a_lambda_context():
    class Context:
        def __init__(self, ms):
            self.ms = ms

        def get_remaining_time_in_millis(self):
            return self.ms

    assert campaign_run.budget_from(None, 50) == 50
    assert campaign_run.budget_from(Context(90_000), 50) == 50
    assert campaign_run.budget_from(Context(40_000), 50) == 30
    assert campaign_run.budget_from(Context(3_000), 50) == 2.25


def test_delivery_outcomes():
    assert results.delivery_outcome("success") == "delivered"
    assert results.delivery_outcome("failed:user block") == "blocked"
    assert results.delivery_outcome("failed: system failed") == "failed"


def test_only_completion_events_are_read_from_a_logged_message():
    """What the callback kept of a completion event (its job facts) is all the aggregator needs;
    every other message carries none. Claiming, results and counters run on moto (functional
    tests of the completion events)."""
    job = {"id": "1001", "status": "send success", "total_count": 7}
    assert results.completion_of("masssendjobfinish", job) == results.Completion(
        "masssendjobfinish", "1001", "send success", total_count=7
    )
    assert results.completion_of("subscribe", job) is None
    assert results.completion_of("templatesendjobfinish", {"status": "success"}) is None
    assert results.completion_of("templatesendjobfinish", None) is None


def test_attribute_values_round_trip():
    value = {"s": "文", "n": 3, "f": 1.5, "b": True, "none": None, "l": [1, "x"], "m": {"k": 2}}
    assert {k: ddb.de(ddb.ser(v)) for k, v in value.items()} == value
