"""Contract section 7 ("Reaching followers") over HTTP against the local stack `make run`
starts (infra/local_run.py: moto server, the fake WeChat API, the stream pump)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests import wxsim
from tests.stack import eventually
from tests.stack import start as start_stack

pytestmark = pytest.mark.e2e
AUTH = {"Authorization": f"Bearer {wxsim.ADMIN}", "Content-Type": "application/json"}
WITHIN = 10.0  # seconds: the contract's "within 10 s"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _request(
    url: str, *, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _opener.open(request, timeout=15) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _admin(stack, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    status, _headers, raw = _request(f"{stack.base}{path}", method=method, body=body, headers=AUTH)
    return status, json.loads(raw) if raw else None


def _wechat(stack, xml: str) -> str:
    status, _headers, raw = _request(
        f"{stack.base}/wechat?{wxsim.qs(wxsim.signed_query())}",
        method="POST",
        body=xml.encode(),
        headers={"Content-Type": "text/xml"},
    )
    assert status == 200, raw
    return raw.decode()


@pytest.fixture(scope="module")
def stack():
    running = start_stack()
    yield running
    running.stop()


# -- channel QR codes ------------------------------------------------------------------------------


def test_qr_code_scans_and_subscribes_are_answered_and_counted_within_10_s(stack):
    scene = f"e2e-poster-{int(time.time())}"
    status, code = _admin(
        stack,
        "POST",
        "/admin/qrcodes",
        {
            "name": "海报",
            "scene": scene,
            "permanent": False,
            "expire_seconds": 3600,
            "reply": {"type": "text", "content": "欢迎扫码"},
        },
    )
    assert status == 201, code
    assert {"id", "scene", "ticket", "url"} <= set(code) and code["scene"] == scene
    now = int(time.time())
    subscribe = wxsim.event("subscribe", f"qrscene_{scene}", openid="o_e2e_qr1", create_time=now)
    scan = wxsim.event("SCAN", scene, openid="o_e2e_qr2", create_time=now, Ticket=code["ticket"])

    probes: set[int] = set()  # a probe in the same second is a retry: it counts once

    def answered() -> bool:  # the rule cache sees the new code within 5 s
        at = int(time.time())
        probes.add(at)
        return "欢迎扫码" in _wechat(
            stack, wxsim.event("SCAN", scene, openid="o_e2e_probe", create_time=at)
        )

    eventually(answered, WITHIN)
    started = time.monotonic()
    assert wxsim.parse(_wechat(stack, subscribe))["Content"] == "欢迎扫码"
    assert wxsim.parse(_wechat(stack, scan))["Content"] == "欢迎扫码"
    _wechat(stack, subscribe)  # WeChat's retries of both
    _wechat(stack, scan)

    def counted() -> dict | None:
        status, got = _admin(stack, "GET", f"/admin/qrcodes/{code['id']}")
        assert status == 200, got
        return got if got["subscribes"] == 1 and got["scans"] == 2 + len(probes) else None

    got = eventually(counted, WITHIN)
    assert time.monotonic() - started < WITHIN
    time.sleep(1.5)  # a retry never adds later either
    status, again = _admin(stack, "GET", f"/admin/qrcodes/{code['id']}")
    assert (again["scans"], again["subscribes"]) == (got["scans"], 1)
    status, listed = _admin(stack, "GET", "/admin/qrcodes")
    assert status == 200
    mine = [c for c in listed["items"] if c["id"] == code["id"]]
    assert mine and {"scans", "subscribes"} <= set(mine[0])


# -- pages that know the follower --------------------------------------------------------------


def test_jssdk_signs_pages_of_this_app_only(stack):
    from urllib.parse import quote

    page = f"{stack.base}/p/articles/anything?from=timeline"
    status, _headers, raw = _request(f"{stack.base}/p/jssdk?url={quote(page, safe='')}")
    assert status == 200, raw
    config = json.loads(raw)
    assert set(config) >= {"appId", "timestamp", "nonceStr", "signature"}
    assert config["appId"] == wxsim.APP_ID and len(config["signature"]) == 40
    assert abs(config["timestamp"] - time.time()) < 60
    for elsewhere in ["https://evil.example/p/articles/1", "http://127.0.0.2:1/p/x"]:
        status, _headers, raw = _request(f"{stack.base}/p/jssdk?url={quote(elsewhere, safe='')}")
        assert status == 400, (elsewhere, raw)


def test_oauth_redirects_to_wechat_and_the_callback_remembers_the_follower(stack):
    from urllib.parse import parse_qs, quote, urlsplit

    next_path = "/p/articles/abc?from=singlemessage"
    status, headers, raw = _request(f"{stack.base}/p/oauth?next={quote(next_path, safe='')}")
    assert status == 302, raw
    location = headers["Location"]
    assert location.startswith("https://open.weixin.qq.com/connect/oauth2/authorize?appid=")
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert query["appid"] == wxsim.APP_ID
    callback = query["redirect_uri"]
    assert callback.startswith(f"{stack.base}/p/oauth/callback")
    state = query["state"]
    # WeChat sends the browser back with a code; make run's fake takes any code once.
    status, headers, raw = _request(f"{callback}&code=e2e-code-1&state={state}")
    assert status == 302, raw
    assert headers["Location"] == stack.base + next_path
    cookie = headers["Set-Cookie"]
    assert cookie.startswith("wxf=") and "HttpOnly" in cookie
    # A forged state, a state for another page, a next elsewhere: 400, no cookie.
    forged = state[:-6] + "abcdef"
    for url in [
        f"{callback}&code=e2e-code-2&state={forged}",
        f"{stack.base}/p/oauth/callback?next=%2Fp%2Fother&code=e2e-code-3&state={state}",
        f"{stack.base}/p/oauth/callback?next=https%3A%2F%2Fevil.example&code=c&state={state}",
    ]:
        status, headers, raw = _request(url)
        assert status == 400, (url, raw)
        assert "Set-Cookie" not in headers
    for bad_next in ["https://evil.example/p/x", "//evil.example", "/admin/rules", "/p/../x"]:
        status, headers, _raw = _request(f"{stack.base}/p/oauth?next={quote(bad_next, safe='')}")
        assert status == 400, bad_next
        assert "Location" not in headers


def test_article_views_readers_and_shared_views_within_10_s(stack):
    status, article = _admin(
        stack, "POST", "/admin/articles", {"title": "理财讲堂", "status": "published"}
    )
    assert status == 201, article
    aid = article["id"]
    started = time.monotonic()
    for query, agent in [
        ("", "e2e-phone-1"),
        ("?from=timeline", "e2e-phone-1"),
        ("?from=groupmessage", "e2e-phone-2"),
        ("?from=singlemessage&isappinstalled=0", "e2e-phone-3"),
    ]:
        status, _headers, raw = _request(
            f"{stack.base}/p/articles/{aid}{query}", headers={"User-Agent": agent}
        )
        assert status == 200, raw

    def counted() -> dict | None:
        status, stats = _admin(stack, "GET", f"/admin/articles/{aid}/stats")
        assert status == 200, stats
        return stats if stats["views"] == 4 else None

    stats = eventually(counted, WITHIN)
    assert time.monotonic() - started < WITHIN
    assert (stats["views"], stats["readers"], stats["shared_views"]) == (4, 3, 3)


# -- the agent desk --------------------------------------------------------------------------------


def test_desk_lists_the_conversation_answers_it_and_holds_the_quota(stack):
    from concurrent.futures import ThreadPoolExecutor

    openid = f"o_e2e_desk_{int(time.time())}"
    now = int(time.time())
    _wechat(stack, wxsim.text("我要人工服务", openid=openid, create_time=now))

    def listed() -> dict | None:
        status, found = _admin(stack, "GET", "/admin/conversations")
        assert status == 200, found
        mine = [c for c in found["items"] if c["openid"] == openid]
        return mine[0] if mine else None

    item = eventually(listed, WITHIN)
    assert item["last_message_at"] == now and item["window_until"] == now + 48 * 3600
    assert item["remaining"] == 5
    status, thread = _admin(stack, "GET", f"/admin/conversations/{openid}")
    assert status == 200, thread
    assert thread["items"][0]["direction"] == "in"
    assert thread["items"][0]["content"] == "我要人工服务"

    body = {"reply": {"type": "text", "content": "您好，请问有什么可以帮您？"}}
    status, sent = _admin(stack, "POST", f"/admin/conversations/{openid}/reply", body)
    assert status == 200, sent
    assert sent == {"sent": True, "remaining": 4, "window_until": now + 48 * 3600}

    # Eight agents at once for the four sends left: four go out, four are refused.
    def reply(_n: int) -> tuple[int, Any]:
        return _admin(stack, "POST", f"/admin/conversations/{openid}/reply", body)

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(reply, range(8)))
    assert sorted(status for status, _ in answers) == [200] * 4 + [409] * 4, answers
    refusal = next(answer for status, answer in answers if status == 409)
    assert refusal["retryable"] is False and refusal["remaining"] == 0
    assert refusal["window_until"] == now + 48 * 3600 and refusal["error"]
    status, thread = _admin(stack, "GET", f"/admin/conversations/{openid}")
    assert sum(1 for i in thread["items"] if i["direction"] == "out" and i["by"] != "auto") == 5
    assert thread["remaining"] == 0
