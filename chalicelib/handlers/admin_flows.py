"""Admin routes for flows (guided conversations) and their analytics."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.engine.flows import validate_flow
from chalicelib.handlers.common import admin_route, json_response, read_object
from chalicelib.store import articles
from chalicelib.store import flows as store
from chalicelib.store.analytics import date_range

bp = Blueprint(__name__)
admin = admin_route(bp)
DEFAULT_RANGE_DAYS = 30


@bp.route("/admin/flows", methods=["GET"])
@admin
def list_flows() -> dict:
    return {"items": store.list_flows()}


@bp.route("/admin/flows", methods=["POST"])
@admin
def create_flow() -> Response:
    fields = validate_flow(read_object(bp.current_request))
    articles.check_nested_refs(fields)  # news by article id: the articles must exist
    return json_response(store.create_flow(fields), 201)


@bp.route("/admin/flows/{flow_id}", methods=["GET"])
@admin
def get_flow(flow_id: str) -> dict:
    return store.get_flow(flow_id)


@bp.route("/admin/flows/{flow_id}", methods=["PUT", "PATCH"])
@admin
def update_flow(flow_id: str) -> dict:
    body = read_object(bp.current_request)
    fields = validate_flow(body, base=store.get_flow(flow_id))
    articles.check_nested_refs(fields)
    return store.replace_flow(flow_id, fields)


@bp.route("/admin/flows/{flow_id}", methods=["DELETE"])
@admin
def delete_flow(flow_id: str) -> Response:
    store.delete_flow(flow_id)
    return Response("", status_code=204)


@bp.route("/admin/flows/{flow_id}/stats", methods=["GET"])
@admin
def flow_stats(flow_id: str) -> Any:
    query = bp.current_request.query_params or {}
    start, end = date_range(query.get("from"), query.get("to"), default_days=DEFAULT_RANGE_DAYS)
    return store.stats(flow_id, start, end)
