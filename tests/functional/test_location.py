"""Points of service over the admin API and the answer to a location message (moto)."""

from __future__ import annotations

import math
import random

import pytest

from infra.seed_flows import DEMO_POINTS
from tests import wxsim
from tests.functional.helpers import admin, body_json, messages, post_xml


def haversine(lat1, lng1, lat2, lng2) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.atan2(math.sqrt(a), math.sqrt(1 - a))


def location(lat: float, lng: float, openid: str = "o_loc", msg_id: int | None = None) -> str:
    msg_id = msg_id or wxsim.next_msg_id()
    return wxsim.message_xml(
        {
            "ToUserName": wxsim.ACCOUNT,
            "FromUserName": openid,
            "CreateTime": wxsim.created_at(openid, msg_id),
            "MsgType": "location",
            "Location_X": f"{lat}",
            "Location_Y": f"{lng}",
            "Scale": "15",
            "Label": "某地",
            "MsgId": msg_id,
        }
    )


def location_event(lat: float, lng: float, openid: str = "o_loc") -> str:
    return wxsim.event(
        "LOCATION", openid=openid, Latitude=f"{lat}", Longitude=f"{lng}", Precision="30"
    )


def refresh_points() -> None:
    from chalicelib import wiring

    wiring.callback().places.invalidate()


def import_points(client, points, **extra) -> dict:
    body = {"points": points, **extra} if extra else points
    response = admin(client, "POST", "/admin/points/import", body)
    assert response.status_code == 200, response.body
    refresh_points()
    return body_json(response)


def answer(client, xml: str) -> dict | None:
    response = post_xml(client, xml)
    assert response.status_code == 200
    return None if response.body == b"success" else wxsim.parse(response.body.decode())


TIANHE = (23.1380, 113.3280)


def test_location_message_gets_the_nearest_demo_branches(client):
    import_points(client, DEMO_POINTS)
    reply = answer(client, location(*TIANHE))
    lines = reply["Content"].splitlines()
    expected = sorted(DEMO_POINTS, key=lambda p: haversine(*TIANHE, p["lat"], p["lng"]))[:3]
    named = [line for line in lines if line[:2] in ("1.", "2.", "3.")]
    assert [line.split(" · ")[0][3:] for line in named] == [p["name"] for p in expected]
    for line, point in zip(named, expected, strict=True):
        meters = haversine(*TIANHE, point["lat"], point["lng"])
        shown = line.split(" · ")[1]
        if shown.endswith(" km"):
            assert float(shown[:-3]) == pytest.approx(meters / 1000, abs=0.051)
        else:
            assert int(shown[:-2]) == pytest.approx(meters, abs=5.1)
    assert messages(client, "o_loc")[0]["outcome"] == "location"


def test_nearest_matches_brute_force_on_random_points(client):
    rng = random.Random(42)
    points = [
        {
            "id": f"p{i}",
            "name": f"网点{i}",
            "lat": rng.uniform(22.6, 23.6),
            "lng": rng.uniform(112.9, 114.0),
        }
        for i in range(400)
    ]
    import_points(client, points)
    for _ in range(10):
        lat, lng = rng.uniform(22.6, 23.6), rng.uniform(112.9, 114.0)
        response = admin(client, "GET", f"/admin/points/nearest?lat={lat}&lng={lng}&n=5")
        got = body_json(response)["items"]
        expected = sorted(points, key=lambda p: haversine(lat, lng, p["lat"], p["lng"]))[:5]
        assert [p["id"] for p in got] == [p["id"] for p in expected]
        for item, point in zip(got, expected, strict=True):
            assert item["distance_m"] == pytest.approx(
                haversine(lat, lng, point["lat"], point["lng"]), abs=0.1
            )


def test_news_format_answers_a_message_with_one_article(client):
    import_points(client, DEMO_POINTS)
    response = admin(
        client,
        "PUT",
        "/admin/points/settings",
        {"format": "news", "count": 3, "url": "https://example.com/map"},
    )
    assert response.status_code == 200 and body_json(response)["format"] == "news"
    refresh_points()
    reply = answer(client, location(*TIANHE))
    assert reply["MsgType"] == "news" and reply["ArticleCount"] == "1"
    article = reply["Articles"][0]
    assert article["Title"] == "离您最近的网点：天河支行（140 m）"
    assert article["Url"] == "https://example.com/map"
    assert article["Description"].startswith("1. 天河支行 · 140 m")
    assert "\n2. " in article["Description"] and "\n3. " in article["Description"]


