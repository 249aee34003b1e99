"""WeChat API client against the fake server over loopback (never the real internet)."""

from __future__ import annotations

import copy
import json
import pickle
import socket
from collections.abc import Callable
from typing import Any

import pytest

from chalicelib.wechat.api import (
    ERROR_CLASSES,
    InvalidCredentialError,
    InvalidTokenError,
    IPNotWhitelistedError,
    MassSendResult,
    OutOfWindowError,
    QuotaExhaustedError,
    RateLimitError,
    StableTokenProvider,
    StaticTokenProvider,
    SystemBusyError,
    TokenProvider,
    TooManyMessagesError,
    TransportError,
    UserUnsubscribedError,
    WeChatAPIError,
    WeChatClient,
    check_media,
    validate_menu,
)
from infra.fake_wechat import FakeWeChat

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n\x00end"
JPG = b"\xff\xd8\xff\xe0" + bytes(range(200)) + b"\xff\xd9"


@pytest.fixture
def fake():
    with FakeWeChat() as server:
        yield server
    assert server.errors == []


def make_client(fake: FakeWeChat, **kw: Any) -> WeChatClient:
    client = WeChatClient(fake.url, **kw)
    client.token_provider = StableTokenProvider(client.token, fake.app_id, fake.app_secret)
    return client


@pytest.fixture
def client(fake):
    c = make_client(fake, timeout=3.0)
    yield c
    c.http.clear()


@pytest.fixture
def static(fake) -> StaticTokenProvider:
    return StaticTokenProvider(fake.issue_token())


@pytest.fixture
def sclient(fake, static):
    """A client with a fixed token: counts invalidations precisely."""
    c = WeChatClient(fake.url, token_provider=static, timeout=3.0)
    yield c
    c.http.clear()


def seed(fake: FakeWeChat, n: int, prefix: str = "o") -> list[str]:
    openids = [f"{prefix}{i:04d}" for i in range(n)]
    for openid in openids:
        fake.add_follower(openid)
    return openids


# ====================================================================== tokens


def test_fetch_stable_token_normal_and_forced(fake) -> None:
    client = WeChatClient(fake.url)  # no provider: token calls must not need one
    token, expires_in = client.token.fetch_stable_token(fake.app_id, fake.app_secret)
    assert expires_in == 7200
    assert 100 <= len(token) <= 512
    again, _ = client.token.fetch_stable_token(fake.app_id, fake.app_secret)
    assert again == token
    forced, _ = client.token.fetch_stable_token(fake.app_id, fake.app_secret, force_refresh=True)
    assert forced != token
    method, path, query, body = fake.calls[0]
    assert (method, path, query) == ("POST", "/cgi-bin/stable_token", {})
    assert body == {
        "grant_type": "client_credential",
        "appid": fake.app_id,
        "secret": fake.app_secret,
        "force_refresh": False,
    }
    assert fake.calls[2].body["force_refresh"] is True


def test_fetch_token_plain(fake) -> None:
    client = WeChatClient(fake.url)
    first, expires_in = client.token.fetch_token(fake.app_id, fake.app_secret)
    second, _ = client.token.fetch_token(fake.app_id, fake.app_secret)
    assert expires_in == 7200 and first != second
    call = fake.calls_to("/cgi-bin/token")[0]
    assert call.method == "GET"
    assert call.query == {
        "grant_type": "client_credential",
        "appid": fake.app_id,
        "secret": fake.app_secret,
    }
    assert "access_token" not in call.query


@pytest.mark.parametrize(
    ("appid", "secret", "errcode"), [("wxwrong", None, 40013), (None, "wrong", 40125)]
)
def test_bad_credentials(fake, appid, secret, errcode) -> None:
    client = WeChatClient(fake.url)
    with pytest.raises(InvalidCredentialError) as info:
        client.token.fetch_stable_token(appid or fake.app_id, secret or fake.app_secret)
    assert info.value.errcode == errcode
    assert info.value.path == "/cgi-bin/stable_token"
    with pytest.raises(InvalidCredentialError):
        client.token.fetch_token(appid or fake.app_id, secret or fake.app_secret)


def test_get_ticket(client, fake) -> None:
    ticket, expires_in = client.token.get_ticket()
    assert ticket and expires_in == 7200
    assert fake.calls_to("/cgi-bin/ticket/getticket")[0].query["type"] == "jsapi"
    card, _ = client.token.get_ticket("wx_card")
    assert card != ticket


def test_stable_provider_caches_and_recovers_from_rotation(client, fake) -> None:
    provider = client.token_provider
    assert isinstance(provider, StableTokenProvider)
    for _ in range(3):
        client.tags.list()
    assert fake.count("/cgi-bin/stable_token") == 1  # one fetch for many calls
    # Someone force-refreshes elsewhere: our cached token is now rejected (40001).
    fake.revoke_tokens()
    assert client.tags.list()
    assert fake.count("/cgi-bin/stable_token") == 2
    assert provider.fetches == 2
    assert all(not c.body.get("force_refresh") for c in fake.calls_to("/cgi-bin/stable_token"))


