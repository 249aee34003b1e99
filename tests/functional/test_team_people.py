"""Users, API keys, four eyes on campaigns and the admin network guard (CONTRACT.md section 4)."""

from __future__ import annotations

import time

import pytest

from chalicelib.jobs import campaigns as campaign_jobs
from chalicelib.store import team as team_table
from chalicelib.wechat.api import StaticTokenProvider, WeChatClient
from tests import wxsim
from tests.functional.helpers import body_json, text_rule
from tests.team import PASSWORD

SENDALL = "/cgi-bin/message/mass/sendall"


# -- users ------------------------------------------------------------------------------------


def test_create_list_change_delete_a_user(team):
    created = team.call(
        "POST",
        "/admin/users",
        wxsim.ADMIN,
        {"username": "wang.fang", "role": "operator", "password": PASSWORD},
    )
    assert created.status_code == 201
    user = body_json(created)
    assert user["username"] == "wang.fang" and user["role"] == "operator"
    assert user["disabled"] is False and user["created_by"] == "owner"
    assert "password" not in created.body.decode() and PASSWORD not in created.body.decode()
    listed = body_json(team.call("GET", "/admin/users", wxsim.ADMIN))["items"]
    assert [u["username"] for u in listed] == ["wang.fang"]
    assert PASSWORD not in str(listed)
    changed = team.call("PATCH", "/admin/users/wang.fang", wxsim.ADMIN, {"role": "editor"})
    assert changed.status_code == 200 and body_json(changed)["role"] == "editor"
    assert body_json(team.sign_in("wang.fang"))["role"] == "editor"
    assert team.call("DELETE", "/admin/users/wang.fang", wxsim.ADMIN).status_code == 204
    assert body_json(team.call("GET", "/admin/users", wxsim.ADMIN))["items"] == []
    assert team.call("DELETE", "/admin/users/wang.fang", wxsim.ADMIN).status_code == 404
    assert (
        team.call("PATCH", "/admin/users/nobody", wxsim.ADMIN, {"role": "agent"}).status_code == 404
    )


def test_a_taken_username_is_409(team):
    team.user("editor", "li.na")
    again = team.call(
        "POST",
        "/admin/users",
        wxsim.ADMIN,
        {"username": "li.na", "role": "agent", "password": "x" * 12},
    )
    assert again.status_code == 409 and "error" in body_json(again)
    assert body_json(team.sign_in("li.na"))["role"] == "editor"  # the first one, untouched


@pytest.mark.parametrize(
    "body",
    [
        {"username": "ab", "role": "editor", "password": PASSWORD},  # too short
        {"username": "Upper", "role": "editor", "password": PASSWORD},
        {"username": "a b c", "role": "editor", "password": PASSWORD},
        {"username": "x" * 65, "role": "editor", "password": PASSWORD},
        {"username": "someone", "role": "owner", "password": PASSWORD},  # not assignable
        {"username": "someone", "role": "root", "password": PASSWORD},
        {"username": "someone", "role": "editor"},
        {"username": "someone", "role": "editor", "password": "short"},  # the pool's policy
    ],
)
def test_bad_users_are_400_and_make_nothing(team, body):
    response = team.call("POST", "/admin/users", wxsim.ADMIN, body)
    assert response.status_code == 400 and "error" in body_json(response)
    assert body_json(team.call("GET", "/admin/users", wxsim.ADMIN))["items"] == []


@pytest.mark.parametrize(
    "body", [{}, {"role": "owner"}, {"disabled": "yes"}, {"password": "new-one-please"}]
)
def test_bad_user_changes_are_400(team, body):
    team.user("agent", "zhao.lei")
    response = team.call("PATCH", "/admin/users/zhao.lei", wxsim.ADMIN, body)
    assert response.status_code == 400
    assert body_json(team.call("GET", "/admin/users/zhao.lei", wxsim.ADMIN))["role"] == "agent"


