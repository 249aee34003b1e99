"""Rules, special replies, message log, health of the admin API."""

from __future__ import annotations

from chalicelib.openapi.spec import items_of, op, path_param, query_param, ref, stored


def _message_log() -> dict:
    listed = items_of(ref("LoggedMessage"))
    listed["properties"]["as_of"] = {
        "type": "integer",
        "nullable": True,
        "description": "without `openid`: ms, every message received before this is listed (the "
        "listing across followers is summed from the messages stream, seconds behind)",
    }
    return listed


_str = {"type": "string"}
# Admin input only (see openapi/wechat.py): resolved to the permanent material's media_id on save.
_media = {"media": {"type": "string", "description": "a media item id instead of media_id"}}

RESPONSES = {
    f"E{code}": {
        "description": text,
        "content": {"application/json": {"schema": ref("Error")}},
    }
    for code, text in {
        400: "bad request: the body or a parameter is invalid (a body nesting arrays and objects "
        "deeper than 64 levels included)",
        401: "missing or invalid admin token",
        403: "refused: the caller's role lacks the route's permission (`x-permission`), the "
        "caller's address is outside the admin network, or (approvals) the caller created it",
        404: "unknown id",
        409: "conflict with the current state; or (`retryable: true`) a request with the same "
        "Idempotency-Key is still running",
        415: "the body was not sent with `Content-Type: application/json`",
        422: "this Idempotency-Key was already used for a different request",
        429: "too many failed sign-ins or credentials from this address; retry after `retry_after`",
        500: 'a bug (logged with its traceback); the body is `{"error": "internal error"}`',
        503: "storage unavailable; retry later",
    }.items()
}

SCHEMAS = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": _str,
            "retryable": {"type": "boolean"},
            "retry_after": {"type": "integer", "description": "seconds; also Retry-After"},
        },
    },
    "NewsArticle": {
        "description": "One article of a news reply (not a CMS article: see Article).",
        "type": "object",
        "required": ["title"],
        "additionalProperties": False,
        "properties": {"title": _str, "description": _str, "url": _str, "pic_url": _str},
    },
    "Reply": {
        "description": "What the account answers with.",
        "oneOf": [
            {
                "type": "object",
                "required": ["type", "content"],
                "properties": {
                    "type": {"enum": ["text"]},
                    "content": {"type": "string", "minLength": 1},
                },
            },
            {
                "type": "object",
                "required": ["type"],
                "properties": {"type": {"enum": ["image", "voice"]}, "media_id": _str, **_media},
                "anyOf": [{"required": ["media_id"]}, {"required": ["media"]}],
            },
            {
                "type": "object",
                "required": ["type"],
                "properties": {
                    "type": {"enum": ["video"]},
                    "media_id": _str,
                    **_media,
                    "title": _str,
                    "description": _str,
                },
                "anyOf": [{"required": ["media_id"]}, {"required": ["media"]}],
            },
            {
                "type": "object",
                "required": ["type", "thumb_media_id"],
                "properties": {
                    "type": {"enum": ["music"]},
                    "title": _str,
                    "description": _str,
                    "music_url": _str,
                    "hq_music_url": _str,
                    "thumb_media_id": _str,
                },
            },
            {
                "type": "object",
                "required": ["type", "articles"],
                "properties": {
                    "type": {"enum": ["news"]},
                    "articles": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 8,
                        "items": ref("NewsArticle"),
                    },
                },
            },
            {
                "type": "object",
                "description": "news built from CMS articles by id: titles, digests, covers and "
                "links are filled in when the reply is sent; unpublished ones are skipped",
                "required": ["type", "article_ids"],
                "properties": {
                    "type": {"enum": ["news"]},
                    "article_ids": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": 8,
                        "items": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
                    },
                },
            },
            {
                "type": "object",
                "required": ["type"],
                "properties": {"type": {"enum": ["transfer_customer_service"]}, "kf_account": _str},
            },
        ],
    },
    "RuleInput": {
        "type": "object",
        "required": ["name", "match", "keywords", "reply"],
        "properties": {
            "name": {"type": "string", "maxLength": 100},
            "match": {"enum": ["exact", "contains", "prefix", "regex", "click"]},
            "keywords": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "minLength": 1},
            },
            "reply": ref("Reply"),
            "priority": {"type": "integer", "default": 0, "description": "higher wins"},
            "enabled": {"type": "boolean", "default": True},
        },
    },
    "Rule": stored("RuleInput"),
    "LoggedMessage": {
        "type": "object",
        "required": ["msg_id", "openid", "msg_type", "content", "created_at", "rule_id"],
        "properties": {
            "msg_id": _str,
            "openid": _str,
            "msg_type": {**_str, "description": "WeChat's MsgType: text, image, ..., event"},
            "event": {**_str, "description": "an event's name, lower case (subscribe, click, ...)"},
            "content": _str,
            "created_at": {"type": "integer", "description": "WeChat CreateTime (epoch s)"},
            "received_at": {"type": "integer", "description": "epoch ms"},
            "rule_id": {"type": "string", "nullable": True},
            "outcome": {"type": "string", "nullable": True},
        },
    },
}

_rule_id = path_param("rule_id")
_kind = {**path_param("kind"), "schema": {"enum": ["subscribe", "default"]}}
_nf = (400, 401, 404, 503)

PATHS = {
    "/admin/rules": {
        "get": op("List rules", tag="rules", returns=items_of(ref("Rule")), errors=(401, 503)),
        "post": op(
            "Create a rule", tag="rules", body=ref("RuleInput"), ok=201, returns=ref("Rule")
        ),
    },
    "/admin/rules/{rule_id}": {
        "parameters": [_rule_id],
        "get": op("Get a rule", tag="rules", returns=ref("Rule"), errors=(401, 404, 503)),
        "put": op(
            "Update a rule (fields left out keep their value)",
            tag="rules",
            body={"type": "object"},
            returns=ref("Rule"),
            errors=_nf,
        ),
        "patch": op(
            "Update some fields of a rule",
            tag="rules",
            body={"type": "object"},
            returns=ref("Rule"),
            errors=_nf,
        ),
        "delete": op("Delete a rule", tag="rules", ok=204, errors=(401, 404, 503)),
    },
    "/admin/replies/{kind}": {
        "parameters": [_kind],
        "get": op(
            "Get the subscribe or default reply",
            tag="replies",
            returns=ref("Reply"),
            errors=(401, 404, 503),
        ),
        "put": op(
            "Set the subscribe or default reply",
            tag="replies",
            body=ref("Reply"),
            returns=ref("Reply"),
            errors=_nf,
        ),
        "delete": op(
            "Clear the subscribe or default reply", tag="replies", ok=204, errors=(401, 404, 503)
        ),
    },
    "/admin/messages": {
        "get": op(
            "Message log, newest first",
            tag="messages",
            params=[
                query_param("openid", _str, "only this follower"),
                query_param(
                    "limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}
                ),
            ],
            returns=_message_log(),
        ),
    },
    "/admin/openapi.json": {
        "get": op("This document", tag="meta", returns={"type": "object"}, errors=(401,)),
    },
}
