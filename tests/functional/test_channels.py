"""Channel QR codes over HTTP (chalice.test.Client on moto, the fake WeChat API): creation,
the reply and counts of subscribe and SCAN events through a code, retries counted once, the
follower's first channel, tags applied from the stream, the image, the report."""

from __future__ import annotations

import base64
import time

import pytest

from tests import wxsim
from tests.functional.helpers import admin, body_json, post_xml, refresh_rules

SCENE = "branch-shanghai-001"


def _create(client, **body) -> dict:
    body = {"name": "上海分行海报", "scene": SCENE, "permanent": False, **body}
    response = admin(client, "POST", "/admin/qrcodes", body)
    assert response.status_code == 201, response.body
    return body_json(response)


def _get(client, code_id: str) -> dict:
    response = admin(client, "GET", f"/admin/qrcodes/{code_id}")
    assert response.status_code == 200, response.body
    return body_json(response)


def _send(client, xml: str) -> str:
    response = post_xml(client, xml)
    assert response.status_code == 200, response.body
    return response.body.decode() if isinstance(response.body, bytes) else response.body


def _subscribe(openid: str, scene: str | None, at: int | None = None) -> str:
    key = f"qrscene_{scene}" if scene is not None else ""
    extra = {"Ticket": "gQticket"} if scene is not None else {}
    return wxsim.event("subscribe", key, openid=openid, create_time=at, **extra)


def _scan(openid: str, scene: str, at: int | None = None) -> str:
    return wxsim.event("SCAN", scene, openid=openid, create_time=at, Ticket="gQticket")


def _text_reply(body: str) -> str:
    return wxsim.parse(body)["Content"]


def _follower(client, openid: str) -> dict:
    response = admin(client, "GET", f"/admin/followers/{openid}?messages=0")
    assert response.status_code == 200, response.body
    return body_json(response)["follower"]


# -- creating codes ------------------------------------------------------------------------------


def test_a_temporary_code_is_created_at_wechat_and_listed(client, fake_wechat):
    code = _create(client, expire_seconds=86400, reply={"type": "text", "content": "欢迎"})
    assert code["scene"] == SCENE and code["permanent"] is False
    assert code["ticket"].startswith("gQ") and code["url"].startswith("http://weixin.qq.com/q/")
    assert code["scans"] == 0 and code["subscribes"] == 0
    assert code["expire_seconds"] == 86400
    assert abs(code["expires_at"] - (time.time() + 86400)) < 60
    assert code["image_url"] == f"{fake_wechat.url}/cgi-bin/showqrcode?ticket={code['ticket']}"
    (call,) = fake_wechat.calls_to("/cgi-bin/qrcode/create")
    assert call.body == {
        "action_name": "QR_STR_SCENE",
        "action_info": {"scene": {"scene_str": SCENE}},
        "expire_seconds": 86400,
    }
    listed = body_json(admin(client, "GET", "/admin/qrcodes"))["items"]
    assert [c["id"] for c in listed] == [code["id"]]
    assert listed[0]["reply"] == {"type": "text", "content": "欢迎"}
    got = _get(client, code["id"])
    assert got["ticket"] == code["ticket"] and got["scans"] == 0


def test_a_permanent_code_uses_the_limit_action_and_has_no_expiry(client, fake_wechat):
    code = _create(client, permanent=True, scene="rm-card-zhang")
    assert code["permanent"] is True and code["expires_at"] is None
    (call,) = fake_wechat.calls_to("/cgi-bin/qrcode/create")
    assert call.body["action_name"] == "QR_LIMIT_STR_SCENE"
    assert "expire_seconds" not in call.body


