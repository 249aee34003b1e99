"""Team access: signing in, who am I, users, API keys and the approvals setting
(described in chalicelib/openapi/team.py; the services are in chalicelib/access)."""

from __future__ import annotations

import logging
from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.access import apikeys, audit, roles, settings, users
from chalicelib.errors import InvalidInput, Unauthorized, Unavailable
from chalicelib.handlers.common import admin_route, json_response, read_object
from chalicelib.handlers.gate import AUDIT_UNAVAILABLE, concrete_path, principal, source_ip
from chalicelib.handlers.responses import error
from chalicelib.store import throttle

bp = Blueprint(__name__)
admin = admin_route(bp)
log = logging.getLogger("wxless.admin")

LOGIN_PATH = "/admin/auth/login"


# -- signing in ----------------------------------------------------------------------------------


@bp.route(LOGIN_PATH, methods=["POST"])
@admin(roles.PUBLIC)
def sign_in() -> Response:
    body = read_object(bp.current_request)
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise InvalidInput('body: {"username": str, "password": str}')
    return _signing_in(username, lambda: wiring.directory().sign_in(username, password))


@bp.route("/admin/auth/challenge", methods=["POST"])
@admin(roles.PUBLIC)
def answer_challenge() -> Response:
    """The next step of a sign-in that answered a `challenge` (MFA code, new password)."""
    body = read_object(bp.current_request)
    username, challenge = body.get("username"), body.get("challenge")
    session, answers = body.get("session"), body.get("answers")
    if not all(isinstance(v, str) and v for v in (username, challenge, session)) or not (
        isinstance(answers, dict) and all(isinstance(v, str) for v in answers.values())
    ):
        raise InvalidInput(
            'body: {"username", "challenge", "session", "answers": {"SOFTWARE_TOKEN_MFA_CODE": '
            '"123456"}} as the sign-in answered'
        )
    return _signing_in(
        username,
        lambda: wiring.directory().answer_challenge(username, challenge, session, answers),
    )


def _signing_in(username: str, call: Any) -> Response:
    request = bp.current_request
    ip = source_ip(request)
    wait = throttle.locked_for(ip, lockouts=wiring.lockouts())
    if wait:
        return error(429, "too many failed attempts; try later", retry_after=wait)
    shown = username if users.USERNAME.fullmatch(username) else "(not a username)"
    try:
        if shown != username:
            raise Unauthorized(users.SIGN_IN_REFUSED)
        answer = users.signed_in(username, call(), wiring.team_state())
    except Unauthorized:
        log.warning("admin.sign_in_failed ip=%s user=%s", ip, shown)
        _record(request, shown, "", 401, "sign_in_failed", ip, required=False)
        wait = throttle.record_failure(ip, lockouts=wiring.lockouts())
        if wait:
            return error(429, "too many failed attempts; try later", retry_after=wait)
        return error(401, users.SIGN_IN_REFUSED)
    event = "sign_in_challenge" if "challenge" in answer else "sign_in"
    if not _record(request, username, answer.get("role", ""), 200, event, ip, required=True):
        return error(503, AUDIT_UNAVAILABLE, retryable=True, retry_after=2)
    log.info("admin.%s user=%s role=%s", event, username, answer.get("role", "-"))
    return json_response(answer)


def _record(
    request: Any, actor: str, role: str, status: int, event: str, ip: str, *, required: bool
) -> bool:
    """One audit entry for a sign-in attempt; False when it could not be written."""
    try:
        audit.begin(
            actor=actor,
            role=role,
            method=request.method,
            path=concrete_path(request),
            ip=ip,
            status=status,
            event=event,
        )
    except Unavailable:
        if required:
            return False
        log.warning("audit.sign_in_unrecorded user=%s", actor)
    return True


@bp.route("/admin/auth/me", methods=["GET"])
@admin("self:read")
def who_am_i() -> dict[str, Any]:
    """The caller's name, role and permissions (the console hides what they may not use)."""
    who = principal(bp.current_request)
    return {
        "actor": who.actor,
        "role": who.role,
        "kind": who.kind,
        "permissions": roles.permissions_of(who.role),
    }


# -- users -----------------------------------------------------------------------------------------


def _user(username: str) -> dict[str, Any]:
    return users.get(username)


@bp.route("/admin/users", methods=["POST"])
@admin("users:write")
def create_user() -> Response:
    request = bp.current_request
    created = users.create(
        read_object(request), by=principal(request).actor, directory=wiring.directory()
    )
    return json_response(created, 201)


@bp.route("/admin/users", methods=["GET"])
@admin("users:read")
def list_users() -> dict[str, Any]:
    return {"items": users.listing()}


@bp.route("/admin/users/{username}", methods=["GET"])
@admin("users:read")
def get_user(username: str) -> dict[str, Any]:
    return users.get(username)


@bp.route("/admin/users/{username}", methods=["PATCH"])
@admin("users:write", before=_user)
def change_user(username: str) -> dict[str, Any]:
    request = bp.current_request
    return users.change(
        username,
        read_object(request),
        by=principal(request).actor,
        directory=wiring.directory(),
        state=wiring.team_state(),
    )


@bp.route("/admin/users/{username}", methods=["DELETE"])
@admin("users:write", before=_user)
def delete_user(username: str) -> Response:
    request = bp.current_request
    users.delete(
        username,
        by=principal(request).actor,
        directory=wiring.directory(),
        state=wiring.team_state(),
    )
    return Response("", status_code=204)


# -- API keys --------------------------------------------------------------------------------------


def _key(key_id: str) -> dict[str, Any]:
    return apikeys.get(key_id)


@bp.route("/admin/api-keys", methods=["POST"])
@admin("keys:write")
def create_key() -> Response:
    request = bp.current_request
    return json_response(apikeys.create(read_object(request), by=principal(request).actor), 201)


@bp.route("/admin/api-keys", methods=["GET"])
@admin("keys:read")
def list_keys() -> dict[str, Any]:
    return {"items": apikeys.listing()}


@bp.route("/admin/api-keys/{key_id}", methods=["DELETE"])
@admin("keys:write", before=_key)
def revoke_key(key_id: str) -> Response:
    request = bp.current_request
    apikeys.revoke(key_id, by=principal(request).actor, state=wiring.team_state())
    return Response("", status_code=204)


# -- settings --------------------------------------------------------------------------------------


def _approvals() -> dict[str, bool]:
    return settings.approvals()


@bp.route("/admin/settings/approvals", methods=["GET"])
@admin("settings:read")
def get_approvals() -> dict[str, bool]:
    return settings.approvals()


@bp.route("/admin/settings/approvals", methods=["PUT"])
@admin("settings:write", before=_approvals)
def put_approvals() -> dict[str, bool]:
    request = bp.current_request
    return settings.put_approvals(read_object(request), by=principal(request).actor)
