"""Analytics without AWS: normalization, local dates, ranges, follower field validation. What
each message adds to the counters is in test_aggregate.py."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.store import analytics, followers

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("WXLESS_TABLE_PREFIX", "unit")
    monkeypatch.delenv("WXLESS_TIMEZONE", raising=False)


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
