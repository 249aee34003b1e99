"""Team access: signing in, users, API keys, the audit log, the approvals setting, and the
approval of campaigns (four eyes)."""

from __future__ import annotations

from chalicelib.access.roles import ASSIGNABLE
from chalicelib.openapi.spec import items_of, op, path_param, query_param, ref

_str = {"type": "string"}
_int = {"type": "integer"}
_nullable_int = {"type": "integer", "nullable": True}
_nullable_str = {"type": "string", "nullable": True}
_role = {"type": "string", "enum": list(ASSIGNABLE)}
_username = {"type": "string", "pattern": "^[a-z0-9._-]{3,64}$"}
_PUBLIC = (400, 401, 415, 429, 503)

SCHEMAS = {
    "SignIn": {
        "type": "object",
        "required": ["username", "password"],
        "properties": {"username": _str, "password": _str},
    },
    "SignedIn": {
        "description": "A bearer token for the admin API; or, when Cognito asks for more (MFA, "
        "a new password), `challenge` and `session` to send to /admin/auth/challenge.",
        "type": "object",
        "properties": {
            "token": {**_str, "description": "a Cognito access token: `Authorization: Bearer`"},
            "expires_in": {"type": "integer", "maximum": 43200},
            "token_type": _str,
            "role": _role,
            "username": _str,
            "challenge": {**_str, "description": "e.g. SOFTWARE_TOKEN_MFA, NEW_PASSWORD_REQUIRED"},
            "session": _str,
            "parameters": {"type": "object"},
        },
    },
    "ChallengeAnswer": {
        "type": "object",
        "required": ["username", "challenge", "session", "answers"],
        "properties": {
            "username": _str,
            "challenge": _str,
            "session": _str,
            "answers": {
                "type": "object",
                "additionalProperties": _str,
                "description": 'Cognito\'s ChallengeResponses, e.g. {"SOFTWARE_TOKEN_MFA_CODE": '
                '"123456"} or {"NEW_PASSWORD": "..."}',
            },
        },
    },
    "Me": {
        "type": "object",
        "required": ["actor", "role", "kind", "permissions"],
        "properties": {
            "actor": _str,
            "role": _str,
            "kind": {"enum": ["owner", "user", "key"]},
            "permissions": {"type": "array", "items": _str},
        },
    },
    "NewUser": {
        "type": "object",
        "required": ["username", "role", "password"],
        "properties": {
            "username": _username,
            "role": _role,
            "password": {**_str, "description": "checked by the user pool's password policy"},
        },
    },
    "UserChange": {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": {"role": _role, "disabled": {"type": "boolean"}},
    },
    "User": {
        "type": "object",
        "required": ["username", "role", "disabled"],
        "properties": {
            "username": _str,
            "role": _role,
            "disabled": {"type": "boolean"},
            "created_at": _nullable_int,
            "created_by": _nullable_str,
            "updated_at": _nullable_int,
            "updated_by": _nullable_str,
        },
    },
    "NewApiKey": {
        "type": "object",
        "required": ["name", "role"],
        "properties": {
            "name": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
            "role": _role,
        },
    },
    "ApiKey": {
        "type": "object",
        "required": ["id", "name", "role", "revoked"],
        "properties": {
            "id": _str,
            "name": _str,
            "role": _role,
            "created_at": _nullable_int,
            "created_by": _nullable_str,
            "revoked": {"type": "boolean"},
            "revoked_at": _nullable_int,
            "revoked_by": _nullable_str,
        },
    },
    "CreatedApiKey": {
        "allOf": [
            ref("ApiKey"),
            {
                "type": "object",
                "required": ["key"],
                "properties": {"key": {**_str, "description": "shown this once; never again"}},
            },
        ]
    },
    "AuditEntry": {
        "type": "object",
        "required": ["id", "at", "actor", "method", "path", "status"],
        "properties": {
            "id": _str,
            "at": {"type": "number", "description": "epoch seconds (with milliseconds)"},
            "at_iso": {**_str, "description": "the same in UTC, ISO 8601"},
            "actor": {**_str, "description": "a username, `owner` or `key:<name>`"},
            "role": _str,
            "key_id": {**_str, "description": "the API key's id, when `actor` is a key"},
            "method": _str,
            "path": _str,
            "target": _nullable_str,
            "status": {**_nullable_int, "description": "null: the outcome was not recorded"},
            "event": {**_nullable_str, "description": "sign_in, sign_in_failed, ..."},
            "ip": _str,
            "request": {"description": "the body sent (secrets redacted)"},
            "before": {"description": "the object as it was (rules, replies, campaigns, ...)"},
            "after": {"description": "the answer: the object as it became"},
        },
    },
    "Approvals": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"campaigns": {"type": "boolean"}},
    },
    "Decision": {
        "type": "object",
        "properties": {"comment": {"type": "string", "maxLength": 1000}},
    },
}

