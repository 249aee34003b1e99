"""`GET /health`: 200 only once storage answers. (`GET /admin/openapi.json` is in admin_docs,
loaded on first use like every admin route.)"""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.handlers.responses import json_response

bp = Blueprint(__name__)


@bp.route("/health", methods=["GET"])
def health() -> Response:
    from chalicelib.store import rules as rules_store

    try:
        rules_store.read_version()
    except Exception as exc:
        return json_response({"status": "unavailable", "error": type(exc).__name__}, 503)
    return json_response({"status": "ok"})
