"""Team access on `make run`, over HTTP: people in the embedded Cognito sign in, roles are
enforced, four eyes hold a campaign until another admin approves it (the local scheduler, the
stand-in for EventBridge, dispatches every 15 s and never starts it while pending), the audit log
has it all; people survive a restart."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from tests import wxsim
from tests.stack import start as start_stack

pytestmark = pytest.mark.e2e
PASSWORD = "e2e-team-password"


def call(base: str, method: str, path: str, credential: str | None, payload: object = None):
    headers = {"Content-Type": "application/json"}
    if credential:
        headers["Authorization"] = f"Bearer {credential}"
    body = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def sign_in(base: str, username: str) -> str:
    code, answer = call(
        base, "POST", "/admin/auth/login", None, {"username": username, "password": PASSWORD}
    )
    assert code == 200, answer
    assert 0 < answer["expires_in"] <= 43200
    return answer["token"]


def test_roles_four_eyes_and_audit_on_make_run(tmp_path):
    stack = start_stack({"WXLESS_LOCAL_STATE": str(tmp_path / "state")})
    try:
        base = stack.base
        for username, role in (("planner", "operator"), ("boss", "admin"), ("writer", "editor")):
            code, user = call(
                base,
                "POST",
                "/admin/users",
                wxsim.ADMIN,
                {"username": username, "role": role, "password": PASSWORD},
            )
            assert code == 201, user
            assert "password" not in user
        planner, boss, writer = (sign_in(base, u) for u in ("planner", "boss", "writer"))
        assert (
            call(base, "POST", "/admin/users", writer, {"username": "x", "role": "admin"})[0] == 403
        )
        code, _ = call(base, "PUT", "/admin/settings/approvals", boss, {"campaigns": True})
        assert code == 200

        send_at = int(time.time()) + 3
        code, campaign = call(
            base,
            "POST",
            "/admin/campaigns",
            planner,
            {
                "name": "e2e four eyes",
                "type": "mass",
                "send_at": send_at,
                "audience": {"type": "openids", "openids": ["o_e2e_4eyes_1", "o_e2e_4eyes_2"]},
                "content": {"type": "text", "content": "四眼原则"},
            },
        )
        assert code == 201, campaign
        assert campaign["status"] == "pending_approval"
        path = f"/admin/campaigns/{campaign['id']}"
        time.sleep(35)  # past send_at, two dispatcher runs at least
        assert call(base, "GET", path, wxsim.ADMIN)[1]["status"] == "pending_approval"
        assert call(base, "POST", f"{path}/approve", planner, {})[0] == 403
        code, approved = call(base, "POST", f"{path}/approve", boss, {"comment": "ok"})
        assert code == 200 and approved["status"] == "scheduled", approved
        deadline = time.monotonic() + 60
        status = "scheduled"
        while time.monotonic() < deadline:
            status = call(base, "GET", path, wxsim.ADMIN)[1]["status"]
            if status in ("running", "completed"):
                break
            time.sleep(1)
        assert status in ("running", "completed")

        code, audit = call(base, "GET", f"/admin/audit?limit=100&path={path}", wxsim.ADMIN)
        assert code == 200
        assert [(e["actor"], e["status"]) for e in audit["items"]] == [
            ("boss", 200),
            ("planner", 403),
        ]
        code, audit = call(base, "GET", "/admin/audit?limit=200", boss)
        assert any(
            e["actor"] == "planner" and e["path"] == "/admin/campaigns" for e in audit["items"]
        )
        assert any(e.get("event") == "sign_in" and e["actor"] == "boss" for e in audit["items"])
        assert call(base, "GET", "/admin/audit", writer)[0] == 403
    finally:
        assert stack.stop() == 0

    again = start_stack({"WXLESS_LOCAL_STATE": str(tmp_path / "state")})
    try:
        token = sign_in(again.base, "boss")  # the people came back, in a new pool
        code, users = call(again.base, "GET", "/admin/users", token)
        assert code == 200
        assert {u["username"] for u in users["items"]} == {"planner", "boss", "writer"}
    finally:
        again.stop()
