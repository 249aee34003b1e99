"""Subscribe notifications (订阅通知): the account's templates (list, add, delete; WeChat's
categories, public titles and their keywords) and what followers consented to
(chalicelib.notify.subscriptions). Sending one: `POST /admin/notify` with `channel: subscribe`,
or a template campaign with `template.channel: subscribe`.

Roles (team access): reading is for analyst and up; adding and deleting templates for admin
(and operator, who runs campaigns).
"""

from __future__ import annotations

import re
import time
from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.errors import InvalidInput
from chalicelib.handlers.common import (
    admin_route,
    json_response,
    query_int,
    query_limit,
    read_object,
)

bp = Blueprint(__name__)
admin = admin_route(bp)

_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ID = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")


def _id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidInput(f"{what}: letters, digits, _ or - (1..128)")
    return value


@bp.route("/admin/subscribe/templates", methods=["GET"])
@admin("templates:read")
def list_templates() -> dict:
    from chalicelib.notify import subscriptions

    return {"items": subscriptions.sync(wiring.wechat(), time.time())}


@bp.route("/admin/subscribe/templates", methods=["POST"])
@admin("templates:write")
def add_template() -> Response:
    from chalicelib.notify import subscriptions

    body = read_object(bp.current_request)
    unknown = sorted(set(body) - {"tid", "kid_list", "scene_desc"})
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
    raw_tid = body.get("tid")
    tid = _id(
        str(raw_tid) if isinstance(raw_tid, int) and not isinstance(raw_tid, bool) else raw_tid,
        "tid",
    )
    kids = body.get("kid_list")
    if (
        not isinstance(kids, list)
        or not 2 <= len(kids) <= 5
        or not all(isinstance(k, int) and not isinstance(k, bool) and k > 0 for k in kids)
        or len(set(kids)) != len(kids)
    ):
        raise InvalidInput("kid_list: 2..5 distinct keyword ids (integers)")
    scene = body.get("scene_desc")
    if not isinstance(scene, str) or not scene.strip() or len(scene) > 15:
        raise InvalidInput("scene_desc: 1..15 characters, where the follower meets it")
    api = wiring.wechat()
    template_id = api.subscribe.add(tid, kids, scene.strip())
    items = subscriptions.sync(api, time.time())
    added = next(
        (t for t in items if t["template_id"] == template_id), {"template_id": template_id}
    )
    return json_response(added, 201)


@bp.route("/admin/subscribe/templates/{template_id}", methods=["DELETE"])
@admin("templates:write")
def delete_template(template_id: str) -> Response:
    from chalicelib.notify import subscriptions

    api = wiring.wechat()
    api.subscribe.delete(_id(template_id, "template_id"))
    subscriptions.sync(api, time.time())
    return Response("", status_code=204)


@bp.route("/admin/subscribe/categories", methods=["GET"])
@admin("templates:read")
def categories() -> dict:
    return {"items": wiring.wechat().subscribe.categories()}


@bp.route("/admin/subscribe/titles", methods=["GET"])
@admin("templates:read")
def titles() -> dict:
    request = bp.current_request
    raw = (request.query_params or {}).get("category_ids", "")
    try:
        ids = [int(i) for i in raw.split(",") if i.strip()]
    except ValueError:
        raise InvalidInput("category_ids: comma-separated integers") from None
    if not ids:
        raise InvalidInput("category_ids: at least one (GET /admin/subscribe/categories)")
    start = query_int(request, "start", 0, 0, 100_000)
    limit = query_limit(request, 30, 30)
    page = wiring.wechat().subscribe.titles(ids, start, limit)
    return {"count": page["count"], "items": page["data"]}


@bp.route("/admin/subscribe/titles/{tid}/keywords", methods=["GET"])
@admin("templates:read")
def keywords(tid: str) -> dict:
    return {"items": wiring.wechat().subscribe.keywords(_id(tid, "tid"))}


@bp.route("/admin/subscribe/consents", methods=["GET"])
@admin("followers:read")
def follower_consents() -> dict:
    from chalicelib.notify import subscriptions

    openid = (bp.current_request.query_params or {}).get("openid")
    if not isinstance(openid, str) or not _OPENID.fullmatch(openid):
        raise InvalidInput("openid: a WeChat openid (1..64 letters, digits, _ or -)")
    return {"openid": openid, "items": subscriptions.follower_consents(openid)}
