"""The account as WeChat keeps it: template-message templates (and the check of a message's
data against its template), the blacklist, WeChat's own statistics and the account settings
WeChat's API cannot tell us."""

from __future__ import annotations

from chalicelib.openapi.spec import items_of, op, path_param, query_param, ref
from chalicelib.openapi.wechat import wop

_str = {"type": "string"}
_int = {"type": "integer"}
_bool = {"type": "boolean"}
_date = {"type": "string", "format": "date"}
_counts = {"type": "object", "additionalProperties": _int}
_openids = {
    "type": "array",
    "items": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
}
_reads = {
    "read_users": _int,
    "reads": _int,
    "original_read_users": _int,
    "original_reads": _int,
    "share_users": _int,
    "shares": _int,
    "favorite_users": _int,
    "favorites": _int,
}

SCHEMAS = {
    "TemplateField": {
        "type": "object",
        "required": ["key", "type", "max"],
        "properties": {
            "key": {**_str, "description": "the data key, e.g. thing1"},
            "type": {
                **_str,
                "description": "the field's type, from its key: thing, number, letter, symbol, "
                "character_string, time, date, amount, phone_number, car_number, name, phrase, "
                "const, enum; keyword, first, remark (industry templates); text (unknown)",
            },
            "max": {
                "type": "integer",
                "nullable": True,
                "description": "the longest value WeChat takes (thing: 20); null where the "
                "rule is a format (time, date, amount)",
            },
        },
    },
    "Template": {
        "type": "object",
        "required": ["template_id", "title", "content", "fields"],
        "properties": {
            "template_id": _str,
            "title": _str,
            "content": {**_str, "description": "with {{key.DATA}} where each field goes"},
            "fields": {"type": "array", "items": ref("TemplateField")},
            "category": {
                **_bool,
                "description": "a category template (typed fields; no first, remark or colour)",
            },
            "example": _str,
            "primary_industry": _str,
            "deputy_industry": _str,
        },
    },
    "TemplateList": {
        "allOf": [
            items_of(ref("Template")),
            {
                "type": "object",
                "properties": {
                    "synced_at": {**_int, "description": "when WeChat was last asked"},
                    "stale": {
                        **_bool,
                        "description": "WeChat did not answer: the copy of synced_at",
                    },
                },
            },
        ],
    },
    "WeChatSettings": {
        "type": "object",
        "properties": {
            "mass_send_protection": {
                **_bool,
                "description": "「API群发保护」 is on in WeChat (安全中心 > 风险操作保护): a mass "
                "send to all waits for an administrator's confirmation in WeChat (30 min)",
            },
            "updated_at": _int,
        },
    },
    "Blacklist": {
        "type": "object",
        "required": ["openids"],
        "properties": {"openids": _openids, "total": _int},
    },
    "WeChatDay": {
        "type": "object",
        "required": ["date"],
        "properties": {
            "date": _date,
            "followers": {
                "type": "object",
                "properties": {
                    "new": _int,
                    "cancelled": _int,
                    "net": _int,
                    "total": {"type": "integer", "nullable": True},
                    "by_source": {
                        "type": "object",
                        "description": "search, qr_code, article, card_share, ads, other, ...",
                        "additionalProperties": _counts,
                    },
                },
            },
            "articles": {
                "type": "object",
                "properties": {
                    **_reads,
                    "items": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"msgid": _str, "title": _str, **_reads},
                        },
                    },
                },
            },
            "messages": {
                "type": "object",
                "properties": {"users": _int, "count": _int, "by_type": _counts},
            },
            "synced_at": _int,
        },
    },
    "WeChatStats": {
        "allOf": [
            items_of(ref("WeChatDay")),
            {
                "type": "object",
                "properties": {
                    "from": _date,
                    "to": _date,
                    "synced_through": {**_date, "nullable": True},
                    "synced_at": {"type": "integer", "nullable": True},
                },
            },
        ],
    },
}

_OPENIDS_BODY = {
    "type": "object",
    "required": ["openids"],
    "additionalProperties": False,
    "properties": {"openids": {**_openids, "minItems": 1, "maxItems": 200}},
}
_DATA = {
    "type": "object",
    "description": "field key -> text, or {value: text}; colour is refused",
    "additionalProperties": {
        "oneOf": [_str, {"type": "object", "properties": {"value": _str}}],
    },
}

PATHS = {
    "/admin/templates": {
        "get": wop(
            "The account's templates and their typed fields, synced from WeChat "
            "(template/get_all_private_template; asked again after 60 s, or now with refresh)",
            tag="templates",
            params=[query_param("refresh", {"type": "string", "enum": ["1", "true"]})],
            returns=ref("TemplateList"),
            errors=(400, 401, 503),
        ),
        "post": wop(
            "Add a template from WeChat's library (template/api_add_template)",
            tag="templates",
            ok=201,
            body={
                "type": "object",
                "required": ["template_id_short"],
                "additionalProperties": False,
                "properties": {
                    "template_id_short": _str,
                    "keyword_name_list": {"type": "array", "items": _str, "maxItems": 5},
                },
            },
            returns=ref("Template"),
        ),
    },
    "/admin/templates/{template_id}": {
        "parameters": [path_param("template_id")],
        "delete": wop(
            "Delete a template (template/del_private_template)",
            tag="templates",
            ok=204,
            errors=(401, 404, 503),
        ),
    },
    "/admin/templates/check": {
        "post": wop(
            "Check template data against its template, as a send would (400 naming the field: "
            "a value breaking its type's rule; colour; first/remark on a category template)",
            tag="templates",
            body={
                "type": "object",
                "required": ["template_id", "data"],
                "properties": {"template_id": _str, "data": _DATA},
            },
            returns={
                "type": "object",
                "properties": {"ok": _bool, "template": ref("Template")},
            },
        ),
    },
    "/admin/settings/wechat": {
        "get": op(
            "Account settings WeChat's API cannot tell us",
            tag="settings",
            returns=ref("WeChatSettings"),
            errors=(401, 503),
        ),
        "put": op(
            "Declare account settings (the ones named change)",
            tag="settings",
            body={
                "type": "object",
                "additionalProperties": False,
                "properties": {"mass_send_protection": _bool},
            },
            returns=ref("WeChatSettings"),
        ),
    },
    "/admin/blacklist": {
        "get": wop(
            "The blacklisted followers (tags/members/getblacklist)",
            tag="blacklist",
            returns=ref("Blacklist"),
            errors=(401, 503),
        ),
        "post": wop(
            "Blacklist followers (tags/members/batchblacklist, 20 a call)",
            tag="blacklist",
            body=_OPENIDS_BODY,
            returns={"type": "object", "properties": {"blacklisted": _openids}},
            errors=(400, 401, 404, 503),
        ),
    },
    "/admin/blacklist/remove": {
        "post": wop(
            "Take followers off the blacklist (tags/members/batchunblacklist)",
            tag="blacklist",
            body=_OPENIDS_BODY,
            returns={"type": "object", "properties": {"removed": _openids}},
            errors=(400, 401, 404, 503),
        ),
    },
    "/admin/stats/wechat": {
        "get": op(
            "WeChat's own daily statistics (datacube: followers, articles, messages), synced "
            "daily; days WeChat has not reported (today) are absent",
            tag="stats",
            params=[
                query_param("from", _date, "first date (inclusive); default: 29 days before to"),
                query_param("to", _date, "last date (inclusive); default: today; at most 366"),
            ],
            returns=ref("WeChatStats"),
        ),
    },
}
