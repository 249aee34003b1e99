"""Admin routes for followers: search, one follower with their recent messages, remark and local
tags, and running the profile sync now."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib.errors import InvalidInput
from chalicelib.followers import activity
from chalicelib.handlers.common import (
    admin_route,
    error,
    json_response,
    query_int,
    query_limit,
    read_json,
    read_object,
)
from chalicelib.jobs import profile_sync
from chalicelib.store import analytics, messages
from chalicelib.store import followers as store
from chalicelib.wechat.api import WeChatAPIError

bp = Blueprint(__name__)
admin = admin_route(bp)

_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _bool(params: dict[str, str], name: str) -> bool | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    value = _BOOLS.get(raw.lower())
    if value is None:
        raise InvalidInput(f"{name} must be true or false")
    return value


def _filters(params: dict[str, str]) -> store.Filters:
    since = params.get("active_since")
    return store.Filters(
        tag=(params.get("tag") or "").strip() or None,
        region=(params.get("region") or "").strip() or None,
        subscribed=_bool(params, "subscribed"),
        active_since=analytics.day_start(analytics.parse_day(since, "active_since"))
        if since
        else None,
        q=(params.get("q") or "").strip() or None,
    )


@bp.route("/admin/followers", methods=["GET"])
@admin("followers:read")
def list_followers() -> dict:
    request = bp.current_request
    params = dict(request.query_params or {})
    limit = query_limit(request, 50, 200)
    items, cursor = activity.search(_filters(params), limit, params.get("cursor") or None)
    return {"items": items, "cursor": cursor}


@bp.route("/admin/followers/sync", methods=["POST"])
@admin("followers:write")
def sync_followers() -> Response:
    body: Any = (
        read_json(bp.current_request) if (bp.current_request.raw_body or b"").strip() else {}
    )
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    mode = body.get("mode", "pending")
    if mode not in ("pending", "full"):
        raise InvalidInput("mode must be pending or full")
    report = profile_sync.run(mode=mode).as_dict()
    if report["error"]:
        return json_response(report, 502)
    return json_response(report)


@bp.route("/admin/followers/{openid}", methods=["GET"])
@admin("followers:read")
def get_follower(openid: str) -> dict:
    limit = query_int(bp.current_request, "messages", 20, 0, 200)
    follower = activity.get(openid)
    recent = messages.timeline(openid, limit) if limit else []
    return {"follower": follower, "recent_messages": recent}


@bp.route("/admin/followers/{openid}", methods=["PUT", "PATCH"])
@admin("followers:write")
def update_follower(openid: str) -> Any:
    fields = store.check_local_fields(read_object(bp.current_request))
    current = activity.ensure_record(openid)  # 404 before bothering WeChat
    if "remark" in fields and fields["remark"] != current["remark"]:
        # WeChat owns the remark (the next profile sync copies it back), so it is set there
        # first; only what WeChat accepted is stored.
        try:
            profile_sync.default_client().users.update_remark(openid, fields["remark"])
        except WeChatAPIError as exc:
            return error(502, f"WeChat refused the remark: {exc}")
    return activity.enrich([store.update_local(openid, fields)])[0]
