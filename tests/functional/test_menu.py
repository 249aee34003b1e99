"""Custom menu: validation before WeChat, publish through the admin API, then a click on it is
answered by a click rule."""

from __future__ import annotations

from tests import wxsim
from tests.functional.helpers import admin, body_json, make_rule, post_xml, refresh_rules, text_rule

MENU = {
    "button": [
        {"type": "click", "name": "今日余额", "key": "MENU_BALANCE"},
        {
            "name": "服务",
            "sub_button": [
                {"type": "view", "name": "网点查询", "url": "https://example.com/branches"},
                {"type": "click", "name": "联系客服", "key": "MENU_CS"},
            ],
        },
    ]
}


def test_publish_menu_then_a_click_is_answered_by_a_click_rule(client, fake_wechat):
    make_rule(client, text_rule("MENU_BALANCE", "您的余额请在手机银行查看", match="click"))
    response = admin(client, "PUT", "/admin/menu", MENU)
    assert response.status_code == 200, response.body
    published = body_json(response)
    assert published["menu"] == MENU and published["published_at"]
    # MENU_CS has no click rule yet: said, not refused.
    assert published["unanswered_click_keys"] == ["MENU_CS"]

    assert fake_wechat.menu["button"] == MENU["button"]
    # Chinese went out as UTF-8, not \\uXXXX (WeChat answers 40033 to escapes).
    assert "今日余额".encode() in fake_wechat.raw_bodies("/cgi-bin/menu/create")[0]

    got = body_json(admin(client, "GET", "/admin/menu"))
    assert got["menu"] == MENU and got["published_at"] == published["published_at"]
    live = body_json(admin(client, "GET", "/admin/menu?live=true"))["live"]
    assert live["menu"]["button"] == MENU["button"]

    refresh_rules()
    # A follower taps 今日余额: WeChat sends a CLICK event with the button's key.
    answer = post_xml(client, wxsim.event("CLICK", "MENU_BALANCE", openid="o_tapper"))
    reply = wxsim.parse(answer.body.decode())
    assert reply["MsgType"] == "text" and reply["Content"] == "您的余额请在手机银行查看"
    assert reply["ToUserName"] == "o_tapper"


def test_delete_menu(client, fake_wechat):
    assert admin(client, "PUT", "/admin/menu", MENU).status_code == 200
    assert admin(client, "DELETE", "/admin/menu").status_code == 204
    assert fake_wechat.menu is None
    assert admin(client, "GET", "/admin/menu").status_code == 404


INVALID_MENUS = [
    ({"button": []}, "menu.button: needs 1..3 buttons"),
    ({"button": [{"type": "click", "name": f"b{i}", "key": "k"} for i in range(4)]}, "limit 3"),
    ({"button": [{"type": "click", "name": "六个汉字太长了", "key": "k"}]}, "button[0].name"),
    ({"button": [{"type": "click", "name": "余额"}]}, "button[0].key"),
    ({"button": [{"type": "view", "name": "网", "url": "ftp://x"}]}, "http"),
    ({"button": [{"type": "shake", "name": "摇"}]}, "unknown type"),
    (
        {
            "button": [
                {"name": "多", "sub_button": [{"type": "click", "name": "s", "key": "k"}] * 6}
            ]
        },
        "limit 5",
    ),
    (
        {"button": [{"type": "click", "name": "a", "key": "k"}], "matchrule": {"tag_id": "2"}},
        "conditional",
    ),
    ({"button": [{"type": "click", "name": "a", "key": "k"}], "buttons": []}, "unknown field"),
    ([], "must be a JSON object"),
]


def test_menu_validated_before_wechat(client, fake_wechat):
    for menu, message in INVALID_MENUS:
        response = admin(client, "PUT", "/admin/menu", menu)
        assert response.status_code == 400, (menu, response.body)
        assert message in body_json(response)["error"], (menu, message)
    assert fake_wechat.count("/cgi-bin/menu/create") == 0


def test_get_menu_before_any_publish_is_404(client, fake_wechat):
    assert admin(client, "GET", "/admin/menu").status_code == 404


def test_wechat_refusing_the_menu_is_a_422_with_errcode(client, fake_wechat):
    fake_wechat.inject_error("/cgi-bin/menu/create", 40018, "invalid button name size")
    response = admin(client, "PUT", "/admin/menu", MENU)
    assert response.status_code == 422
    assert body_json(response)["errcode"] == 40018
    assert admin(client, "GET", "/admin/menu").status_code == 404  # nothing recorded


