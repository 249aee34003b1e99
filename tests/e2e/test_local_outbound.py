"""CONTRACT section 6 against `make run`, over HTTP: the customer-service quota (409 with
`remaining: 0` and `window_until`, WeChat not called) and the notify API (a repeat with the same
client_msg_id gets the same answer)."""

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


def _request(url: str, *, method: str = "GET", payload: object = None, headers=None):
    body = payload if isinstance(payload, bytes) else None
    if payload is not None and body is None:
        body = json.dumps(payload).encode()
    request = urllib.request.Request(url, data=body, method=method, headers=headers or AUTH)
    try:
        with urllib.request.urlopen(request, timeout=15) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


def _callback(stack, xml: str) -> None:
    request = urllib.request.Request(
        f"{stack.base}/wechat?{wxsim.qs(wxsim.signed_query())}",
        data=xml.encode(),
        method="POST",
        headers={"Content-Type": "text/xml"},
    )
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 200


@pytest.fixture(scope="module")
def stack():
    running = start_stack()
    yield running
    running.stop()


def test_customer_service_quota_over_http(stack):
    url = f"{stack.base}/admin/messages/custom"
    openid = f"o_e2e_cs_{int(time.time())}"
    message = {"openid": openid, "message": {"type": "text", "content": "您好"}}
    code, _, answer = _request(url, method="POST", payload=message)
    assert code == 409, answer
    assert answer["retryable"] is False and answer["remaining"] == 0
    assert answer["window_until"] is None and answer["error"]

    _callback(stack, wxsim.text("我想咨询信用卡", openid))
    remaining = []
    for _ in range(5):
        code, _, answer = _request(url, method="POST", payload=message)
        assert code == 200, answer
        remaining.append(answer["remaining"])
    assert remaining == [4, 3, 2, 1, 0]
    code, _, answer = _request(url, method="POST", payload=message)
    assert code == 409 and answer["remaining"] == 0 and answer["retryable"] is False
    assert answer["window_until"] > time.time() + 47 * 3600
    code, _, allowance = _request(f"{url}/allowance?openid={openid}")
    assert code == 200 and allowance["remaining"] == 0


def test_notify_is_idempotent_over_http(stack):
    client_msg_id = f"e2e-{time.time_ns()}"
    body = {
        "client_msg_id": client_msg_id,
        "openid": "o_e2e_notify",
        "template_id": "tmpl_txn_notice_0001",  # the demo WeChat's template
        "data": {"keyword1": "2026-01-05 12:30", "keyword2": "¥128.00"},
        "url": "https://bank.example/txn",
    }
    code, headers, first = _request(f"{stack.base}/admin/notify", method="POST", payload=body)
    assert code == 200, first
    assert first["status"] == "sent" and first["msgid"]
    code, headers, again = _request(f"{stack.base}/admin/notify", method="POST", payload=body)
    assert code == 200 and again == first and headers.get("Idempotent-Replayed") == "true"
    code, _, record = _request(f"{stack.base}/admin/notify/{client_msg_id}")
    assert code == 200 and record["status"] == "sent" and record["attempts"] == 1
    code, _, refused = _request(
        f"{stack.base}/admin/notify",
        method="POST",
        payload={**body, "data": {"thing1": "x" * 21}},
    )
    assert code == 400 and "thing1" in refused["error"]
