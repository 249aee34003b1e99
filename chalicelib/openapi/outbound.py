"""What the account sends one follower: customer-service messages within WeChat's quota, the
notification API for the bank's systems, and subscribe notifications (templates, consents)."""

from __future__ import annotations

from typing import Any

from chalicelib.openapi.spec import items_of, json_content, op, path_param, query_param, ref
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
                "never wrote or clicked (as far as the 90-day timeline goes)",
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

SCHEMAS |= {
    "NotifyRequest": {
        "type": "object",
        "required": ["openid", "template_id", "data", "client_msg_id"],
        "additionalProperties": False,
        "properties": {
            "client_msg_id": {
                "type": "string",
                "pattern": "^[A-Za-z0-9_.:\\-]{1,64}$",
                "description": "the caller's id of this notification: a repeat within 24 h "
                "gets the same answer and sends nothing more",
            },
            "openid": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
            "template_id": _str,
            "data": {
                "type": "object",
                "minProperties": 1,
                "description": "field -> text or {value}, checked against the template as "
                "synced from WeChat (GET /admin/templates; subscribe: GET "
                "/admin/subscribe/templates): only its fields, each by its type's rule (thing "
                "<= 20 characters, character_string <= 32, phrase <= 5, number, letter, symbol, "
                "amount, phone_number, car_number, name, time, date); no line breaks; no "
                "`color`; no `first`/`remark` on category templates.",
                "additionalProperties": {
                    "oneOf": [
                        _str,
                        {
                            "type": "object",
                            "required": ["value"],
                            "additionalProperties": False,
                            "properties": {"value": _str},
                        },
                    ]
                },
            },
            "url": {"type": "string", "description": "http(s) page the message opens"},
            "channel": {
                "enum": ["template", "subscribe"],
                "description": "template (default): a template message; subscribe: a "
                "subscribe notification, only to a follower who accepted its template",
            },
        },
    },
    "NotifySent": {
        "type": "object",
        "required": ["client_msg_id", "openid", "template_id", "channel", "status", "sent_at"],
        "properties": {
            "client_msg_id": _str,
            "openid": _str,
            "template_id": _str,
            "channel": _str,
            "status": {"enum": ["sent"]},
            "msgid": {"type": "string", "nullable": True, "description": "WeChat's msgid"},
            "sent_at": _int,
        },
    },
    "NotifyRefused": {
        "type": "object",
        "required": ["client_msg_id", "error", "status"],
        "properties": {
            "client_msg_id": _str,
            "error": _str,
            "status": {
                "enum": ["failed", "refused", "unknown"],
                "description": "failed: WeChat refused it (errcode); refused: no consent to "
                "this subscribe notification; unknown: an earlier attempt got no answer and "
                "could not be resent safely",
            },
            "errcode": _int,
            "retryable": {"type": "boolean"},
        },
    },
    "Notification": {
        "type": "object",
        "required": ["client_msg_id", "status", "attempts", "created_at"],
        "properties": {
            "client_msg_id": _str,
            "openid": _str,
            "template_id": _str,
            "channel": _str,
            "status": {"enum": ["sending", "retry", "sent", "failed", "refused", "unknown"]},
            "msgid": {"type": "string", "nullable": True},
            "errcode": {"type": "integer", "nullable": True},
            "attempts": _int,
            "created_at": _int,
            "sent_at": _nint,
            "delivery": {
                "type": "string",
                "nullable": True,
                "enum": ["delivered", "blocked", "failed", None],
                "description": "WeChat's report on the recipient (TEMPLATESENDJOBFINISH or "
                "subscribe_msg_sent_event), within seconds of it",
            },
            "delivery_status": {"type": "string", "nullable": True},
            "delivered_at": _nint,
            "last_error": {"type": "string", "nullable": True},
        },
    },
}

SCHEMAS |= {
    "SubscribeTemplate": {
        "type": "object",
        "required": ["template_id", "title", "content", "kind", "fields"],
        "properties": {
            "template_id": {"type": "string", "description": "WeChat's priTmplId"},
            "title": _str,
            "content": _str,
            "example": _str,
            "kind": {
                "enum": ["one_time", "long_term"],
                "description": "one_time: each accept in a popup allows one message; long_term "
                "(public-service categories only): allowed until the follower refuses",
            },
            "fields": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "type", "max"],
                    "properties": {
                        "key": _str,
                        "type": {"type": "string", "nullable": True},
                        "max": {"type": "integer", "nullable": True},
                    },
                },
            },
        },
    },
    "SubscribeTemplateNew": {
        "type": "object",
        "required": ["tid", "kid_list", "scene_desc"],
        "additionalProperties": False,
        "properties": {
            "tid": {"type": "string", "description": "a public template (GET titles)"},
            "kid_list": {"type": "array", "items": _int, "minItems": 2, "maxItems": 5},
            "scene_desc": {"type": "string", "minLength": 1, "maxLength": 15},
        },
    },
    "Consent": {
        "type": "object",
        "required": ["template_id", "kind", "may_send"],
        "properties": {
            "template_id": _str,
            "title": _str,
            "kind": {"enum": ["one_time", "long_term"]},
            "status": {"type": "string", "nullable": True, "enum": ["accept", "reject", None]},
            "left": {
                "type": "integer",
                "nullable": True,
                "description": "one-time consents not used yet (null for long-term templates)",
            },
            "accepts": _int,
            "status_at": _nint,
            "may_send": {"type": "boolean"},
        },
    },
}

