"""`GET /health`: 200 only once storage answers; `GET /admin/openapi.json`."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.handlers.common import admin_route, json_response

bp = Blueprint(__name__)


@bp.route("/health", methods=["GET"])
def health() -> Response:
    from chalicelib.store import rules as rules_store

    try:
        rules_store.read_version()
    except Exception as exc:
        return json_response({"status": "unavailable", "error": type(exc).__name__}, 503)
    return json_response({"status": "ok"})


@bp.route("/admin/openapi.json", methods=["GET"])
@admin_route(bp)("docs:read")
def openapi() -> dict:
    from chalicelib.handlers.routing import declared_permissions
    from chalicelib.openapi import document

    return document(declared_permissions(bp.current_app))
