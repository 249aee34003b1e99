"""The audit log: one entry per admin write (allowed or refused) and per sign-in, what it says,
how it is read, and what happens when it cannot be written."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import time
from collections.abc import Iterator

import botocore.client
import pytest
from botocore.exceptions import ClientError

from chalicelib.access import roles
from tests import wxsim
from tests.functional.helpers import body_json, text_rule
from tests.functional.test_team_matrix import admin_routes, concrete
from tests.team import PASSWORD

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def entries(team, **query) -> list[dict]:
    qs = "&".join(f"{k}={v}" for k, v in {"limit": 1000, **query}.items())
    response = team.call("GET", f"/admin/audit?{qs}", wxsim.ADMIN)
    assert response.status_code == 200, response.body
    return body_json(response)["items"]


def test_every_write_route_produces_exactly_one_entry(team, fake_wechat):
    writes = [(p, m) for p, m, perm in admin_routes() if m in WRITES and perm != roles.PUBLIC]
    assert len(writes) > 40
    for path, method in writes:
        team.call(method, concrete(path), wxsim.ADMIN, {} if method != "DELETE" else None)
    found = entries(team)
    for path, method in writes:
        mine = [e for e in found if e["path"] == concrete(path) and e["method"] == method]
        assert len(mine) == 1, f"{method} {path}: {len(mine)} entries"
        assert mine[0]["actor"] == "owner" and mine[0]["role"] == "owner"
        assert isinstance(mine[0]["status"], int), mine[0]
    assert len(found) == len(writes)  # and nothing else (reads are not audited)


def test_an_entry_says_who_what_and_before_after(team):
    token = team.token("editor", "ed.one")
    created = body_json(team.call("POST", "/admin/rules", token, text_rule("hi", "hello")))
    changed = {**text_rule("hi", "hello again"), "priority": 5}
    assert team.call("PUT", f"/admin/rules/{created['id']}", token, changed).status_code == 200
    assert team.call("DELETE", f"/admin/rules/{created['id']}", token).status_code == 204
    newest = entries(team, actor="ed.one", path="/admin/rules")
    assert [e["method"] for e in newest] == ["DELETE", "PUT", "POST"]  # newest first
    delete, put, post = newest
    assert post["status"] == 201 and post["target"] == created["id"]
    assert post["after"]["reply"]["content"] == "hello" and "before" not in post
    assert put["before"]["reply"]["content"] == "hello"
    assert put["after"]["reply"]["content"] == "hello again" and put["after"]["priority"] == 5
    assert put["request"]["priority"] == 5
    assert delete["status"] == 204 and delete["before"]["id"] == created["id"]
    for entry in newest:
        assert entry["actor"] == "ed.one" and entry["role"] == "editor"
        assert entry["at_iso"].endswith("Z") and entry["path"].startswith("/admin/rules")
        assert abs(time.time() - entry["at"]) < 60


def test_refused_writes_are_logged_reads_and_401s_are_not(team):
    token = team.token("analyst", "an.one")
    assert team.call("POST", "/admin/rules", token, text_rule("a", "b")).status_code == 403
    assert team.call("GET", "/admin/rules", token).status_code == 200
    assert team.call("POST", "/admin/rules", "wrong-token", text_rule("a", "b")).status_code == 401
    found = [e for e in entries(team) if e["path"] == "/admin/rules"]
    assert len(found) == 1
    assert found[0]["status"] == 403 and found[0]["actor"] == "an.one"
    assert found[0]["request"]["keywords"] == ["a"]


def test_sign_ins_and_failed_sign_ins_are_logged_without_the_password(team):
    team.user("operator", "op.one")
    assert team.sign_in("op.one").status_code == 200
    assert team.sign_in("op.one", "a-wrong-password").status_code == 401
    assert team.sign_in("nobody").status_code == 401
    found = entries(team, path="/admin/auth/login")
    assert [(e["actor"], e["status"], e["event"]) for e in found] == [
        ("nobody", 401, "sign_in_failed"),
        ("op.one", 401, "sign_in_failed"),
        ("op.one", 200, "sign_in"),
    ]
    text = json.dumps(entries(team))
    assert PASSWORD not in text and "a-wrong-password" not in text


def test_no_secret_ever_reaches_the_log(team):
    created = body_json(
        team.call("POST", "/admin/api-keys", wxsim.ADMIN, {"name": "core", "role": "notifier"})
    )
    team.user("admin", "adm", password="Sup3r-secret-pw")
    token = body_json(team.sign_in("adm", "Sup3r-secret-pw"))["token"]
    team.call("POST", "/admin/rules", token, {**text_rule("k", "v"), "password": "x-in-body"})
    text = json.dumps(entries(team))
    for secret in (created["key"], "Sup3r-secret-pw", token, "x-in-body", wxsim.ADMIN):
        assert secret not in text
    assert "[redacted]" in text


def test_filters_date_range_and_csv(team):
    team.call("POST", "/admin/rules", wxsim.ADMIN, text_rule("one", "1"))
    token = team.token("editor", "ed.two")
    team.call("POST", "/admin/rules", token, text_rule("two", "2"))
    team.call("PUT", "/admin/replies/default", token, {"type": "text", "content": "?"})
    assert {e["actor"] for e in entries(team, actor="ed.two")} == {"ed.two"}
    assert {e["path"] for e in entries(team, path="/admin/replies")} == {"/admin/replies/default"}
    assert len(entries(team, limit=1)) == 1
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert len(entries(team, **{"from": today, "to": today})) >= 4  # user creation included
    assert entries(team, **{"from": "2001-01-01", "to": "2001-01-02"}) == []
    bad = team.call("GET", "/admin/audit?from=yesterday", wxsim.ADMIN)
    assert bad.status_code == 400 and "error" in body_json(bad)
    exported = team.call("GET", "/admin/audit?format=csv&actor=ed.two", wxsim.ADMIN)
    assert exported.status_code == 200
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.body.decode())))
    assert {r["actor"] for r in rows} == {"ed.two"} and len(rows) == 3
    assert all(r["at_iso"].endswith("Z") for r in rows)
    assert [r["path"] for r in rows] == [
        "/admin/replies/default",
        "/admin/rules",
        "/admin/auth/login",
    ]
    assert json.loads(rows[0]["change"])["request"] == {"type": "text", "content": "?"}


def test_csv_cells_cannot_become_formulas(team):
    team.call("POST", "/admin/rules", wxsim.ADMIN, text_rule("=HYPERLINK(1)", "x"))
    rows = list(
        csv.DictReader(
            io.StringIO(team.call("GET", "/admin/audit?format=csv", wxsim.ADMIN).body.decode())
        )
    )
    assert rows and all(not v.startswith(("=", "+", "@")) for r in rows for v in r.values())


def test_only_admins_and_the_owner_read_the_log(team):
    for role in ("editor", "operator", "analyst", "agent", "notifier"):
        assert team.call("GET", "/admin/audit", team.key(role)).status_code == 403
    assert team.call("GET", "/admin/audit", team.key("admin")).status_code == 200


def test_key_actions_are_logged_as_the_keys_name(team):
    key = team.key("editor", "cms-sync")
    team.call("POST", "/admin/rules", key, text_rule("k", "v"))
    assert [e["actor"] for e in entries(team, path="/admin/rules")] == ["key:cms-sync"]


# -- faults ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def failing(operation: str, table_suffix: str | None = None) -> Iterator[list[str]]:
    """Make `operation` fail (on one table only, with `table_suffix`) as AWS would."""
    original = botocore.client.BaseClient._make_api_call
    fired: list[str] = []

    def wrapped(self, name, params):
        table = str(params.get("TableName", ""))
        if name == operation and (table_suffix is None or table.endswith(table_suffix)):
            fired.append(name)
            raise ClientError({"Error": {"Code": "InternalServerError", "Message": "x"}}, name)
        return original(self, name, params)

    botocore.client.BaseClient._make_api_call = wrapped
    try:
        yield fired
    finally:
        botocore.client.BaseClient._make_api_call = original


def test_audit_log_down_the_change_is_refused_with_503_and_nothing_is_written(team):
    token = team.token("editor", "ed.three")
    with failing("PutItem", "-audit") as fired:
        response = team.call("POST", "/admin/rules", token, text_rule("down", "x"))
        refused = team.call("POST", "/admin/users", token, {"username": "zz", "role": "admin"})
    assert fired
    assert response.status_code == 503
    assert "audit" in body_json(response)["error"] and body_json(response)["retryable"] is True
    assert refused.status_code == 503  # even a refusal is not answered unrecorded
    assert body_json(team.call("GET", "/admin/rules", token))["items"] == []
    assert [e for e in entries(team) if e["path"] == "/admin/rules"] == []


def test_outcome_not_recorded_the_change_stands_and_the_entry_says_so(team):
    with failing("UpdateItem", "-audit") as fired:
        response = team.call("POST", "/admin/rules", wxsim.ADMIN, text_rule("half", "x"))
    assert fired and response.status_code == 201  # answered: the change was made
    (entry,) = [e for e in entries(team) if e["path"] == "/admin/rules"]
    assert entry["status"] is None and entry["actor"] == "owner"  # made, outcome unrecorded
    assert entry["request"]["keywords"] == ["half"]


def test_sign_in_is_refused_when_it_cannot_be_logged(team):
    team.user("analyst", "quiet")
    with failing("PutItem", "-audit"):
        response = team.sign_in("quiet")
    assert response.status_code == 503 and "token" not in body_json(response)


@pytest.mark.parametrize(
    "operation", ["AdminCreateUser", "AdminSetUserPassword", "AdminAddUserToGroup"]
)
def test_cognito_down_while_creating_a_user_leaves_nothing_behind(team, operation):
    from chalicelib.store.aws import client as aws_client

    with failing(operation) as fired:
        response = team.call(
            "POST",
            "/admin/users",
            wxsim.ADMIN,
            {"username": "half.made", "role": "editor", "password": PASSWORD},
        )
    assert fired and response.status_code == 503
    assert "Cognito" in body_json(response)["error"]
    assert team.call("GET", "/admin/users/half.made", wxsim.ADMIN).status_code == 404
    users = aws_client("cognito-idp").list_users(UserPoolId=team.pool_id)["Users"]
    assert [u["Username"] for u in users] == []
    # and it can be made once Cognito is back
    team.user("editor", "half.made")


def test_cognito_down_while_disabling_keeps_the_user_as_it_was(team):
    token = team.token("editor", "stays")
    with failing("AdminDisableUser") as fired:
        response = team.call("PATCH", "/admin/users/stays", wxsim.ADMIN, {"disabled": True})
    assert fired and response.status_code == 503
    assert body_json(team.call("GET", "/admin/users/stays", wxsim.ADMIN))["disabled"] is False
    time.sleep(2.1)  # past the state cache: the token is still good
    assert team.call("GET", "/admin/rules", token).status_code == 200


def test_cognito_down_at_sign_in_is_503_not_401(team):
    team.user("editor", "later")
    with failing("AdminInitiateAuth"):
        response = team.sign_in("later")
    assert response.status_code == 503 and body_json(response)["retryable"] is True