_sub = "subscribe"

SUBSCRIBE_PATHS: dict[str, Any] = {
    "/admin/subscribe/templates": {
        "get": wop(
            "The account's subscribe templates (synced from WeChat's gettemplate)",
            tag=_sub,
            returns=items_of(ref("SubscribeTemplate")),
            errors=(401, 503),
        ),
        "post": wop(
            "Add a subscribe template from a public one (addtemplate)",
            tag=_sub,
            ok=201,
            body=ref("SubscribeTemplateNew"),
            returns=ref("SubscribeTemplate"),
            errors=(400, 401, 409, 503),
        ),
    },
    "/admin/subscribe/templates/{template_id}": {
        "parameters": [path_param("template_id")],
        "delete": wop(
            "Delete a subscribe template (deltemplate)",
            tag=_sub,
            ok=204,
            errors=(400, 401, 503),
        ),
    },
    "/admin/subscribe/categories": {
        "get": wop(
            "The account's categories (getcategory)",
            tag=_sub,
            returns=items_of({"type": "object"}),
            errors=(401, 503),
        ),
    },
    "/admin/subscribe/titles": {
        "get": wop(
            "Public templates of some categories (getpubtemplatetitles)",
            tag=_sub,
            params=[
                {**query_param("category_ids", _str, "comma-separated ids"), "required": True},
                query_param("start", {"type": "integer", "minimum": 0}),
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 30}),
            ],
            returns={
                "type": "object",
                "required": ["count", "items"],
                "properties": {"count": _int, "items": {"type": "array"}},
            },
            errors=(400, 401, 503),
        ),
    },
    "/admin/subscribe/titles/{tid}/keywords": {
        "parameters": [path_param("tid")],
        "get": wop(
            "A public template's keywords (getpubtemplatekeywords)",
            tag=_sub,
            returns=items_of({"type": "object"}),
            errors=(400, 401, 503),
        ),
    },
    "/admin/subscribe/consents": {
        "get": op(
            "What a follower consented to, per synced template (from the popup and change "
            "events, within seconds)",
            tag=_sub,
            params=[{**query_param("openid", _str, "the follower"), "required": True}],
            returns={
                "type": "object",
                "required": ["openid", "items"],
                "properties": {"openid": _str, "items": {"type": "array", "items": ref("Consent")}},
            },
            errors=(400, 401, 503),
        ),
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


def _notify() -> dict[str, Any]:
    out = wop(
        "Send one notification to one follower now (the bank's systems; role notifier)",
        tag="notify",
        quota=True,
        body=ref("NotifyRequest"),
        returns=ref("NotifySent"),
        errors=(400, 401, 503),
    )
    out["responses"].update(
        {
            "404": _answer("WeChat does not know the openid (kept and replayed)", "NotifyRefused"),
            "409": _answer(
                "refused for good (kept and replayed): the follower unsubscribed, has not "
                "consented, or the outcome of an earlier attempt is unknown; or (`retryable`) "
                "the same client_msg_id is being sent by another request right now",
                "NotifyRefused",
            ),
            "422": _answer(
                "WeChat refused the message (kept and replayed); or this client_msg_id was "
                "used for another notification",
                "NotifyRefused",
            ),
            "429": {
                "description": "the caller's rate (WXLESS_NOTIFY_RATE_PER_MINUTE) or the "
                "daily template quota is spent: retry after `retry_after` seconds",
                "content": json_content(ref("Error")),
            },
        }
    )
    out["description"] = (
        "At most once per `client_msg_id`: a repeat within 24 h gets the first answer (same "
        "status and body, header `Idempotent-Replayed: true`) and sends nothing, also while the "
        "first is still running (it waits for it) and after a crash between WeChat's answer "
        "and our record (the repeat resends under the same WeChat client_msg_id, which WeChat "
        "deduplicates for 10 minutes; later it answers 409 `unknown` rather than risk a second "
        "message). The delivery status arrives from WeChat's report: `GET "
        "/admin/notify/{client_msg_id}`."
    )
    return out


PATHS: dict[str, Any] = {
    "/admin/notify": {"post": _notify()},
    "/admin/notify/{client_msg_id}": {
        "parameters": [path_param("client_msg_id")],
        "get": {
            "summary": "What happened to a notification (kept 7 days)",
            "tags": ["notify"],
            "responses": {
                "200": _answer("the notification", "Notification"),
                **{
                    str(code): {"$ref": f"#/components/responses/E{code}"}
                    for code in (400, 401, 404, 503)
                },
            },
        },
    },
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
PATHS |= SUBSCRIBE_PATHS
