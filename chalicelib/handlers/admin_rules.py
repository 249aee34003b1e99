"""Admin routes for rules, special replies and the message log."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.cms.replies import check_reply_refs
from chalicelib.engine.validate import validate_rule
from chalicelib.handlers.common import (
    admin_route,
    json_response,
    query_limit,
    read_json,
    read_object,
)
from chalicelib.media.replies import validated
from chalicelib.store import listing, messages, progress
from chalicelib.store import rules as store
from chalicelib.store.errors import NotFound
from chalicelib.wechat.replies import validate_reply

bp = Blueprint(__name__)
admin = admin_route(bp)


def _public(rule: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rule.items() if k != "seq"}


def _rule(rule_id: str) -> dict[str, Any]:
    """The rule as it was (the audit's before)."""
    return _public(store.get_rule(rule_id))


def _special(kind: str) -> Any:
    return store.get_special(kind) if kind in store.SPECIAL_KINDS else None


@bp.route("/admin/rules", methods=["GET"])
@admin("rules:read")
def list_rules() -> dict:
    return {"items": [_public(r) for r in store.list_rules()]}


@bp.route("/admin/rules", methods=["POST"])
@admin("rules:write")
def create_rule() -> Response:
    # A reply may name a media item ({"media": id}): resolved to permanent material on save.
    fields = validated(validate_rule, read_object(bp.current_request), wiring.wechat())
    check_reply_refs(fields["reply"])  # news by article id: the articles must exist
    return json_response(_public(store.create_rule(fields)), 201)


@bp.route("/admin/rules/{rule_id}", methods=["GET"])
@admin("rules:read")
def get_rule(rule_id: str) -> dict:
    return _public(store.get_rule(rule_id))


@bp.route("/admin/rules/{rule_id}", methods=["PUT", "PATCH"])
@admin("rules:write", before=_rule)
def update_rule(rule_id: str) -> dict:
    body = read_object(bp.current_request)
    current = store.get_rule(rule_id)
    fields = validated(lambda b: validate_rule(b, base=current), body, wiring.wechat())
    check_reply_refs(fields["reply"])
    return _public(store.replace_rule(rule_id, fields))


@bp.route("/admin/rules/{rule_id}", methods=["DELETE"])
@admin("rules:write", before=_rule)
def delete_rule(rule_id: str) -> Response:
    store.delete_rule(rule_id)
    return Response("", status_code=204)


def _kind(kind: str) -> str:
    if kind not in store.SPECIAL_KINDS:
        raise NotFound(
            f"unknown special reply {kind!r}; use one of {', '.join(store.SPECIAL_KINDS)}"
        )
    return kind


@bp.route("/admin/replies/{kind}", methods=["GET"])
@admin("replies:read")
def get_special(kind: str) -> Any:
    reply = store.get_special(_kind(kind))
    if reply is None:
        raise NotFound(f"no {kind} reply is set")
    return reply


@bp.route("/admin/replies/{kind}", methods=["PUT"])
@admin("replies:write", before=_special)
def put_special(kind: str) -> Any:
    _kind(kind)
    body = read_json(bp.current_request)
    reply = validated(validate_reply, body, wiring.wechat(), reply_key=None)
    check_reply_refs(reply)
    store.put_special(kind, reply)
    return reply


@bp.route("/admin/replies/{kind}", methods=["DELETE"])
@admin("replies:write", before=_special)
def delete_special(kind: str) -> Response:
    store.put_special(_kind(kind), None)
    return Response("", status_code=204)


@bp.route("/admin/messages", methods=["GET"])
@admin("messages:read")
def list_messages() -> dict:
    request = bp.current_request
    openid = (request.query_params or {}).get("openid") or None
    limit = query_limit(request, 50, 500)
    if openid:  # the follower's own timeline: current by the time their reply was sent
        return {"items": messages.timeline(openid, limit)}
    # Across followers: summed from the stream, seconds behind (`as_of`, ms).
    return {"items": listing.recent(limit), "as_of": progress.as_of()["as_of"]}
