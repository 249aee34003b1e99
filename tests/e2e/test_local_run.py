"""Start the stack the way `make run` does and speak HTTP to it over loopback."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests import wxsim
from tests.stack import start as start_stack

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


def _request(
    url: str, *, method: str = "GET", body: bytes | None = None, headers: dict | None = None
):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture(scope="module")
def server():
    stack = start_stack()
    yield stack.proc, stack.base, stack.banner
    if stack.proc.poll() is None:
        stack.stop()


def test_banner_health_and_demo_rules(server):
    _proc, base, text = server
    assert wxsim.TOKEN in text and "seeded" in text
    status, _h, body = _request(f"{base}/health")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    status, _h, body = _request(
        f"{base}/admin/rules", headers={"Authorization": f"Bearer {wxsim.ADMIN}"}
    )
    assert status == 200 and len(json.loads(body)["items"]) >= 5


def test_plaintext_and_aes_messages_over_http(server):
    _proc, base, _text = server
    query = wxsim.qs(wxsim.signed_query())
    status, headers, body = _request(
        f"{base}/wechat?{query}",
        method="POST",
        body=wxsim.text("余额", openid="o_e2e").encode(),
        headers={"Content-Type": "text/xml"},
    )
    assert status == 200 and headers["Content-Type"].startswith("application/xml")
    reply = wxsim.parse(body.decode())
    assert reply["ToUserName"] == "o_e2e" and "余额" in reply["Content"]

    sim = wxsim.Crypto()
    aes_query, aes_body = sim.envelope(wxsim.text("信用卡申请", openid="o_e2e_aes"))
    status, _h, body = _request(
        f"{base}/wechat?{wxsim.qs(aes_query)}",
        method="POST",
        body=aes_body.encode(),
        headers={"Content-Type": "application/xml"},
    )
    assert status == 200
    reply = sim.open_reply(body.decode())
    assert reply["MsgType"] == "news" and reply["ArticleCount"] == "1"

    status, _h, _b = _request(
        f"{base}/wechat?signature=bad&timestamp={int(time.time())}&nonce=n",
        method="POST",
        body=wxsim.text("余额").encode(),
        headers={"Content-Type": "text/xml"},
    )
    assert status == 403

    status, _h, body = _request(
        f"{base}/admin/messages?openid=o_e2e", headers={"Authorization": f"Bearer {wxsim.ADMIN}"}
    )
    assert status == 200 and len(json.loads(body)["items"]) == 1


def test_sigterm_stops_everything(server):
    proc, base, _text = server
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{base}/health", timeout=2)
