"""The permission matrix: every admin route x every role, generated from the routes' own
declarations (`@admin("<area>:<action>")`), so a new route is in it the day it is added, and a
route that declares no permission fails here."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from chalicelib.access import roles
from tests import wxsim
from tests.functional.helpers import body_json

PARAM = re.compile(r"\{(\w+)\}")


def admin_routes() -> list[tuple[str, str, str | None]]:
    from app import app
    from chalicelib.handlers.routing import declared_permissions

    return sorted((p, m, perm) for (p, m), perm in declared_permissions(app).items())


def concrete(path: str) -> str:
    return PARAM.sub(lambda m: f"matrix-{m.group(1)}", path)


def snapshot() -> dict[str, Any]:
    """Every item of every table but the audit log's, and every stored object."""
    from chalicelib.store.aws import client
    from chalicelib.store.models import all_models

    out: dict[str, Any] = {}
    for model in all_models():
        name = model.Meta.table_name
        if name.endswith("-audit"):
            continue
        items = client("dynamodb").scan(TableName=name).get("Items", [])
        out[name] = sorted(json.dumps(i, sort_keys=True, default=str) for i in items)
    s3 = client("s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        listed = s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", [])
        out[f"s3:{bucket['Name']}"] = sorted((o["Key"], o["ETag"]) for o in listed)
    return out


def test_every_admin_route_declares_a_known_permission():
    routes = admin_routes()
    assert len(routes) > 80
    undeclared = [f"{m} {p}" for p, m, perm in routes if perm is None]
    assert not undeclared, f"declare a permission with @admin('<area>:<action>'): {undeclared}"
    unknown = [
        f"{m} {p}: {perm}"
        for p, m, perm in routes
        if perm != roles.PUBLIC and not roles.is_permission(perm or "")
    ]
    assert not unknown, f"unknown permissions (add the area to access/roles.py): {unknown}"
    public = {(p, m) for p, m, perm in routes if perm == roles.PUBLIC}
    assert public == {("/admin/auth/login", "POST"), ("/admin/auth/challenge", "POST")}


def test_a_route_without_a_declaration_is_owner_and_admin_only(client):
    """Bare `@admin` (a route merged before it declared its permission) is shut, not open."""
    from chalice import Blueprint

    from chalicelib.handlers.common import admin_route

    bp = Blueprint("matrix_probe")

    @bp.route("/admin/probe", methods=["GET"])
    @admin_route(bp)
    def probe() -> dict:
        return {}

    assert probe.permission is None
    assert roles.allows(roles.ADMIN, "(undeclared)") and roles.allows(roles.OWNER, "(undeclared)")
    for role in roles.ROLES[2:]:
        assert not roles.allows(role, "(undeclared)")


@pytest.fixture
def credentials(team) -> dict[str, str]:
    """A credential per role: the owner's token, an API key of each other role."""
    out = {role: team.key(role) for role in roles.ASSIGNABLE}
    out[roles.OWNER] = wxsim.ADMIN
    return out


def _call(team, method: str, path: str, credential: str) -> Any:
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return team.call(method, concrete(path), credential, body)


def test_matrix_refused_calls_are_403_and_change_nothing(team, credentials, fake_wechat):
    from chalicelib.access import audit

    routes = [r for r in admin_routes() if r[2] != roles.PUBLIC]
    before = snapshot()
    wechat_calls = len([c for c in fake_wechat.calls if "token" not in c.path])
    refused_writes = 0
    checked = 0
    for path, method, permission in routes:
        for role in roles.ROLES:
            if roles.allows(role, permission):
                continue
            response = _call(team, method, path, credentials[role])
            where = f"{role}: {method} {path} ({permission})"
            assert response.status_code == 403, f"{where} -> {response.status_code}"
            assert isinstance(body_json(response).get("error"), str), where
            refused_writes += method != "GET"
            checked += 1
    assert checked > 300
    assert snapshot() == before, "a refused call wrote something"
    assert len([c for c in fake_wechat.calls if "token" not in c.path]) == wechat_calls
    # Every refused write is in the audit log, once, as refused.
    entries = audit.listing(limit=5000)
    assert sum(1 for e in entries if e["status"] == 403) == refused_writes


def test_matrix_allowed_calls_pass_the_gate(team, credentials, fake_wechat):
    for path, method, permission in admin_routes():
        if permission == roles.PUBLIC:
            continue
        for role in roles.ROLES:
            if not roles.allows(role, permission):
                continue
            response = _call(team, method, path, credentials[role])
            where = f"{role}: {method} {path} ({permission}) -> {response.status_code}"
            # The route's own answer (400 for an empty body, 404 for a made-up id, ...), but
            # never the gate's refusal.
            assert response.status_code not in (401, 403), f"{where} {response.body[:200]!r}"


