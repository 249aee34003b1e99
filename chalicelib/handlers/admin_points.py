"""Admin routes for points of service (branches, ATMs) and the location answer's settings."""

from __future__ import annotations

import math
from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.cms.replies import check_reply_refs
from chalicelib.engine.geo import (
    DEFAULT_SETTINGS,
    MAX_COUNT,
    build_place_book,
    check_point_id,
    validate_point,
    validate_settings,
)
from chalicelib.errors import InvalidInput
from chalicelib.handlers.common import (
    admin_route,
    json_response,
    query_int,
    query_limit,
    read_json,
    read_object,
)
from chalicelib.media.replies import validated
from chalicelib.store import points as store

bp = Blueprint(__name__)
admin = admin_route(bp)


@bp.route("/admin/points", methods=["GET"])
@admin("points:read")
def list_points() -> dict:
    request = bp.current_request
    query = request.query_params or {}
    limit = query_limit(request, 100, 1000)
    items, cursor = store.list_points(limit, query.get("cursor") or None, query.get("tag") or None)
    return {"items": items, "next": cursor}


@bp.route("/admin/points", methods=["POST"])
@admin("points:write")
def create_point() -> Response:
    body = read_object(bp.current_request)
    if "id" in body:
        raise InvalidInput("id is assigned by the server (use /admin/points/import to set ids)")
    return json_response(store.create_point(validate_point(body)), 201)


@bp.route("/admin/points/import", methods=["POST"])
@admin("points:write")
def import_points() -> dict:
    """`[point, ...]` or `{"points": [...], "replace": false}`; every point is validated before
    anything is written; a point with an `id` replaces the stored one."""
    body = read_json(bp.current_request)
    replace = False
    if isinstance(body, dict):
        unknown = sorted(set(body) - {"points", "replace"})
        if unknown:
            raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
        replace = body.get("replace", False)
        if not isinstance(replace, bool):
            raise InvalidInput("replace must be true or false")
        body = body.get("points")
    if not isinstance(body, list) or not body:
        raise InvalidInput("points must be a non-empty list")
    if len(body) > store.MAX_IMPORT:
        raise InvalidInput(f"at most {store.MAX_IMPORT} points per import")
    rows: list[tuple[str | None, dict[str, Any]]] = []
    seen: set[str] = set()
    for index, point in enumerate(body):
        try:
            point_id = (
                check_point_id(point["id"]) if isinstance(point, dict) and "id" in point else None
            )
            if point_id in seen:
                raise InvalidInput(f"id {point_id} appears twice")
            if point_id:
                seen.add(point_id)
            rows.append((point_id, validate_point(point)))
        except InvalidInput as exc:
            raise InvalidInput(f"points[{index}]: {exc}") from None
    return store.import_points(rows, replace=replace)


def _float(query: dict[str, str], name: str, limit: float) -> float:
    raw = query.get(name)
    if raw is None or raw == "":
        raise InvalidInput(f"{name} is required")
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a number") from None
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise InvalidInput(f"{name} must be between -{limit:g} and {limit:g}")
    return value


@bp.route("/admin/points/nearest", methods=["GET"])
@admin("points:read")
def nearest() -> dict:
    """What a follower at (lat, lng) would be offered, from the same cached snapshot the
    callback uses (so a change shows here when followers see it, within ~2 s; no reload per
    call: 10,000 points take a full scan to load); `n` and `tag` override the settings."""
    request = bp.current_request
    query = request.query_params or {}
    lat, lng = _float(query, "lat", 90), _float(query, "lng", 180)
    n = query_int(request, "n", 3, 1, MAX_COUNT * 10)
    cache = wiring.callback().places
    # Without a cache (a Callback built by hand) load the points directly.
    places = cache.get() if cache is not None else build_place_book(store.load_snapshot()[1])
    radius = places.settings.get("max_distance_km") or 0
    tag = query.get("tag")
    found = places.nearest(
        lat,
        lng,
        n,
        max_meters=radius * 1000 if radius else None,
        tags=[tag] if tag else places.settings.get("tags") or (),
    )
    return {"items": [near.public() for near in found]}


@bp.route("/admin/points/settings", methods=["GET"])
@admin("points:read")
def get_settings() -> dict:
    return {**DEFAULT_SETTINGS, **(store.get_settings() or {})}


@bp.route("/admin/points/settings", methods=["PUT"])
@admin("points:write")
def put_settings() -> dict:
    base = store.get_settings()
    # empty_reply is a Reply like a rule's: media items resolved, article ids checked.
    settings = validated(
        lambda body: validate_settings(body, base=base),
        read_object(bp.current_request),
        wiring.wechat(),
        reply_key="empty_reply",
    )
    check_reply_refs(settings["empty_reply"])
    store.put_settings(settings)
    return settings


@bp.route("/admin/points/{point_id}", methods=["GET"])
@admin("points:read")
def get_point(point_id: str) -> dict:
    return store.get_point(point_id)


@bp.route("/admin/points/{point_id}", methods=["PUT", "PATCH"])
@admin("points:write")
def update_point(point_id: str) -> dict:
    body = read_object(bp.current_request)
    if "id" in body and body["id"] != point_id:
        raise InvalidInput("id cannot be changed")
    fields = validate_point(body, base=store.get_point(point_id))
    return store.replace_point(point_id, fields)


@bp.route("/admin/points/{point_id}", methods=["DELETE"])
@admin("points:write")
def delete_point(point_id: str) -> Response:
    store.delete_point(point_id)
    return Response("", status_code=204)