def test_stable_provider_refreshes_before_expiry(fake) -> None:
    now = [0.0]
    client = WeChatClient(fake.url)
    provider = StableTokenProvider(
        client.token, fake.app_id, fake.app_secret, margin=300, clock=lambda: now[0]
    )
    first = provider.get()
    now[0] = 6000
    assert provider.get() == first
    now[0] = 6901  # within the 300 s margin
    provider.get()
    assert provider.fetches == 2
    # invalidate() with a token that is no longer current does not fetch again
    current = provider.get()
    assert provider.invalidate("some-older-token") == current
    assert provider.fetches == 2


def test_providers_satisfy_protocol(fake) -> None:
    assert isinstance(StaticTokenProvider("t"), TokenProvider)
    assert isinstance(StableTokenProvider(WeChatClient(fake.url).token, "a", "b"), TokenProvider)


def test_client_without_provider_refuses_token_calls(fake) -> None:
    with pytest.raises(RuntimeError, match="token_provider"):
        WeChatClient(fake.url).tags.list()


# ====================================================================== token retry


@pytest.mark.parametrize("errcode", [40001, 40014, 42001])
def test_invalid_token_once_invalidates_and_retries(sclient, fake, static, errcode) -> None:
    fake.add_follower("o1", remark="张三")
    fake.inject_error("/cgi-bin/user/info", errcode, "invalid credential")
    info = sclient.users.info("o1")
    assert info["remark"] == "张三"
    assert static.invalidated == [static.token]
    calls = fake.calls_to("/cgi-bin/user/info")
    assert len(calls) == 2
    assert all(c.query["access_token"] == static.token for c in calls)


def test_invalid_token_twice_raises_after_one_retry(sclient, fake, static) -> None:
    fake.inject_error("/cgi-bin/tags/get", 40001, "invalid credential", times=2)
    with pytest.raises(InvalidTokenError) as info:
        sclient.tags.list()
    assert info.value.errcode == 40001
    assert static.invalidated == [static.token]
    assert fake.count("/cgi-bin/tags/get") == 2


def test_retry_uses_the_fresh_token(fake) -> None:
    old = fake.issue_token()
    fake.revoke_tokens()  # "old" is now unknown to WeChat
    refreshed: list[str] = []

    def refresh() -> str:
        refreshed.append(fake.issue_token())
        return refreshed[-1]

    provider = StaticTokenProvider(old, refresh=refresh)
    client = WeChatClient(fake.url, token_provider=provider)
    client.menu.create({"button": [{"type": "click", "name": "菜单", "key": "K"}]})
    first, second = fake.calls_to("/cgi-bin/menu/create")
    assert first.query["access_token"] == old
    assert second.query["access_token"] == refreshed[0]
    # the multipart/JSON body is resent unchanged
    assert fake.raw_bodies("/cgi-bin/menu/create")[0] == fake.raw_bodies("/cgi-bin/menu/create")[1]


def test_expired_token_recovers_via_stable_normal_mode(fake) -> None:
    client = make_client(fake)
    client.tags.list()
    fake.expire_tokens()  # 42001 for the cached token; normal mode now issues a new one
    client.tags.list()
    assert fake.count("/cgi-bin/stable_token") == 2
    assert fake.count("/cgi-bin/tags/get") == 3


def test_multipart_retry_after_invalid_token(sclient, fake, static) -> None:
    fake.inject_error("/cgi-bin/media/upload", 42001, "access_token expired")
    answer = sclient.media.upload("image", "a.png", PNG, "image/png")
    assert sclient.media.get(answer["media_id"]).content == PNG
    assert static.invalidated == [static.token]


# ====================================================================== error mapping


@pytest.mark.parametrize(
    ("errcode", "cls"),
    [
        (45009, RateLimitError),
        (45011, RateLimitError),
        (45028, QuotaExhaustedError),
        (45015, OutOfWindowError),
        (45047, TooManyMessagesError),
        (43004, UserUnsubscribedError),
        (40164, IPNotWhitelistedError),
        (-1, SystemBusyError),
        (40007, WeChatAPIError),  # unmapped code: the base class
    ],
)
def test_error_codes_map_to_classes(sclient, fake, static, errcode, cls) -> None:
    fake.inject_error("/cgi-bin/message/custom/send", errcode, "boom 出错")
    with pytest.raises(cls) as info:
        sclient.messages.send_text("o1", "你好")
    exc = info.value
    assert type(exc) is cls
    assert exc.errcode == errcode
    assert exc.errmsg == "boom 出错"
    assert exc.path == "/cgi-bin/message/custom/send"
    assert exc.response == {"errcode": errcode, "errmsg": "boom 出错"}
    assert str(errcode) in str(exc)
    assert fake.count("/cgi-bin/message/custom/send") == 1  # never retried
    assert static.invalidated == []
    assert pickle.loads(pickle.dumps(exc)).errcode == errcode


