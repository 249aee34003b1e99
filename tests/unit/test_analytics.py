"""Analytics and follower effect providers without AWS: normalization, local dates, ranges and
the TransactWriteItems entries each message contributes."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.store import analytics, followers
from chalicelib.wechat.messages import parse_message

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("WXLESS_TABLE_PREFIX", "unit")
    monkeypatch.delenv("WXLESS_TIMEZONE", raising=False)


def _msg(**fields):
    base = {"ToUserName": "gh_x", "FromUserName": "o_1", "CreateTime": "1795000000"}
    return parse_message({**base, **{k: str(v) for k, v in fields.items()}})


def _decision(outcome="none", rule_id=None):
    return SimpleNamespace(outcome=outcome, rule_id=rule_id)


# -- normalization -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("余额", "余额"),
        ("余额？", "余额"),
        ("  余额！ ", "余额"),
        ("余额。。。", "余额"),
        ("ＨＥＬＬＯ  World", "hello world"),  # full-width to ASCII, case-folded, spaces collapsed
        ("怎么\n开通\t网银?", "怎么 开通 网银"),
        ("转账6222 0212 3456 7890元", "转账#元"),  # card number masked
        ("验证码１２３４５６", "验证码#"),  # full-width digits too
        ("转账500元", "转账500元"),  # short numbers stay: they are part of the question
        ("？？", "??"),  # only punctuation: keep it rather than lose the message
        ("😀", "😀"),
        ("a\u200bb", "ab"),  # zero-width space is a format character
        ("", ""),
    ],
)
def test_normalize_text(text, key):
    assert analytics.normalize_text(text) == key


def test_normalized_text_is_bounded():
    assert analytics.normalize_text("问" * 80) == "问" * analytics.TEXT_MAX_CHARS


def test_sample_keeps_the_wording_but_masks_digits():
    assert analytics.sample_text("我的卡号 6222021234567890 丢了！") == "我的卡号 # 丢了！"
    assert len(analytics.sample_text("长" * 500)) == analytics.SAMPLE_MAX_CHARS


# -- local dates and ranges --------------------------------------------------------------------


def test_local_dates_default_to_shanghai(monkeypatch):
    ts = int(dt.datetime(2026, 11, 23, 16, 30, tzinfo=dt.UTC).timestamp())
    assert analytics.zone_name() == "Asia/Shanghai"
    local = analytics.local_datetime(ts)
    assert (local.date().isoformat(), local.hour) == ("2026-11-24", 0)
    assert analytics.day_start(dt.date(2026, 11, 24)) == int(
        dt.datetime(2026, 11, 23, 16, 0, tzinfo=dt.UTC).timestamp()
    )
    monkeypatch.setenv("WXLESS_TIMEZONE", "UTC")
    local = analytics.local_datetime(ts)
    assert (local.date().isoformat(), local.hour) == ("2026-11-23", 16)


@pytest.mark.parametrize(
    ("name", "offset_minutes"),
    [("+08:00", 480), ("-05:30", -330), ("UTC+8", 480), ("+0530", 330), ("UTC", 0)],
)
def test_time_zone_forms(name, offset_minutes):
    zone = analytics._zone(name)
    assert zone.utcoffset(dt.datetime(2026, 1, 1)) == dt.timedelta(minutes=offset_minutes)


def test_unknown_time_zone_is_refused():
    with pytest.raises(ValueError, match="WXLESS_TIMEZONE"):
        analytics._zone("Mars/Olympus")


def test_shanghai_works_without_a_tz_database(monkeypatch):
    import zoneinfo

    def missing(name):
        raise zoneinfo.ZoneInfoNotFoundError(name)

    monkeypatch.setattr(zoneinfo, "ZoneInfo", missing)
    analytics._zone.cache_clear()
    try:
        zone = analytics._zone("Asia/Shanghai")
        assert zone.utcoffset(dt.datetime(2026, 7, 1)) == dt.timedelta(hours=8)
    finally:
        analytics._zone.cache_clear()


def test_date_range_defaults_to_the_last_seven_local_days():
    first, last = analytics.date_range(None, None)
    assert last == dt.datetime.now(SHANGHAI).date()
    assert (last - first).days == 6
    first, last = analytics.date_range(None, "2026-03-10")
    assert (first, last) == (dt.date(2026, 3, 4), dt.date(2026, 3, 10))


def test_date_range_limits():
    assert analytics.date_range("2025-01-01", "2026-01-01") == (
        dt.date(2025, 1, 1),
        dt.date(2026, 1, 1),
    )  # 366 days, inclusive
    with pytest.raises(ValueError, match="366"):
        analytics.date_range("2025-01-01", "2026-01-02")
    with pytest.raises(ValueError, match="after"):
        analytics.date_range("2026-01-02", "2026-01-01")
    for bad in ("2026-1-1", "20260101", "2026-02-30", "yesterday", "2026-01-01T00"):
        with pytest.raises(ValueError, match="YYYY-MM-DD"):
            analytics.date_range(bad, None)


def test_event_time_trusts_create_time_unless_implausible():
    assert analytics.event_time(1_000_000, 1_000_100.7) == 1_000_000
    assert analytics.event_time(1_000_000, 1_000_000 + 3 * 86400.2) == 1_000_000 + 3 * 86400
    assert analytics.event_time(0, 1_795_000_000.0) == 1_795_000_000


# -- counter items -----------------------------------------------------------------------------


def test_shard_is_stable_and_in_range():
    shards = {analytics.shard_for(f"msg{i}") for i in range(200)}
    assert shards == set(range(analytics.SHARDS))
    assert analytics.shard_for("abc") == analytics.shard_for("abc")


def test_text_message_contributes_an_hour_counter_and_a_text_counter():
    message = _msg(MsgType="text", Content="余额？", MsgId="42")
    writes = analytics.count_message(message, _decision("default"), 1795000000.5)
    assert len(writes) == 2
    hour, text = (w["Update"] for w in writes)
    local = dt.datetime.fromtimestamp(1795000000, SHANGHAI)
    day = local.date().isoformat()
    shard = analytics.shard_for("42")

    assert hour["TableName"] == "unit-analytics"
    assert hour["Key"] == {"pk": {"S": f"h#{shard}"}, "sk": {"S": f"{day}T{local.hour:02d}"}}
    assert hour["UpdateExpression"] == "ADD #t :one, #o :one"
    assert hour["ExpressionAttributeNames"] == {"#t": "t:text", "#o": "o:default"}

    assert text["Key"] == {"pk": {"S": f"x#{shard}"}, "sk": {"S": f"{day}#余额"}}
    names = text["ExpressionAttributeNames"]
    assert names["#u"] == "unanswered" and names["#lu"] == "last_unanswered_at"
    assert "#u :one" in text["UpdateExpression"]
    assert text["ExpressionAttributeValues"][":sample"] == {"S": "余额？"}
    assert text["ExpressionAttributeValues"][":at"] == {"N": "1795000000"}


def test_rule_hit_is_counted_by_rule_id():
    message = _msg(MsgType="text", Content="余额", MsgId="43")
    hour, text = (w["Update"] for w in analytics.count_message(message, _decision("rule", "r1"), 0))
    assert hour["UpdateExpression"] == "ADD #t :one, #o :one, #r :one"
    assert hour["ExpressionAttributeNames"]["#r"] == "r:r1"
    assert text["ExpressionAttributeValues"][":rule"] == {"S": "r1"}
    assert "unanswered" not in text["ExpressionAttributeNames"].values()


def test_flow_decisions_are_not_rule_hits():
    message = _msg(MsgType="text", Content="1", MsgId="44")
    decision = _decision("flow.step", "flow:f1")
    hour, text = (w["Update"] for w in analytics.count_message(message, decision, 0))
    assert hour["ExpressionAttributeNames"] == {"#t": "t:text", "#o": "o:flow"}
    assert ":rule" not in text["ExpressionAttributeValues"]


def test_events_and_other_types_get_only_the_hour_counter():
    event = _msg(MsgType="event", Event="subscribe", EventKey="qrscene_7")
    (write,) = analytics.count_message(event, _decision("subscribe"), 0)
    assert write["Update"]["ExpressionAttributeNames"]["#t"] == "t:event.subscribe"
    image = _msg(MsgType="image", PicUrl="http://x", MediaId="m", MsgId="45")
    (write,) = analytics.count_message(image, _decision(), 0)
    assert write["Update"]["ExpressionAttributeNames"] == {"#t": "t:image", "#o": "o:none"}


# -- follower updates --------------------------------------------------------------------------


def _follower_update(message, now=1795000000.0):
    (write,) = followers.follower_update(message, _decision(), now)
    return write["Update"]


def test_subscribe_with_qrscene():
    update = _follower_update(_msg(MsgType="event", Event="subscribe", EventKey="qrscene_b42"))
    assert update["TableName"] == "unit-followers"
    assert update["Key"] == {"openid": {"S": "o_1"}}
    expression = update["UpdateExpression"]
    for part in (
        "subscribed = :true",
        "first_subscribed_at = if_not_exists(first_subscribed_at, :at)",
        "last_subscribed_at = :at",
        "scene = :scene",
        "profile_sync = :pending",
        "cs_event_window_until = :cse",
        "ADD subscribe_count :one",
    ):
        assert part in expression
    values = update["ExpressionAttributeValues"]
    assert values[":scene"] == {"S": "b42"}
    assert values[":cse"] == {"N": str(1795000000 + 60)}
    assert values[":now"] == {"N": str(1795000000 * 1000)}


def test_subscribe_without_scene_removes_the_old_one():
    update = _follower_update(_msg(MsgType="event", Event="subscribe"))
    assert "REMOVE scene" in update["UpdateExpression"]


def test_message_opens_the_48_hour_window_and_creates_unknown_followers_as_pending():
    update = _follower_update(_msg(MsgType="text", Content="hi", MsgId="1"))
    expression = update["UpdateExpression"]
    assert "cs_window_until = :cs" in expression
    assert "subscribed = if_not_exists(subscribed, :true)" in expression
    assert "profile_sync = if_not_exists(profile_sync, :pending)" in expression
    assert update["ExpressionAttributeValues"][":cs"] == {"N": str(1795000000 + 48 * 3600)}


def test_unsubscribe_closes_the_windows():
    update = _follower_update(_msg(MsgType="event", Event="unsubscribe"))
    expression = update["UpdateExpression"]
    assert "subscribed = :false" in expression and "unsubscribed_at = :at" in expression
    assert "REMOVE cs_window_until, cs_event_window_until" in expression
    assert "last_interaction_at" not in expression and "profile_sync" not in expression


def test_job_reports_do_not_touch_followers():
    message = _msg(MsgType="event", Event="TEMPLATESENDJOBFINISH", MsgID="9", Status="success")
    assert followers.follower_update(message, _decision(), 0) == []


def test_local_fields_are_validated():
    assert followers.check_local_fields({"tags": [" vip ", "vip", "网点A"]}) == {
        "tags": ["vip", "网点A"]
    }
    assert followers.check_local_fields({"remark": "老客户"}) == {"remark": "老客户"}
    for bad in (
        {},
        {"nickname": "x"},
        {"remark": "x" * 30},
        {"remark": 5},
        {"tags": "vip"},
        {"tags": [""]},
        {"tags": ["x" * 31]},
        {"tags": [str(i) for i in range(21)]},
    ):
        with pytest.raises(ValueError):
            followers.check_local_fields(bad)


def test_cursor_round_trip_and_garbage():
    assert followers.decode_cursor(followers.encode_cursor("oAbC_-123")) == "oAbC_-123"
    with pytest.raises(ValueError, match="cursor"):
        followers.decode_cursor("%%%")


# -- fast paths agree with the plain definitions ----------------------------------------------


def _normalize_reference(text: str) -> str:
    cleaned = analytics.clean_text(text).casefold()
    kept = "".join(c for c in cleaned if not analytics._drop(c))
    stripped = analytics._SPACE.sub(" ", kept).strip()
    return (stripped or cleaned)[: analytics.TEXT_MAX_CHARS]


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=60), st.text(alphabet="余额办卡 ,.？1２", max_size=20)))
def test_normalize_fast_path_equals_the_character_scan(text):
    assert analytics.normalize_text(text) == _normalize_reference(text)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=1_600_000_000, max_value=1_900_000_000),
    st.sampled_from(["Asia/Shanghai", "America/New_York", "Asia/Kathmandu", "+05:37", "UTC"]),
)
def test_local_day_hour_equals_a_direct_conversion(ts, zone):
    # Slots are cached per 15 minutes: DST changes (New York), 45-minute (Kathmandu) and odd
    # offsets (+05:37, whose slots straddle hours and are never cached) must all stay exact.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WXLESS_TIMEZONE", zone)
        local = analytics.local_datetime(ts)
        assert analytics.local_day_hour(ts) == (local.date().isoformat(), local.hour)