def test_location_events_are_not_answered_unless_enabled(client):
    import_points(client, DEMO_POINTS)
    assert answer(client, location_event(*TIANHE)) is None
    admin(
        client,
        "PUT",
        "/admin/points/settings",
        {"answer_location_events": True, "format": "news", "count": 5},
    )
    refresh_points()
    reply = answer(client, location_event(*TIANHE, openid="o_ev2"))
    assert reply["MsgType"] == "news" and reply["ArticleCount"] == "5"  # an event: up to 8


def test_no_points_means_no_answer_and_far_away_means_the_empty_reply(client):
    assert answer(client, location(*TIANHE)) is None
    import_points(client, DEMO_POINTS)
    assert "50 公里内没有" in answer(client, location(39.9, 116.4))["Content"]  # Beijing
    admin(client, "PUT", "/admin/points/settings", {"max_distance_km": 0})
    refresh_points()
    assert "增城支行" in answer(client, location(39.9, 116.4))["Content"]  # no radius limit


def test_retry_of_a_location_gets_the_same_reply(client):
    import_points(client, DEMO_POINTS)
    xml = location(*TIANHE, msg_id=4242)
    first = post_xml(client, xml).body
    admin(client, "PUT", "/admin/points/settings", {"count": 1})
    refresh_points()
    assert post_xml(client, xml).body == first
    assert len(messages(client, "o_loc")) == 1


# -- admin ----------------------------------------------------------------------------------


def test_point_crud_and_validation(client):
    body = {"name": "天河支行", "lat": 23.1372, "lng": 113.329, "tags": ["branch"], "phone": "020"}
    response = admin(client, "POST", "/admin/points", body)
    assert response.status_code == 201
    point = body_json(response)
    assert point["id"] and point["lat"] == 23.1372 and point["enabled"] is True
    assert body_json(admin(client, "GET", f"/admin/points/{point['id']}")) == point
    response = admin(client, "PATCH", f"/admin/points/{point['id']}", {"hours": "9-17"})
    assert body_json(response)["hours"] == "9-17" and body_json(response)["phone"] == "020"
    assert admin(client, "PUT", f"/admin/points/{point['id']}", {"lat": 91}).status_code == 400
    assert admin(client, "DELETE", f"/admin/points/{point['id']}").status_code == 204
    assert admin(client, "GET", f"/admin/points/{point['id']}").status_code == 404
    assert admin(client, "DELETE", f"/admin/points/{point['id']}").status_code == 404
    for bad in (
        {"lat": 1, "lng": 1},
        {"name": "x", "lat": 90.1, "lng": 1},
        {"name": "x", "lat": 1, "lng": 180.5},
        {"name": "x", "lat": "north", "lng": 1},
        {"name": "x", "lat": 1, "lng": 1, "id": "mine"},
    ):
        assert admin(client, "POST", "/admin/points", bad).status_code == 400
    assert body_json(admin(client, "GET", "/admin/points"))["items"] == []


def test_import_validates_everything_first_then_upserts_and_replaces(client):
    bad = [*DEMO_POINTS[:3], {"name": "坏", "lat": 100, "lng": 0}]
    response = admin(client, "POST", "/admin/points/import", bad)
    assert response.status_code == 400 and "points[3]" in body_json(response)["error"]
    assert body_json(admin(client, "GET", "/admin/points"))["items"] == []

    with_ids = [{**p, "id": f"gz-{i}"} for i, p in enumerate(DEMO_POINTS)]
    assert import_points(client, with_ids) == {"imported": 20, "deleted": 0}
    renamed = [{**with_ids[0], "name": "天河支行（新）"}]
    assert import_points(client, renamed) == {"imported": 1, "deleted": 0}
    assert body_json(admin(client, "GET", "/admin/points/gz-0"))["name"] == "天河支行（新）"
    assert import_points(client, with_ids[:5], replace=True) == {"imported": 5, "deleted": 15}
    duplicate = [with_ids[0], with_ids[0]]
    assert admin(client, "POST", "/admin/points/import", duplicate).status_code == 400
    assert admin(client, "POST", "/admin/points/import", []).status_code == 400
    assert (
        admin(client, "POST", "/admin/points/import", {"points": with_ids, "x": 1}).status_code
        == 400
    )