@pytest.mark.parametrize(
    ("errcode", "cls"), sorted(ERROR_CLASSES.items()), ids=[str(c) for c in sorted(ERROR_CLASSES)]
)
def test_every_mapped_errcode_comes_back_typed_from_the_fake(sclient, fake, static, errcode, cls):
    """Each entry of the mapping table, answered by the fake over HTTP: the typed exception,
    with one retry for the token codes (the provider is asked once) and none for the others."""
    token_error = cls is InvalidTokenError
    fake.inject_error("/cgi-bin/tags/get", errcode, "mapped", times=2 if token_error else 1)
    with pytest.raises(cls) as info:
        sclient.tags.list()
    assert type(info.value) is cls and info.value.errcode == errcode
    assert fake.count("/cgi-bin/tags/get") == (2 if token_error else 1)
    assert static.invalidated == ([static.token] if token_error else [])
    assert sclient.tags.list() == [{"id": 2, "name": "星标组", "count": 0}]  # and then success


def test_error_mapping_table_is_complete() -> None:
    assert {c: ERROR_CLASSES[c] for c in (40001, 40014, 42001)} == dict.fromkeys(
        (40001, 40014, 42001), InvalidTokenError
    )
    assert ERROR_CLASSES[45028] is QuotaExhaustedError
    assert SystemBusyError.retryable and RateLimitError.retryable and TransportError.retryable
    assert not OutOfWindowError.retryable


def test_real_fake_errors_map_too(client, fake) -> None:
    with pytest.raises(WeChatAPIError) as info:
        client.users.info("nobody")
    assert info.value.errcode == 40003
    assert "invalid openid" in info.value.errmsg


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_http_5xx_is_transport_error(sclient, fake, status) -> None:
    fake.inject_error("/cgi-bin/tags/get", status=status)
    with pytest.raises(TransportError) as info:
        sclient.tags.list()
    assert info.value.http_status == status and info.value.retryable
    assert info.value.errcode == 0
    assert fake.count("/cgi-bin/tags/get") == 1


def test_non_json_is_transport_error(sclient, fake) -> None:
    fake.inject_error("/cgi-bin/tags/get", body=b"<html>502 Bad Gateway</html>")
    with pytest.raises(TransportError, match="non-JSON"):
        sclient.tags.list()


@pytest.mark.parametrize("path", ["/cgi-bin/tags/get", "/cgi-bin/message/custom/send"])
def test_timeout_is_transport_error_and_never_retried(fake, static, path) -> None:
    client = WeChatClient(fake.url, token_provider=static, timeout=0.3)
    fake.inject_error(path, None, delay=1.5)
    with pytest.raises(TransportError) as info:
        if path.endswith("tags/get"):
            client.tags.list()
        else:
            client.messages.send_text("o1", "x")
    assert "Timeout" in str(info.value)
    assert fake.count(path) == 1
    # the access_token never leaks into the message or the chained exception
    assert static.token not in str(info.value)
    assert info.value.__cause__ is None


def test_connection_refused_is_transport_error(static) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = WeChatClient(f"http://127.0.0.1:{port}", token_provider=static, timeout=0.5)
    with pytest.raises(TransportError):
        client.tags.list()
    with pytest.raises(TransportError):
        client.messages.send_text("o1", "x")


# ====================================================================== menu

BANK_MENU: dict[str, Any] = {
    "button": [
        {
            "name": "账户服务",
            "sub_button": [
                {"type": "click", "name": "余额查询", "key": "BALANCE_QUERY"},
                {"type": "click", "name": "交易明细", "key": "TXN_HISTORY"},
                {
                    "type": "view",
                    "name": "信用卡账单",
                    "url": "https://bank.example.com/card/bill?from=wx",
                },
                {"type": "scancode_waitmsg", "name": "扫码转账", "key": "SCAN_TRANSFER"},
                {
                    "type": "miniprogram",
                    "name": "手机银行",
                    "url": "https://bank.example.com/app",
                    "appid": "wx1234567890abcdef",
                    "pagepath": "pages/index/index",
                },
            ],
        },
        {
            "name": "理财贷款",
            "sub_button": [
                {"type": "view", "name": "理财产品", "url": "https://bank.example.com/wealth"},
                {"type": "article_id", "name": "房贷利率公告", "article_id": "ART_RATE_2024"},
                {"type": "location_select", "name": "附近网点", "key": "NEAREST_BRANCH"},
                {"type": "pic_photo_or_album", "name": "上传凭证", "key": "UPLOAD_RECEIPT"},
            ],
        },
        {"type": "click", "name": "在线客服", "key": "CUSTOMER_SERVICE"},
    ]
}


def test_validate_menu_accepts_bank_menu() -> None:
    assert validate_menu(BANK_MENU) == BANK_MENU