_audit_params = [
    query_param("limit", {"type": "integer", "minimum": 1, "maximum": 5000}, "default 100"),
    query_param("actor", _str, "only this actor"),
    query_param("path", _str, "only paths starting with this"),
    query_param("from", _str, "ISO 8601 date or time, or epoch seconds (UTC)"),
    query_param("to", _str, "ISO 8601 date (the whole day) or time, or epoch seconds"),
    query_param("format", {"enum": ["json", "csv"]}, "csv: a spreadsheet-safe export"),
]

PATHS = {
    "/admin/auth/login": {
        "post": {
            **op(
                "Sign in with username and password (no token needed). A wrong password, an "
                "unknown user and a disabled user get the same 401.",
                tag="team",
                body=ref("SignIn"),
                returns=ref("SignedIn"),
                errors=_PUBLIC,
            ),
            "security": [],
        }
    },
    "/admin/auth/challenge": {
        "post": {
            **op(
                "Answer a sign-in challenge (MFA code, new password)",
                tag="team",
                body=ref("ChallengeAnswer"),
                returns=ref("SignedIn"),
                errors=_PUBLIC,
            ),
            "security": [],
        }
    },
    "/admin/auth/me": {
        "get": op("Who am I: actor, role, permissions", tag="team", returns=ref("Me"))
    },
    "/admin/users": {
        "get": op("List users", tag="team", returns=items_of(ref("User"))),
        "post": op(
            "Create a user (Cognito; never answers the password)",
            tag="team",
            body=ref("NewUser"),
            ok=201,
            returns=ref("User"),
            errors=(400, 401, 409, 503),
        ),
    },
    "/admin/users/{username}": {
        "parameters": [path_param("username")],
        "get": op(
            "A user",
            tag="team",
            returns=ref("User"),
            errors=(401, 404, 503),
        ),
        "patch": op(
            "Change a user's role, disable or enable it (effective within 5 s, tokens included)",
            tag="team",
            body=ref("UserChange"),
            returns=ref("User"),
            errors=(400, 401, 404, 503),
        ),
        "delete": op(
            "Delete a user (its tokens stop within 5 s)",
            tag="team",
            ok=204,
            errors=(401, 404, 503),
        ),
    },
    "/admin/api-keys": {
        "get": op("List API keys (never the key)", tag="team", returns=items_of(ref("ApiKey"))),
        "post": op(
            "Create an API key for a system: the key is in this answer only",
            tag="team",
            body=ref("NewApiKey"),
            ok=201,
            returns=ref("CreatedApiKey"),
            errors=(400, 401, 409, 503),
        ),
    },
    "/admin/api-keys/{key_id}": {
        "parameters": [path_param("key_id")],
        "delete": op(
            "Revoke an API key (refused within 5 s)",
            tag="team",
            ok=204,
            errors=(401, 404, 503),
        ),
    },
    "/admin/audit": {
        "get": {
            **op(
                "The audit log, newest first: every admin write (allowed or refused) and sign-in",
                tag="team",
                params=_audit_params,
                returns=items_of(ref("AuditEntry")),
            ),
            "responses": {
                **op("", tag="team", returns=items_of(ref("AuditEntry")))["responses"],
                "200": {
                    "description": "the entries (JSON), or with format=csv a CSV file",
                    "content": {
                        "application/json": {"schema": items_of(ref("AuditEntry"))},
                        "text/csv": {"schema": _str},
                    },
                },
            },
        }
    },
    "/admin/settings/approvals": {
        "get": op("Which actions need approval", tag="team", returns=ref("Approvals")),
        "put": op(
            "Turn approvals (four eyes) on or off",
            tag="team",
            body=ref("Approvals"),
            returns=ref("Approvals"),
        ),
    },
    "/admin/campaigns/{campaign_id}/approve": {
        "parameters": [path_param("campaign_id")],
        "post": {
            **op(
                "Approve a campaign pending approval (not by its creator: 403): it is scheduled",
                tag="campaigns",
                returns={"type": "object"},
                errors=(400, 401, 404, 409, 503),
            ),
            "requestBody": {
                "required": False,
                "content": {"application/json": {"schema": ref("Decision")}},
            },
        },
    },
    "/admin/campaigns/{campaign_id}/reject": {
        "parameters": [path_param("campaign_id")],
        "post": op(
            "Reject a campaign pending approval, saying why (not by its creator: 403)",
            tag="campaigns",
            body={
                "type": "object",
                "required": ["comment"],
                "properties": {"comment": {"type": "string", "minLength": 1, "maxLength": 1000}},
            },
            returns={"type": "object"},
            errors=(400, 401, 404, 409, 503),
        ),
    },
}