def test_menu_routes_need_the_admin_token(client, fake_wechat):
    for method in ("GET", "PUT", "DELETE"):
        assert admin(client, method, "/admin/menu", MENU, token=None).status_code == 401
    assert fake_wechat.calls == []


# --------------------------------------------------------------------------- conditional menus

VIP_MENU = {
    "button": [
        {"type": "click", "name": "专属经理", "key": "MENU_VIP_MANAGER"},
        {"type": "view", "name": "贵宾专区", "url": "https://example.com/vip"},
    ],
    "matchrule": {"tag_id": "2"},  # 星标组, a tag every account has
}


def test_conditional_menu_for_a_tag_and_its_click(client, fake_wechat):
    from chalicelib.jobs.wechat import client as wechat

    make_rule(client, text_rule("MENU_VIP_MANAGER", "您的专属经理：王经理", match="click"))
    assert admin(client, "PUT", "/admin/menu", MENU).status_code == 200
    response = admin(client, "POST", "/admin/menu/conditional", VIP_MENU)
    assert response.status_code == 201, response.body
    added = body_json(response)
    assert added["menuid"] and added["matchrule"] == {"tag_id": "2"}
    assert added["unanswered_click_keys"] == []

    listed = body_json(admin(client, "GET", "/admin/menu/conditional"))["items"]
    assert [(m["menuid"], m["button"]) for m in listed] == [(added["menuid"], VIP_MENU["button"])]
    # A follower with the tag sees it, the others the default menu.
    fake_wechat.add_follower("o_vip")
    fake_wechat.add_follower("o_plain")
    wechat().tags.tag_users(2, ["o_vip"])
    assert wechat().menu.trymatch("o_vip")["button"] == VIP_MENU["button"]
    assert wechat().menu.trymatch("o_plain")["button"] == MENU["button"]

    refresh_rules()
    reply = wxsim.parse(post_xml(client, wxsim.event("CLICK", "MENU_VIP_MANAGER")).body.decode())
    assert reply["Content"] == "您的专属经理：王经理"

    path = f"/admin/menu/conditional/{added['menuid']}"
    assert admin(client, "DELETE", path).status_code == 204
    assert body_json(admin(client, "GET", "/admin/menu/conditional"))["items"] == []
    gone = admin(client, "DELETE", path)
    assert gone.status_code == 404 and body_json(gone)["errcode"] == 65301
    # The default menu is untouched.
    assert fake_wechat.menu["button"] == MENU["button"]


def test_conditional_menu_needs_a_default_menu(client, fake_wechat):
    response = admin(client, "POST", "/admin/menu/conditional", VIP_MENU)
    assert response.status_code == 409 and body_json(response)["errcode"] == 65303
    assert "PUT /admin/menu" in body_json(response)["error"]
    assert body_json(admin(client, "GET", "/admin/menu/conditional"))["items"] == []


INVALID_CONDITIONAL = [
    ({"button": VIP_MENU["button"]}, "menu.matchrule"),
    ({**VIP_MENU, "matchrule": {}}, "menu.matchrule"),
    ({**VIP_MENU, "matchrule": {"colour": "red"}}, "unknown keys"),
    ({**VIP_MENU, "matchrule": {"tag_id": "vip"}}, "matchrule.tag_id"),
    ({**VIP_MENU, "matchrule": {"tag_id": ["2"]}}, "matchrule.tag_id: must be a string"),
    ({**VIP_MENU, "matchrule": {"client_platform_type": "4"}}, "client_platform_type"),
    ({**VIP_MENU, "button": VIP_MENU["button"] * 2}, "limit 3"),
    ({**VIP_MENU, "button": [{"type": "click", "name": "专属客户经理", "key": "K"}]}, "name"),
    ({**VIP_MENU, "menuid": "1"}, "unknown field"),
]


def test_conditional_menu_validated_before_wechat(client, fake_wechat):
    assert admin(client, "PUT", "/admin/menu", MENU).status_code == 200
    for menu, message in INVALID_CONDITIONAL:
        response = admin(client, "POST", "/admin/menu/conditional", menu)
        assert response.status_code == 400, (menu, response.body)
        assert message in body_json(response)["error"], (menu, message)
    assert fake_wechat.count("/cgi-bin/menu/addconditional") == 0
    for menuid in ("abc", "1e3", "١٢"):
        response = admin(client, "DELETE", f"/admin/menu/conditional/{menuid}")
        assert response.status_code == 400, menuid
    assert fake_wechat.count("/cgi-bin/menu/delconditional") == 0