def _mutate(fn: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    menu = copy.deepcopy(BANK_MENU)
    fn(menu)
    return menu


def _b(m: dict[str, Any], i: int, j: int | None = None) -> dict[str, Any]:
    button = m["button"][i]
    return button if j is None else button["sub_button"][j]


MENU_VIOLATIONS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("no buttons", lambda m: m.update(button=[]), "menu.button: needs 1..3"),
    ("four buttons", lambda m: m["button"].append(dict(_b(m, 2))), "menu.button: 4 buttons"),
    (
        "six sub-buttons",
        lambda m: _b(m, 0)["sub_button"].append(dict(_b(m, 0, 0))),
        "menu.button[0].sub_button: 6 sub-buttons",
    ),
    ("top name 18 bytes", lambda m: _b(m, 0).update(name="账户服务中心"), "menu.button[0].name:"),
    (
        "sub name 61 bytes",
        lambda m: _b(m, 1, 0).update(name="理" * 20 + "x"),
        "menu.button[1].sub_button[0].name: 61 bytes",
    ),
    ("empty name", lambda m: _b(m, 2).update(name=" "), "menu.button[2].name:"),
    ("missing name", lambda m: _b(m, 2).pop("name"), "menu.button[2].name:"),
    ("unknown type", lambda m: _b(m, 2).update(type="call"), "menu.button[2].type: unknown"),
    ("leaf without type", lambda m: _b(m, 2).pop("type"), "menu.button[2].type: required"),
    (
        "type with sub_button",
        lambda m: _b(m, 0).update(type="click", key="K"),
        "menu.button[0].type:",
    ),
    ("click without key", lambda m: _b(m, 2).pop("key"), "menu.button[2].key:"),
    ("key 129 bytes", lambda m: _b(m, 2).update(key="k" * 129), "menu.button[2].key: 129 bytes"),
    (
        "view without url",
        lambda m: _b(m, 1, 0).pop("url"),
        "menu.button[1].sub_button[0].url:",
    ),
    (
        "non-http url",
        lambda m: _b(m, 1, 0).update(url="ftp://bank.example.com"),
        "menu.button[1].sub_button[0].url: must start with http",
    ),
    (
        "url 1025 bytes",
        lambda m: _b(m, 1, 0).update(url="https://b.cn/" + "x" * 1012),
        "menu.button[1].sub_button[0].url: 1025 bytes",
    ),
    (
        "miniprogram without pagepath",
        lambda m: _b(m, 0, 4).pop("pagepath"),
        "menu.button[0].sub_button[4].pagepath:",
    ),
    (
        "miniprogram without appid",
        lambda m: _b(m, 0, 4).pop("appid"),
        "menu.button[0].sub_button[4].appid:",
    ),
    (
        "article_id missing",
        lambda m: _b(m, 1, 1).pop("article_id"),
        "menu.button[1].sub_button[1].article_id:",
    ),
    (
        "media_id missing",
        lambda m: _b(m, 2).update(type="media_id"),
        "menu.button[2].media_id:",
    ),
    (
        "three levels",
        lambda m: _b(m, 0, 0).update(sub_button=[{"type": "click", "name": "x", "key": "y"}]),
        "menu.button[0].sub_button[0].sub_button:",
    ),
    ("button not an object", lambda m: m["button"].__setitem__(1, "x"), "menu.button[1]:"),
]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [pytest.param(fn, msg, id=name) for name, fn, msg in MENU_VIOLATIONS],
)
def test_validate_menu_rejects_with_path(client, fake, mutate, expected) -> None:
    menu = _mutate(mutate)
    with pytest.raises(ValueError) as info:
        validate_menu(menu)
    assert str(info.value).startswith(expected), str(info.value)
    with pytest.raises(ValueError):
        client.menu.create(menu)
    assert fake.count("/cgi-bin/menu/create") == 0  # nothing was sent


_FIELD_VALUES = {
    "key": "K1",
    "url": "https://bank.example.com/",
    "appid": "wx1234567890abcdef",
    "pagepath": "pages/index/index",
    "media_id": "MEDIA_ID_1",
    "article_id": "ARTICLE_ID_1",
}


def test_every_button_type_is_accepted_and_published(client, fake) -> None:
    from chalicelib.wechat.api.menu import BUTTON_REQUIRED_FIELDS

    leaves = [
        {"type": btype, "name": btype[:8], **{f: _FIELD_VALUES[f] for f in fields}}
        for btype, fields in sorted(BUTTON_REQUIRED_FIELDS.items())
    ]
    assert len(leaves) == 12  # click, view, miniprogram, 2 scancode, 3 pic, location, 3 material
    # 3 top-level buttons of at most 5 sub-buttons each: 12 leaves fit in 3 x 4.
    menu = {
        "button": [{"name": f"菜单{i}", "sub_button": leaves[i * 4 : i * 4 + 4]} for i in range(3)]
    }
    assert validate_menu(menu) == menu
    client.menu.create(menu)
    assert client.menu.get()["menu"]["button"] == menu["button"]
    for leaf in leaves:  # each also valid as a top-level button
        top = {**leaf, "name": "单"}
        assert validate_menu({"button": [top]})