def test_a_temporary_code_lasts_thirty_days_unless_told(client, fake_wechat):
    code = _create(client)
    assert code["expire_seconds"] == 2_592_000
    assert fake_wechat.calls_to("/cgi-bin/qrcode/create")[0].body["expire_seconds"] == 2_592_000


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "scene": "", "permanent": False},
        {"name": "x", "scene": "s" * 65, "permanent": False},
        {"name": "x", "scene": 42, "permanent": False},
        {"name": "x", "scene": "a\nb", "permanent": False},
        {"name": "", "scene": "ok", "permanent": False},
        {"scene": "ok", "permanent": False},
        {"name": "x", "scene": "ok", "permanent": "yes"},
        {"name": "x", "scene": "ok", "permanent": True, "expire_seconds": 600},
        {"name": "x", "scene": "ok", "permanent": False, "expire_seconds": 2_592_001},
        {"name": "x", "scene": "ok", "permanent": False, "expire_seconds": "600"},
        {"name": "x", "scene": "ok", "permanent": False, "reply": {"type": "nope"}},
        {"name": "x", "scene": "ok", "permanent": False, "tag_ids": ["vip"]},
        {"name": "x", "scene": "ok", "permanent": False, "tag_ids": [True]},
        {"name": "x", "scene": "ok", "permanent": False, "tag_ids": list(range(100, 121))},
        {"name": "x", "scene": "ok", "permanent": False, "colour": "red"},
    ],
)
def test_bad_bodies_are_400_and_ask_wechat_nothing(client, fake_wechat, body):
    response = admin(client, "POST", "/admin/qrcodes", body)
    assert response.status_code == 400, response.body
    assert "error" in body_json(response)
    assert fake_wechat.count("/cgi-bin/qrcode/create") == 0
    assert body_json(admin(client, "GET", "/admin/qrcodes"))["items"] == []


def test_a_scene_has_one_code(client, fake_wechat):
    _create(client, permanent=True)
    response = admin(
        client, "POST", "/admin/qrcodes", {"name": "again", "scene": SCENE, "permanent": True}
    )
    assert response.status_code == 409, response.body
    assert fake_wechat.count("/cgi-bin/qrcode/create") == 1


def test_a_refusal_from_wechat_stores_nothing_and_frees_the_scene(client, fake_wechat):
    fake_wechat.inject_error("/cgi-bin/qrcode/create", 45009, "reach max api daily quota limit")
    response = admin(client, "POST", "/admin/qrcodes", {"name": "x", "scene": SCENE})
    assert response.status_code == 429, response.body
    assert body_json(admin(client, "GET", "/admin/qrcodes"))["items"] == []
    assert _create(client)["scene"] == SCENE  # the scene is free again


def test_unknown_codes_are_404(client, fake_wechat):
    for method, path in [
        ("GET", "/admin/qrcodes/nope"),
        ("DELETE", "/admin/qrcodes/nope"),
        ("GET", "/admin/qrcodes/nope/image"),
        ("GET", "/admin/qrcodes/nope/stats"),
    ]:
        assert admin(client, method, path).status_code == 404, path
    assert admin(client, "PATCH", "/admin/qrcodes/nope", {"name": "y"}).status_code == 404


def test_the_admin_token_is_required(client, fake_wechat):
    assert admin(client, "GET", "/admin/qrcodes", token=None).status_code == 401
    response = admin(client, "POST", "/admin/qrcodes", {"name": "x", "scene": "s"}, token=None)
    assert response.status_code == 401
    assert fake_wechat.count("/cgi-bin/qrcode/create") == 0


# -- scans and subscribes through a code ---------------------------------------------------------


def test_subscribe_and_scan_through_a_code_are_answered_and_counted(client, fake_wechat):
    code = _create(client, reply={"type": "text", "content": "欢迎来到上海分行"})
    refresh_rules()
    now = int(time.time())
    first = _send(client, _subscribe("o_new", SCENE, now))
    assert _text_reply(first) == "欢迎来到上海分行"
    again = _send(client, _subscribe("o_new", SCENE, now))  # WeChat's retry
    assert again == first
    assert _text_reply(_send(client, _scan("o_old", SCENE, now))) == "欢迎来到上海分行"
    _send(client, _scan("o_old", SCENE, now))  # a retry of the scan
    _send(client, _scan("o_old", SCENE, now + 5))  # a second scan, later
    got = _get(client, code["id"])
    assert (got["scans"], got["subscribes"]) == (3, 1)
    assert got["as_of"] is not None
    stats = body_json(admin(client, "GET", f"/admin/qrcodes/{code['id']}/stats"))
    assert sum(d["scans"] for d in stats["items"]) == 3
    assert sum(d["subscribes"] for d in stats["items"]) == 1
    assert len(stats["items"]) == 30
    listed = body_json(admin(client, "GET", "/admin/qrcodes"))["items"][0]
    assert (listed["scans"], listed["subscribes"]) == (3, 1)


