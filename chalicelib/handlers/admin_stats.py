"""Admin analytics: messages per day and hour, rule hits, top texts, unanswered questions,
follower growth. Every route takes `from`/`to` (local dates, inclusive, at most 366 days;
default: the last 7 days) and reads counters only (chalicelib.store.analytics), never the log.
The counters are summed from the messages table's stream, seconds behind: every answer says
`as_of` (ms: every message received before it is counted)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from chalice import Blueprint

from chalicelib.handlers.common import admin_route, query_limit
from chalicelib.store import analytics, progress
from chalicelib.store import rules as rules_store

bp = Blueprint(__name__)
admin = admin_route(bp)


def _range() -> tuple[dt.date, dt.date, dict[str, Any]]:
    params = bp.current_request.query_params or {}
    first, last = analytics.date_range(params.get("from") or None, params.get("to") or None)
    head = {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "timezone": analytics.zone_name(),
        "as_of": progress.as_of()["as_of"],
    }
    return first, last, head


def _rules_by_id() -> dict[str, dict[str, Any]]:
    return {rule["id"]: rule for rule in rules_store.list_rules()}


@bp.route("/admin/stats/messages", methods=["GET"])
@admin("stats:read")
def message_stats() -> dict:
    first, last, head = _range()
    return {**head, **analytics.message_stats(first, last)}


@bp.route("/admin/stats/followers", methods=["GET"])
@admin("stats:read")
def follower_stats() -> dict:
    first, last, head = _range()
    return {**head, **analytics.follower_growth(first, last)}


@bp.route("/admin/stats/rules", methods=["GET"])
@admin("stats:read")
def rule_stats() -> dict:
    first, last, head = _range()
    hits = analytics.rule_hits(first, last)
    rules = _rules_by_id()
    items = []
    for rule_id, per_day in hits.items():
        rule = rules.get(rule_id)
        items.append(
            {
                "rule_id": rule_id,
                "name": rule["name"] if rule else None,
                "match": rule["match"] if rule else None,
                "keywords": list(rule["keywords"]) if rule else [],
                "deleted": rule is None,
                "hits": sum(per_day.values()),
                "days": [{"date": d, "hits": n} for d, n in sorted(per_day.items())],
            }
        )
    items.sort(key=lambda r: (-r["hits"], r["name"] or "", r["rule_id"]))
    return {**head, "items": items}


def _texts(limit_default: int) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
    limit = query_limit(bp.current_request, limit_default, 500)
    first, last, head = _range()
    return analytics.text_stats(first, last), limit, head


@bp.route("/admin/stats/keywords", methods=["GET"])
@admin("stats:read")
def keyword_stats() -> dict:
    rows, limit, head = _texts(20)
    rules = _rules_by_id()
    items = [
        {
            "text": row["text"],
            "count": row["hits"],
            "unanswered": row["unanswered"],
            "last_seen": row["last_at"],
            "rule_id": row["rule_id"],
            "rule_name": (rules.get(row["rule_id"]) or {}).get("name") if row["rule_id"] else None,
        }
        for row in analytics.top_texts(rows, limit)
    ]
    return {**head, "distinct": len(rows), "items": items}


@bp.route("/admin/stats/unanswered", methods=["GET"])
@admin("stats:read")
def unanswered_stats() -> dict:
    rows, limit, head = _texts(50)
    asked = [row for row in rows if row["unanswered"]]
    items = [
        {
            "text": row["text"],
            "count": row["unanswered"],
            "last_seen": row["last_unanswered_at"],
            "sample": row["sample"],
        }
        for row in analytics.top_unanswered(rows, limit)
    ]
    total = sum(row["unanswered"] for row in asked)
    return {**head, "total": total, "distinct": len(asked), "items": items}
