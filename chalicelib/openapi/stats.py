"""Analytics: messages per day / hour of day, rule hits, top texts, unanswered questions,
follower growth. Counters, not log scans; dates are local (WXLESS_TIMEZONE, default
Asia/Shanghai)."""

from __future__ import annotations

from chalicelib.openapi.spec import op, query_param, ref

_str = {"type": "string"}
_int = {"type": "integer"}
_date = {"type": "string", "format": "date"}
_counts = {"type": "object", "additionalProperties": _int}

_RANGE = [
    query_param("from", _date, "first local date (inclusive); default: 6 days before `to`"),
    query_param("to", _date, "last local date (inclusive); default: today. At most 366 days."),
]


def _limit(default: int) -> dict:
    return query_param(
        "limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": default}
    )


_HEAD = {
    "from": _date,
    "to": _date,
    "timezone": {"type": "string", "description": "the time zone the dates are in"},
    "as_of": {
        "type": "integer",
        "nullable": True,
        "description": "ms: every message received before this is counted (the counters are "
        "summed from the messages stream, seconds behind); null before the first",
    },
}
_TRAFFIC = {
    "total": _int,
    "messages": {**_int, "description": "messages a follower wrote (not events)"},
    "events": _int,
    "by_type": {**_counts, "description": "text, image, ..., event.subscribe, event.click, ..."},
}

SCHEMAS = {
    "MessageStats": {
        "type": "object",
        "required": ["from", "to", "days", "hours", "totals"],
        "properties": {
            **_HEAD,
            "days": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"date": _date, **_TRAFFIC, "outcomes": _counts},
                },
            },
            "hours": {
                "type": "array",
                "description": "24 entries, hour of day 0..23 (local), summed over the range",
                "items": {"type": "object", "properties": {"hour": _int, **_TRAFFIC}},
            },
            "totals": {
                "type": "object",
                "properties": {
                    **_TRAFFIC,
                    "outcomes": {
                        **_counts,
                        "description": "rule, default (fell to the default reply), unanswered "
                        "(no rule, no default reply), subscribe, flow, location, none",
                    },
                },
            },
        },
    },
    "RuleStats": {
        "type": "object",
        "required": ["items"],
        "properties": {
            **_HEAD,
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "rule_id": _str,
                        "name": {"type": "string", "nullable": True},
                        "match": {"type": "string", "nullable": True},
                        "keywords": {"type": "array", "items": _str},
                        "deleted": {"type": "boolean"},
                        "hits": _int,
                        "days": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"date": _date, "hits": _int},
                            },
                        },
                    },
                },
            },
        },
    },
    "KeywordStats": {
        "type": "object",
        "required": ["items"],
        "properties": {
            **_HEAD,
            "distinct": _int,
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "text": {
                            "type": "string",
                            "description": "normalized: NFKC, case-folded, punctuation removed, "
                            "runs of 4+ digits as #, at most 50 characters",
                        },
                        "count": _int,
                        "unanswered": _int,
                        "last_seen": {**_int, "description": "epoch seconds"},
                        "rule_id": {"type": "string", "nullable": True},
                        "rule_name": {"type": "string", "nullable": True},
                    },
                },
            },
        },
    },
    "UnansweredStats": {
        "type": "object",
        "required": ["items", "total"],
        "properties": {
            **_HEAD,
            "total": {**_int, "description": "unanswered messages in the range"},
            "distinct": _int,
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "text": _str,
                        "count": _int,
                        "last_seen": {**_int, "description": "epoch seconds"},
                        "sample": {"type": "string", "description": "one message as written"},
                    },
                },
            },
        },
    },
    "FollowerGrowth": {
        "type": "object",
        "required": ["days", "totals"],
        "properties": {
            **_HEAD,
            "days": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"date": _date, "new": _int, "lost": _int, "net": _int},
                },
            },
            "totals": {
                "type": "object",
                "properties": {"new": _int, "lost": _int, "net": _int},
            },
        },
    },
}

PATHS = {
    "/admin/stats/messages": {
        "get": op(
            "Messages and events per local day and per hour of day, by type and outcome",
            tag="stats",
            params=_RANGE,
            returns=ref("MessageStats"),
        ),
    },
    "/admin/stats/rules": {
        "get": op(
            "Hits per keyword/click rule (with names), most hit first",
            tag="stats",
            params=_RANGE,
            returns=ref("RuleStats"),
        ),
    },
    "/admin/stats/keywords": {
        "get": op(
            "Top message texts (normalized), most frequent first",
            tag="stats",
            params=[*_RANGE, _limit(20)],
            returns=ref("KeywordStats"),
        ),
    },
    "/admin/stats/unanswered": {
        "get": op(
            "Unanswered questions: texts that fell to the default reply or got no answer, "
            "grouped by normalized text, most frequent first",
            tag="stats",
            params=[*_RANGE, _limit(50)],
            returns=ref("UnansweredStats"),
        ),
    },
    "/admin/stats/followers": {
        "get": op(
            "Follower growth per local day: new (subscribe events), lost (unsubscribes), net",
            tag="stats",
            params=_RANGE,
            returns=ref("FollowerGrowth"),
        ),
    },
}
