"""The pages' JS-SDK config and web authorization over HTTP (chalice.test.Client on moto, the
fake WeChat API): signatures from the stored jsapi_ticket, the redirect to WeChat, the callback's
state and `next` checks (forgery, open-redirect tricks), the follower cookie."""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qs, quote, urlsplit

import pytest

HOST = "wx.bank.example"


def get(client, path: str, **headers):
    return client.http.get(path, headers={"Host": HOST, **headers})


def body(response) -> dict:
    return json.loads(response.body)


# -- JS-SDK ----------------------------------------------------------------------------------------


def test_jssdk_config_is_signed_with_the_stored_ticket(client, fake_wechat):
    url = f"http://{HOST}/p/articles/42?from=timeline"
    response = get(client, f"/p/jssdk?url={quote(url, safe='')}")
    assert response.status_code == 200, response.body
    assert response.headers["Cache-Control"] == "no-store"
    config = body(response)
    assert set(config) == {"appId", "timestamp", "nonceStr", "signature"}
    assert config["appId"] == "wx1234567890abcdef"
    ticket = fake_wechat._tickets["jsapi"]  # what the app fetched and stored
    plain = (
        f"jsapi_ticket={ticket}&noncestr={config['nonceStr']}"
        f"&timestamp={config['timestamp']}&url={url}"
    )
    assert config["signature"] == hashlib.sha1(plain.encode()).hexdigest()
    # A second page is signed from the stored ticket, not a new WeChat call.
    assert get(client, f"/p/jssdk?url={quote(url + '#x', safe='')}").status_code == 200
    assert fake_wechat.count("/cgi-bin/ticket/getticket") == 1


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/p/articles/42",
        f"https://{HOST}.evil.example/p/articles/42",
        f"http://{HOST}/admin/rules",
        "",
    ],
)
def test_jssdk_refuses_pages_elsewhere(client, fake_wechat, url):
    response = get(client, f"/p/jssdk?url={quote(url, safe='')}")
    assert response.status_code == 400, response.body
    assert "error" in body(response)
    assert fake_wechat.count("/cgi-bin/ticket/getticket") == 0


def test_jssdk_without_a_ticket_is_503_and_retryable(client, fake_wechat):
    fake_wechat.inject_error("/cgi-bin/ticket/getticket", -1, "system error", times=5)
    response = get(client, f"/p/jssdk?url={quote(f'http://{HOST}/p/x', safe='')}")
    assert response.status_code == 503
    assert body(response)["retryable"] is True


# -- web authorization ----------------------------------------------------------------------------


def _start(client, next_path: str, **extra) -> tuple[str, dict]:
    query = f"next={quote(next_path, safe='')}" + "".join(f"&{k}={v}" for k, v in extra.items())
    response = get(client, f"/p/oauth?{query}")
    assert response.status_code == 302, response.body
    location = response.headers["Location"]
    return location, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _callback(client, redirect_uri: str, **params):
    parts = urlsplit(redirect_uri)
    query = parts.query + "".join(f"&{k}={quote(v, safe='')}" for k, v in params.items())
    return get(client, f"{parts.path}?{query}")


def test_oauth_sends_the_browser_to_wechat_and_back_to_next(client, fake_wechat):
    location, query = _start(client, "/p/articles/42?from=singlemessage")
    assert location.startswith("https://open.weixin.qq.com/connect/oauth2/authorize?appid=")
    assert location.endswith("#wechat_redirect")
    assert query["appid"] == "wx1234567890abcdef"
    assert query["response_type"] == "code" and query["scope"] == "snsapi_base"
    state = query["state"]
    assert state.isalnum() and len(state) <= 128
    redirect_uri = query["redirect_uri"]
    assert redirect_uri.startswith(f"http://{HOST}/p/oauth/callback?")
    code = fake_wechat.oauth_code("oREADER_0001")
    response = _callback(client, redirect_uri, code=code, state=state)
    assert response.status_code == 302, response.body
    assert response.headers["Location"] == f"http://{HOST}/p/articles/42?from=singlemessage"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("wxf=oREADER_0001.")
    assert "HttpOnly" in cookie and "Path=/p/" in cookie and "SameSite=Lax" in cookie
    (call,) = fake_wechat.calls_to("/sns/oauth2/access_token")
    assert call.query["code"] == code and call.query["grant_type"] == "authorization_code"
    # The code is good once: a replayed callback exchanges nothing new.
    again = _callback(client, redirect_uri, code=code, state=state)
    assert again.status_code == 400 and "Set-Cookie" not in again.headers


def test_userinfo_scope_is_asked_for_and_kept(client, fake_wechat):
    _location, query = _start(client, "/p/articles/7", scope="snsapi_userinfo")
    assert query["scope"] == "snsapi_userinfo"
    code = fake_wechat.oauth_code("oASKED", scope="snsapi_userinfo")
    response = _callback(client, query["redirect_uri"], code=code, state=query["state"])
    assert response.status_code == 302
    assert response.headers["Set-Cookie"].split(";")[0].split(".")[2] == "u"


def test_a_follower_who_declines_reaches_the_page_without_a_cookie(client, fake_wechat):
    _location, query = _start(client, "/p/articles/7", scope="snsapi_userinfo")
    response = _callback(client, query["redirect_uri"], state=query["state"])
    assert response.status_code == 302
    assert response.headers["Location"] == f"http://{HOST}/p/articles/7"
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.example/",
        "//evil.example/p/x",
        "/\\evil.example",
        "/admin/rules",
        "/p/../admin",
        "/p/%2e%2e/console",
        "http:/p/x",
        "",
    ],
)
def test_a_next_outside_the_pages_is_400(client, fake_wechat, next_path):
    response = get(client, f"/p/oauth?next={quote(next_path, safe='')}")
    assert response.status_code == 400, response.body
    assert "Location" not in response.headers


def test_a_forged_or_altered_state_is_400_and_nothing_is_exchanged(client, fake_wechat):
    _location, query = _start(client, "/p/articles/1")
    state, redirect_uri = query["state"], query["redirect_uri"]
    code = fake_wechat.oauth_code("oVICTIM")
    forged = state[:-4] + ("0000" if not state.endswith("0000") else "1111")
    for bad_state in [forged, "x" * 52, "", state.upper()]:
        response = _callback(client, redirect_uri, code=code, state=bad_state)
        assert response.status_code == 400, bad_state
        assert "Set-Cookie" not in response.headers
    # The right state with another `next` (an attacker's page swapped in): refused too.
    swapped = f"/p/oauth/callback?next={quote('/p/elsewhere', safe='')}"
    response = _callback(client, swapped, code=code, state=state)
    assert response.status_code == 400
    evil = f"/p/oauth/callback?next={quote('https://evil.example', safe='')}"
    assert _callback(client, evil, code=code, state=state).status_code == 400
    assert fake_wechat.count("/sns/oauth2/access_token") == 0


def test_wechat_down_at_the_exchange_is_503(client, fake_wechat):
    _location, query = _start(client, "/p/articles/1")
    fake_wechat.inject_error("/sns/oauth2/access_token", -1, "system error")
    response = _callback(client, query["redirect_uri"], code="c1", state=query["state"])
    assert response.status_code == 503
    assert "Set-Cookie" not in response.headers