def test_an_admin_user_manages_users_but_an_editor_may_not(team):
    admin_token = team.token("admin", "chief")
    made = team.call(
        "POST",
        "/admin/users",
        admin_token,
        {"username": "new.hire", "role": "analyst", "password": PASSWORD},
    )
    assert made.status_code == 201 and body_json(made)["created_by"] == "chief"
    editor = team.token("editor", "writer")
    assert team.call("GET", "/admin/users", editor).status_code == 403
    refused = team.call(
        "POST",
        "/admin/users",
        editor,
        {"username": "sneaky", "role": "admin", "password": PASSWORD},
    )
    assert refused.status_code == 403 and "error" in body_json(refused)
    assert team.call("GET", "/admin/users/sneaky", wxsim.ADMIN).status_code == 404


# -- API keys ---------------------------------------------------------------------------------


def test_a_key_is_shown_once_stored_as_a_hash_and_works_as_its_role(team):
    created = team.call(
        "POST", "/admin/api-keys", wxsim.ADMIN, {"name": "core-bank", "role": "editor"}
    )
    assert created.status_code == 201
    answer = body_json(created)
    key, key_id = answer["key"], answer["id"]
    assert key.startswith("wxk_") and key_id
    listed = team.call("GET", "/admin/api-keys", wxsim.ADMIN)
    assert key not in listed.body.decode()
    (shown,) = body_json(listed)["items"]
    assert shown["id"] == key_id and shown["name"] == "core-bank" and shown["role"] == "editor"
    assert "key" not in shown and "hash" not in shown
    stored = team_table.get(team_table.APIKEY, key_id)
    assert key not in str(stored) and key.rsplit("_", 1)[1] not in str(stored)
    assert team.call("POST", "/admin/rules", key, text_rule("k", "v")).status_code == 201
    assert team.call("POST", "/admin/campaigns", key, {}).status_code == 403
    me = body_json(team.call("GET", "/admin/auth/me", key))
    assert me["actor"] == "key:core-bank" and me["kind"] == "key"


def test_a_revoked_key_stops_within_5_s(team):
    key = team.key("analyst", "reports")
    key_id = body_json(team.call("GET", "/admin/api-keys", wxsim.ADMIN))["items"][0]["id"]
    assert team.call("GET", "/admin/rules", key).status_code == 200
    started = time.monotonic()
    assert team.call("DELETE", f"/admin/api-keys/{key_id}", wxsim.ADMIN).status_code == 204
    while team.call("GET", "/admin/rules", key).status_code == 200:
        assert time.monotonic() - started < 5
        time.sleep(0.2)
    assert team.call("GET", "/admin/rules", key).status_code == 401
    (shown,) = body_json(team.call("GET", "/admin/api-keys", wxsim.ADMIN))["items"]
    assert shown["revoked"] is True and shown["revoked_by"] == "owner"
    assert team.call("DELETE", "/admin/api-keys/no-such-key", wxsim.ADMIN).status_code == 404


def test_forged_and_tampered_keys_are_401(team):
    key = team.key("admin", "ops")
    key_id = key.split("_")[1]
    for bad in (key[:-2] + "xx", f"wxk_{key_id}_", "wxk_nope_secret", "wxk_"):
        assert team.call("GET", "/admin/rules", bad).status_code == 401, bad


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x"},
        {"role": "editor"},
        {"name": "line\nbreak", "role": "editor"},
        {"name": "   ", "role": "editor"},
        {"name": "k" * 65, "role": "editor"},
        {"name": 7, "role": "editor"},
        {"name": "k", "role": "owner"},
    ],
)
def test_bad_keys_are_400(team, body):
    assert team.call("POST", "/admin/api-keys", wxsim.ADMIN, body).status_code == 400


def test_key_names_are_labels_and_the_audit_tells_same_named_keys_apart(team):
    made = [
        team.call("POST", "/admin/api-keys", wxsim.ADMIN, {"name": "报表 job 1", "role": role})
        for role in ("analyst", "editor")
    ]
    assert [r.status_code for r in made] == [201, 201]
    analyst, editor = (body_json(r) for r in made)
    assert analyst["id"] != editor["id"] and analyst["name"] == editor["name"] == "报表 job 1"
    rule = text_rule("labels", "ok")
    assert team.call("POST", "/admin/rules", analyst["key"], rule).status_code == 403
    assert team.call("POST", "/admin/rules", editor["key"], rule).status_code == 201
    entries = body_json(team.call("GET", "/admin/audit?limit=5", wxsim.ADMIN))["items"]
    by_key = [(e["key_id"], e["status"]) for e in entries if e["actor"] == "key:报表 job 1"]
    assert by_key == [(editor["id"], 201), (analyst["id"], 403)]  # newest first


