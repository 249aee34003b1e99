"""Tags and tagging, live follower lookup, customer-service messages and their error mapping."""

from __future__ import annotations

from tests.functional.helpers import admin, body_json, follower_writes


def test_tag_crud_and_membership(client, fake_wechat):
    for openid in ("o_a", "o_b", "o_c"):
        fake_wechat.add_follower(openid)
    created = admin(client, "POST", "/admin/tags", {"name": "VIP客户"})
    assert created.status_code == 201, created.body
    tag = body_json(created)
    assert tag["name"] == "VIP客户" and isinstance(tag["id"], int)

    assert admin(client, "POST", "/admin/tags", {"name": "VIP客户"}).status_code == 409

    tagged = admin(client, "POST", f"/admin/tags/{tag['id']}/members", {"openids": ["o_a", "o_b"]})
    assert tagged.status_code == 200 and body_json(tagged)["tagged"] == 2
    members = body_json(admin(client, "GET", f"/admin/tags/{tag['id']}/members"))
    assert members["items"] == ["o_a", "o_b"]
    listed = {t["id"]: t for t in body_json(admin(client, "GET", "/admin/tags"))["items"]}
    assert listed[tag["id"]]["count"] == 2

    user = body_json(admin(client, "GET", "/admin/wechat/users/o_a"))
    assert user["openid"] == "o_a" and tag["id"] in user["tagid_list"]

    removed = admin(client, "POST", f"/admin/tags/{tag['id']}/members/remove", {"openids": ["o_a"]})
    assert removed.status_code == 200 and body_json(removed)["untagged"] == 1
    assert body_json(admin(client, "GET", f"/admin/tags/{tag['id']}/members"))["items"] == ["o_b"]

    renamed = admin(client, "PUT", f"/admin/tags/{tag['id']}", {"name": "贵宾"})
    assert body_json(renamed) == {"id": tag["id"], "name": "贵宾"}
    assert admin(client, "DELETE", f"/admin/tags/{tag['id']}").status_code == 204
    assert admin(client, "DELETE", f"/admin/tags/{tag['id']}").status_code == 404


def test_tagging_many_followers_is_chunked_by_50(client, fake_wechat):
    openids = [f"o_{i:03d}" for i in range(120)]
    for openid in openids:
        fake_wechat.add_follower(openid)
    tag = body_json(admin(client, "POST", "/admin/tags", {"name": "批量"}))
    response = admin(client, "POST", f"/admin/tags/{tag['id']}/members", {"openids": openids})
    assert body_json(response)["calls"] == 3
    assert fake_wechat.count("/cgi-bin/tags/members/batchtagging") == 3


TAG_AND_USER_ERRORS = [
    ("POST", "/admin/tags", {"name": ""}, 400),
    ("POST", "/admin/tags", {}, 400),
    ("PUT", "/admin/tags/abc", {"name": "x"}, 400),
    ("DELETE", "/admin/tags/2", None, 409),  # a system tag
    ("POST", "/admin/tags/999/members", {"openids": ["o_a"]}, 404),
    ("POST", "/admin/tags/2/members", {"openids": []}, 400),
    ("POST", "/admin/tags/2/members", {"openids": ["bad openid!"]}, 400),
    ("POST", "/admin/tags/2/members", {"openids": ["o_x"] * 501}, 400),
    ("GET", "/admin/wechat/users/o_nobody", None, 404),
]


def test_tag_and_user_errors(client, fake_wechat):
    fake_wechat.add_follower("o_a")
    for method, path, body, status in TAG_AND_USER_ERRORS:
        response = admin(client, method, path, body)
        assert response.status_code == status, (method, path, response.body)
        assert "error" in body_json(response)


def test_follower_list_page(client, fake_wechat):
    for openid in ("o_1", "o_2"):
        fake_wechat.add_follower(openid)
    page = body_json(admin(client, "GET", "/admin/wechat/users"))
    assert page["total"] == 2 and page["items"] == ["o_1", "o_2"]


# --------------------------------------------------------------------------- CS messages


CS_MESSAGES = [
    (
        {"type": "text", "content": "您好，您的卡已寄出"},
        {"text": {"content": "您好，您的卡已寄出"}},
    ),
    ({"type": "image", "media_id": "MID"}, {"image": {"media_id": "MID"}}),
    (
        {"type": "video", "media_id": "V", "title": "t"},
        {"video": {"media_id": "V", "title": "t"}},
    ),
    (
        {
            "type": "news",
            "articles": [{"title": "T", "url": "https://e.com", "pic_url": "https://e.com/p.jpg"}],
        },
        {
            "news": {
                "articles": [
                    {
                        "title": "T",
                        "description": "",
                        "url": "https://e.com",
                        "picurl": "https://e.com/p.jpg",
                    }
                ]
            }
        },
    ),
    ({"type": "mpnewsarticle", "article_id": "A1"}, {"mpnewsarticle": {"article_id": "A1"}}),
]


