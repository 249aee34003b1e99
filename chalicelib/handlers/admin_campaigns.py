"""Admin routes for scheduled campaigns (described in chalicelib/openapi/campaigns.py)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.campaigns import admin as campaigns
from chalicelib.handlers.common import admin_route, json_response, query_int, read_object

bp = Blueprint(__name__)
admin = admin_route(bp)


@bp.route("/admin/campaigns", methods=["POST"])
@admin
def create_campaign() -> Response:
    body = read_object(bp.current_request)
    return json_response(campaigns.create(body, client=wiring.wechat()), 201)


@bp.route("/admin/campaigns", methods=["GET"])
@admin
def list_campaigns() -> dict[str, Any]:
    request = bp.current_request
    status = (request.query_params or {}).get("status") or None
    limit = query_int(request, "limit", 50, 1, 500)
    return {"items": campaigns.listing(status, limit)}


@bp.route("/admin/campaigns/{campaign_id}", methods=["GET"])
@admin
def get_campaign(campaign_id: str) -> dict[str, Any]:
    return campaigns.detail(campaign_id)


@bp.route("/admin/campaigns/{campaign_id}/cancel", methods=["POST"])
@admin
def cancel_campaign(campaign_id: str) -> dict[str, Any]:
    return campaigns.cancel(campaign_id)


@bp.route("/admin/campaigns/{campaign_id}/preview", methods=["POST"])
@admin
def preview_campaign(campaign_id: str) -> dict[str, Any]:
    return campaigns.preview(campaign_id, read_object(bp.current_request), wiring.wechat())
