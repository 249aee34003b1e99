"""Admin routes for scheduled campaigns (described in chalicelib/openapi/campaigns.py)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.access.settings import campaigns_need_approval
from chalicelib.campaigns import admin as campaigns
from chalicelib.campaigns import approval
from chalicelib.handlers.common import (
    admin_route,
    json_response,
    query_limit,
    read_object,
)
from chalicelib.handlers.gate import principal

bp = Blueprint(__name__)
admin = admin_route(bp)


def _campaign(campaign_id: str) -> dict[str, Any]:
    """The campaign as it was (the audit's before)."""
    return campaigns.detail(campaign_id)


@bp.route("/admin/campaigns", methods=["POST"])
@admin("campaigns:write")
def create_campaign() -> Response:
    request = bp.current_request
    created = campaigns.create(
        read_object(request),
        client=wiring.wechat(),
        created_by=principal(request).actor,
        needs_approval=campaigns_need_approval(),
    )
    return json_response(created, 201)


@bp.route("/admin/campaigns", methods=["GET"])
@admin("campaigns:read")
def list_campaigns() -> dict[str, Any]:
    request = bp.current_request
    status = (request.query_params or {}).get("status") or None
    limit = query_limit(request, 50, 500)
    return {"items": campaigns.listing(status, limit)}


@bp.route("/admin/campaigns/{campaign_id}", methods=["GET"])
@admin("campaigns:read")
def get_campaign(campaign_id: str) -> dict[str, Any]:
    return campaigns.detail(campaign_id)


@bp.route("/admin/campaigns/{campaign_id}/cancel", methods=["POST"])
@admin("campaigns:write", before=_campaign)
def cancel_campaign(campaign_id: str) -> dict[str, Any]:
    return campaigns.cancel(campaign_id)


@bp.route("/admin/campaigns/{campaign_id}/preview", methods=["POST"])
@admin("campaigns:write")
def preview_campaign(campaign_id: str) -> dict[str, Any]:
    return campaigns.preview(campaign_id, read_object(bp.current_request), wiring.wechat())


@bp.route("/admin/campaigns/{campaign_id}/approve", methods=["POST"])
@admin("campaigns:approve", before=_campaign)
def approve_campaign(campaign_id: str) -> dict[str, Any]:
    return _decide(campaign_id, approve=True)


@bp.route("/admin/campaigns/{campaign_id}/reject", methods=["POST"])
@admin("campaigns:approve", before=_campaign)
def reject_campaign(campaign_id: str) -> dict[str, Any]:
    return _decide(campaign_id, approve=False)


def _decide(campaign_id: str, *, approve: bool) -> dict[str, Any]:
    """Four eyes: the caller approves or rejects (an empty body: no comment)."""
    request = bp.current_request
    body = read_object(request) if (request.raw_body or b"").strip() else None
    return approval.decide(
        campaign_id,
        body,
        by=principal(request).actor,
        approve=approve,
        client=wiring.wechat() if approve else None,
    )
