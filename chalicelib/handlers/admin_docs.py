"""`GET /admin/openapi.json`: the admin API's OpenAPI document (chalicelib/openapi)."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.handlers.common import admin_route

bp = Blueprint(__name__)
admin = admin_route(bp)


@bp.route("/admin/openapi.json", methods=["GET"])
@admin("docs:read")
def openapi() -> dict:
    from chalicelib.handlers.routing import declared_permissions
    from chalicelib.openapi import document

    return document(declared_permissions(bp.current_app))
