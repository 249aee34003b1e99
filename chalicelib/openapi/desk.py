"""The agent desk: conversations, threads, replies within WeChat's quota, assignment, closing,
transfer; WeChat's customer-service (kf) accounts."""

from __future__ import annotations

from chalicelib.openapi.spec import op, path_param, query_param, ref
from chalicelib.openapi.wechat import wop

_str = {"type": "string"}
_nstr = {"type": "string", "nullable": True}
_int = {"type": "integer"}
_nint = {"type": "integer", "nullable": True}
_status = {"enum": ["open", "closed", "transferred"]}

SCHEMAS = {
    "Conversation": {
        "type": "object",
        "required": ["openid", "last_message_at", "window_until", "unread", "status"],
        "properties": {
            "openid": _str,
            "last_message_at": {**_nint, "description": "epoch s of their last message"},
            "last_event_at": {**_nint, "description": "their last click, subscribe or scan"},
            "window_until": {**_nint, "description": "end of the customer-service window"},
            "last_text": _str,
            "last_kind": _nstr,
            "unread": {**_int, "description": "their messages since an agent last read or replied"},
            "status": _status,
            "assigned_to": _nstr,
            "closed_at": _nint,
            "remaining": {**_int, "description": "customer-service messages that may still go"},
        },
    },
    "ConversationList": {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {"type": "array", "items": ref("Conversation")},
            "total": {**_int, "description": "open windows matching the filters"},
        },
    },
    "ThreadItem": {
        "type": "object",
        "required": ["direction", "at"],
        "properties": {
            "direction": {"enum": ["in", "out"]},
            "at": {**_int, "description": "epoch s"},
            "by": {**_str, "description": "`auto` (the account's automatic answer) or the agent"},
            "msg_id": _str,
            "msg_type": {**_str, "description": "WeChat's MsgType (event for events)"},
            "event": {**_str, "description": "an event's name, lower case"},
            "content": _str,
            "outcome": _nstr,
            "rule_id": _nstr,
            "reply": {"type": "object", "description": "what was sent"},
            "kf_account": _nstr,
            "at_ms": _int,
        },
    },
    "Thread": {
        "type": "object",
        "required": ["openid", "items", "remaining"],
        "properties": {
            "openid": _str,
            "conversation": {"allOf": [ref("Conversation")], "nullable": True},
            "remaining": _int,
            "window_until": _nint,
            "items": {"type": "array", "items": ref("ThreadItem")},
        },
    },
    "DeskReply": {
        "type": "object",
        "required": ["reply"],
        "additionalProperties": False,
        "properties": {
            "reply": ref("Reply"),
            "agent": {**_str, "maxLength": 64, "description": "who answers (default owner)"},
            "kf_account": {**_str, "description": "send as this WeChat kf account"},
        },
    },
    "DeskSent": {
        "type": "object",
        "required": ["sent", "remaining"],
        "properties": {
            "sent": {"type": "boolean"},
            "remaining": _int,
            "window_until": _nint,
        },
    },
    "QuotaRefusal": {
        "type": "object",
        "required": ["error", "retryable", "remaining", "window_until"],
        "properties": {
            "error": _str,
            "retryable": {"type": "boolean"},
            "remaining": _int,
            "window_until": _nint,
        },
    },
    "KfAccount": {
        "type": "object",
        "properties": {
            "kf_account": _str,
            "nickname": _str,
            "kf_id": _nstr,
            "bound_wechat": _nstr,
            "invite_status": _nstr,
            "online": {"type": "boolean"},
            "accepted_case": _int,
        },
    },
    "KfAccountInput": {
        "type": "object",
        "required": ["kf_account", "nickname"],
        "properties": {
            "kf_account": {**_str, "pattern": "^[A-Za-z0-9_]{1,10}@[A-Za-z0-9_.-]{1,64}$"},
            "nickname": {**_str, "minLength": 1, "maxLength": 16},
        },
    },
}

_openid = path_param("openid")
_kf = path_param("kf_account")
_conversation = ref("Conversation")


def _action(summary: str, body: dict | None = None) -> dict:
    operation = op(
        summary, tag="desk", body=body, returns=_conversation, errors=(400, 401, 404, 503)
    )
    if body is None:
        operation.pop("requestBody", None)
    return operation


_reply = op(
    "Reply to the follower (customer-service message): counted against WeChat's quota first",
    tag="desk",
    body=ref("DeskReply"),
    returns=ref("DeskSent"),
    errors=(400, 401, 503),
)
_reply["responses"]["409"] = {
    "description": "the window is closed or its quota spent: WeChat was not called",
    "content": {"application/json": {"schema": ref("QuotaRefusal")}},
}
_kf_change = wop(
    "Rename a kf account",
    tag="desk",
    body={"type": "object", "required": ["nickname"], "properties": {"nickname": _str}},
    returns=ref("KfAccount"),
)

PATHS = {
    "/admin/conversations": {
        "get": op(
            "Followers whose customer-service window is open, newest first",
            tag="desk",
            params=[
                query_param("status", _status),
                query_param("assigned_to", _str),
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
            ],
            returns=ref("ConversationList"),
        )
    },
    "/admin/conversations/{openid}": {
        "parameters": [_openid],
        "get": op(
            "The thread both ways: the follower's messages, automatic answers, agents' replies",
            tag="desk",
            params=[
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
                query_param("mark_read", {"type": "boolean"}, "set unread to 0"),
            ],
            returns=ref("Thread"),
            errors=(400, 401, 404, 503),
        ),
    },
    "/admin/conversations/{openid}/reply": {"parameters": [_openid], "post": _reply},
    "/admin/conversations/{openid}/assign": {
        "parameters": [_openid],
        "post": _action(
            "Assign to an agent (null unassigns)",
            {"type": "object", "required": ["agent"], "properties": {"agent": _nstr}},
        ),
    },
    "/admin/conversations/{openid}/close": {
        "parameters": [_openid],
        "post": _action("Close (a new message from the follower reopens it)"),
    },
    "/admin/conversations/{openid}/reopen": {
        "parameters": [_openid],
        "post": _action("Reopen"),
    },
    "/admin/conversations/{openid}/transfer": {
        "parameters": [_openid],
        "post": wop(
            "Hand the follower to an online WeChat kf account (kfsession/create)",
            tag="desk",
            body={"type": "object", "required": ["kf_account"], "properties": {"kf_account": _str}},
            returns=_conversation,
            errors=(400, 401, 404, 503),
        ),
    },
    "/admin/kf-accounts": {
        "get": wop(
            "WeChat's customer-service accounts, with who is online",
            tag="desk",
            returns={
                "type": "object",
                "properties": {"items": {"type": "array", "items": ref("KfAccount")}},
            },
        ),
        "post": wop(
            "Add a kf account at WeChat",
            tag="desk",
            body=ref("KfAccountInput"),
            ok=201,
            returns=ref("KfAccount"),
        ),
    },
    "/admin/kf-accounts/{kf_account}": {
        "parameters": [_kf],
        "put": _kf_change,
        "patch": _kf_change,
        "delete": wop("Delete a kf account at WeChat", tag="desk", ok=204),
    },
    "/admin/kf-accounts/{kf_account}/invite": {
        "parameters": [_kf],
        "post": wop(
            "Invite a WeChat user to bind to the account",
            tag="desk",
            body={"type": "object", "required": ["invite_wx"], "properties": {"invite_wx": _str}},
            returns={"type": "object"},
        ),
    },
}
