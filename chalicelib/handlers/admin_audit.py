"""`GET /admin/audit`: the audit log, newest first, filtered; as JSON or CSV
(described in chalicelib/openapi/team.py; chalicelib/access/audit.py)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.access import audit
from chalicelib.errors import InvalidInput
from chalicelib.handlers.common import admin_route, query_limit

bp = Blueprint(__name__)
admin = admin_route(bp)


@bp.route("/admin/audit", methods=["GET"])
@admin("audit:read")
def list_audit() -> Any:
    request = bp.current_request
    query = request.query_params or {}
    fmt = query.get("format") or "json"
    if fmt not in ("json", "csv"):
        raise InvalidInput("format: json or csv")
    limit = query_limit(request, 100, 5000 if fmt == "csv" else 1000)
    items = audit.listing(
        limit=limit,
        actor=query.get("actor"),
        path_prefix=query.get("path"),
        since=query.get("from"),
        until=query.get("to"),
    )
    if fmt == "json":
        return {"items": items}
    return Response(
        audit.to_csv(items),
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="wxless-audit.csv"',
            "Cache-Control": "no-store",
        },
    )
