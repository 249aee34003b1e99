"""The fake WeChat server itself, spoken to with plain urllib3 (independent of our client)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import urllib3
from urllib3.filepost import encode_multipart_formdata

from infra.fake_wechat import DEFAULT_APP_ID, DEFAULT_APP_SECRET, Call, FakeWeChat

REPO = Path(__file__).resolve().parents[2]


class ManualClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fake(clock: ManualClock):
    with FakeWeChat(clock=clock) as server:
        yield server
    assert server.errors == []  # no bug inside the fake was hit


@pytest.fixture
def http():
    pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=2, read=2))
    yield pool
    pool.clear()


def get(http: urllib3.PoolManager, fake: FakeWeChat, path: str, **query: Any) -> dict[str, Any]:
    resp = http.request("GET", fake.url + path, fields=query)
    assert resp.status == 200
    return json.loads(resp.data)


def post(
    http: urllib3.PoolManager,
    fake: FakeWeChat,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    **query: Any,
) -> dict[str, Any]:
    url = fake.url + path
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    resp = http.request("POST", url, body=data, headers={"Content-Type": "application/json"})
    assert resp.status == 200
    return json.loads(resp.data)


def stable(http, fake, force: bool = False, **overrides: Any) -> dict[str, Any]:
    body = {
        "grant_type": "client_credential",
        "appid": fake.app_id,
        "secret": fake.app_secret,
        "force_refresh": force,
    } | overrides
    return post(http, fake, "/cgi-bin/stable_token", body)


# ---------------------------------------------------------------- lifecycle


def test_binds_loopback_and_stops() -> None:
    fake = FakeWeChat()
    with fake:
        assert fake.url.startswith("http://127.0.0.1:")
        assert fake.port != 0
        with socket.create_connection(("127.0.0.1", fake.port), timeout=1):
            pass
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", fake.port), timeout=1):
        pass
    fake.stop()  # idempotent


def test_default_credentials() -> None:
    fake = FakeWeChat()
    assert fake.app_id == DEFAULT_APP_ID and fake.app_id.startswith("wx")
    assert fake.app_secret == DEFAULT_APP_SECRET


# ---------------------------------------------------------------- tokens


def test_token_credentials_are_checked(fake, http) -> None:
    base = {"grant_type": "client_credential", "appid": fake.app_id, "secret": fake.app_secret}
    assert get(http, fake, "/cgi-bin/token", **(base | {"appid": "wxother"}))["errcode"] == 40013
    assert get(http, fake, "/cgi-bin/token", **(base | {"secret": "nope"}))["errcode"] == 40125
    assert get(http, fake, "/cgi-bin/token", **(base | {"grant_type": "x"}))["errcode"] == 40002
    assert stable(http, fake, appid="wxother")["errcode"] == 40013
    assert stable(http, fake, secret="wrong")["errcode"] == 40125
    answer = stable(http, fake, secret="wrong")
    assert answer["errmsg"].startswith("invalid appsecret rid: ")


def test_plain_token_rotates_with_five_minute_overlap(fake, http, clock) -> None:
    q = {"grant_type": "client_credential", "appid": fake.app_id, "secret": fake.app_secret}
    first = get(http, fake, "/cgi-bin/token", **q)
    assert first["expires_in"] == 7200
    assert 100 <= len(first["access_token"]) <= 512
    second = get(http, fake, "/cgi-bin/token", **q)
    assert second["access_token"] != first["access_token"]
    # The old token still works during the overlap ...
    assert "errcode" not in get(http, fake, "/cgi-bin/tags/get", access_token=first["access_token"])
    clock.now += 301
    # ... and not after it; the new one keeps working.
    answer = get(http, fake, "/cgi-bin/tags/get", access_token=first["access_token"])
    assert answer["errcode"] == 42001
    assert "tags" in get(http, fake, "/cgi-bin/tags/get", access_token=second["access_token"])


def test_stable_token_normal_mode_is_stable_and_force_refresh_rotates(fake, http, clock) -> None:
    first = stable(http, fake)
    clock.now += 1000
    again = stable(http, fake)
    assert again["access_token"] == first["access_token"]
    assert again["expires_in"] == 7200 - 1000
    forced = stable(http, fake, force=True)
    assert forced["access_token"] != first["access_token"]
    assert forced["expires_in"] == 7200
    old = get(http, fake, "/cgi-bin/tags/get", access_token=first["access_token"])
    assert old["errcode"] == 40001  # force refresh kills the previous token at once
    assert "tags" in get(http, fake, "/cgi-bin/tags/get", access_token=forced["access_token"])


def test_stable_token_renews_five_minutes_before_expiry(fake, http, clock) -> None:
    first = stable(http, fake)
    clock.now += 7200 - 299
    renewed = stable(http, fake)
    assert renewed["access_token"] != first["access_token"]
    # the old one lives until its own expiry
    assert "tags" in get(http, fake, "/cgi-bin/tags/get", access_token=first["access_token"])


def test_stable_and_plain_tokens_are_isolated(fake, http) -> None:
    s = stable(http, fake)["access_token"]
    q = {"grant_type": "client_credential", "appid": fake.app_id, "secret": fake.app_secret}
    get(http, fake, "/cgi-bin/token", **q)
    get(http, fake, "/cgi-bin/token", **q)
    assert "tags" in get(http, fake, "/cgi-bin/tags/get", access_token=s)


def test_api_routes_check_the_token(fake, http, clock) -> None:
    assert get(http, fake, "/cgi-bin/tags/get")["errcode"] == 41001
    assert get(http, fake, "/cgi-bin/tags/get", access_token="made-up")["errcode"] == 40001
    token = fake.issue_token()
    assert "tags" in get(http, fake, "/cgi-bin/tags/get", access_token=token)
    clock.now += 7201
    assert get(http, fake, "/cgi-bin/tags/get", access_token=token)["errcode"] == 42001


def test_expire_and_revoke_helpers(fake, http) -> None:
    token = fake.issue_token()
    fake.expire_tokens()
    assert get(http, fake, "/cgi-bin/tags/get", access_token=token)["errcode"] == 42001
    fake.revoke_tokens()
    assert get(http, fake, "/cgi-bin/tags/get", access_token=token)["errcode"] == 40001


def test_ticket(fake, http) -> None:
    token = fake.issue_token()
    answer = get(http, fake, "/cgi-bin/ticket/getticket", access_token=token, type="jsapi")
    assert answer["errcode"] == 0 and answer["ticket"] and answer["expires_in"] == 7200
    bad = get(http, fake, "/cgi-bin/ticket/getticket", access_token=token, type="other")
    assert bad["errcode"] == 40097


# ---------------------------------------------------------------- routing, recording, injection


def test_unknown_path_and_wrong_method(fake, http) -> None:
    token = fake.issue_token()
    assert get(http, fake, "/cgi-bin/nope", access_token=token)["errcode"] == 48001
    assert get(http, fake, "/cgi-bin/menu/create", access_token=token)["errcode"] == 43002
    assert post(http, fake, "/cgi-bin/menu/get", {}, access_token=token)["errcode"] == 43001


def test_calls_are_recorded(fake, http) -> None:
    token = fake.issue_token()
    get(http, fake, "/cgi-bin/user/info", access_token=token, openid="o1", lang="zh_CN")
    post(http, fake, "/cgi-bin/tags/create", {"tag": {"name": "贵宾"}}, access_token=token)
    calls = fake.calls
    assert len(calls) == 2
    method, path, query, body = calls[0]
    assert (method, path, body) == ("GET", "/cgi-bin/user/info", None)
    assert query == {"access_token": token, "openid": "o1", "lang": "zh_CN"}
    assert calls[1] == Call(
        "POST", "/cgi-bin/tags/create", {"access_token": token}, {"tag": {"name": "贵宾"}}
    )
    assert fake.count("/cgi-bin/tags/create") == 1
    assert fake.count("/cgi-bin/tags/get") == 0
    assert fake.raw_bodies("/cgi-bin/tags/create") == ['{"tag": {"name": "贵宾"}}'.encode()]


def test_calls_are_thread_safe(fake, http) -> None:
    token = fake.issue_token()

    def worker() -> None:
        for _ in range(10):
            get(http, fake, "/cgi-bin/tags/get", access_token=token)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fake.count("/cgi-bin/tags/get") == 60


def test_inject_error_times_then_normal(fake, http) -> None:
    token = fake.issue_token()
    fake.inject_error("/cgi-bin/tags/get", 45009, "reach max api daily quota limit", times=2)
    for _ in range(2):
        answer = get(http, fake, "/cgi-bin/tags/get", access_token=token)
        assert answer == {"errcode": 45009, "errmsg": "reach max api daily quota limit"}
    assert "tags" in get(http, fake, "/cgi-bin/tags/get", access_token=token)
    assert fake.count("/cgi-bin/tags/get") == 3


def test_inject_http_status_and_raw_body(fake, http) -> None:
    fake.inject_error("/cgi-bin/tags/get", status=502)
    resp = http.request("GET", fake.url + "/cgi-bin/tags/get")
    assert resp.status == 502
    fake.inject_error("/cgi-bin/tags/get", body=b"<html>gateway</html>")
    resp = http.request("GET", fake.url + "/cgi-bin/tags/get")
    assert resp.status == 200 and resp.data == b"<html>gateway</html>"


def test_inject_delay_causes_client_timeout(fake) -> None:
    fake.inject_error("/cgi-bin/tags/get", None, delay=1.0)
    pool = urllib3.PoolManager(retries=False)
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        pool.request("GET", fake.url + "/cgi-bin/tags/get", timeout=urllib3.Timeout(read=0.2))
    # A delay without errcode answers normally once the wait is over.
    fake.inject_error("/cgi-bin/tags/get", None, delay=0.2)
    started = time.monotonic()
    token = fake.issue_token()
    resp = pool.request("GET", fake.url + f"/cgi-bin/tags/get?access_token={token}", timeout=5)
    assert time.monotonic() - started >= 0.2
    assert "tags" in json.loads(resp.data)


def test_stop_is_not_blocked_by_a_delayed_handler() -> None:
    fake = FakeWeChat().start()
    fake.inject_error("/cgi-bin/tags/get", None, delay=30)
    pool = urllib3.PoolManager(retries=False)
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        pool.request("GET", fake.url + "/cgi-bin/tags/get", timeout=urllib3.Timeout(read=0.2))
    started = time.monotonic()
    fake.stop()
    assert time.monotonic() - started < 3


def test_reset_keeps_tokens_unless_asked(fake, http) -> None:
    token = fake.issue_token()
    post(http, fake, "/cgi-bin/tags/create", {"tag": {"name": "a"}}, access_token=token)
    fake.inject_error("/cgi-bin/tags/get", 45009)
    fake.reset()
    assert fake.calls == []
    tags = get(http, fake, "/cgi-bin/tags/get", access_token=token)["tags"]  # no injection left
    assert [t["name"] for t in tags] == ["星标组"]
    fake.reset(tokens=True)
    assert get(http, fake, "/cgi-bin/tags/get", access_token=token)["errcode"] == 40001


def test_escaped_unicode_is_rejected_like_wechat(fake, http) -> None:
    token = fake.issue_token()
    menu = {"button": [{"type": "click", "name": "余额", "key": "K"}]}
    escaped = json.dumps(menu).encode()  # ensure_ascii=True -> \u4f59\u989d
    assert b"\\u" in escaped
    answer = post(http, fake, "/cgi-bin/menu/create", raw=escaped, access_token=token)
    assert answer["errcode"] == 40033
    plain = post(http, fake, "/cgi-bin/menu/create", menu, access_token=token)
    assert plain == {"errcode": 0, "errmsg": "ok"}
    # A literal backslash-u typed by a user (\\u in JSON) is not an escape.
    text = {"touser": "o1", "msgtype": "text", "text": {"content": "C:\\users"}}
    assert (
        post(http, fake, "/cgi-bin/message/custom/send", text, access_token=token)["errcode"] == 0
    )


def test_bad_json_is_data_format_error(fake, http) -> None:
    token = fake.issue_token()
    answer = post(http, fake, "/cgi-bin/tags/create", raw=b"{not json", access_token=token)
    assert answer["errcode"] == 47001


# ---------------------------------------------------------------- domain behaviour


def test_menu_shapes(fake, http) -> None:
    token = fake.issue_token()
    assert get(http, fake, "/cgi-bin/menu/get", access_token=token)["errcode"] == 46003
    assert get(http, fake, "/cgi-bin/get_current_selfmenu_info", access_token=token) == {
        "is_menu_open": 0
    }
    conditional = {
        "button": [{"type": "click", "name": "VIP", "key": "VIP"}],
        "matchrule": {"tag_id": "2"},
    }
    answer = post(http, fake, "/cgi-bin/menu/addconditional", conditional, access_token=token)
    assert answer["errcode"] == 65303
    menu = {
        "button": [
            {
                "name": "服务",
                "sub_button": [{"type": "view", "name": "官网", "url": "https://x.cn"}],
            }
        ]
    }
    post(http, fake, "/cgi-bin/menu/create", menu, access_token=token)
    info = get(http, fake, "/cgi-bin/get_current_selfmenu_info", access_token=token)
    assert info["is_menu_open"] == 1
    assert info["selfmenu_info"]["button"][0]["sub_button"]["list"][0]["url"] == "https://x.cn"
    too_many = {"button": [{"type": "click", "name": str(i), "key": "k"} for i in range(4)]}
    assert post(http, fake, "/cgi-bin/menu/create", too_many, access_token=token)["errcode"] == (
        40016
    )


def test_multipart_upload_is_byte_exact(fake, http) -> None:
    token = fake.issue_token()
    content = bytes(range(256)) * 4 + b"\r\n--\r\n\r\n"
    body, ctype = encode_multipart_formdata({"media": ("图.png", content, "image/png")})
    resp = http.request(
        "POST",
        f"{fake.url}/cgi-bin/media/upload?access_token={token}&type=image",
        body=body,
        headers={"Content-Type": ctype},
    )
    answer = json.loads(resp.data)
    assert answer["type"] == "image" and answer["created_at"] > 0
    got = http.request(
        "GET", f"{fake.url}/cgi-bin/media/get?access_token={token}&media_id={answer['media_id']}"
    )
    assert got.data == content
    assert got.headers["Content-Type"] == "image/png"
    assert "filename*=UTF-8''%E5%9B%BE.png" in got.headers["Content-disposition"]


def test_media_limits_and_retired_add_news(fake, http) -> None:
    token = fake.issue_token()

    def upload(path: str, kind: str, name: str, content: bytes, **extra: str) -> dict[str, Any]:
        fields: dict[str, Any] = {"media": (name, content, "application/octet-stream"), **extra}
        body, ctype = encode_multipart_formdata(fields)
        url = f"{fake.url}{path}?access_token={token}&type={kind}"
        return json.loads(
            http.request("POST", url, body=body, headers={"Content-Type": ctype}).data
        )

    assert upload("/cgi-bin/media/upload", "thumb", "t.jpg", b"x" * (64 * 1024 + 1))["errcode"] == (
        40006
    )
    assert upload("/cgi-bin/media/upload", "voice", "v.wav", b"x")["errcode"] == 40005
    assert upload("/cgi-bin/media/upload", "pdf", "v.pdf", b"x")["errcode"] == 40004
    assert upload("/cgi-bin/material/add_material", "voice", "v.wav", b"x")["media_id"]
    no_desc = upload("/cgi-bin/material/add_material", "video", "v.mp4", b"x")
    assert no_desc["errcode"] == 47001
    desc = json.dumps({"title": "宣传片", "introduction": "简介"}, ensure_ascii=False)
    assert "url" not in upload(
        "/cgi-bin/material/add_material", "video", "v.mp4", b"x", description=desc
    )
    retired = post(http, fake, "/cgi-bin/material/add_news", {"articles": []}, access_token=token)
    assert retired["errcode"] == 45106


def test_draft_needs_a_permanent_cover(fake, http) -> None:
    token = fake.issue_token()
    article = {"title": "公告", "content": "<p>正文</p>", "thumb_media_id": "nope"}
    answer = post(http, fake, "/cgi-bin/draft/add", {"articles": [article]}, access_token=token)
    assert answer["errcode"] == 40007


def test_followers_paging_and_unsubscribe(fake, http) -> None:
    token = fake.issue_token()
    fake.follower_page_size = 2
    for i in range(5):
        fake.add_follower(f"o{i}")
    fake.remove_follower("o2")
    page1 = get(http, fake, "/cgi-bin/user/get", access_token=token)
    assert page1 == {"total": 4, "count": 2, "data": {"openid": ["o0", "o1"]}, "next_openid": "o1"}
    page2 = get(http, fake, "/cgi-bin/user/get", access_token=token, next_openid="o1")
    assert page2["data"]["openid"] == ["o3", "o4"]
    page3 = get(http, fake, "/cgi-bin/user/get", access_token=token, next_openid="o4")
    assert page3 == {"total": 4, "count": 0, "next_openid": ""}
    gone = get(http, fake, "/cgi-bin/user/info", access_token=token, openid="o2")
    assert gone == {"subscribe": 0, "openid": "o2"}
    assert get(http, fake, "/cgi-bin/user/info", access_token=token, openid="zz")["errcode"] == (
        40003
    )


def test_tags_rules(fake, http) -> None:
    token = fake.issue_token()
    fake.add_follower("o1")
    created = post(
        http, fake, "/cgi-bin/tags/create", {"tag": {"name": "贵宾"}}, access_token=token
    )
    tag_id = created["tag"]["id"]
    assert tag_id >= 100
    dup = post(http, fake, "/cgi-bin/tags/create", {"tag": {"name": "贵宾"}}, access_token=token)
    assert dup["errcode"] == 45157
    sys_tag = post(
        http, fake, "/cgi-bin/tags/update", {"tag": {"id": 2, "name": "x"}}, access_token=token
    )
    assert sys_tag["errcode"] == 45058
    too_many = {"openid_list": [f"o{i}" for i in range(51)], "tagid": tag_id}
    answer = post(http, fake, "/cgi-bin/tags/members/batchtagging", too_many, access_token=token)
    assert answer["errcode"] == 40032
    ok = {"openid_list": ["o1"], "tagid": tag_id}
    assert post(http, fake, "/cgi-bin/tags/members/batchtagging", ok, access_token=token)[
        "errcode"
    ] == (0)
    info = get(http, fake, "/cgi-bin/user/info", access_token=token, openid="o1")
    assert info["tagid_list"] == [tag_id]


def test_mass_clientmsgid_dedup(fake, http) -> None:
    token = fake.issue_token()
    for i in range(3):
        fake.add_follower(f"o{i}")
    body = {
        "filter": {"is_to_all": True},
        "msgtype": "text",
        "text": {"content": "通知"},
        "clientmsgid": "notice-1",
    }
    first = post(http, fake, "/cgi-bin/message/mass/sendall", body, access_token=token)
    assert first["errcode"] == 0 and first["errmsg"] == "send job submission success"
    repeat = post(http, fake, "/cgi-bin/message/mass/sendall", body, access_token=token)
    assert repeat["errcode"] == 45065
    assert repeat["msg_id"] == first["msg_id"]
    assert repeat["errmsg"].startswith("clientmsgid exist")
    # Without clientmsgid, WeChat dedups on a digest of audience + content.
    implicit = {k: v for k, v in body.items() if k != "clientmsgid"}
    a = post(http, fake, "/cgi-bin/message/mass/sendall", implicit, access_token=token)
    b = post(http, fake, "/cgi-bin/message/mass/sendall", implicit, access_token=token)
    assert a["errcode"] == 0 and b["errcode"] == 45065 and b["msg_id"] == a["msg_id"]
    other = implicit | {"text": {"content": "另一条"}}
    assert post(http, fake, "/cgi-bin/message/mass/sendall", other, access_token=token)[
        "errcode"
    ] == (0)
    long_id = body | {"clientmsgid": "x" * 65}
    answer = post(http, fake, "/cgi-bin/message/mass/sendall", long_id, access_token=token)
    assert answer["errcode"] == 45067
    one = {"touser": ["o1"], "msgtype": "text", "text": {"content": "x"}}
    assert post(http, fake, "/cgi-bin/message/mass/send", one, access_token=token)["errcode"] == (
        40130
    )
    job = fake.mass_jobs[first["msg_id"]]
    assert job["audience"] == ["o0", "o1", "o2"] and job["clientmsgid"] == "notice-1"


def test_template_and_custom_rules(fake, http) -> None:
    token = fake.issue_token()
    bad = {"touser": "o1", "template_id": "nope", "data": {"first": {"value": "x"}}}
    answer = post(http, fake, "/cgi-bin/message/template/send", bad, access_token=token)
    assert answer["errcode"] == 40037
    two = {
        "touser": "o1",
        "msgtype": "news",
        "news": {
            "articles": [{"title": "a", "url": "https://a"}, {"title": "b", "url": "https://b"}]
        },
    }
    answer = post(http, fake, "/cgi-bin/message/custom/send", two, access_token=token)
    assert answer["errcode"] == 45008
    assert fake.custom_messages == []


# ---------------------------------------------------------------- script mode


def test_state_survives_export_and_load_into_a_new_server(fake, http, clock) -> None:
    """What `make run` keeps between runs: menus, tags, uploads, drafts, tokens and id sequences."""
    token = fake.issue_token()
    fake.add_follower("o1")
    menu = {"button": [{"type": "click", "name": "余额", "key": "BALANCE"}]}
    assert post(http, fake, "/cgi-bin/menu/create", menu, access_token=token)["errcode"] == 0
    tag = post(http, fake, "/cgi-bin/tags/create", {"tag": {"name": "贵宾"}}, access_token=token)
    tag_id = tag["tag"]["id"]
    tagging = {"openid_list": ["o1"], "tagid": tag_id}
    post(http, fake, "/cgi-bin/tags/members/batchtagging", tagging, access_token=token)
    content = bytes(range(256))
    body, ctype = encode_multipart_formdata({"media": ("封面.jpg", content, "image/jpeg")})
    material = json.loads(
        http.request(
            "POST",
            f"{fake.url}/cgi-bin/material/add_material?access_token={token}&type=image",
            body=body,
            headers={"Content-Type": ctype},
        ).data
    )
    article = {"title": "t", "content": "c", "thumb_media_id": material["media_id"]}
    draft = post(http, fake, "/cgi-bin/draft/add", {"articles": [article]}, access_token=token)

    saved = json.loads(json.dumps(fake.export_state()))  # as it goes to disk and back
    with FakeWeChat(clock=clock) as again:
        again.load_state(saved)
        assert again.menu == fake.menu
        assert get(http, again, "/cgi-bin/user/info", access_token=token, openid="o1")[
            "tagid_list"
        ] == [tag_id]  # the token issued before the restart is still valid
        got = http.request(
            "POST",
            f"{again.url}/cgi-bin/material/get_material?access_token={token}",
            body=json.dumps({"media_id": material["media_id"]}).encode(),
        )
        assert got.data == content
        answer = post(
            http, again, "/cgi-bin/draft/get", {"media_id": draft["media_id"]}, access_token=token
        )
        assert answer["news_item"][0]["title"] == "t"
        # Sequences continue where they were: no id is handed out twice.
        new = post(http, again, "/cgi-bin/tags/create", {"tag": {"name": "新"}}, access_token=token)
        assert new["tag"]["id"] == tag_id + 1
        assert again.errors == []


def test_script_mode_prints_url_and_stops_on_sigterm() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "infra.fake_wechat", "--port", "0", "--followers", "2"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        pool = urllib3.PoolManager(retries=False)
        body = json.dumps(
            {
                "grant_type": "client_credential",
                "appid": DEFAULT_APP_ID,
                "secret": DEFAULT_APP_SECRET,
            }
        )
        token = json.loads(pool.request("POST", url + "/cgi-bin/stable_token", body=body).data)[
            "access_token"
        ]
        followers = json.loads(
            pool.request("GET", f"{url}/cgi-bin/user/get?access_token={token}").data
        )
        assert followers["total"] == 2
        pool.clear()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