# -- four eyes on campaigns ---------------------------------------------------------------------


def _dispatch(fake_wechat, at: float) -> dict:
    wx = WeChatClient(
        fake_wechat.url, token_provider=StaticTokenProvider(fake_wechat.issue_token())
    )
    return campaign_jobs.dispatch(wx, clock=lambda: at, sleep=lambda s: None, budget=30)


def _campaign(send_at: float, audience: dict | None = None) -> dict:
    return {
        "name": "季度回馈",
        "type": "mass",
        "send_at": send_at,
        "audience": audience or {"type": "all"},
        "content": {"type": "text", "content": "感谢您的支持"},
    }


def test_approvals_setting(team):
    assert body_json(team.call("GET", "/admin/settings/approvals", wxsim.ADMIN)) == {
        "campaigns": False
    }
    on = team.call("PUT", "/admin/settings/approvals", wxsim.ADMIN, {"campaigns": True})
    assert on.status_code == 200 and body_json(on) == {"campaigns": True}
    for bad in ({"campaigns": "yes"}, {}, {"articles": True}):
        assert team.call("PUT", "/admin/settings/approvals", wxsim.ADMIN, bad).status_code == 400
    operator = team.key("operator")
    assert (
        team.call("PUT", "/admin/settings/approvals", operator, {"campaigns": False}).status_code
        == 403
    )
    assert body_json(team.call("GET", "/admin/settings/approvals", operator)) == {"campaigns": True}


def test_a_pending_campaign_never_fires_until_another_admin_approves(team, fake_wechat):
    fake_wechat.add_follower("o_someone")
    team.call("PUT", "/admin/settings/approvals", wxsim.ADMIN, {"campaigns": True})
    operator = team.token("operator", "planner")
    boss = team.token("admin", "boss")
    now = time.time()
    created = team.call("POST", "/admin/campaigns", operator, _campaign(now + 60))
    assert created.status_code == 201, created.body
    campaign = body_json(created)
    assert campaign["status"] == "pending_approval" and campaign["created_by"] == "planner"
    # Past its send time, the dispatcher runs again and again: it never fires.
    for later in (120, 600, 3600):
        assert _dispatch(fake_wechat, now + later)["started"] == []
    assert fake_wechat.count(SENDALL) == 0
    # The operator may not approve (no permission); the approver may not be its creator.
    path = f"/admin/campaigns/{campaign['id']}"
    assert team.call("POST", f"{path}/approve", operator, {}).status_code == 403
    approved = team.call("POST", f"{path}/approve", boss, {"comment": "ok, checked the text"})
    assert approved.status_code == 200, approved.body
    assert body_json(approved)["status"] == "scheduled"
    assert body_json(approved)["approved_by"] == "boss"
    assert _dispatch(fake_wechat, now + 3700)["started"] == [campaign["id"]]
    assert fake_wechat.count(SENDALL) == 1
    again = team.call("POST", f"{path}/approve", boss, {})
    assert again.status_code == 409
    audit = body_json(team.call("GET", f"/admin/audit?path={path}", wxsim.ADMIN))["items"]
    decided = [e for e in audit if e["path"].endswith("/approve")]
    assert [(e["actor"], e["status"]) for e in decided] == [
        ("boss", 409),
        ("boss", 200),
        ("planner", 403),
    ]
    assert decided[1]["before"]["status"] == "pending_approval"
    assert decided[1]["after"]["status"] == "scheduled"


