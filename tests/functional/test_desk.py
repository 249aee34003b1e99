"""The agent desk over HTTP (chalice.test.Client on moto, the fake WeChat API): conversations
whose window is open, newest first, with the remaining quota; the thread both ways; replies
counted before WeChat is called (409 past the quota, WeChat untouched); assign, close, reopen,
read; transfer to WeChat's customer service; kf accounts."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from tests import wxsim
from tests.functional.helpers import admin, body_json, make_rule, post_xml, refresh_rules, text_rule


def _send(client, xml: str) -> None:
    response = post_xml(client, xml)
    assert response.status_code == 200, response.body


def _conversations(client, query: str = "") -> list[dict]:
    response = admin(client, "GET", f"/admin/conversations{query}")
    assert response.status_code == 200, response.body
    return body_json(response)["items"]


def _reply(client, openid: str, content: str = "您好，我是客服小王", **extra):
    body = {"reply": {"type": "text", "content": content}, **extra}
    return admin(client, "POST", f"/admin/conversations/{openid}/reply", body)


def test_followers_who_wrote_are_listed_newest_first_with_their_quota(client, fake_wechat):
    now = int(time.time())
    _send(client, wxsim.text("我要人工", openid="o_first", create_time=now - 100))
    _send(client, wxsim.text("信用卡额度", openid="o_second", create_time=now - 50))
    _send(client, wxsim.text("还有问题", openid="o_first", create_time=now - 10))
    items = _conversations(client)
    assert [c["openid"] for c in items] == ["o_first", "o_second"]
    first = items[0]
    assert first["last_message_at"] == now - 10
    assert first["window_until"] == now - 10 + 48 * 3600
    assert first["remaining"] == 5 and first["unread"] == 2
    assert first["last_text"] == "还有问题" and first["status"] == "open"


def test_a_subscribe_opens_the_short_window(client, fake_wechat):
    now = int(time.time())
    _send(client, wxsim.event("subscribe", openid="o_new", create_time=now))
    (item,) = _conversations(client)
    assert item["openid"] == "o_new" and item["remaining"] == 3
    assert item["window_until"] == now + 60 and item["last_message_at"] is None


def test_a_follower_who_left_is_not_listed(client, fake_wechat):
    now = int(time.time())
    _send(client, wxsim.text("再见", openid="o_gone", create_time=now - 5))
    _send(client, wxsim.event("unsubscribe", openid="o_gone", create_time=now))
    assert _conversations(client) == []
    assert _reply(client, "o_gone").status_code == 409
    assert fake_wechat.count("/cgi-bin/message/custom/send") == 0


def test_the_thread_holds_both_ways(client, fake_wechat):
    make_rule(client, text_rule("余额", "您的余额请登录手机银行查询"))
    refresh_rules()
    now = int(time.time())
    _send(client, wxsim.text("余额", openid="o_t", create_time=now - 20))
    _send(client, wxsim.text("还是不行", openid="o_t", create_time=now - 10))
    assert _reply(client, "o_t", agent="wang").status_code == 200
    response = admin(client, "GET", "/admin/conversations/o_t")
    assert response.status_code == 200, response.body
    thread = body_json(response)
    items = thread["items"]
    assert [(i["direction"], i.get("by")) for i in items] == [
        ("in", None),
        ("out", "auto"),
        ("in", None),
        ("out", "wang"),
    ]
    assert items[0]["content"] == "余额"
    assert items[1]["reply"] == {"type": "text", "content": "您的余额请登录手机银行查询"}
    assert items[3]["reply"] == {"type": "text", "content": "您好，我是客服小王"}
    assert thread["remaining"] == 4 and thread["window_until"] == now - 10 + 48 * 3600
    assert admin(client, "GET", "/admin/conversations/o_never").status_code == 404


def test_replies_count_against_the_quota_before_wechat_is_called(client, fake_wechat):
    now = int(time.time())
    _send(client, wxsim.text("人工", openid="o_q", create_time=now))
    for left in (4, 3, 2, 1, 0):
        response = _reply(client, "o_q")
        assert response.status_code == 200, response.body
        assert body_json(response) == {
            "sent": True,
            "remaining": left,
            "window_until": now + 48 * 3600,
        }
    refused = _reply(client, "o_q")
    assert refused.status_code == 409
    answer = body_json(refused)
    assert answer["retryable"] is False and answer["remaining"] == 0
    assert answer["window_until"] == now + 48 * 3600 and answer["error"]
    sent = [m for m in fake_wechat.custom_messages if m["touser"] == "o_q"]
    assert len(sent) == 5 and sent[0]["text"] == {"content": "您好，我是客服小王"}
    # A new message from the follower opens a new window with a fresh quota.
    _send(client, wxsim.text("还在吗", openid="o_q", create_time=now + 1))
    assert _reply(client, "o_q").status_code == 200


def test_the_desk_and_custom_messages_share_one_quota(client, fake_wechat):
    """One follower, one count: 3 via POST /admin/messages/custom and 2 desk replies spend the
    message window; the 6th is refused from either, WeChat untouched."""
    now = int(time.time())
    until = now + 48 * 3600
    _send(client, wxsim.text("人工", openid="o_s", create_time=now))
    custom = {"openid": "o_s", "message": {"type": "text", "content": "您好"}}
    for left in (4, 3, 2):
        response = admin(client, "POST", "/admin/messages/custom", custom)
        assert response.status_code == 200, response.body
        assert body_json(response)["remaining"] == left
    (listed,) = _conversations(client)
    assert listed["remaining"] == 2 and listed["window_until"] == until
    for left in (1, 0):
        response = _reply(client, "o_s")
        assert response.status_code == 200, response.body
        assert body_json(response) == {"sent": True, "remaining": left, "window_until": until}
    assert body_json(admin(client, "GET", "/admin/conversations/o_s"))["remaining"] == 0
    for refused in (_reply(client, "o_s"), admin(client, "POST", "/admin/messages/custom", custom)):
        assert refused.status_code == 409, refused.body
        answer = body_json(refused)
        assert answer["error"] and answer["retryable"] is False
        assert answer["remaining"] == 0 and answer["window_until"] == until
    assert len([m for m in fake_wechat.custom_messages if m["touser"] == "o_s"]) == 5
    assert _conversations(client)[0]["remaining"] == 0


def test_no_window_no_send(client, fake_wechat):
    refused = _reply(client, "o_stranger")
    assert refused.status_code == 409
    assert body_json(refused) == {
        "error": body_json(refused)["error"],
        "retryable": False,
        "remaining": 0,
        "window_until": None,
    }
    assert fake_wechat.count("/cgi-bin/message/custom/send") == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"reply": "hi"},
        {"reply": {"type": "text"}},
        {"reply": {"type": "transfer_customer_service"}},
        {"reply": {"type": "text", "content": "x"}, "extra": 1},
        {"reply": {"type": "news", "articles": []}},
    ],
)
def test_a_bad_reply_is_400_and_spends_nothing(client, fake_wechat, body):
    _send(client, wxsim.text("人工", openid="o_b"))
    response = admin(client, "POST", "/admin/conversations/o_b/reply", body)
    assert response.status_code == 400, response.body
    assert fake_wechat.count("/cgi-bin/message/custom/send") == 0
    assert _conversations(client)[0]["remaining"] == 5


def test_wechat_refusing_the_window_spends_it(client, fake_wechat):
    _send(client, wxsim.text("人工", openid="o_w"))
    fake_wechat.inject_error("/cgi-bin/message/custom/send", 45015, "response out of time limit")
    assert _reply(client, "o_w").status_code == 409
    assert _reply(client, "o_w").status_code == 409  # spent: WeChat is not asked again
    assert fake_wechat.count("/cgi-bin/message/custom/send") == 1


def test_wechat_refusing_the_message_itself_gives_the_send_back(client, fake_wechat):
    _send(client, wxsim.text("人工", openid="o_m"))
    fake_wechat.inject_error("/cgi-bin/message/custom/send", 40007, "invalid media_id")
    assert _reply(client, "o_m").status_code >= 400
    assert _conversations(client)[0]["remaining"] == 5


def test_assign_close_reopen_and_read(client, fake_wechat):
    _send(client, wxsim.text("人工", openid="o_a"))
    assign = admin(client, "POST", "/admin/conversations/o_a/assign", {"agent": "wang"})
    assert assign.status_code == 200 and body_json(assign)["assigned_to"] == "wang"
    assert [c["openid"] for c in _conversations(client, "?assigned_to=wang")] == ["o_a"]
    assert _conversations(client, "?assigned_to=li") == []
    thread = body_json(admin(client, "GET", "/admin/conversations/o_a?mark_read=true"))
    assert thread["conversation"]["unread"] == 0
    close = admin(client, "POST", "/admin/conversations/o_a/close")
    assert close.status_code == 200 and body_json(close)["status"] == "closed"
    assert _conversations(client, "?status=open") == []
    assert [c["status"] for c in _conversations(client)] == ["closed"]  # its window is open
    _send(client, wxsim.text("又来了", openid="o_a", create_time=int(time.time()) + 1))
    (again,) = _conversations(client, "?status=open")
    assert again["unread"] == 1 and again["assigned_to"] == "wang"
    admin(client, "POST", "/admin/conversations/o_a/close")
    assert body_json(admin(client, "POST", "/admin/conversations/o_a/reopen"))["status"] == "open"
    for path in ("assign", "close", "reopen"):
        body = {"agent": "x"} if path == "assign" else None
        assert (
            admin(client, "POST", f"/admin/conversations/o_nobody/{path}", body).status_code == 404
        )
    assert admin(client, "POST", "/admin/conversations/o_a/assign", {"agent": 5}).status_code == 400


def test_unread_counts_what_came_after_the_read_and_a_reply_reads_all(client, fake_wechat):
    now = int(time.time())
    _send(client, wxsim.text("你好", openid="o_r", create_time=now - 30))
    _send(client, wxsim.text("在吗", openid="o_r", create_time=now - 20))
    thread = body_json(admin(client, "GET", "/admin/conversations/o_r?mark_read=true"))
    assert thread["conversation"]["unread"] == 0
    _send(client, wxsim.event("CLICK", "MENU_X", openid="o_r", create_time=now - 15))
    _send(client, wxsim.text("有人吗", openid="o_r", create_time=now - 10))
    _send(client, wxsim.text("人工", openid="o_r", create_time=now - 5))
    (item,) = _conversations(client)
    assert item["unread"] == 2 and item["last_text"] == "人工"
    assert (
        body_json(admin(client, "GET", "/admin/conversations/o_r"))["conversation"]["unread"] == 2
    )
    assert _reply(client, "o_r").status_code == 200
    assert _conversations(client)[0]["unread"] == 0


def test_a_reply_that_went_out_is_200_even_if_the_read_marker_is_not_kept(
    client, fake_wechat, monkeypatch
):
    from chalicelib.store import desk
    from chalicelib.store.errors import StoreUnavailable

    def unavailable(*_args, **_kwargs):
        raise StoreUnavailable("storage error: ProvisionedThroughputExceededException")

    _send(client, wxsim.text("人工", openid="o_f"))
    with monkeypatch.context() as patched:
        patched.setattr(desk, "set_state", unavailable)
        response = _reply(client, "o_f")
    assert response.status_code == 200 and body_json(response)["remaining"] == 4
    assert len([m for m in fake_wechat.custom_messages if m["touser"] == "o_f"]) == 1
    thread = body_json(admin(client, "GET", "/admin/conversations/o_f"))
    assert thread["conversation"]["unread"] == 1  # not marked read, nothing else lost
    assert [i["by"] for i in thread["items"] if i["direction"] == "out"] == ["owner"]


def test_a_message_after_a_close_or_transfer_reopens(client, fake_wechat):
    now = int(time.time())
    _send(client, wxsim.text("人工", openid="o_c", create_time=now - 10))
    closed = body_json(admin(client, "POST", "/admin/conversations/o_c/close"))
    assert closed["status"] == "closed" and closed["closed_at"] >= now
    _send(client, wxsim.event("CLICK", "MENU_X", openid="o_c", create_time=now))
    assert _conversations(client)[0]["status"] == "closed"  # a click does not reopen it
    _send(client, wxsim.text("还在吗", openid="o_c", create_time=now))
    (item,) = _conversations(client)
    assert item["status"] == "open" and item["closed_at"] is None
    one = body_json(admin(client, "GET", "/admin/conversations/o_c"))["conversation"]
    assert one["status"] == "open" and one["closed_at"] is None


def test_an_unsubscribe_closes_the_window_unless_something_came_after(client, fake_wechat):
    now = int(time.time())
    _send(client, wxsim.text("再见", openid="o_u", create_time=now - 30))
    _send(client, wxsim.event("unsubscribe", openid="o_u", create_time=now - 20))
    assert _conversations(client) == []
    _send(client, wxsim.event("subscribe", openid="o_u", create_time=now - 10))
    (item,) = _conversations(client)
    assert item["window_until"] == now - 10 + 60 and item["remaining"] == 3
    _send(client, wxsim.text("我又回来了", openid="o_u", create_time=now))
    (item,) = _conversations(client)
    assert item["window_until"] == now + 48 * 3600 and item["last_text"] == "我又回来了"


def test_a_click_alone_shows_for_a_minute(client, fake_wechat):
    from chalicelib import wiring
    from chalicelib.desk import service

    now = int(time.time())
    _send(client, wxsim.event("CLICK", "MENU_OLD", openid="o_old_click", create_time=now - 61))
    _send(client, wxsim.event("CLICK", "MENU_X", openid="o_click", create_time=now - 30))
    (item,) = _conversations(client)
    assert item["openid"] == "o_click" and item["last_message_at"] is None
    assert item["last_event_at"] == now - 30 and item["window_until"] == now + 30
    assert item["remaining"] == 3 and item["unread"] == 0
    assert service.conversations(wiring.desk_walk(), now=now + 31)["items"] == []
    thread = body_json(admin(client, "GET", "/admin/conversations/o_click"))
    assert thread["conversation"]["last_event_at"] == now - 30


def test_the_list_is_limited_and_counted(client, fake_wechat):
    now = int(time.time())
    for i in range(4):
        _send(client, wxsim.text("人工", openid=f"o_l{i}", create_time=now - 10 + i))
    admin(client, "POST", "/admin/conversations/o_l1/assign", {"agent": "wang"})
    admin(client, "POST", "/admin/conversations/o_l2/assign", {"agent": "wang"})
    answer = body_json(admin(client, "GET", "/admin/conversations?limit=2"))
    assert [c["openid"] for c in answer["items"]] == ["o_l3", "o_l2"] and answer["total"] == 4
    assert answer["items"][1]["assigned_to"] == "wang"
    mine = body_json(admin(client, "GET", "/admin/conversations?assigned_to=wang&limit=1"))
    assert [c["openid"] for c in mine["items"]] == ["o_l2"] and mine["total"] == 2


# -- WeChat's customer service --------------------------------------------------------------


def test_kf_accounts_are_managed_at_wechat(client, fake_wechat):
    account = "wang@bankgh"
    response = admin(
        client, "POST", "/admin/kf-accounts", {"kf_account": account, "nickname": "小王"}
    )
    assert response.status_code == 201, response.body
    again = admin(client, "POST", "/admin/kf-accounts", {"kf_account": account, "nickname": "小王"})
    assert again.status_code == 422  # WeChat: the account exists
    bad = admin(client, "POST", "/admin/kf-accounts", {"kf_account": "no-at-sign", "nickname": "x"})
    assert bad.status_code == 400
    path = f"/admin/kf-accounts/{quote(account)}"
    assert admin(client, "PATCH", path, {"nickname": "王经理"}).status_code == 200
    invited = admin(client, "POST", f"{path}/invite", {"invite_wx": "wang_wx"})
    assert invited.status_code == 200, invited.body
    (item,) = body_json(admin(client, "GET", "/admin/kf-accounts"))["items"]
    assert item["kf_account"] == account and item["nickname"] == "王经理"
    assert item["online"] is False and item["invite_status"] == "waiting"
    assert admin(client, "DELETE", path).status_code == 204
    assert body_json(admin(client, "GET", "/admin/kf-accounts"))["items"] == []


def test_transfer_hands_the_follower_to_an_online_kf_account(client, fake_wechat):
    account = "li@bankgh"
    admin(client, "POST", "/admin/kf-accounts", {"kf_account": account, "nickname": "小李"})
    _send(client, wxsim.text("转人工", openid="o_x"))
    offline = admin(client, "POST", "/admin/conversations/o_x/transfer", {"kf_account": account})
    assert offline.status_code == 422  # WeChat: not bound / offline
    fake_wechat.kf_bind(account)
    response = admin(client, "POST", "/admin/conversations/o_x/transfer", {"kf_account": account})
    assert response.status_code == 200, response.body
    assert body_json(response)["status"] == "transferred"
    assert body_json(response)["assigned_to"] == account
    assert fake_wechat.kf_sessions["o_x"]["kf_account"] == account
