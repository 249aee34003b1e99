"""Admin routes around the knowledge base: bulk import and export (CSV / XLSX), the unanswered
questions grouped (to turn a group into an entry, or attach it to one), and each entry's
quality (answers, and follow-ups that suggest a bad answer)."""

from __future__ import annotations

import base64
import time
from typing import Any

from chalice import Blueprint

from chalicelib import wiring
from chalicelib.engine import faq as faq_engine
from chalicelib.errors import InvalidInput
from chalicelib.faq import clusters, tables
from chalicelib.handlers.common import admin_route, query_limit, read_object
from chalicelib.store import analytics, faq_stats, progress
from chalicelib.store import faq as store

bp = Blueprint(__name__)
admin = admin_route(bp)

EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@bp.route("/admin/faq/import", methods=["POST"])
@admin("faq:write")
def import_entries() -> dict:
    """{"csv": text} or {"xlsx": base64}, "replace"?: every row checked before any is written."""
    body = read_object(bp.current_request)
    replace = body.get("replace", False)
    if not isinstance(replace, bool):
        raise InvalidInput("replace must be true or false")
    entries = tables.entries_from_rows(tables.read_rows(body))
    return store.import_entries(entries, replace=replace)


@bp.route("/admin/faq/export", methods=["GET"])
@admin("faq:read")
def export_entries() -> dict:
    kind = (bp.current_request.query_params or {}).get("format") or "csv"
    if kind not in EXPORT_TYPES:
        raise InvalidInput("format must be csv or xlsx")
    entries = store.list_entries()
    data = tables.to_csv(entries) if kind == "csv" else tables.to_xlsx(entries)
    stamp = time.strftime("%Y%m%d", time.gmtime())
    return {
        "filename": f"faq-{stamp}.{kind}",
        "content_type": EXPORT_TYPES[kind],
        "base64": base64.b64encode(data).decode("ascii"),
        "entries": len(entries),
    }


def _range() -> tuple[Any, Any]:
    params = bp.current_request.query_params or {}
    return analytics.date_range(params.get("from"), params.get("to"))


@bp.route("/admin/faq/unanswered", methods=["GET"])
@admin("faq:read")
def unanswered() -> dict:
    """Texts that got the default reply in the range (default: the last 7 days), grouped when
    they mean the same, biggest group first; each group with the entries it comes closest to."""
    first, last = _range()
    limit = query_limit(bp.current_request, 20, 100)
    index = wiring.callback().faq_index()
    known = {
        analytics.normalize_text(text)
        for entry in store.list_entries()
        for text in (entry["question"], *entry["alternatives"])
    }
    lexicon = index.lexicon if index else None
    groups = clusters.group(analytics.text_stats(first, last), lexicon, known=known)[:limit]
    for group in groups:
        ranking = index.rank(group["texts"][0]["sample"], limit=3) if index else None
        group["suggestions"] = [
            {"id": c.entry.id, "question": c.entry.question, "score": round(c.score, 3)}
            for c in (ranking.entries if ranking else [])
        ]
    return {"items": groups, **progress.as_of()}


@bp.route("/admin/faq/quality", methods=["GET"])
@admin("faq:read")
def quality() -> dict:
    """Per entry over the range: answers, and answers followed (within 2 minutes) by the same
    follower asking again or asking for a human. Summed from the message stream: seconds
    behind (`as_of`)."""
    first, last = _range()
    counts = faq_stats.quality(first, last)
    items = []
    for entry in store.list_entries():
        row = counts.get(entry["id"], dict.fromkeys(faq_stats.COUNTERS.values(), 0))
        answered = row["answered"]
        items.append(
            {
                "id": entry["id"],
                "question": entry["question"],
                "enabled": entry["enabled"],
                **row,
                "bad_rate": round((row["asked_again"] + row["human"]) / answered, 4)
                if answered
                else None,
            }
        )
    articles = [
        {"id": entry_id, **row, "bad_rate": None}
        for entry_id, row in counts.items()
        if entry_id.startswith(faq_engine.ARTICLE_PREFIX)
    ]
    return {"items": items, "articles": articles, **progress.as_of()}
