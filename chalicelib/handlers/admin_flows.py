"""Admin routes for flows (guided conversations) and their analytics."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.cms.replies import check_nested_refs
from chalicelib.engine.flow_definitions import map_replies, replies_in, validate_flow
from chalicelib.handlers.common import admin_route, json_response, read_object
from chalicelib.media.replies import names_media, resolve_reply
from chalicelib.store import flows as store
from chalicelib.store.analytics import date_range

bp = Blueprint(__name__)
admin = admin_route(bp)
DEFAULT_RANGE_DAYS = 30


def _validated(body: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """validate_flow, plus what rules get on save: news by article id must name existing
    articles, and a reply naming a media item ({"type": "image", "media": id}) is resolved to
    the item's permanent material. The whole flow is checked (with placeholders) before
    anything is uploaded, so an invalid flow uploads nothing."""
    has_media = any(names_media(reply) for reply in replies_in(body))

    def resolve(reply: Any, where: str, dry: bool) -> Any:
        if not names_media(reply):  # malformed replies are validate_flow's to refuse
            return reply
        return resolve_reply(reply, None if dry else wiring.wechat(), dry=dry, path=where)

    def resolved(dry: bool) -> Any:
        return map_replies(body, lambda reply, where: resolve(reply, where, dry))

    fields = validate_flow(resolved(dry=True) if has_media else body, base=base)
    check_nested_refs(fields)
    return validate_flow(resolved(dry=False), base=base) if has_media else fields


@bp.route("/admin/flows", methods=["GET"])
@admin("flows:read")
def list_flows() -> dict:
    return {"items": store.list_flows()}


@bp.route("/admin/flows", methods=["POST"])
@admin("flows:write")
def create_flow() -> Response:
    fields = _validated(read_object(bp.current_request))
    return json_response(store.create_flow(fields), 201)


@bp.route("/admin/flows/{flow_id}", methods=["GET"])
@admin("flows:read")
def get_flow(flow_id: str) -> dict:
    return store.get_flow(flow_id)


@bp.route("/admin/flows/{flow_id}", methods=["PUT", "PATCH"])
@admin("flows:write")
def update_flow(flow_id: str) -> dict:
    body = read_object(bp.current_request)
    fields = _validated(body, base=store.get_flow(flow_id))
    return store.replace_flow(flow_id, fields)


@bp.route("/admin/flows/{flow_id}", methods=["DELETE"])
@admin("flows:write")
def delete_flow(flow_id: str) -> Response:
    store.delete_flow(flow_id)
    return Response("", status_code=204)


@bp.route("/admin/flows/{flow_id}/stats", methods=["GET"])
@admin("flows:read")
def flow_stats(flow_id: str) -> Any:
    query = bp.current_request.query_params or {}
    start, end = date_range(query.get("from"), query.get("to"), default_days=DEFAULT_RANGE_DAYS)
    return store.stats(flow_id, start, end)
