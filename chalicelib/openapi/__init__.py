"""The admin API's OpenAPI 3 document, assembled from one fragment per concern.

Each fragment module exposes `PATHS` and `SCHEMAS`; a test checks that every admin route the app
serves is described here and that the document validates.
"""

from __future__ import annotations

from typing import Any

from chalicelib.access import roles
from chalicelib.openapi import (
    campaigns,
    channels,
    cms,
    core,
    desk,
    faq,
    flows,
    followers,
    outbound,
    points,
    publishing,
    reach,
    stats,
    team,
    wechat,
    wxaccount,
)
from chalicelib.openapi.spec import ref

FRAGMENTS = [
    core,
    wechat,
    cms,
    followers,
    stats,
    campaigns,
    flows,
    points,
    faq,
    outbound,
    publishing,
    wxaccount,
    channels,
    reach,
    desk,
    team,
]

# Every admin path answers CORS preflight: 204 for an origin in WXLESS_ALLOWED_ORIGINS, else 403.
# Any other admin call carrying a foreign Origin header gets the same 403.
PREFLIGHT = {
    "summary": "CORS preflight (no token needed)",
    "tags": ["meta"],
    "security": [],
    "responses": {
        "204": {"description": "the Origin is listed in WXLESS_ALLOWED_ORIGINS"},
        "403": {"description": "cross-origin use is not allowed for this Origin"},
    },
}


# Every write may carry an Idempotency-Key (chalicelib.handlers.idempotency).
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Any unique string (a UUID): a retry carrying the same key gets the first "
    "answer back (same status and body, header `Idempotent-Replayed: true`) instead of running "
    "again, for 24 h. The same key with another method, path or body is 422; a repeat while the "
    "first still runs is 409 with `retryable: true`. After a 5xx or a 429 the key is free again.",
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        "pattern": "^[!-~]([ -~]{0,253}[!-~])?$",
    },
}
WHY = {
    "409": "a request with the same Idempotency-Key is still running (`retryable: true`)",
    "422": "this Idempotency-Key was already used for a different request",
}
KEYED = {
    "409": {"$ref": "#/components/responses/E409"},
    "422": {"$ref": "#/components/responses/E422"},
}
# Any route may fail by a bug (chalicelib.handlers.responses.internal_error).
BUG = {"500": {"$ref": "#/components/responses/E500"}}
# A write's body must be sent as JSON (chalicelib.handlers.common.declares_json).
NOT_JSON = {"415": {"$ref": "#/components/responses/E415"}}
WRITES = ("post", "put", "patch", "delete")
METHODS = ("get", "head", *WRITES)


def _keyed(operation: dict[str, Any]) -> dict[str, Any]:
    parameters = [*operation.get("parameters", []), {"$ref": "#/components/parameters/IdemKey"}]
    responses = dict(operation["responses"])
    for code, answer in KEYED.items():
        own = responses.setdefault(code, answer)
        if own is not answer and "description" in own:  # e.g. notify's own 409 and 422
            responses[code] = {**own, "description": f"{own['description']}; or: {WHY[code]}"}
            schema = own.get("content", {}).get("application/json", {}).get("schema")
            if schema is not None and schema != ref("Error"):
                # The idempotency layer answers before the route, in the shape {"error"}.
                either = {"anyOf": [schema, ref("Error")]}
                responses[code]["content"] = {"application/json": {"schema": either}}
    return {**operation, "parameters": parameters, "responses": responses}


def _permitted(operation: dict[str, Any], permission: str | None) -> dict[str, Any]:
    """The route's declared permission and the roles that have it (chalicelib.access.roles)."""
    if permission == roles.PUBLIC:
        return {**operation, "x-permission": permission, "security": []}
    declared = permission or "(undeclared: owner and admin only)"
    allowed = roles.roles_for(permission or "")
    note = f"Permission `{declared}`: {', '.join(allowed)}."
    summary = operation.get("description")
    responses = {**operation["responses"]}
    responses.setdefault("403", {"$ref": "#/components/responses/E403"})
    return {
        **operation,
        "description": f"{summary}\n\n{note}" if summary else note,
        "responses": responses,
        "x-permission": declared,
        "x-roles": allowed,
    }


def _operation(method: str, operation: dict[str, Any]) -> dict[str, Any]:
    extra = BUG
    if method in WRITES:
        operation, extra = _keyed(operation), {**NOT_JSON, **BUG}
    responses = dict(operation["responses"])
    for code, answer in extra.items():
        responses.setdefault(code, answer)
    return {**operation, "responses": responses}


def document(permissions: dict[tuple[str, str], str | None] | None = None) -> dict[str, Any]:
    """The document; `permissions` ({(path, METHOD): permission}, from the routes' declarations)
    adds each operation's `x-permission` and `x-roles`."""
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for fragment in FRAGMENTS:
        for path, item in fragment.PATHS.items():
            paths[path] = {
                key: _operation(key, value) if key in METHODS else value
                for key, value in item.items()
            }
        clash = schemas.keys() & fragment.SCHEMAS.keys()
        if clash:  # a later fragment would silently replace an earlier one's schema
            raise ValueError(f"{fragment.__name__} redefines schema(s) {sorted(clash)}")
        schemas.update(fragment.SCHEMAS)
    for (path, method), permission in (permissions or {}).items():
        operation = paths.get(path, {}).get(method.lower())
        if operation is not None:
            paths[path][method.lower()] = _permitted(operation, permission)
    for item in paths.values():  # chalicelib.handlers.common.add_admin_preflight
        item.setdefault("options", PREFLIGHT)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "wxless admin API",
            "version": "1.0.0",
            "description": "Manage a WeChat Official Account's replies, content and campaigns. "
            "Every route needs `Authorization: Bearer <credential>`: the owner's ADMIN_TOKEN, "
            "a user's token from POST /admin/auth/login, or an API key. Each operation names "
            "its permission (`x-permission`) and the roles that have it (`x-roles`). Writes "
            "(POST, PUT, PATCH, DELETE) send their body with `Content-Type: application/json` "
            "and may carry an `Idempotency-Key` header to be safe to retry.",
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
            "responses": core.RESPONSES,
            "parameters": {"IdemKey": IDEMPOTENCY_KEY},
        },
    }