def test_validate_conditional_needs_matchrule() -> None:
    with pytest.raises(ValueError, match=r"^menu\.matchrule:"):
        validate_menu(BANK_MENU, conditional=True)
    with pytest.raises(ValueError, match=r"^menu\.matchrule: unknown keys"):
        validate_menu(BANK_MENU | {"matchrule": {"colour": "red"}})
    assert validate_menu(BANK_MENU | {"matchrule": {"tag_id": "100"}}, conditional=True)
    assert validate_menu(BANK_MENU | {"matchrule": {"client_platform_type": "2"}})
    bad_rules = [
        ({"tag_id": "vip"}, "menu.matchrule.tag_id: must be a tag id"),
        ({"tag_id": "١٠٠"}, "menu.matchrule.tag_id: must be a tag id"),  # non-ASCII digits
        ({"tag_id": True}, "menu.matchrule.tag_id: must be a string"),
        ({"client_platform_type": "4"}, "menu.matchrule.client_platform_type:"),
        ({"tag_id": " ", "language": ""}, "menu.matchrule: needs at least one"),
    ]
    for rule, message in bad_rules:
        with pytest.raises(ValueError) as info:
            validate_menu(BANK_MENU | {"matchrule": rule}, conditional=True)
        assert str(info.value).startswith(message), (rule, str(info.value))


def test_menu_family(client, fake) -> None:
    client.menu.create(BANK_MENU)
    # Chinese goes over the wire as UTF-8, never \u-escaped.
    raw = fake.raw_bodies("/cgi-bin/menu/create")[0]
    assert "账户服务".encode() in raw
    assert b"\\u" not in raw
    assert client.menu.get()["menu"]["button"] == BANK_MENU["button"]
    info = client.menu.get_current_selfmenu_info()
    assert info["is_menu_open"] == 1
    assert info["selfmenu_info"]["button"][0]["sub_button"]["list"][0]["name"] == "余额查询"

    fake.add_follower("o_vip")
    tag = client.tags.create("贵宾客户")
    client.tags.tag_users(tag["id"], ["o_vip"])
    vip = {
        "button": [{"type": "view", "name": "贵宾专区", "url": "https://bank.example.com/vip"}],
        "matchrule": {"tag_id": str(tag["id"])},
    }
    menuid = client.menu.addconditional(vip)
    assert menuid
    assert client.menu.get()["conditionalmenu"][0]["menuid"] == menuid
    assert client.menu.trymatch("o_vip")["button"][0]["name"] == "贵宾专区"
    client.menu.delconditional(menuid)
    assert "conditionalmenu" not in client.menu.get()
    client.menu.delete()
    with pytest.raises(WeChatAPIError) as info_err:
        client.menu.get()
    assert info_err.value.errcode == 46003


# ====================================================================== media


def test_temporary_media_round_trip(client, fake) -> None:
    answer = client.media.upload("image", "凭证.png", PNG, "image/png")
    assert answer["type"] == "image" and answer["media_id"]
    got = client.media.get(answer["media_id"])
    assert got.content == PNG
    assert got.content_type == "image/png"
    assert got.filename == "凭证.png"
    assert not got.is_json
    thumb = client.media.upload("thumb", "t.jpg", JPG, "image/jpeg")
    assert thumb["thumb_media_id"]
    video = client.media.upload("video", "v.mp4", b"\x00\x00\x00\x18ftypmp42", "video/mp4")
    got_video = client.media.get(video["media_id"])
    assert got_video.is_json and got_video.json()["video_url"].startswith("http")
    with pytest.raises(WeChatAPIError) as info:
        client.media.get("missing")
    assert info.value.errcode == 40007
    url = client.media.upload_article_image("in-article.png", PNG, "image/png")
    assert url.startswith("http://mmbiz.qpic.cn/")


@pytest.mark.parametrize(
    ("kind", "ctype", "size", "permanent", "message"),
    [
        ("thumb", "image/jpeg", 64 * 1024 + 1, False, "limit 65536"),
        ("thumb", "image/png", 10, False, "not allowed"),
        ("image", "image/png", 10 * 1024 * 1024 + 1, False, "limit 10485760"),
        ("voice", "audio/wav", 10, False, "not allowed"),
        ("voice", "audio/mpeg", 2 * 1024 * 1024 + 1, True, "limit 2097152"),
        ("video", "video/quicktime", 10, False, "not allowed"),
        ("image", "image/bmp", 10, False, "not allowed"),  # bmp only as permanent material
        ("image", "image/png", 0, False, "empty"),
        ("file", "application/pdf", 10, False, "media kind"),
        ("article_image", "image/gif", 10, False, "not allowed"),
        ("article_image", "image/png", 1024 * 1024 + 1, False, "limit 1048576"),
    ],
)
def test_check_media_rejects(kind, ctype, size, permanent, message) -> None:
    with pytest.raises(ValueError, match=message):
        check_media(kind, ctype, size, permanent=permanent)


def test_check_media_accepts() -> None:
    check_media("voice", "audio/wav", 100, permanent=True)  # permanent voice also takes wav
    check_media("image", "image/bmp", 100, permanent=True)  # and permanent images bmp
    check_media("image", "image/jpeg; charset=binary", 10 * 1024 * 1024)
    check_media("thumb", "image/jpeg", 64 * 1024)


def test_upload_checks_before_sending(client, fake) -> None:
    with pytest.raises(ValueError):
        client.media.upload("thumb", "t.jpg", b"x" * (64 * 1024 + 1), "image/jpeg")
    assert fake.count("/cgi-bin/media/upload") == 0