def test_send_customer_service_messages(client, fake_wechat):
    follower_writes(client, "o_1")  # their window: 5 messages within 48 h
    for left, (message, sent) in reversed(list(enumerate(CS_MESSAGES))):
        body = {"openid": "o_1", "message": message}
        response = admin(client, "POST", "/admin/messages/custom", body)
        assert response.status_code == 200, (message, response.body)
        answer = body_json(response)
        assert answer.pop("window_until") > 0
        assert answer == {"sent": True, "openid": "o_1", "type": message["type"], "remaining": left}
        delivered = fake_wechat.custom_messages[-1]
        assert delivered["touser"] == "o_1" and delivered["msgtype"] == message["type"]
        assert delivered[message["type"]] == sent[message["type"]]
    assert len(fake_wechat.custom_messages) == len(CS_MESSAGES)


CS_ERRORS = [
    (45015, 409, "48 hours"),
    (45047, 409, "too many"),
    (43004, 409, "unsubscribed"),
    (45009, 429, "quota"),
    (40164, 502, "whitelist"),
    (-1, 502, "[-1]"),
    (40008, 422, "[40008]"),
]


def test_customer_service_errors_are_mapped(client, fake_wechat):
    body = {"openid": "o_1", "message": {"type": "text", "content": "hi"}}
    for errcode, status, words in CS_ERRORS:
        follower_writes(client, "o_1")  # a fresh window: 45015/45047 close the one before
        fake_wechat.inject_error("/cgi-bin/message/custom/send", errcode, "refused")
        response = admin(client, "POST", "/admin/messages/custom", body)
        assert response.status_code == status, (errcode, response.body)
        answer = body_json(response)
        assert answer["errcode"] == errcode and words in answer["error"], (errcode, answer)


def test_wechat_unreachable_is_a_retryable_502(client, fake_wechat):
    follower_writes(client, "o_1")
    fake_wechat.inject_error("/cgi-bin/message/custom/send", None, status=500)
    response = admin(
        client,
        "POST",
        "/admin/messages/custom",
        {"openid": "o_1", "message": {"type": "text", "content": "hi"}},
    )
    assert response.status_code == 502 and body_json(response)["retryable"] is True


BAD_CS_BODIES = [
    {"openid": "o_1"},
    {"openid": "o 1", "message": {"type": "text", "content": "x"}},
    {"openid": "o_1", "message": {"type": "transfer_customer_service"}},
    {"openid": "o_1", "message": {"type": "text", "content": ""}},
    {
        "openid": "o_1",
        "message": {"type": "news", "articles": [{"title": "a", "url": "https://e.com"}] * 2},
    },
    {"openid": "o_1", "message": {"type": "image", "media": "no-such-item"}},
    {"openid": "o_1", "message": {"type": "text", "content": "x"}, "extra": 1},
]


def test_bad_customer_service_bodies(client, fake_wechat):
    for body in BAD_CS_BODIES:
        response = admin(client, "POST", "/admin/messages/custom", body)
        assert response.status_code == 400, (body, response.body)
    assert fake_wechat.custom_messages == []


WECHAT_ROUTES = [
    ("PUT", "/admin/menu"),
    ("GET", "/admin/menu"),
    ("DELETE", "/admin/menu"),
    ("POST", "/admin/menu/conditional"),
    ("GET", "/admin/menu/conditional"),
    ("DELETE", "/admin/menu/conditional/123"),
    ("POST", "/admin/media"),
    ("GET", "/admin/media"),
    ("POST", "/admin/media/upload-url"),
    ("GET", "/admin/media/abc"),
    ("DELETE", "/admin/media/abc"),
    ("GET", "/admin/tags"),
    ("POST", "/admin/tags"),
    ("PUT", "/admin/tags/100"),
    ("DELETE", "/admin/tags/100"),
    ("GET", "/admin/tags/100/members"),
    ("POST", "/admin/tags/100/members"),
    ("POST", "/admin/tags/100/members/remove"),
    ("GET", "/admin/wechat/users"),
    ("GET", "/admin/wechat/users/o_1"),
    ("POST", "/admin/messages/custom"),
    ("GET", "/admin/token"),
]


def test_every_wechat_route_needs_the_admin_token(client, fake_wechat):
    from app import app

    for method, path in WECHAT_ROUTES:
        for token in (None, "wrong-token"):
            response = admin(client, method, path, {"name": "x"}, token=token)
            assert response.status_code == 401, (method, path, token)
    assert fake_wechat.calls == []  # nothing reached WeChat
    # The list above is complete: every route of the two WeChat blueprints is in it.
    served = {
        (method, path)
        for path, methods in app.routes.items()
        if path.startswith(("/admin/menu", "/admin/media", "/admin/tags", "/admin/wechat"))
        or path in ("/admin/messages/custom", "/admin/token")
        for method in methods
        if method != "OPTIONS"
    }
    routes = {(m, p.replace("123", "{menuid}")) for m, p in WECHAT_ROUTES}
    routes = {
        (
            m,
            p.replace("/100", "/{tag_id}")
            .replace("/abc", "/{item_id}")
            .replace("/o_1", "/{openid}"),
        )
        for m, p in routes
    }
    assert served == routes