def test_the_creator_may_not_approve_even_as_admin_or_owner(team, fake_wechat):
    team.call("PUT", "/admin/settings/approvals", wxsim.ADMIN, {"campaigns": True})
    boss = team.token("admin", "boss")
    mine = body_json(team.call("POST", "/admin/campaigns", boss, _campaign(time.time() + 600)))
    refused = team.call("POST", f"/admin/campaigns/{mine['id']}/approve", boss, {})
    assert refused.status_code == 403 and "creator" in body_json(refused)["error"]
    # to chosen followers: a second send to all the same Beijing day is refused (409)
    chosen = {"type": "openids", "openids": ["o_team_1", "o_team_2"]}
    owners = body_json(
        team.call("POST", "/admin/campaigns", wxsim.ADMIN, _campaign(time.time() + 700, chosen))
    )
    own = team.call("POST", f"/admin/campaigns/{owners['id']}/approve", wxsim.ADMIN, {})
    assert own.status_code == 403
    assert (
        team.call("POST", f"/admin/campaigns/{owners['id']}/approve", boss, {}).status_code == 200
    )
    assert (
        team.call("POST", f"/admin/campaigns/{mine['id']}/approve", wxsim.ADMIN, {}).status_code
        == 200
    )


def test_a_rejected_campaign_never_fires_and_says_why(team, fake_wechat):
    team.call("PUT", "/admin/settings/approvals", wxsim.ADMIN, {"campaigns": True})
    operator = team.token("operator", "planner")
    now = time.time()
    campaign = body_json(team.call("POST", "/admin/campaigns", operator, _campaign(now + 60)))
    path = f"/admin/campaigns/{campaign['id']}/reject"
    assert team.call("POST", path, wxsim.ADMIN, {}).status_code == 400  # say why
    rejected = team.call("POST", path, wxsim.ADMIN, {"comment": "wrong audience"})
    assert rejected.status_code == 200
    shown = body_json(rejected)
    assert shown["status"] == "rejected" and shown["decision_comment"] == "wrong audience"
    assert shown["rejected_by"] == "owner"
    assert _dispatch(fake_wechat, now + 3600)["started"] == []
    assert fake_wechat.count(SENDALL) == 0


def test_with_approvals_off_a_campaign_is_scheduled_at_once(team, fake_wechat):
    operator = team.token("operator", "planner")
    campaign = body_json(
        team.call("POST", "/admin/campaigns", operator, _campaign(time.time() + 60))
    )
    assert campaign["status"] == "scheduled" and campaign["created_by"] == "planner"
    cancelled = team.call("POST", f"/admin/campaigns/{campaign['id']}/approve", wxsim.ADMIN, {})
    assert cancelled.status_code == 409  # nothing to approve


def test_a_pending_campaign_can_be_cancelled(team, fake_wechat):
    team.call("PUT", "/admin/settings/approvals", wxsim.ADMIN, {"campaigns": True})
    campaign = body_json(
        team.call("POST", "/admin/campaigns", wxsim.ADMIN, _campaign(time.time() + 60))
    )
    cancelled = team.call("POST", f"/admin/campaigns/{campaign['id']}/cancel", wxsim.ADMIN, {})
    assert cancelled.status_code == 200 and body_json(cancelled)["status"] == "cancelled"


# -- the admin network guard -------------------------------------------------------------------


def test_the_admin_api_answers_only_listed_networks(team, monkeypatch):
    assert team.call("GET", "/admin/rules", wxsim.ADMIN).status_code == 200
    monkeypatch.setenv("WXLESS_ADMIN_ALLOWED_CIDRS", "203.0.113.0/24, 2001:db8::/32")
    refused = team.call("GET", "/admin/rules", wxsim.ADMIN)  # the test client's address: none
    assert refused.status_code == 403 and "error" in body_json(refused)
    assert (
        team.call("POST", "/admin/auth/login", None, {"username": "a", "password": "b"}).status_code
        == 403
    )
    monkeypatch.setenv("WXLESS_ADMIN_ALLOWED_CIDRS", "not-a-network")
    assert team.call("GET", "/admin/rules", wxsim.ADMIN).status_code == 403  # shut, not open


def test_network_ranges():
    from chalicelib.access.network import allowed, parse

    ranges = parse("203.0.113.0/24, 2001:db8::/32,10.1.2.3")
    assert allowed("203.0.113.77", ranges) and allowed("2001:db8::1", ranges)
    assert allowed("10.1.2.3", ranges) and not allowed("10.1.2.4", ranges)
    assert not allowed("unknown", ranges) and allowed("anything", parse(""))