def test_permanent_material(client, fake) -> None:
    image = client.material.add("image", "logo.png", PNG, "image/png")
    assert image["url"].startswith("http")
    client.material.add("thumb", "cover.jpg", JPG, "image/jpeg")
    video = client.material.add(
        "video", "ad.mp4", b"\x00ftyp", "video/mp4", title="品牌宣传片", introduction="介绍"
    )
    with pytest.raises(ValueError, match="title"):
        client.material.add("video", "ad.mp4", b"\x00ftyp", "video/mp4")
    got = client.material.get(video["media_id"])
    assert got.is_json and got.json()["title"] == "品牌宣传片"
    assert client.material.get(image["media_id"]).content == PNG
    assert client.material.count() == {
        "voice_count": 0,
        "video_count": 1,
        "image_count": 1,
        "news_count": 0,
    }
    page = client.material.batchget("image", 0, 20)
    assert page["total_count"] == 1 and page["item"][0]["media_id"] == image["media_id"]
    for i in range(4):
        client.material.add("image", f"p{i}.png", PNG, "image/png")
    assert len(list(client.material.iter_all("image", page_size=2))) == 5
    with pytest.raises(ValueError):
        client.material.batchget("image", 0, 21)
    client.material.delete(image["media_id"])
    with pytest.raises(WeChatAPIError):
        client.material.get(image["media_id"])
    # the video description went as a JSON form field with raw UTF-8
    raw = fake.raw_bodies("/cgi-bin/material/add_material")[2]
    assert '"title": "品牌宣传片"'.encode() in raw


# ====================================================================== drafts


def test_draft_and_publish(client, fake) -> None:
    cover = client.material.add("thumb", "cover.jpg", JPG, "image/jpeg")["media_id"]
    article = {
        "title": "关于调整存款利率的公告",
        "author": "某银行",
        "digest": "利率调整",
        "content": "<p>自即日起……</p>",
        "content_source_url": "https://bank.example.com/notice",
        "thumb_media_id": cover,
    }
    media_id = client.draft.add([article])
    items = client.draft.get(media_id)
    assert items[0]["title"] == article["title"]
    publish_id = client.freepublish.submit(media_id)
    status = client.freepublish.get(publish_id)
    assert status["publish_status"] == 0 and status["article_id"]
    assert status["article_detail"]["count"] == 1
    client.draft.delete(media_id)
    with pytest.raises(WeChatAPIError) as info:
        client.draft.get(media_id)
    assert info.value.errcode == 40007
    with pytest.raises(ValueError, match=r"1\.\.8"):
        client.draft.add([article] * 9)
    with pytest.raises(ValueError, match="thumb_media_id"):
        client.draft.add([{"title": "t", "content": "c"}])
    assert fake.count("/cgi-bin/draft/add") == 1


# ====================================================================== users


def test_user_info_and_remark(client, fake) -> None:
    fake.add_follower("o1", remark="", unionid="u1")
    client.users.update_remark("o1", "王经理")
    info = client.users.info("o1")
    assert info["remark"] == "王经理" and info["subscribe"] == 1 and info["unionid"] == "u1"
    assert fake.calls_to("/cgi-bin/user/info")[0].query["lang"] == "zh_CN"
    with pytest.raises(ValueError):
        client.users.update_remark("o1", "长" * 30)


def test_batch_info_chunks_by_100(client, fake) -> None:
    openids = seed(fake, 250)
    users = client.users.batch_info(openids)
    assert [u["openid"] for u in users] == openids
    calls = fake.calls_to("/cgi-bin/user/info/batchget")
    assert [len(c.body["user_list"]) for c in calls] == [100, 100, 50]
    assert calls[0].body["user_list"][0] == {"openid": openids[0], "lang": "zh_CN"}


@pytest.mark.parametrize("n", [10, 12])
def test_iter_followers_pages_three_times(client, fake, n) -> None:
    fake.follower_page_size = 4
    openids = seed(fake, n)
    assert list(client.users.iter_followers()) == openids
    calls = fake.calls_to("/cgi-bin/user/get")
    assert len(calls) == 3
    assert "next_openid" not in calls[0].query
    assert [c.query.get("next_openid") for c in calls[1:]] == [openids[3], openids[7]]


def test_followers_single_page_and_empty(client, fake) -> None:
    assert list(client.users.iter_followers()) == []
    seed(fake, 3)
    page = client.users.followers()
    assert page["total"] == 3 and page["count"] == 3


# ====================================================================== tags


