"""Nearest points: the k-d tree against a brute-force haversine reference, and the answer."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.engine import geo

R = 6_371_000.0


def reference_haversine(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Written out again here on purpose: the test must not trust the code under test."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * R * math.atan2(math.sqrt(a), math.sqrt(max(0.0, 1 - a)))


def brute_force(points, lat, lng, k, max_m=math.inf, accept=lambda i: True):
    scored = sorted(
        (reference_haversine(lat, lng, p[0], p[1]), i) for i, p in enumerate(points) if accept(i)
    )
    return [(d, i) for d, i in scored if d <= max_m][:k]


def tree_of(points):
    return geo.KdTree([geo.to_xyz(lat, lng) for lat, lng in points])


def assert_same(found, expected, points, lat, lng):
    """Same distances in the same order; ids may differ only between (near-)equal distances.
    0.5 m of slack: float rounding of the chord near antipodes is a few centimetres."""
    got = [(geo.chord2_to_meters(d2), i) for d2, i in found]
    assert len(got) == len(expected)
    for (d_got, i_got), (d_exp, i_exp) in zip(got, expected, strict=True):
        assert d_got == pytest.approx(d_exp, abs=0.5)
        if i_got != i_exp:
            other = reference_haversine(lat, lng, *points[i_got])
            assert other == pytest.approx(d_exp, abs=0.5)


@pytest.mark.parametrize(
    ("seed", "box"),
    [
        (1, (22.5, 23.6, 112.9, 114.1)),  # one city (Guangzhou), the realistic case
        (2, (18.0, 53.0, 73.0, 135.0)),  # all of China
        (3, (-90.0, 90.0, -180.0, 180.0)),  # the whole globe, poles and antimeridian included
        (4, (60.0, 90.0, 170.0, 180.0)),  # near the pole, by the antimeridian
    ],
    ids=["city", "country", "globe", "polar-antimeridian"],
)
def test_nearest_matches_brute_force_on_random_points(seed, box):
    rng = random.Random(seed)
    lat_lo, lat_hi, lng_lo, lng_hi = box
    points = [(rng.uniform(lat_lo, lat_hi), rng.uniform(lng_lo, lng_hi)) for _ in range(2000)]
    tree = tree_of(points)
    for _ in range(60):
        lat, lng = rng.uniform(lat_lo, lat_hi), rng.uniform(lng_lo, lng_hi)
        k = rng.choice([1, 3, 5, 10])
        found = tree.nearest(geo.to_xyz(lat, lng), k)
        assert_same(found, brute_force(points, lat, lng, k), points, lat, lng)


class _CountingList(list):
    """A list that counts item reads: how many points a query looked at."""

    reads = 0

    def __getitem__(self, index):
        _CountingList.reads += 1
        return super().__getitem__(index)


def test_ten_thousand_points_exact_and_no_full_scan():
    """At 10,000 points (a big bank's branches and ATMs) every answer matches the brute-force
    reference, and a query reads a small fraction of the points (counted, not timed: the
    machine is shared), so a message never costs a scan."""
    rng = random.Random(10_000)
    centres = [(23.13, 113.26), (22.54, 114.06), (31.23, 121.47), (39.90, 116.40)]
    points = []
    for _ in range(10_000):
        lat, lng = rng.choice(centres)
        points.append((lat + rng.gauss(0, 0.3), lng + rng.gauss(0, 0.3)))
    tree = tree_of(points)
    tree._xyz = _CountingList(tree._xyz)  # count reads after the build
    reads = []
    for _ in range(100):
        lat, lng = rng.choice(centres)
        lat, lng = lat + rng.gauss(0, 0.5), lng + rng.gauss(0, 0.5)
        _CountingList.reads = 0
        found = tree.nearest(geo.to_xyz(lat, lng), 3)
        reads.append(_CountingList.reads)
        assert_same(found, brute_force(points, lat, lng, 3), points, lat, lng)
    reads.sort()
    assert reads[len(reads) // 2] < 200 and reads[-1] < 1000, reads  # median, worst of 100
    print(f"\n10,000 points, 3 nearest: median {reads[50]} points read, worst {reads[-1]}")


def test_across_the_antimeridian():
    points = [(0.0, 179.9), (0.0, -179.9), (0.0, 170.0), (0.0, -170.0)]
    found = tree_of(points).nearest(geo.to_xyz(0.0, -179.95), 2)
    assert sorted(i for _, i in found) == [0, 1]  # 0.05 and 0.15 degrees away, not 359.85


@settings(max_examples=60, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.floats(-90, 90, allow_nan=False), st.floats(-180, 180, allow_nan=False)),
        min_size=1,
        max_size=80,
    ),
    lat=st.floats(-90, 90, allow_nan=False),
    lng=st.floats(-180, 180, allow_nan=False),
    k=st.integers(1, 12),
)
def test_nearest_property(points, lat, lng, k):
    found = tree_of(points).nearest(geo.to_xyz(lat, lng), k)
    assert_same(found, brute_force(points, lat, lng, k), points, lat, lng)


def test_duplicates_ties_go_to_the_lower_index():
    points = [(23.0, 113.0)] * 30 + [(23.1, 113.1)]
    found = tree_of(points).nearest(geo.to_xyz(23.0, 113.0), 5)
    assert [i for _, i in found] == [0, 1, 2, 3, 4]


def test_radius_and_filter():
    rng = random.Random(7)
    points = [(rng.uniform(22.9, 23.3), rng.uniform(113.1, 113.5)) for _ in range(1500)]
    tree = tree_of(points)
    even = lambda i: i % 2 == 0  # noqa: E731
    for _ in range(30):
        lat, lng = rng.uniform(22.9, 23.3), rng.uniform(113.1, 113.5)
        found = tree.nearest(
            geo.to_xyz(lat, lng), 8, max_chord2=geo.meters_to_chord2(3000), accept=even
        )
        assert_same(found, brute_force(points, lat, lng, 8, 3000, even), points, lat, lng)


def test_empty_tree_and_zero_k():
    assert geo.KdTree([]).nearest(geo.to_xyz(0, 0), 3) == []
    assert tree_of([(1.0, 1.0)]).nearest(geo.to_xyz(0, 0), 0) == []


def test_distance_helpers_agree_with_haversine():
    assert geo.haversine_m(23.13, 113.26, 31.23, 121.47) == pytest.approx(
        reference_haversine(23.13, 113.26, 31.23, 121.47), rel=1e-9
    )
    d = 12_345.0
    assert geo.chord2_to_meters(geo.meters_to_chord2(d)) == pytest.approx(d, rel=1e-9)


@pytest.mark.parametrize(
    ("meters", "shown"),
    [
        (3, "10 m"),
        (846, "850 m"),
        (994, "990 m"),
        (996, "1.0 km"),
        (1234, "1.2 km"),
        (99_940, "99.9 km"),
        (123_456, "123 km"),
    ],
)
def test_format_distance(meters, shown):
    assert geo.format_distance(meters) == shown


# -- the answer -------------------------------------------------------------------------------


POINTS = [
    {
        "id": "a",
        "name": "天河支行",
        "lat": 23.1372,
        "lng": 113.3290,
        "address": "天河路",
        "hours": "9-17",
        "phone": "020-1",
        "tags": ["branch"],
        "url": "https://example.com/a",
    },
    {"id": "b", "name": "体育中心ATM", "lat": 23.1405, "lng": 113.3225, "tags": ["ATM"]},
    {"id": "c", "name": "越秀支行", "lat": 23.1290, "lng": 113.2668, "tags": ["branch"]},
    {"id": "d", "name": "停用网点", "lat": 23.1380, "lng": 113.3290, "enabled": False},
    {"id": "e", "name": "南沙支行", "lat": 22.8010, "lng": 113.5250, "tags": ["branch"]},
]


def place_book(**settings_):
    return geo.build_place_book((POINTS, settings_))


def test_text_answer_lists_nearest_with_distances():
    answer = place_book().answer(23.1380, 113.3280, max_articles=1)
    lines = answer["content"].splitlines()
    assert lines[0] == "离您最近的网点："
    assert lines[1].startswith("1. 天河支行 · ") and lines[1].endswith(" m")
    assert lines[2] == "   天河路 | 9-17 | 020-1"
    assert lines[3].startswith("2. 体育中心ATM · ")
    assert lines[4].startswith("3. 越秀支行 · ") and lines[4].endswith(" km")
    assert "停用网点" not in answer["content"]


def test_news_answer_to_a_message_has_one_article():
    answer = place_book(format="news", count=3).answer(23.1380, 113.3280, max_articles=1)
    assert answer["type"] == "news" and len(answer["articles"]) == 1
    article = answer["articles"][0]
    assert article["title"].startswith("离您最近的网点：天河支行（")
    assert article["url"] == "https://example.com/a"
    assert "2. 体育中心ATM" in article["description"]


def test_news_answer_to_an_event_has_one_article_per_point():
    answer = place_book(format="news", count=5).answer(23.1380, 113.3280, max_articles=8)
    assert [a["title"].split(" · ")[0] for a in answer["articles"]] == [
        "天河支行",
        "体育中心ATM",
        "越秀支行",
        "南沙支行",
    ]


def test_radius_tags_and_empty_answer():
    assert (
        "5 公里内没有" in place_book(max_distance_km=5).answer(40, 116, max_articles=1)["content"]
    )
    custom = {"type": "text", "content": "附近没有"}
    assert place_book(empty_reply=custom).answer(40, 116, max_articles=1) == custom
    only_atm = place_book(tags=["ATM"]).answer(23.1380, 113.3280, max_articles=1)
    assert "体育中心ATM" in only_atm["content"] and "天河支行" not in only_atm["content"]
    assert geo.build_place_book(([], None)).answer(23, 113, max_articles=1) is None


def test_text_answer_stays_within_wechat_limit():
    many = [
        {
            "id": str(i),
            "name": "网" * 60,
            "lat": 23 + i / 1000,
            "lng": 113.0,
            "address": "址" * 190,
            "hours": "时" * 90,
        }
        for i in range(10)
    ]
    answer = geo.build_place_book((many, {"count": 10})).answer(23, 113, max_articles=1)
    assert len(answer["content"].encode()) <= 2048
    assert answer["content"].count("网" * 60) >= 1


def test_build_skips_malformed_points():
    book = geo.build_place_book(
        (
            [
                {"id": "x", "name": "ok", "lat": 1, "lng": 2},
                {"id": "y", "lat": 1},
                {"id": "z", "name": "far", "lat": 91, "lng": 0},
            ],
            None,
        )
    )
    assert [p["id"] for p in book.points] == ["x"]


# -- validation -------------------------------------------------------------------------------


def test_validate_point():
    point = geo.validate_point(
        {"name": " 天河支行 ", "lat": 23, "lng": 113.3, "tags": ["ATM", "ATM"], "phone": "1"}
    )
    assert point == {
        "name": "天河支行",
        "lat": 23.0,
        "lng": 113.3,
        "phone": "1",
        "tags": ["ATM"],
        "enabled": True,
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"lat": 1, "lng": 1}, "name is required"),
        ({"name": " ", "lat": 1, "lng": 1}, "name must not be empty"),
        ({"name": "x", "lat": 90.5, "lng": 1}, "lat must be between"),
        ({"name": "x", "lat": 1, "lng": -180.01}, "lng must be between"),
        ({"name": "x", "lat": "1", "lng": 1}, "lat must be a number"),
        ({"name": "x", "lat": True, "lng": 1}, "lat must be a number"),
        ({"name": "x", "lat": 1}, "lng is required"),
        ({"name": "x", "lat": 1, "lng": 1, "url": "ftp://x"}, "url"),
        ({"name": "x", "lat": 1, "lng": 1, "tags": "ATM"}, "tags"),
        ({"name": "x", "lat": 1, "lng": 1, "colour": 1}, "unknown field"),
        ({"name": "x\x01", "lat": 1, "lng": 1}, "control characters"),
    ],
)
def test_validate_point_refuses(body, message):
    with pytest.raises(ValueError, match=message):
        geo.validate_point(body)


def test_validate_settings():
    settings_ = geo.validate_settings({"count": 5, "format": "news"})
    assert settings_["count"] == 5 and settings_["max_distance_km"] == 50
    for bad in (
        {"count": 0},
        {"count": 11},
        {"format": "xml"},
        {"max_distance_km": -1},
        {"answer_location_events": "yes"},
        {"empty_reply": {"type": "text"}},
        {"x": 1},
    ):
        with pytest.raises(ValueError):
            geo.validate_settings(bad)
