"""The notification API for the bank's other systems: `POST /admin/notify` sends one template
(or subscribe) notification to one follower now, at most once per `client_msg_id`; `GET
/admin/notify/{client_msg_id}` reads what happened to it (chalicelib.notify).

Roles (team access): `notifier` keys may call these two routes and nothing else (the status read
is part of the notify API: a sender checks what became of a send); sending is also for
operator, admin and owner, reading the status also for analyst, editor, operator, admin, owner.
"""

from __future__ import annotations

import hashlib
from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.errors import InvalidInput, NotFound
from chalicelib.handlers.common import admin_route, json_response, read_object

bp = Blueprint(__name__)
admin = admin_route(bp)


def caller_of(request: Any) -> str:
    """Who is calling, for the rate limit: a digest of the credential (never the credential),
    so every API key (and the admin token) has its own budget."""
    header = (request.headers or {}).get("authorization", "")
    token = header.partition(" ")[2].strip()
    return hashlib.sha256(token.encode()).hexdigest()[:16]


@bp.route("/admin/notify", methods=["POST"])
@admin("notify:send")
def post_notify() -> Response:
    from chalicelib.notify import request as parse
    from chalicelib.notify import service

    req = parse.parse(read_object(bp.current_request))
    answer = service.notify(req, caller_of(bp.current_request), wiring.wechat())
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return json_response(answer.body, answer.status, headers)


@bp.route("/admin/notify/{client_msg_id}", methods=["GET"])
@admin("notify:read")
def get_notify(client_msg_id: str) -> dict:
    from chalicelib.notify import service
    from chalicelib.store import notify as store

    if not client_msg_id or len(client_msg_id) > 64:
        raise InvalidInput("client_msg_id: 1..64 characters")
    record = store.get(client_msg_id)
    if record is None:
        raise NotFound("no notification with this client_msg_id (they are kept 7 days)")
    return service.view(record, client_msg_id)