def test_tags_family(client, fake) -> None:
    openids = seed(fake, 120)
    tag = client.tags.create("高净值客户")
    assert tag["name"] == "高净值客户" and tag["id"] >= 100
    assert {"id": tag["id"], "name": "高净值客户", "count": 0} in client.tags.list()
    assert client.tags.tag_users(tag["id"], openids) == 3
    sizes = [
        len(c.body["openid_list"]) for c in fake.calls_to("/cgi-bin/tags/members/batchtagging")
    ]
    assert sizes == [50, 50, 20]
    assert client.tags.user_tags(openids[0]) == [tag["id"]]
    fake.follower_page_size = 50
    page = client.tags.tag_followers(tag["id"])
    assert page["count"] == 50 and page["next_openid"] == openids[49]
    assert list(client.tags.iter_tag_followers(tag["id"])) == openids
    client.tags.update(tag["id"], "私行客户")
    assert any(t["name"] == "私行客户" for t in client.tags.list())
    assert client.tags.untag_users(tag["id"], openids[:60]) == 2
    assert list(client.tags.iter_tag_followers(tag["id"])) == openids[60:]
    client.tags.delete(tag["id"])
    assert all(t["id"] != tag["id"] for t in client.tags.list())
    with pytest.raises(WeChatAPIError) as info:
        client.tags.update(2, "x")
    assert info.value.errcode == 45058
    with pytest.raises(ValueError):
        client.tags.create("x" * 31)


# ====================================================================== messages


def test_custom_messages(client, fake) -> None:
    m = client.messages
    m.send_text("o1", "您的账户余额为 ¥1,024.00")
    m.send_image("o1", "MEDIA_IMG")
    m.send_voice("o1", "MEDIA_VOICE")
    m.send_video("o1", "MEDIA_VIDEO", thumb_media_id="THUMB", title="视频", description="说明")
    m.send_music(
        "o1",
        musicurl="https://m.example.com/a.mp3",
        hqmusicurl="https://m.example.com/a_hq.mp3",
        thumb_media_id="THUMB",
        title="歌曲",
    )
    m.send_news(
        "o1",
        {
            "title": "理财周报",
            "description": "本周市场回顾",
            "url": "https://bank.example.com/weekly",
            "picurl": "https://bank.example.com/p.jpg",
        },
    )
    m.send_mpnews("o1", "MEDIA_NEWS")
    m.send_menu("o1", "请评价本次服务", [("101", "满意"), {"id": 102, "content": "不满意"}], "谢谢")
    m.send_text("o1", "转人工", kf_account="kf2001@bank")
    sent = fake.custom_messages
    assert [s["msgtype"] for s in sent] == [
        "text",
        "image",
        "voice",
        "video",
        "music",
        "news",
        "mpnews",
        "msgmenu",
        "text",
    ]
    assert sent[0] == {
        "touser": "o1",
        "msgtype": "text",
        "text": {"content": "您的账户余额为 ¥1,024.00"},
    }
    assert sent[3]["video"] == {
        "media_id": "MEDIA_VIDEO",
        "thumb_media_id": "THUMB",
        "title": "视频",
        "description": "说明",
    }
    assert len(sent[5]["news"]["articles"]) == 1
    assert sent[7]["msgmenu"]["list"] == [
        {"id": "101", "content": "满意"},
        {"id": "102", "content": "不满意"},
    ]
    assert sent[8]["customservice"] == {"kf_account": "kf2001@bank"}
    raw = fake.raw_bodies("/cgi-bin/message/custom/send")[0]
    assert "您的账户余额".encode() in raw and b"\\u" not in raw


def test_custom_message_client_side_checks(client, fake) -> None:
    article = {"title": "a", "url": "https://a.example.com"}
    with pytest.raises(ValueError, match="only 1"):
        client.messages.send_news("o1", [article, article])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        client.messages.send_text("o1", "")
    with pytest.raises(ValueError):
        client.messages.send_custom("o1", "fax", {})
    assert fake.count("/cgi-bin/message/custom/send") == 0


def test_template_message(client, fake) -> None:
    templates = client.messages.get_all_private_template()
    template_id = templates[0]["template_id"]
    msgid = client.messages.send_template(
        "o1",
        template_id,
        {
            "first": "您的账户发生一笔交易",
            "keyword1": "2024-05-01 12:00",
            "keyword2": {"value": "¥500.00", "color": "#173177"},
        },
        url="https://bank.example.com/txn/1",
        miniprogram={"appid": "wx1234567890abcdef", "pagepath": "pages/txn?id=1"},
        client_msg_id="txn-1",
    )
    assert isinstance(msgid, int) and msgid > 0
    sent = fake.template_messages[0]
    assert sent["data"]["first"] == {"value": "您的账户发生一笔交易"}
    assert sent["data"]["keyword2"] == {"value": "¥500.00", "color": "#173177"}
    assert sent["client_msg_id"] == "txn-1" and sent["msgid"] == msgid
    assert sent["miniprogram"]["pagepath"] == "pages/txn?id=1"
    with pytest.raises(WeChatAPIError) as info:
        client.messages.send_template("o1", "unknown", {"first": "x"})
    assert info.value.errcode == 40037


def test_mass_send_all_by_tag_and_to_all(client, fake) -> None:
    openids = seed(fake, 5)
    tag = client.tags.create("活动")
    client.tags.tag_users(tag["id"], openids[:2])
    by_tag = client.messages.mass_send_all("text", {"content": "活动通知"}, tag_id=tag["id"])
    assert by_tag.msg_id > 0 and not by_tag.duplicate
    assert fake.mass_jobs[by_tag.msg_id]["audience"] == openids[:2]
    to_all = client.messages.mass_send_all("image", {"media_ids": ["M1"]}, is_to_all=True)
    job = fake.mass_jobs[to_all.msg_id]
    assert job["audience"] == openids and job["payload"] == {"media_ids": ["M1"]}
    assert fake.calls_to("/cgi-bin/message/mass/sendall")[1].body["images"] == {"media_ids": ["M1"]}
    with pytest.raises(ValueError):
        client.messages.mass_send_all("text", {"content": "x"})
    with pytest.raises(ValueError):
        client.messages.mass_send_all("text", {"content": "x"}, tag_id=1, is_to_all=True)


