"""`make run` acts on its own: the local scheduler keeps a token in the store against the fake
WeChat API, and an admin-published menu's click is answered by a click rule (over HTTP)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from tests import wxsim
from tests.stack import start as start_stack

pytestmark = pytest.mark.e2e
AUTH = {"Authorization": f"Bearer {wxsim.ADMIN}", "Content-Type": "application/json"}


def _request(url: str, *, method: str = "GET", body: bytes | None = None, headers=None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture(scope="module")
def stack():
    running = start_stack()
    yield running
    running.stop()


def test_token_is_kept_fresh_without_anyone_asking(stack):
    deadline = time.monotonic() + 60
    status = {}
    while time.monotonic() < deadline:
        code, body = _request(f"{stack.base}/admin/token", headers=AUTH)
        assert code == 200, body
        status = json.loads(body)
        if status["access"]["present"] and status["jsapi"]["present"]:
            break
        time.sleep(0.2)
    # Both present with nobody asking: the jsapi_ticket is only ever fetched by the scheduled
    # token_refresh job, so this is the runner's LocalScheduler at work (chalice local runs none).
    assert status["access"]["generation"] >= 1, status
    assert status["jsapi"]["generation"] >= 1, status
    assert status["access"]["expires_in"] > 6000
    assert status["schedule"]["rate_seconds"] == 120


def test_published_menu_click_is_answered_by_the_demo_click_rule(stack):
    menu = {
        "button": [
            {"type": "click", "name": "我的账户", "key": "MENU_ACCOUNT"},
            {"type": "view", "name": "官网", "url": "https://example.com"},
        ]
    }
    code, body = _request(
        f"{stack.base}/admin/menu", method="PUT", body=json.dumps(menu).encode(), headers=AUTH
    )
    assert code == 200, body
    assert json.loads(body)["unanswered_click_keys"] == []  # the demo seed has a click rule
    # The runner's fake WeChat holds it now (menu/get through the app, on the stored token).
    code, body = _request(f"{stack.base}/admin/menu?live=true", headers=AUTH)
    assert code == 200, body
    assert json.loads(body)["live"]["menu"]["button"] == menu["button"]

    xml = wxsim.event("CLICK", "MENU_ACCOUNT", openid="o_e2e_menu")
    code, body = _request(
        f"{stack.base}/wechat?{wxsim.qs(wxsim.signed_query())}",
        method="POST",
        body=xml.encode(),
        headers={"Content-Type": "text/xml"},
    )
    assert code == 200
    reply = wxsim.parse(body.decode())
    assert reply["MsgType"] == "text" and "我的账户" in reply["Content"]
