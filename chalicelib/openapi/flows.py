"""Flows (guided conversations) and their analytics."""

from __future__ import annotations

from chalicelib.openapi.spec import items_of, op, path_param, query_param, ref, stored
from chalicelib.openapi.wechat import wop  # saving may upload a media item to WeChat

_str = {"type": "string"}
_int = {"type": "integer"}
_date = {"type": "string", "format": "date"}
_words = {"type": "array", "items": {"type": "string", "minLength": 1}}
_node_id = {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,40}$"}

SCHEMAS = {
    "FlowOption": {
        "type": "object",
        "description": "Matches the follower's text by keyword, number (default: the option's "
        "1-based position; null turns it off) or regex `pattern`. Leads to `next` or ends the "
        "flow with `reply` (exactly one of the two).",
        "additionalProperties": False,
        "properties": {
            "keywords": _words,
            "number": {"type": "integer", "minimum": 0, "maximum": 999, "nullable": True},
            "pattern": {"type": "string", "maxLength": 500},
            "next": _node_id,
            "reply": ref("Reply"),
        },
    },
    "FlowNode": {
        "type": "object",
        "required": ["id", "prompt"],
        "additionalProperties": False,
        "properties": {
            "id": _node_id,
            "prompt": ref("Reply"),
            "fallback": ref("Reply"),
            "options": {
                "type": "array",
                "maxItems": 20,
                "items": ref("FlowOption"),
                "description": "none: an end node (reaching it completes the flow)",
            },
        },
    },
    "FlowInput": {
        "type": "object",
        "required": ["name", "entry", "nodes"],
        "description": "Validation refuses references to unknown nodes, nodes unreachable from "
        "`start`, and nodes that cannot reach an end (cycles with no way to finish). Every Reply "
        "(prompts, fallbacks, final replies, exit reply) may name a media item (`media`, resolved "
        "to its permanent material when saved, as for rules) or CMS articles (`article_ids`, which "
        "must exist; expanded with their current titles and links when sent).",
        "properties": {
            "name": {"type": "string", "maxLength": 100},
            "enabled": {"type": "boolean", "default": True},
            "priority": {
                "type": "integer",
                "default": 0,
                "description": "an entry keyword beats keyword rules of lower or equal priority",
            },
            "entry": {
                "type": "object",
                "additionalProperties": False,
                "description": "at least one keyword or click key",
                "properties": {
                    "match": {"enum": ["exact", "contains", "prefix", "regex"], "default": "exact"},
                    "keywords": _words,
                    "click_keys": {**_words, "description": "menu CLICK EventKeys"},
                },
            },
            "start": {**_node_id, "description": "default: the first node"},
            "nodes": {"type": "array", "minItems": 1, "maxItems": 100, "items": ref("FlowNode")},
            "back_words": {**_words, "default": ["返回"]},
            "exit_words": {**_words, "minItems": 1, "default": ["退出"]},
            "timeout_seconds": {
                "type": "integer",
                "minimum": 30,
                "maximum": 604800,
                "default": 600,
            },
            "max_fallbacks": {
                "type": "integer",
                "minimum": 0,
                "maximum": 100,
                "default": 3,
                "description": "fallbacks in a row before the follower is let out (0: never)",
            },
            "fallback": ref("Reply"),
            "exit_reply": ref("Reply"),
        },
    },
    "Flow": stored("FlowInput"),
    "FlowStats": {
        "type": "object",
        "description": "Counters over local dates [from, to]. Per node, `dropped` = reached - "
        "advanced - back - completed: followers who left there (exit, timeout, abandon) or went "
        "silent. Timeouts are counted when the follower next writes.",
        "properties": {
            "flow_id": _str,
            "name": _str,
            "from": _date,
            "to": _date,
            "totals": {
                "type": "object",
                "properties": {
                    **{
                        k: _int
                        for k in ("entered", "completed", "exited", "timed_out", "abandoned")
                    },
                    "completion_rate": {"type": "number", "nullable": True},
                },
            },
            "nodes": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": _str,
                        **{
                            k: _int
                            for k in (
                                "reached",
                                "advanced",
                                "back",
                                "fallback",
                                "completed",
                                "exited",
                                "timed_out",
                                "abandoned",
                                "dropped",
                            )
                        },
                    },
                },
            },
            "days": {"type": "array", "items": {"type": "object"}},
        },
    },
}

_flow_id = path_param("flow_id")
_nf = (400, 401, 404, 503)

PATHS = {
    "/admin/flows": {
        "get": op("List flows", tag="flows", returns=items_of(ref("Flow")), errors=(401, 503)),
        "post": wop(
            "Create a flow (409 when an enabled flow already starts on one of its entries)",
            tag="flows",
            body=ref("FlowInput"),
            ok=201,
            returns=ref("Flow"),
            errors=(400, 401, 409, 503),
        ),
    },
    "/admin/flows/{flow_id}": {
        "parameters": [_flow_id],
        "get": op("Get a flow", tag="flows", returns=ref("Flow"), errors=(401, 404, 503)),
        "put": wop(
            "Update a flow (fields left out keep their value; nodes are replaced whole)",
            tag="flows",
            body={"type": "object"},
            returns=ref("Flow"),
            errors=(400, 401, 404, 409, 503),
        ),
        "patch": wop(
            "Update some fields of a flow",
            tag="flows",
            body={"type": "object"},
            returns=ref("Flow"),
            errors=(400, 401, 404, 409, 503),
        ),
        "delete": op(
            "Delete a flow (followers in it fall out at their next message)",
            tag="flows",
            ok=204,
            errors=(401, 404, 503),
        ),
    },
    "/admin/flows/{flow_id}/stats": {
        "parameters": [_flow_id],
        "get": op(
            "Completion and drop-off per node over a date range",
            tag="flows",
            params=[
                query_param("from", _date, "first local date (inclusive); default: 29 days before"),
                query_param("to", _date, "last local date (inclusive); default: today"),
            ],
            returns=ref("FlowStats"),
            errors=_nf,
        ),
    },
}