def test_mass_mpnews_returns_msg_data_id(client, fake) -> None:
    cover = client.material.add("thumb", "c.jpg", JPG, "image/jpeg")["media_id"]
    draft = client.draft.add([{"title": "周报", "content": "<p>x</p>", "thumb_media_id": cover}])
    result = client.messages.mass_send_all("mpnews", {"media_id": draft}, is_to_all=True)
    assert result.msg_data_id is not None


def test_mass_send_by_openids(client, fake) -> None:
    result = client.messages.mass_send(["o1", "o2", "o1"], "text", {"content": "您好"})
    assert fake.calls_to("/cgi-bin/message/mass/send")[0].body["touser"] == ["o1", "o2"]
    assert client.messages.mass_get(result.msg_id) == {
        "msg_id": result.msg_id,
        "msg_status": "SEND_SUCCESS",
    }
    client.messages.mass_delete(result.msg_id)
    assert client.messages.mass_get(result.msg_id)["msg_status"] == "DELETE"
    with pytest.raises(ValueError, match=r"2\.\.10000"):
        client.messages.mass_send(["o1", "o1"], "text", {"content": "x"})
    with pytest.raises(ValueError, match="got 10001"):
        client.messages.mass_send([f"o{i}" for i in range(10_001)], "text", {"content": "x"})
    assert fake.count("/cgi-bin/message/mass/send") == 1


def test_mass_preview(client, fake) -> None:
    msg_id = client.messages.mass_preview("text", {"content": "预览"}, openid="o1")
    assert msg_id
    client.messages.mass_preview("text", {"content": "预览"}, wxname="bank_ops")
    assert fake.calls_to("/cgi-bin/message/mass/preview")[1].body["towxname"] == "bank_ops"
    with pytest.raises(ValueError):
        client.messages.mass_preview("text", {"content": "x"})


def test_duplicate_clientmsgid_is_success_with_existing_msg_id(client, fake) -> None:
    seed(fake, 3)
    first = client.messages.mass_send_all(
        "text", {"content": "五一假期营业安排"}, is_to_all=True, clientmsgid="holiday-2024-05"
    )
    again = client.messages.mass_send_all(
        "text", {"content": "五一假期营业安排"}, is_to_all=True, clientmsgid="holiday-2024-05"
    )
    assert again == MassSendResult(msg_id=first.msg_id, duplicate=True)
    assert fake.count("/cgi-bin/message/mass/sendall") == 2
    assert len(fake.mass_jobs) == 1
    by_openid = client.messages.mass_send(["o1", "o2"], "text", {"content": "x"}, clientmsgid="c")
    repeat = client.messages.mass_send(["o1", "o2"], "text", {"content": "x"}, clientmsgid="c")
    assert repeat.duplicate and repeat.msg_id == by_openid.msg_id
    with pytest.raises(ValueError, match="64"):
        client.messages.mass_send_all(
            "text", {"content": "x"}, is_to_all=True, clientmsgid="x" * 65
        )


def test_45065_without_msg_id_still_raises(sclient, fake) -> None:
    fake.inject_error("/cgi-bin/message/mass/sendall", 45065, "clientmsgid exist")
    with pytest.raises(WeChatAPIError) as info:
        sclient.messages.mass_send_all("text", {"content": "x"}, is_to_all=True, clientmsgid="a")
    assert info.value.errcode == 45065


@pytest.mark.parametrize(
    ("errcode", "cls"), [(45028, QuotaExhaustedError), (45011, RateLimitError)]
)
def test_mass_quota_errors(sclient, fake, errcode, cls) -> None:
    fake.inject_error("/cgi-bin/message/mass/sendall", errcode, "quota")
    with pytest.raises(cls):
        sclient.messages.mass_send_all("text", {"content": "x"}, is_to_all=True)


# ====================================================================== client plumbing


def test_families_are_lazy_and_cached(fake) -> None:
    client = WeChatClient(fake.url)
    assert "menu" not in client.__dict__
    assert client.menu is client.menu
    assert client.messages.client is client


def test_json_is_compact_utf8(sclient, fake) -> None:
    sclient.tags.create("贵宾")
    call = fake.calls_to("/cgi-bin/tags/create")[0]
    raw = fake.raw_bodies("/cgi-bin/tags/create")[0]
    assert raw == '{"tag":{"name":"贵宾"}}'.encode()
    assert json.loads(raw) == call.body


def test_pool_is_reused(sclient, fake) -> None:
    pool = sclient.http
    for _ in range(5):
        sclient.tags.list()
    assert sclient.http is pool
    assert len(pool.pools) == 1