def test_a_code_without_a_reply_leaves_the_subscribe_reply(client, fake_wechat):
    _create(client)
    admin(client, "PUT", "/admin/replies/subscribe", {"type": "text", "content": "感谢关注"})
    refresh_rules()
    assert _text_reply(_send(client, _subscribe("o_a", SCENE))) == "感谢关注"
    assert _send(client, _scan("o_a", SCENE)) == "success"


def test_a_plain_subscribe_and_other_scenes_count_nothing_for_the_code(client, fake_wechat):
    code = _create(client)
    _send(client, _subscribe("o_a", None))
    _send(client, _subscribe("o_b", "somewhere-else"))
    _send(client, wxsim.event("CLICK", SCENE, openid="o_c"))
    got = _get(client, code["id"])
    assert (got["scans"], got["subscribes"]) == (0, 0)


def test_the_first_channel_stays_when_a_follower_comes_back_through_another(client, fake_wechat):
    first = _create(client, scene="poster-a")
    second = _create(client, scene="poster-b")
    now = int(time.time())
    _send(client, _subscribe("o_twice", "poster-a", now - 100))
    _send(client, wxsim.event("unsubscribe", openid="o_twice", create_time=now - 50))
    _send(client, _subscribe("o_twice", "poster-b", now))
    follower = _follower(client, "o_twice")
    assert follower["first_channel"] == "poster-a"
    assert follower["scene"] == "poster-b"
    assert (_get(client, first["id"])["subscribes"], _get(client, second["id"])["subscribes"]) == (
        1,
        1,
    )


def test_a_follower_who_came_without_a_code_has_no_first_channel(client, fake_wechat):
    _create(client, scene="poster-a")
    now = int(time.time())
    _send(client, _subscribe("o_plain", None, now - 10))
    _send(client, _scan("o_plain", "poster-a", now))
    assert _follower(client, "o_plain")["first_channel"] is None


def test_reply_changes_and_deletion_reach_the_callback(client, fake_wechat):
    code = _create(client, reply={"type": "text", "content": "v1"})
    response = admin(
        client,
        "PATCH",
        f"/admin/qrcodes/{code['id']}",
        {"reply": {"type": "text", "content": "v2"}},
    )
    assert response.status_code == 200, response.body
    assert body_json(response)["reply"]["content"] == "v2"
    refresh_rules()
    assert _text_reply(_send(client, _scan("o_a", SCENE))) == "v2"
    assert admin(client, "PATCH", f"/admin/qrcodes/{code['id']}", {"scene": "x"}).status_code == 400
    assert admin(client, "DELETE", f"/admin/qrcodes/{code['id']}").status_code == 204
    refresh_rules()
    later = int(time.time()) + 2  # not a retry of the scan above
    assert _send(client, _scan("o_a", SCENE, later)) == "success"
    assert admin(client, "GET", f"/admin/qrcodes/{code['id']}").status_code == 404


# -- tags ----------------------------------------------------------------------------------------


def _tag(fake_wechat, name: str) -> int:
    with fake_wechat._lock:
        tag = next(fake_wechat._next_tag)
        fake_wechat._tags[tag] = name
        fake_wechat._tag_members[tag] = {}
    return tag


def _members(fake_wechat, tag: int) -> set[str]:
    with fake_wechat._lock:
        return set(fake_wechat._tag_members[tag])


def test_the_codes_tags_are_applied_from_the_stream(client, fake_wechat):
    vip = _tag(fake_wechat, "上海分行")
    for openid in ("o_a", "o_b"):
        fake_wechat.add_follower(openid)
    _create(client, tag_ids=[vip])
    _send(client, _subscribe("o_a", SCENE))
    _send(client, _scan("o_b", SCENE))
    assert fake_wechat.count("/cgi-bin/tags/members/batchtagging") == 0  # not on the callback
    admin(client, "GET", "/admin/qrcodes")  # drains the stream
    assert _members(fake_wechat, vip) == {"o_a", "o_b"}
    (call,) = fake_wechat.calls_to("/cgi-bin/tags/members/batchtagging")
    assert call.body["tagid"] == vip and sorted(call.body["openid_list"]) == ["o_a", "o_b"]


