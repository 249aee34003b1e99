"""Admin routes for channel QR codes: create (WeChat's qrcode/create), list and read with their
scans and subscribes, change name / reply / tags, delete, the image, daily figures and the
channel report."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.channels import codes, report
from chalicelib.cms.replies import check_reply_refs
from chalicelib.handlers.common import admin_route, json_response, read_object
from chalicelib.media.replies import validated
from chalicelib.store import analytics, channel_stats, qrcodes
from chalicelib.wechat.replies import validate_reply

bp = Blueprint(__name__)
admin = admin_route(bp)


def _reply(fields: dict[str, Any]) -> dict[str, Any]:
    """The body's reply (if any) checked like a rule's: media items resolved, article ids known."""
    if fields.get("reply") is not None:
        fields["reply"] = validated(
            validate_reply, fields["reply"], wiring.wechat(), reply_key=None
        )
        check_reply_refs(fields["reply"])
    return fields


@bp.route("/admin/qrcodes", methods=["POST"])
@admin("qrcodes:write")
def create_code() -> Response:
    fields = _reply(codes.check_new(read_object(bp.current_request)))
    return json_response(codes.create(fields, wiring.wechat()), 201)


@bp.route("/admin/qrcodes", methods=["GET"])
@admin("qrcodes:read")
def list_codes() -> dict:
    return codes.list_all(wiring.wechat().base_url)


@bp.route("/admin/qrcodes/{code_id}", methods=["GET"])
@admin("qrcodes:read")
def get_code(code_id: str) -> dict:
    return codes.get_one(code_id, wiring.wechat().base_url)


@bp.route("/admin/qrcodes/{code_id}", methods=["PUT", "PATCH"])
@admin("qrcodes:write")
def update_code(code_id: str) -> dict:
    fields = _reply(codes.check_change(read_object(bp.current_request)))
    qrcodes.get_code(code_id)  # 404 before anything else
    qrcodes.update_code(code_id, fields)
    return codes.get_one(code_id, wiring.wechat().base_url)


@bp.route("/admin/qrcodes/{code_id}", methods=["DELETE"])
@admin("qrcodes:write")
def delete_code(code_id: str) -> Response:
    qrcodes.delete_code(code_id)
    return Response("", status_code=204)


@bp.route("/admin/qrcodes/{code_id}/image", methods=["GET"])
@admin("qrcodes:read")
def code_image(code_id: str) -> dict:
    return codes.image(code_id, wiring.wechat())


@bp.route("/admin/qrcodes/{code_id}/stats", methods=["GET"])
@admin("qrcodes:read")
def code_stats(code_id: str) -> dict:
    params = bp.current_request.query_params or {}
    first, last = analytics.date_range(params.get("from"), params.get("to"), default_days=30)
    code = qrcodes.get_code(code_id)
    return {
        "id": code["id"],
        "scene": code["scene"],
        "items": channel_stats.daily(code["scene"], first, last),
    }


@bp.route("/admin/channels/report", methods=["GET"])
@admin("qrcodes:read")
def channel_report() -> dict:
    return report.build()
