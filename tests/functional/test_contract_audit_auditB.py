"""Contract sections 6 and 7, where an outside tester over HTTP found us disagreeing with
ourselves or with the contract's words (chalice.test.Client on moto, the fake WeChat API)."""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest

from tests import wxsim
from tests.functional.helpers import admin, body_json, post_xml

SEND = "/cgi-bin/message/custom/send"
HOST = "wx.bank.example"


def _conversations(client) -> list[dict]:
    response = admin(client, "GET", "/admin/conversations")
    assert response.status_code == 200, response.body
    return body_json(response)["items"]


@pytest.mark.parametrize("age", [48 * 3600 + 120, 49 * 3600])
def test_a_window_closed_by_the_messages_createtime_is_not_listed(client, fake_wechat, age):
    """§7 lists "followers whose window is open"; §6 refuses a send to the same follower as
    closed. A message whose CreateTime is over 48 h old must not be listed as open."""
    now = int(time.time())
    old = wxsim.text("上周的问题", openid="o_audit_old", create_time=now - age)
    assert post_xml(client, old).status_code == 200
    fresh = wxsim.text("刚才的问题", openid="o_audit_new", create_time=now - 5)
    assert post_xml(client, fresh).status_code == 200
    items = _conversations(client)
    assert [c["openid"] for c in items] == ["o_audit_new"], items
    assert all(c["window_until"] > now for c in items)
    body = {"openid": "o_audit_old", "message": {"type": "text", "content": "您好"}}
    refused = admin(client, "POST", "/admin/messages/custom", body)
    assert refused.status_code == 409, refused.body
    assert fake_wechat.count(SEND) == 0


def test_a_custom_message_may_carry_its_reply_as_the_desk_does(client, fake_wechat):
    """§7's desk reply is `{"reply": Reply}`; a custom message written the same way is read the
    same way (409 while the window is closed, sent once it is open), not refused as unknown."""
    body = {"openid": "o_audit_cs", "reply": {"type": "text", "content": "您好"}}
    closed = admin(client, "POST", "/admin/messages/custom", body)
    assert closed.status_code == 409, closed.body
    assert body_json(closed)["remaining"] == 0 and body_json(closed)["retryable"] is False
    assert post_xml(client, wxsim.text("在吗", openid="o_audit_cs")).status_code == 200
    sent = admin(client, "POST", "/admin/messages/custom", body)
    assert sent.status_code == 200, sent.body
    assert body_json(sent)["sent"] is True and body_json(sent)["remaining"] == 4
    both = {**body, "message": {"type": "text", "content": "两个"}}
    assert admin(client, "POST", "/admin/messages/custom", both).status_code == 400
    assert fake_wechat.count(SEND) == 1


@pytest.mark.parametrize(
    "path", ["/p/../admin/rules", "/p/%2e%2e/admin/rules", "/p/articles/../../console"]
)
def test_jssdk_refuses_a_page_that_leaves_p_by_dot_segments(client, fake_wechat, path):
    """§7: `GET /p/jssdk?url=<a page elsewhere>` -> 400; /p/../admin is /admin."""
    url = f"http://{HOST}{path}"
    response = client.http.get(f"/p/jssdk?url={quote(url, safe='')}", headers={"Host": HOST})
    assert response.status_code == 400, response.body
    assert fake_wechat.count("/cgi-bin/ticket/getticket") == 0


def test_a_custom_message_is_in_the_thread_both_ways(client, fake_wechat):
    """§7: `GET /admin/conversations/{openid}` is the thread both ways; what went out through
    §6's `POST /admin/messages/custom` went to the follower too, as a desk reply does."""
    assert post_xml(client, wxsim.text("卡丢了", openid="o_audit_thread")).status_code == 200
    body = {"openid": "o_audit_thread", "message": {"type": "text", "content": "已为您挂失"}}
    assert admin(client, "POST", "/admin/messages/custom", body).status_code == 200
    desk = {"reply": {"type": "text", "content": "还需要帮助吗"}}
    sent = admin(client, "POST", "/admin/conversations/o_audit_thread/reply", desk)
    assert sent.status_code == 200, sent.body
    thread = body_json(admin(client, "GET", "/admin/conversations/o_audit_thread"))
    out = [i["reply"] for i in thread["items"] if i["direction"] == "out" and i["by"] != "auto"]
    assert out == [body["message"], desk["reply"]], thread["items"]
    assert [i for i in thread["items"] if i["direction"] == "out"][-2]["by"] == "owner"


@pytest.mark.parametrize("route", ["desk", "custom"])
def test_a_message_that_went_out_is_200_even_if_its_thread_line_is_not_kept(
    client, fake_wechat, monkeypatch, route
):
    """§2/§7: a send WeChat carried out answers 200 with what remains; a 5xx would have the
    caller send it a second time, spending the follower's quota twice."""
    from chalicelib.store import desk
    from chalicelib.store.errors import StoreUnavailable

    def unavailable(*_args, **_kwargs):
        raise StoreUnavailable("storage error: ProvisionedThroughputExceededException")

    assert post_xml(client, wxsim.text("人工", openid="o_audit_lost")).status_code == 200
    reply = {"type": "text", "content": "您好"}
    with monkeypatch.context() as patched:
        patched.setattr(desk, "add_agent_message", unavailable)
        if route == "desk":
            path, body = "/admin/conversations/o_audit_lost/reply", {"reply": reply}
        else:
            path, body = "/admin/messages/custom", {"openid": "o_audit_lost", "message": reply}
        response = admin(client, "POST", path, body)
    assert response.status_code == 200, response.body
    assert body_json(response)["remaining"] == 4
    assert fake_wechat.count(SEND) == 1
