"""The pages' web authorization and JS-SDK pieces, pure: WeChat's documented signature example,
`next` paths that could leave the app, forged and altered states, forged cookies."""

from __future__ import annotations

import pytest

from chalicelib.errors import InvalidInput
from chalicelib.webauth import oauth, pages
from chalicelib.wechat import jssdk
from chalicelib.wechat.api.oauth import authorize_url


@pytest.fixture(autouse=True)
def _secret(monkeypatch):
    monkeypatch.setenv("WXLESS_PAGE_SECRET", "unit-test-page-secret")


# WeChat's own example ("JS-SDK 说明文档", 附录1: JS-SDK使用权限签名算法).
DOC_TICKET = (
    "sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg"
)


def test_jssdk_signature_matches_wechats_documented_example():
    signature = jssdk.signature(
        DOC_TICKET, "Wm3WZYTPz0wzccnW", 1414587457, "http://mp.weixin.qq.com?params=value"
    )
    assert signature == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"


def test_jssdk_signs_the_url_without_its_fragment():
    url = "http://mp.weixin.qq.com?params=value"
    assert jssdk.signature(DOC_TICKET, "Wm3WZYTPz0wzccnW", 1414587457, url + "#share") == (
        "0f9de62fce790f9a083d5c99e95740ceb90c27ed"
    )


def test_jssdk_config_has_the_four_fields_wx_config_takes():
    config = jssdk.config("wxappid", DOC_TICKET, "http://mp.weixin.qq.com?params=value", 1414587457,
                          "Wm3WZYTPz0wzccnW")  # fmt: skip
    assert config == {
        "appId": "wxappid",
        "timestamp": 1414587457,
        "nonceStr": "Wm3WZYTPz0wzccnW",
        "signature": "0f9de62fce790f9a083d5c99e95740ceb90c27ed",
    }
    assert len(jssdk.new_nonce()) == 16 and jssdk.new_nonce().isalnum()


BASE = "https://wx.bank.example"


@pytest.mark.parametrize(
    "url",
    [
        f"{BASE}/p/articles/42",
        f"{BASE}/p/articles/42?from=timeline&isappinstalled=0#section",
        "http://wx.bank.example/p/categories/7",  # a proxy may end TLS first
        "https://WX.BANK.EXAMPLE/p/x",
    ],
)
def test_pages_of_this_app_are_signed(url):
    assert pages.check_page_url(url, BASE) == url


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "https://evil.example/p/articles/42",
        "https://wx.bank.example.evil.example/p/x",
        "https://evil.example@wx.bank.example/p/x",
        "https://wx.bank.example:8443/p/x",
        "https://wx.bank.example/admin/rules",
        "https://wx.bank.example/console",
        "javascript:alert(1)//wx.bank.example/p/",
        "//wx.bank.example/p/x",
        "/p/articles/42",
        "https://wx.bank.example/p/x y",
        "ftp://wx.bank.example/p/x",
    ],
)
def test_anything_else_is_refused(url):
    with pytest.raises(InvalidInput):
        pages.check_page_url(url, BASE)


@pytest.mark.parametrize(
    "value", ["/p/articles/42", "/p/articles/42?from=timeline", "/p/categories/7#top", "/p/"]
)
def test_next_may_be_any_page_path(value):
    assert oauth.check_next(value) == value


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "https://evil.example/p/x",
        "//evil.example/p/x",
        "///evil.example",
        "/\\evil.example",
        "/p/\\evil.example",
        "/admin/rules",
        "/pp/x",
        "p/articles/1",
        "/p/../admin",
        "/p/%2e%2e/admin",
        "/p/%2E./admin",
        "/p/.%2e/console",
        "/p/./x",
        "/p/a%2f..%2f..%2fadmin",
        "/p/x\r\nSet-Cookie: a=b",
        "/p/\tx",
        "/p/ x",
        "/p/" + "a" * 1100,
        "javascript:alert(1)",
        "/p/x\x00",
    ],
)
def test_next_that_could_leave_the_pages_is_refused(value):
    with pytest.raises(InvalidInput):
        oauth.check_next(value)


