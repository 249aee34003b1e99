"""The admin API's gate, in order: the network guard, the credential (who), the route's declared
permission (may they), and for writes the audit entry around the change (chalicelib/access).

`admin_route` (handlers/common.py) runs every admin view through `admit`. The view reads who is
calling with `principal(request)`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalice import Response

from chalicelib import config, wiring
from chalicelib.access import roles
from chalicelib.errors import AppError, InvalidInput, NotFound, Unauthorized, Unavailable
from chalicelib.handlers.responses import app_error, error
from chalicelib.store import throttle

if TYPE_CHECKING:
    from chalicelib.access.credentials import Principal

# access.audit, credentials and network load with the first admin request, not with the
# callback's cold start (this module is imported by every admin route's decorator).

log = logging.getLogger("wxless.admin")

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
UNAUTHORIZED = "missing or invalid admin token"
NETWORK_REFUSED = "the admin API is not open to this address"
AUDIT_UNAVAILABLE = "the audit log is unavailable, so nothing was changed; retry later"
_PRINCIPAL = "_wxless_principal"


@dataclass(frozen=True)
class Declaration:
    """What a route declares next to it: its permission (None: not declared, which only owner
    and admin pass) and, for the audit's before/after, how to read the object it changes."""

    permission: str | None
    before: Callable[..., Any] | None = None


def principal(request: Any) -> Principal:
    """Who is calling (set by `admit` before the view runs)."""
    found = getattr(request, _PRINCIPAL, None)
    if found is None:
        raise Unauthorized(UNAUTHORIZED)
    return found


def concrete_path(request: Any) -> str:
    """The path as called (Chalice's `request.path` is the route's template)."""
    params = request.uri_params or {}
    return re.sub(r"\{(\w+)\}", lambda m: str(params.get(m.group(1), m.group(0))), request.path)


def source_ip(request: Any) -> str:
    identity = (getattr(request, "context", None) or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


def network_allows(request: Any) -> bool:
    raw = config.get(config.ADMIN_ALLOWED_CIDRS)
    if not raw.strip():
        return True
    from chalicelib.access import network

    try:
        ranges = network.parse(raw)
    except InvalidInput:
        log.error("admin.bad_allowed_cidrs: the admin API is shut until the setting is fixed")
        return False
    return network.allowed(source_ip(request), ranges)


def authenticate(request: Any) -> Principal | Response:
    """The caller, or the 401/429 answer. Only a presented-but-wrong credential counts against
    the caller's address (store.throttle)."""
    ip = source_ip(request)
    wait = throttle.locked_for(ip, lockouts=wiring.lockouts())
    if wait:
        return error(429, "too many failed attempts; try later", retry_after=wait)
    header = (request.headers or {}).get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        return error(401, UNAUTHORIZED)
    from chalicelib.access import credentials

    try:
        return credentials.resolve(
            credential,
            admin_token=config.get(config.ADMIN_TOKEN),
            pool=wiring.user_pool(),
            keys=wiring.pool_keys(),
            state=wiring.team_state(),
        )
    except Unauthorized:
        wait = throttle.record_failure(ip, lockouts=wiring.lockouts())
        log.warning("admin.bad_token ip=%s", ip)
        if wait:
            return error(429, "too many failed attempts; try later", retry_after=wait)
        return error(401, UNAUTHORIZED)


def admit(
    request: Any, declared: Declaration, params: dict[str, Any], run: Callable[[], Response]
) -> Response:
    """Answer an admin request: `run()` answers it once the caller may."""
    if not network_allows(request):
        return error(403, NETWORK_REFUSED)
    if declared.permission == roles.PUBLIC:
        return run()
    who = authenticate(request)
    if isinstance(who, Response):
        return who
    setattr(request, _PRINCIPAL, who)
    permission = declared.permission or "(undeclared)"
    write = request.method in WRITES
    if not who.allows(permission):
        refusal = error(403, f"role {who.role} may not do this (needs {permission})")
        if write:
            try:
                _entry(request, who, params, status=403)
            except AppError as exc:
                return _audit_down(exc)
        return refusal
    if not write:
        return run()
    return _audited(request, who, declared, params, run)


def _audited(
    request: Any,
    who: Principal,
    declared: Declaration,
    params: dict[str, Any],
    run: Callable[[], Response],
) -> Response:
    from chalicelib.access import audit

    try:
        before = _before(declared, params)
        entry_id = _entry(request, who, params, before=before)
    except AppError as exc:
        return _audit_down(exc)
    response = run()
    after = _json_body(response) if response.status_code < 300 else None
    try:
        audit.finish(
            entry_id, status=response.status_code, after=after, target=_created_id(params, after)
        )
    except Exception:
        # The change stands and was answered; the entry says "outcome not recorded".
        log.exception("audit.finish_failed entry=%s status=%s", entry_id, response.status_code)
    return response


def _audit_down(exc: AppError) -> Response:
    if isinstance(exc, Unavailable):
        log.warning("admin.store_unavailable: the audit log: %s", exc)
        return error(503, AUDIT_UNAVAILABLE, retryable=True, retry_after=2)
    return app_error(exc)


def _before(declared: Declaration, params: dict[str, Any]) -> Any:
    if declared.before is None:
        return None
    try:
        return declared.before(**params)
    except NotFound:
        return None  # the view answers 404 (or creates it)


def _entry(
    request: Any,
    who: Principal,
    params: dict[str, Any],
    *,
    before: Any = None,
    status: int | None = None,
) -> str:
    from chalicelib.access import audit

    return audit.begin(
        actor=who.actor,
        role=who.role,
        key_id=who.name if who.kind == "key" else None,  # key names need not be unique
        method=request.method,
        path=concrete_path(request),
        ip=source_ip(request),
        target=_target(params),
        request=_request_body(request),
        before=before,
        status=status,
    )


def _target(params: dict[str, Any]) -> str | None:
    values = [str(v) for v in params.values()]
    return "/".join(values) if values else None


def _created_id(params: dict[str, Any], after: Any) -> str | None:
    if params or not isinstance(after, dict):
        return None
    for name in ("id", "username", "openid", "name"):
        if isinstance(after.get(name), str | int):
            return str(after[name])
    return None


def _request_body(request: Any) -> Any:
    raw = request.raw_body or b""
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return {"unparsed_bytes": len(raw)}


def _json_body(response: Response) -> Any:
    body = response.body
    if body is None or body == "":
        return None
    if isinstance(body, dict | list):
        return body
    try:
        return json.loads(body)
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