# What the contract says each role may do, written out independently of access/roles.py.
GET, POST, PUT, PATCH, DELETE = "GET", "POST", "PUT", "PATCH", "DELETE"
READS = [
    "/admin/rules",
    "/admin/replies/{kind}",
    "/admin/messages",
    "/admin/articles",
    "/admin/categories",
    "/admin/media",
    "/admin/menu",
    "/admin/points",
    "/admin/flows",
    "/admin/campaigns",
    "/admin/followers",
    "/admin/tags",
    "/admin/stats/messages",
]
PRIVATE = ["/admin/users", "/admin/api-keys", "/admin/audit"]
EDITOR_WRITES = [
    (POST, "/admin/rules"),
    (PUT, "/admin/replies/{kind}"),
    (POST, "/admin/articles"),
    (POST, "/admin/categories"),
    (POST, "/admin/media"),
    (PUT, "/admin/menu"),
    (POST, "/admin/points"),
    (POST, "/admin/flows"),
]
OPERATOR_WRITES = [
    (POST, "/admin/campaigns"),
    (POST, "/admin/campaigns/{campaign_id}/cancel"),
    (PATCH, "/admin/followers/{openid}"),
    (POST, "/admin/tags"),
]
ADMIN_ONLY = [
    (POST, "/admin/users"),
    (POST, "/admin/api-keys"),
    (PUT, "/admin/settings/approvals"),
    (POST, "/admin/campaigns/{campaign_id}/approve"),
]


def _may(role: str, method: str, path: str) -> bool:
    declared = {(p, m): perm for p, m, perm in admin_routes()}
    return roles.allows(role, declared[(path, method)] or "")


def test_the_contracts_roles():
    for path in READS:
        assert _may("analyst", GET, path), path
        assert _may("editor", GET, path) and _may("operator", GET, path), path
        assert not _may("notifier", GET, path), path
    for path in PRIVATE:
        for role in ("analyst", "editor", "operator", "agent", "notifier"):
            assert not _may(role, GET, path), (role, path)
        assert _may("admin", GET, path)
    for method, path in EDITOR_WRITES:
        assert _may("editor", method, path), (method, path)
        for role in ("analyst", "operator", "agent", "notifier"):
            assert not _may(role, method, path), (role, method, path)
    for method, path in OPERATOR_WRITES:
        assert _may("operator", method, path), (method, path)
        for role in ("analyst", "editor", "agent", "notifier"):
            assert not _may(role, method, path), (role, method, path)
    for method, path in ADMIN_ONLY:
        assert _may("admin", method, path) and _may("owner", method, path)
        for role in ("editor", "operator", "analyst", "agent", "notifier"):
            assert not _may(role, method, path), (role, method, path)
    # agent: reads messages, followers (and conversations), replies to followers; nothing else
    assert _may("agent", GET, "/admin/messages")
    assert _may("agent", GET, "/admin/followers")
    assert _may("agent", GET, "/admin/followers/{openid}")
    assert _may("agent", POST, "/admin/messages/custom")
    assert not _may("agent", GET, "/admin/rules")
    assert not _may("agent", POST, "/admin/campaigns")
    # analyst writes nothing (a POST that only reads, like trying the knowledge base on a text,
    # declares a read); notifier calls the notify API and nothing else
    reads_by_post = {(POST, "/admin/faq/try"), (POST, "/admin/templates/check")}
    for path, method, permission in admin_routes():
        if permission == roles.PUBLIC:
            continue
        if method != GET and (method, path) not in reads_by_post:
            assert not _may("analyst", method, path), (method, path)
        notify_api = path.startswith("/admin/notify")
        assert _may("notifier", method, path) == notify_api, (method, path)
    assert roles.allows("notifier", "notify:send")
    assert [r for r in roles.ROLES if roles.allows(r, "notify:send")] == [
        "owner",
        "admin",
        "operator",
        "notifier",
    ]


def test_the_openapi_document_shows_each_routes_permission(team):
    doc = body_json(team.call("GET", "/admin/openapi.json", wxsim.ADMIN))
    for path, method, permission in admin_routes():
        operation = doc["paths"][path][method.lower()]
        assert operation["x-permission"] == permission, (method, path)
        if permission != roles.PUBLIC:
            assert operation["x-roles"] == roles.roles_for(permission)
            assert "403" in operation["responses"]