def test_a_state_is_good_for_its_next_and_scope_only():
    state = oauth.new_state("/p/articles/1", "snsapi_base", now=1_700_000_000)
    assert state.isalnum() and len(state) <= 128
    oauth.check_state(state, "/p/articles/1", "snsapi_base", now=1_700_000_100)
    for next_path, scope in [
        ("/p/articles/2", "snsapi_base"),
        ("/p/articles/1", "snsapi_userinfo"),
    ]:
        with pytest.raises(InvalidInput):
            oauth.check_state(state, next_path, scope, now=1_700_000_100)


def test_a_forged_altered_or_old_state_is_refused():
    state = oauth.new_state("/p/articles/1", "snsapi_base", now=1_700_000_000)
    flipped = state[:-1] + ("0" if state[-1] != "0" else "1")
    later_issue = f"{1_700_000_500:010d}" + state[10:]  # a new date on an old MAC
    for bad in [None, "", "abc", flipped, later_issue, state + "0", "1" * 52]:
        with pytest.raises(InvalidInput):
            oauth.check_state(bad, "/p/articles/1", "snsapi_base", now=1_700_000_100)
    with pytest.raises(InvalidInput, match="expired"):
        oauth.check_state(state, "/p/articles/1", "snsapi_base", now=1_700_000_000 + 601)


def test_a_state_signed_with_another_key_is_refused(monkeypatch):
    state = oauth.new_state("/p/articles/1", "snsapi_base", now=1_700_000_000)
    monkeypatch.setenv("WXLESS_PAGE_SECRET", "another deployment")
    with pytest.raises(InvalidInput):
        oauth.check_state(state, "/p/articles/1", "snsapi_base", now=1_700_000_010)


def test_the_follower_cookie_round_trips_and_cannot_be_forged():
    value = oauth.cookie_value("oABC_123-xyz", "snsapi_base", now=1_700_000_000)
    found = oauth.read_cookie(value, now=1_700_000_100)
    assert found == oauth.PageFollower("oABC_123-xyz", "snsapi_base", 1_700_000_000)
    openid, issued, letter, mac = value.split(".")
    for forged in [
        f"oSOMEONE_ELSE.{issued}.{letter}.{mac}",
        f"{openid}.{int(issued) + 1}.{letter}.{mac}",
        f"{openid}.{issued}.u.{mac}",
        f"{openid}.{issued}.{letter}.{'0' * 32}",
        "garbage",
        "",
    ]:
        assert oauth.read_cookie(forged, now=1_700_000_100) is None
    assert oauth.read_cookie(value, now=1_700_000_000 + oauth.COOKIE_SECONDS + 1) is None
    header = oauth.set_cookie(value, secure=True)
    assert "HttpOnly" in header and "Secure" in header and "SameSite=Lax" in header
    assert "Path=/p/" in header
    assert oauth.cookie_from_header(f"a=b; wxf={value}; c=d") == value


def test_the_key_is_derived_when_no_page_secret_is_set(monkeypatch):
    monkeypatch.delenv("WXLESS_PAGE_SECRET")
    monkeypatch.setenv("ADMIN_TOKEN", "admin-1")
    monkeypatch.setenv("WECHAT_APP_SECRET", "secret-1")
    state = oauth.new_state("/p/x", "snsapi_base", now=1_700_000_000)
    oauth.check_state(state, "/p/x", "snsapi_base", now=1_700_000_001)
    monkeypatch.setenv("ADMIN_TOKEN", "admin-2")  # rotating a secret signs everyone out
    with pytest.raises(InvalidInput):
        oauth.check_state(state, "/p/x", "snsapi_base", now=1_700_000_001)


def test_the_authorize_url_is_wechats():
    url = authorize_url(
        "wxapp", "https://wx.bank.example/p/oauth/callback?next=%2Fp%2Fa", "snsapi_base", "abc123"
    )
    assert url == (
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wxapp"
        "&redirect_uri=https%3A%2F%2Fwx.bank.example%2Fp%2Foauth%2Fcallback%3Fnext%3D%252Fp%252Fa"
        "&response_type=code&scope=snsapi_base&state=abc123#wechat_redirect"
    )
    with pytest.raises(ValueError):
        authorize_url("wxapp", "https://x/p/oauth/callback", "snsapi_base", "not alnum!")
