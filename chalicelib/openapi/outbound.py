"""What the account sends one follower: customer-service messages within WeChat's quota, the
notification API for the bank's systems, and subscribe notifications (templates, consents)."""

from __future__ import annotations

from typing import Any

from chalicelib.openapi.spec import json_content, query_param, ref
from chalicelib.openapi.wechat import wop

_str = {"type": "string"}
_int = {"type": "integer"}
_nint = {"type": "integer", "nullable": True, "description": "epoch seconds"}


def _answer(description: str, schema: str) -> dict[str, Any]:
    return {"description": description, "content": json_content(ref(schema))}


CS_REFUSED = _answer(
    "no customer-service message may be sent now (WeChat was not called): the window is closed "
    "or its quota is spent; or WeChat itself refused with 45015 / 45047 (`errcode`)",
    "CsRefusal",
)

SCHEMAS = {
    "CsRefusal": {
        "type": "object",
        "required": ["error", "retryable", "remaining", "window_until"],
        "properties": {
            "error": _str,
            "retryable": {"type": "boolean", "enum": [False]},
            "remaining": {"type": "integer", "enum": [0]},
            "window_until": {
                **_nint,
                "description": "when the latest window ends or ended; null when the follower "
                "did nothing in the last 48 hours",
            },
            "errcode": {"type": "integer", "description": "WeChat's, when WeChat refused"},
        },
    },
    "CustomMessageSent": {
        "type": "object",
        "required": ["sent", "openid", "type", "remaining", "window_until"],
        "properties": {
            "sent": {"type": "boolean"},
            "openid": _str,
            "type": _str,
            "remaining": {"type": "integer", "description": "sends left now, over open windows"},
            "window_until": _nint,
        },
    },
    "CsWindow": {
        "type": "object",
        "required": ["kind", "opened_at", "until", "limit", "used", "remaining"],
        "properties": {
            "kind": {
                "enum": ["message", "event"],
                "description": "message: 5 sends in 48 h; event (click, subscribe, scan): 3 in "
                "a minute",
            },
            "opened_at": _int,
            "until": _int,
            "limit": _int,
            "used": _int,
            "remaining": _int,
        },
    },
    "CsAllowance": {
        "type": "object",
        "required": ["openid", "remaining", "window_until", "windows"],
        "properties": {
            "openid": _str,
            "remaining": _int,
            "window_until": _nint,
            "windows": {"type": "array", "items": ref("CsWindow"), "description": "open ones"},
        },
    },
}

_openid_query = {**query_param("openid", _str, "the follower"), "required": True}


def _custom_send() -> dict[str, Any]:
    out = wop(
        "Send a customer-service message inside the follower's window and quota",
        tag="messages",
        quota=True,
        body=ref("CustomMessage"),
        returns=ref("CustomMessageSent"),
        errors=(400, 401, 404, 503),
    )
    out["responses"]["409"] = CS_REFUSED
    out["description"] = (
        "Refused with 409 `{error, retryable: false, remaining: 0, window_until}`, without "
        "calling WeChat, when the follower's customer-service window is closed or its quota "
        "spent: 5 messages per 48 h window after the follower's message, 3 within a minute "
        "after a click, subscribe or scan, read from the follower's timeline at the moment of "
        "sending. WeChat's own 45015 / 45047 answer 409 with its errcode and count the window "
        "as spent. A message WeChat refused for itself (a bad media_id) is not counted."
    )
    return out


PATHS: dict[str, Any] = {
    "/admin/messages/custom": {"post": _custom_send()},
    "/admin/messages/custom/allowance": {
        "get": {
            "summary": "What may still be sent to a follower now (customer-service quota)",
            "tags": ["messages"],
            "parameters": [_openid_query],
            "responses": {
                "200": _answer("the open windows and what is left", "CsAllowance"),
                "400": {"$ref": "#/components/responses/E400"},
                "401": {"$ref": "#/components/responses/E401"},
                "503": {"$ref": "#/components/responses/E503"},
            },
        }
    },
}