def test_list_pages_and_tag_filter(client):
    import_points(client, DEMO_POINTS)
    seen, cursor = [], None
    while True:
        query = "?limit=7" + (f"&cursor={cursor}" if cursor else "")
        page = body_json(admin(client, "GET", f"/admin/points{query}"))
        assert len(page["items"]) <= 7
        seen += page["items"]
        cursor = page["next"]
        if not cursor:
            break
    assert sorted(p["name"] for p in seen) == sorted(p["name"] for p in DEMO_POINTS)
    atms, cursor = [], None
    while True:
        page = body_json(
            admin(
                client,
                "GET",
                "/admin/points?tag=ATM&limit=1000" + (f"&cursor={cursor}" if cursor else ""),
            )
        )
        atms += page["items"]
        cursor = page["next"]
        if not cursor:
            break
    assert len(atms) == 20  # branches carry the ATM tag too
    branches = body_json(admin(client, "GET", "/admin/points?tag=branch&limit=1000"))["items"]
    assert len(branches) == 12


def test_nearest_endpoint(client):
    import_points(client, DEMO_POINTS)
    items = body_json(
        admin(client, "GET", f"/admin/points/nearest?lat={TIANHE[0]}&lng={TIANHE[1]}&n=4")
    )["items"]
    assert len(items) == 4
    assert [i["distance_m"] for i in items] == sorted(i["distance_m"] for i in items)
    assert all(i["distance"].endswith(("m", "km")) for i in items)
    branch_only = body_json(
        admin(
            client, "GET", f"/admin/points/nearest?lat={TIANHE[0]}&lng={TIANHE[1]}&n=3&tag=branch"
        )
    )["items"]
    assert all("branch" in i["tags"] for i in branch_only)
    for query in ("lat=91&lng=0", "lat=0", "lat=x&lng=0", "lat=0&lng=0&n=0"):
        assert admin(client, "GET", f"/admin/points/nearest?{query}").status_code == 400


def test_settings_validation(client):
    assert body_json(admin(client, "GET", "/admin/points/settings"))["count"] == 3
    for bad in ({"count": 0}, {"format": "xml"}, {"colour": 1}, {"empty_reply": {"type": "x"}}):
        assert admin(client, "PUT", "/admin/points/settings", bad).status_code == 400
    assert body_json(admin(client, "PUT", "/admin/points/settings", {"count": 2}))["count"] == 2
    assert body_json(admin(client, "GET", "/admin/points/settings"))["count"] == 2


def test_empty_reply_may_name_a_media_item_or_articles_like_any_reply(client, fake_wechat):
    from tests.functional.test_media import PNG, upload

    image = body_json(upload(client, "image", PNG))
    ghost = admin(
        client,
        "PUT",
        "/admin/points/settings",
        {"count": 5, "empty_reply": {"type": "news", "article_ids": ["ghost"]}},
    )
    assert ghost.status_code == 400 and "unknown article" in body_json(ghost)["error"]
    missing = {"empty_reply": {"type": "image", "media": "nope"}}
    assert admin(client, "PUT", "/admin/points/settings", missing).status_code == 400
    assert body_json(admin(client, "GET", "/admin/points/settings"))["count"] == 3  # unchanged

    body = {"empty_reply": {"type": "image", "media": image["id"]}}
    saved = body_json(admin(client, "PUT", "/admin/points/settings", body))
    material = body_json(admin(client, "GET", f"/admin/media/{image['id']}"))["media_id"]
    assert saved["empty_reply"] == {"type": "image", "media_id": material}
    import_points(client, DEMO_POINTS)
    reply = answer(client, location(51.5, -0.12))  # London: no branch within 50 km
    assert reply["MsgType"] == "image" and reply["Image"]["MediaId"] == material
    refused = admin(client, "DELETE", f"/admin/media/{image['id']}")
    assert refused.status_code == 409 and "empty_reply" in body_json(refused)["error"]
