"""Admin routes for the account as WeChat keeps it: template-message templates, the blacklist,
WeChat's own statistics and the account settings WeChat's API cannot tell us (described in
chalicelib/openapi/wxaccount.py; services in chalicelib/wxaccount/)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.handlers.common import admin_route, json_response, read_object
from chalicelib.wxaccount import blacklist, settings, stats, templates

bp = Blueprint(__name__)
admin = admin_route(bp)


def _flag(name: str) -> bool:
    return (bp.current_request.query_params or {}).get(name, "") in ("1", "true", "yes")


# --------------------------------------------------------------------------- templates


@bp.route("/admin/templates", methods=["GET"])
@admin("templates:read")
def list_templates() -> dict[str, Any]:
    return templates.listing(wiring.wechat(), refresh=_flag("refresh"))


@bp.route("/admin/templates", methods=["POST"])
@admin("templates:write")
def add_template() -> Response:
    body = read_object(bp.current_request)
    return json_response(templates.add(body, wiring.wechat()), 201)


@bp.route("/admin/templates/{template_id}", methods=["DELETE"])
@admin("templates:write")
def delete_template(template_id: str) -> Response:
    templates.delete(template_id, wiring.wechat())
    return Response("", status_code=204)


@bp.route("/admin/templates/check", methods=["POST"])
@admin("templates:read")
def check_template_data() -> dict[str, Any]:
    return templates.check_body(read_object(bp.current_request), wiring.wechat())


# --------------------------------------------------------------------------- settings


@bp.route("/admin/settings/wechat", methods=["GET"])
@admin("settings:read")
def get_wechat_settings() -> dict[str, Any]:
    return settings.get()


@bp.route("/admin/settings/wechat", methods=["PUT"])
@admin("settings:write")
def put_wechat_settings() -> dict[str, Any]:
    return settings.put(read_object(bp.current_request))


# --------------------------------------------------------------------------- blacklist


@bp.route("/admin/blacklist", methods=["GET"])
@admin("blacklist:read")
def get_blacklist() -> dict[str, Any]:
    return blacklist.listing(wiring.wechat())


@bp.route("/admin/blacklist", methods=["POST"])
@admin("blacklist:write")
def add_to_blacklist() -> dict[str, Any]:
    return blacklist.add(read_object(bp.current_request), wiring.wechat())


@bp.route("/admin/blacklist/remove", methods=["POST"])
@admin("blacklist:write")
def remove_from_blacklist() -> dict[str, Any]:
    return blacklist.remove(read_object(bp.current_request), wiring.wechat())


# --------------------------------------------------------------------------- statistics


@bp.route("/admin/stats/wechat", methods=["GET"])
@admin("stats:read")
def wechat_stats() -> dict[str, Any]:
    params = bp.current_request.query_params or {}
    return stats.listing(params.get("from") or None, params.get("to") or None)
