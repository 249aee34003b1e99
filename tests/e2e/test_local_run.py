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
    aes_query, aes_body = sim.envelope(wxsim.text("信用卡", openid="o_e2e_aes"))
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


def test_admin_bodies_not_sent_as_json_or_nested_too_deep_get_our_answers(server):
    _proc, base, _text = server
    auth = {"Authorization": f"Bearer {wxsim.ADMIN}"}
    rule = {
        "name": "e2e",
        "match": "exact",
        "keywords": ["e2e-415"],
        "reply": {"type": "text", "content": "x"},
    }
    # Like `curl -d` without -H, urllib sends application/x-www-form-urlencoded.
    status, _h, body = _request(
        f"{base}/admin/rules", method="POST", body=json.dumps(rule).encode(), headers=auth
    )
    assert status == 415
    assert json.loads(body) == {"error": "send JSON with Content-Type: application/json"}
    as_json = {**auth, "Content-Type": "application/json"}
    status, _h, body = _request(
        f"{base}/admin/rules", method="POST", body=b"[" * 5000 + b"]" * 5000, headers=as_json
    )
    assert status == 400
    assert json.loads(body) == {"error": "body nests arrays and objects deeper than 64 levels"}
    status, _h, body = _request(
        f"{base}/admin/rules", method="POST", body=json.dumps(rule).encode(), headers=as_json
    )
    assert status == 201
    rule_id = json.loads(body)["id"]
    assert _request(f"{base}/admin/rules/{rule_id}", method="DELETE", headers=auth)[0] == 204


def test_gateway_and_chalice_errors_answer_in_our_shape_over_http(server):
    """What the local gateway and Chalice answer before our views: `{"error": ...}`."""
    _proc, base, _text = server
    auth = {"Authorization": f"Bearer {wxsim.ADMIN}"}
    # An unknown path: not the REST API emulation's 403 "Missing Authentication Token".
    for headers in ({}, auth):
        status, h, body = _request(f"{base}/admin/nowhere", headers=headers)
        assert (status, json.loads(body)) == (404, {"error": "not found"})
        assert h["Content-Type"].startswith("application/json")
    # A method the path lacks: 405 with Allow.
    status, h, body = _request(f"{base}/admin/rules/r1", method="POST", body=b"{}", headers=auth)
    assert status == 405 and "PUT" in h["Allow"] and set(json.loads(body)) == {"error"}
    # A Content-Type a route does not take: Chalice's 415, before the view.
    status, _h, body = _request(f"{base}/health", headers={"Content-Type": "text/plain"})
    assert status == 415 and set(json.loads(body)) == {"error"}


def test_sigterm_stops_everything(server):
    proc, base, _text = server
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(20) == 0
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{base}/health", timeout=2)


def _admin(base: str, method: str, path: str, body: dict | None = None):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {wxsim.ADMIN}", "Content-Type": "application/json"}
    status, _h, raw = _request(f"{base}{path}", method=method, body=data, headers=headers)
    return status, json.loads(raw) if raw else None


def _saved_rule(snapshot: Path, keyword: str) -> bool:
    """The rule itself is in the saved rules table (the audit log names it first)."""
    try:
        tables = json.loads(snapshot.read_text(encoding="utf-8"))["tables"]
    except (OSError, ValueError, KeyError):
        return False
    return keyword in json.dumps(tables.get("rules", []), ensure_ascii=False)


def _rule_names(base: str) -> list[str]:
    status, body = _admin(base, "GET", "/admin/rules")
    assert status == 200
    return sorted(rule["name"] for rule in body["items"])


def _make_rule(base: str, name: str) -> None:
    rule = {"name": name, "match": "exact", "keywords": [name], "reply": {"type": "text"}}
    rule["reply"]["content"] = f"{name} ok"
    assert _admin(base, "POST", "/admin/rules", rule)[0] == 201


def test_data_survives_restarts_and_run_fresh_starts_empty(tmp_path):
    """`make run` keeps what an admin made (WXLESS_LOCAL_STATE, as the Makefile sets it): after
    Ctrl-C, after a kill -9 once the autosave ran, and the demo is not seeded again; `make
    run-fresh` (WXLESS_LOCAL_FRESH=1) starts from the demo alone."""
    state = {"WXLESS_LOCAL_STATE": str(tmp_path / "state")}
    first = start_stack(state)
    try:
        assert "demo data        seeded" in first.banner
        demo = _rule_names(first.base)
        _make_rule(first.base, "开户预约")
        menu = {"button": [{"type": "click", "name": "余额", "key": "BALANCE"}]}
        assert _admin(first.base, "PUT", "/admin/menu", menu)[0] == 200  # kept by the fake WeChat
    finally:
        first.proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert first.proc.wait(30) == 0

    second = start_stack(state)
    try:
        assert "store not empty; left as is" in second.banner
        assert "restored" in second.banner
        assert _rule_names(second.base) == sorted([*demo, "开户预约"])  # not seeded twice
        status, body = _admin(second.base, "GET", "/admin/menu")
        assert status == 200 and body["menu"] == menu
        _make_rule(second.base, "挂失")
        snapshot = tmp_path / "state" / "snapshot.json"
        deadline = time.monotonic() + 30
        while not _saved_rule(snapshot, "挂失"):  # the autosave, every 2 s
            assert time.monotonic() < deadline, "no autosave within 30 s"
            time.sleep(0.5)
    finally:
        second.proc.kill()  # kill -9: no last save
        second.proc.wait(30)

    third = start_stack(state)
    try:
        assert _rule_names(third.base) == sorted([*demo, "开户预约", "挂失"])
    finally:
        assert third.stop() == 0

    fresh = start_stack({**state, "WXLESS_LOCAL_FRESH": "1"})
    try:
        assert "demo data        seeded" in fresh.banner
        assert _rule_names(fresh.base) == demo
        assert (tmp_path / "state.previous" / "snapshot.json").exists()  # moved aside, not lost
    finally:
        assert fresh.stop() == 0