def test_tags_wechat_is_too_busy_for_are_retried_by_the_schedule(client, fake_wechat):
    from chalicelib.jobs import channels

    vip = _tag(fake_wechat, "vip")
    fake_wechat.add_follower("o_a")
    _create(client, tag_ids=[vip])
    fake_wechat.inject_error("/cgi-bin/tags/members/batchtagging", -1, "system error")
    _send(client, _subscribe("o_a", SCENE))
    code = body_json(admin(client, "GET", "/admin/qrcodes"))["items"][0]
    assert code["subscribes"] == 1  # counted although WeChat failed
    assert _members(fake_wechat, vip) == set()
    assert channels.retry_tagging()["tagged"] == 1
    assert _members(fake_wechat, vip) == {"o_a"}
    assert channels.retry_tagging()["tagged"] == 0  # the queue is empty


def test_one_follower_wechat_refuses_does_not_block_the_others(client, fake_wechat):
    vip = _tag(fake_wechat, "vip")
    fake_wechat.add_follower("o_a")  # o_gone is not a follower: WeChat refuses the chunk
    _create(client, tag_ids=[vip])
    _send(client, _scan("o_a", SCENE))
    _send(client, _scan("o_gone", SCENE))
    admin(client, "GET", "/admin/qrcodes")
    assert _members(fake_wechat, vip) == {"o_a"}


# -- image and report ----------------------------------------------------------------------------


def test_the_image_comes_from_showqrcode(client, fake_wechat):
    code = _create(client)
    response = admin(client, "GET", f"/admin/qrcodes/{code['id']}/image")
    assert response.status_code == 200, response.body
    image = body_json(response)
    assert image["content_type"] == "image/png"
    assert image["filename"] == f"qrcode-{SCENE}.png"
    assert base64.b64decode(image["content_base64"]).startswith(b"\x89PNG\r\n\x1a\n")
    (call,) = fake_wechat.calls_to("/cgi-bin/showqrcode")
    assert call.query == {"ticket": code["ticket"]}


def _backdate(openid: str, **times: int) -> None:
    """WeChat's CreateTime is trusted within two days only: older history is written here."""
    from chalicelib.store import followers

    item = followers.FollowerItem.get(followers.follower_key(openid))
    item.update(actions=[getattr(followers.FollowerItem, k).set(v) for k, v in times.items()])


def test_the_channel_report_follows_each_channels_followers(client, fake_wechat):
    _create(client, scene="poster-a")
    _create(client, scene="poster-b")
    now = int(time.time())
    day = 86400
    # o_1 came 40 days ago and stayed; o_2 came 10 days ago and left after 2; o_3 came today.
    _send(client, _subscribe("o_1", "poster-a", now))
    _send(client, wxsim.text("你好", openid="o_1"))
    _send(client, wxsim.text("余额", openid="o_1"))
    _send(client, _subscribe("o_2", "poster-a", now))
    _send(client, wxsim.event("unsubscribe", openid="o_2", create_time=now + 1))
    _send(client, _subscribe("o_3", "poster-b", now))
    _send(client, _subscribe("o_4", None, now))  # no channel: not in the report
    admin(client, "GET", "/admin/qrcodes")  # the stream is drained
    _backdate("o_1", first_subscribed_at=now - 40 * day)
    _backdate("o_2", first_subscribed_at=now - 10 * day, unsubscribed_at=now - 8 * day)
    response = admin(client, "GET", "/admin/channels/report")
    assert response.status_code == 200, response.body
    report = body_json(response)
    assert report["complete"] is True
    rows = {row["scene"]: row for row in report["items"]}
    assert set(rows) == {"poster-a", "poster-b"}
    a, b = rows["poster-a"], rows["poster-b"]
    assert (a["followers"], a["still_subscribed"], a["messages"]) == (2, 1, 2)
    assert a["retained_7d"] == {"eligible": 2, "retained": 1}
    assert a["retained_30d"] == {"eligible": 1, "retained": 1}
    assert (a["scans"], a["subscribes"]) == (2, 2)
    assert (b["followers"], b["retained_7d"]["eligible"]) == (1, 0)
    assert [row["scene"] for row in report["items"]] == ["poster-a", "poster-b"]
