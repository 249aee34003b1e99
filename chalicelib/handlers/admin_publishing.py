"""Publishing CMS articles as WeChat articles (freepublish) and their comments
(chalicelib.publishing).

Roles (team access): editor and admin publish, delete and moderate comments; analyst and
operator read.
"""

from __future__ import annotations

import re
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

_ID = re.compile(r"^[0-9a-f]{13,32}$")
BASE = "/admin/publications"


def _pid(value: str) -> str:
    if not _ID.fullmatch(value):
        raise InvalidInput("publication id: as POST /admin/publications answered")
    return value


def _comment_id(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 19:
        raise InvalidInput("comment id: digits")
    return int(value)


def _index(body: dict[str, Any] | None = None) -> int:
    """The article's position in the publication (from 0): from the body or `?index=`."""
    if body is not None and "index" in body:
        index = body["index"]
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < 8:
            raise InvalidInput("index: 0..7")
        return index
    return query_int(bp.current_request, "index", 0, 0, 7)


def _body() -> dict[str, Any]:
    raw = bp.current_request.raw_body or b""
    return read_object(bp.current_request) if raw.strip() else {}


@bp.route(BASE, methods=["POST"])
@admin("articles:write")
def create_publication() -> Response:
    from chalicelib.cms.links import base_url_from_request
    from chalicelib.publishing import service

    spec = service.validate(read_object(bp.current_request))
    base = base_url_from_request(bp.current_request)
    return json_response(service.publish(spec, wiring.wechat(), base), 201)


@bp.route(BASE, methods=["GET"])
@admin("articles:read")
def list_publications() -> dict:
    from chalicelib.store import publications

    limit = query_limit(bp.current_request, 50, 200)
    return {"items": publications.list_recent(limit)}


@bp.route(BASE + "/{publication_id}", methods=["GET"])
@admin("articles:read")
def get_publication(publication_id: str) -> dict:
    from chalicelib.publishing import service
    from chalicelib.store import publications

    pid = _pid(publication_id)
    if (bp.current_request.query_params or {}).get("refresh") in ("1", "true", "yes"):
        return service.refresh(pid, wiring.wechat())
    return publications.get(pid)


@bp.route(BASE + "/{publication_id}", methods=["DELETE"])
@admin("articles:write")
def delete_publication(publication_id: str) -> Response:
    from chalicelib.publishing import service

    service.delete(_pid(publication_id), wiring.wechat())
    return Response("", status_code=204)


@bp.route(BASE + "/{publication_id}/comments", methods=["GET"])
@admin("articles:read")
def list_comments(publication_id: str) -> dict:
    from chalicelib.publishing import comments

    request = bp.current_request
    kind = (request.query_params or {}).get("type") or "all"
    if kind not in ("all", "normal", "elected"):
        raise InvalidInput("type: all, normal or elected")
    return comments.list_comments(
        _pid(publication_id),
        wiring.wechat(),
        index=_index(),
        kind=kind,
        begin=query_int(request, "begin", 0, 0, 1_000_000),
        count=query_int(request, "count", 50, 1, 50),
    )


def _switch(publication_id: str, is_open: bool) -> dict:
    from chalicelib.publishing import comments

    index = _index(_body())
    comments.set_open(_pid(publication_id), wiring.wechat(), index, is_open)
    return {"index": index, "open": is_open}


@bp.route(BASE + "/{publication_id}/comments/open", methods=["POST"])
@admin("articles:write")
def open_comments(publication_id: str) -> dict:
    return _switch(publication_id, True)


@bp.route(BASE + "/{publication_id}/comments/close", methods=["POST"])
@admin("articles:write")
def close_comments(publication_id: str) -> dict:
    return _switch(publication_id, False)


def _act(publication_id: str, comment_id: str, action: str, body: dict[str, Any]) -> Response:
    from chalicelib.publishing import comments

    comments.act(
        _pid(publication_id),
        wiring.wechat(),
        action,
        index=_index(body),
        comment_id=_comment_id(comment_id),
        content=body.get("content"),
    )
    return Response("", status_code=204)


@bp.route(BASE + "/{publication_id}/comments/{comment_id}/elect", methods=["POST"])
@admin("articles:write")
def elect_comment(publication_id: str, comment_id: str) -> Response:
    return _act(publication_id, comment_id, "elect", _body())


@bp.route(BASE + "/{publication_id}/comments/{comment_id}/unelect", methods=["POST"])
@admin("articles:write")
def unelect_comment(publication_id: str, comment_id: str) -> Response:
    return _act(publication_id, comment_id, "unelect", _body())


@bp.route(BASE + "/{publication_id}/comments/{comment_id}", methods=["DELETE"])
@admin("articles:write")
def delete_comment(publication_id: str, comment_id: str) -> Response:
    return _act(publication_id, comment_id, "delete", {})


@bp.route(BASE + "/{publication_id}/comments/{comment_id}/reply", methods=["POST"])
@admin("articles:write")
def reply_comment(publication_id: str, comment_id: str) -> Response:
    body = read_object(bp.current_request)
    unknown = sorted(set(body) - {"content", "index"})
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
    return _act(publication_id, comment_id, "reply", body)


@bp.route(BASE + "/{publication_id}/comments/{comment_id}/reply", methods=["DELETE"])
@admin("articles:write")
def delete_reply(publication_id: str, comment_id: str) -> Response:
    return _act(publication_id, comment_id, "delete_reply", {})
