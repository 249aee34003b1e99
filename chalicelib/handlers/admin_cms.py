"""Admin routes of the CMS: articles (with covers, publishing and batch actions) and categories.

Described in chalicelib/openapi/cms.py. Article bodies are sanitized on save (chalicelib/cms).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.cms import categories, index, links
from chalicelib.cms.search import parse_time
from chalicelib.cms.validate import (
    COVER_MAX_BYTES,
    check_id,
    validate_article,
    validate_category,
    validate_cover,
)
from chalicelib.errors import InvalidInput
from chalicelib.handlers.common import (
    admin_route,
    error,
    json_response,
    query_limit,
    read_object,
)
from chalicelib.store import article_writes, covers
from chalicelib.store import articles as store
from chalicelib.store import categories as category_store

bp = Blueprint(__name__)
admin = admin_route(bp)


def _decorate(article: dict[str, Any]) -> dict[str, Any]:
    """Add what a client needs to show an article: its public URL and a short-lived cover URL
    (drafts' covers are only reachable this way, never through the public pages)."""
    out = dict(article)
    base = links.base_url_from_request(bp.current_request)
    out["url"] = base + links.article_path(article["id"])
    cover = article.get("cover_key")
    out["cover_url"] = covers.cover_url(wiring.presigner(), cover) if cover else None
    return out


def _query(name: str) -> str | None:
    value = (bp.current_request.query_params or {}).get(name)
    return value if value not in (None, "") else None


# -- articles ------------------------------------------------------------------------------


@bp.route("/admin/articles", methods=["GET"])
@admin("articles:read")
def list_articles() -> dict:
    request = bp.current_request
    status = _query("status")
    if status == "all":
        status = None
    if status not in (None, *store.STATUSES):
        raise InvalidInput("status must be draft, published or all")
    sort = _query("sort") or "updated"
    if sort not in index.SORTS:
        raise InvalidInput(f"sort must be one of {', '.join(index.SORTS)}")
    low, high = _query("published_from"), _query("published_to")
    category_id = _query("category_id")
    query = index.ArticleQuery(
        q=_query("q") or "",
        status=status,
        category_id=check_id(category_id, "category_id") if category_id else None,
        published_from=parse_time(low, "published_from") if low else None,
        published_to=parse_time(high, "published_to", end_of_day=True) if high else None,
        sort=sort,
        limit=query_limit(request, 20, index.MAX_PAGE),
        cursor=_query("cursor"),
    )
    result = index.list_articles(wiring.article_index(), query)
    result["items"] = [_decorate(item) for item in result["items"]]
    return result


@bp.route("/admin/articles", methods=["POST"])
@admin("articles:write")
def create_article() -> Response:
    fields = validate_article(read_object(bp.current_request))
    return json_response(_decorate(article_writes.create_article(fields)), 201)


@bp.route("/admin/articles/batch", methods=["POST"])
@admin("articles:write")
def batch_articles() -> dict:
    body = read_object(bp.current_request)
    action, ids = body.get("action"), body.get("ids")
    if action not in article_writes.BATCH_ACTIONS:
        raise InvalidInput(f"action must be one of {', '.join(article_writes.BATCH_ACTIONS)}")
    if not isinstance(ids, list) or not 1 <= len(ids) <= article_writes.BATCH_MAX:
        raise InvalidInput(f"ids must be a list of 1 to {article_writes.BATCH_MAX} article ids")
    unique = list(dict.fromkeys(check_id(i, "ids[]") for i in ids))
    return article_writes.batch(action, unique)


@bp.route("/admin/articles/{article_id}", methods=["GET"])
@admin("articles:read")
def get_article(article_id: str) -> dict:
    return _decorate(store.get_article(article_id))


@bp.route("/admin/articles/{article_id}", methods=["PUT", "PATCH"])
@admin("articles:write")
def update_article(article_id: str) -> dict:
    body = read_object(bp.current_request)
    rev = body.get("rev")
    if rev is not None and (isinstance(rev, bool) or not isinstance(rev, int)):
        raise InvalidInput("rev must be an integer")
    fields = validate_article(body, partial=True)
    return _decorate(article_writes.update_article(article_id, fields, expected_rev=rev))


@bp.route("/admin/articles/{article_id}", methods=["DELETE"])
@admin("articles:write")
def delete_article(article_id: str) -> Response:
    article_writes.delete_article(article_id)
    return Response("", status_code=204)


@bp.route("/admin/articles/{article_id}/publish", methods=["POST"])
@admin("articles:write")
def publish_article(article_id: str) -> dict:
    return _decorate(article_writes.publish(article_id))


@bp.route("/admin/articles/{article_id}/unpublish", methods=["POST"])
@admin("articles:write")
def unpublish_article(article_id: str) -> dict:
    return _decorate(article_writes.unpublish(article_id))


def _image_bytes(body: dict[str, Any]) -> bytes:
    data = body.get("data")
    if not isinstance(data, str) or not data:
        raise InvalidInput("data must be the image as base64 (or a data: URL)")
    if data.startswith("data:"):
        _header, _, data = data.partition(",")
    if len(data) > COVER_MAX_BYTES * 4 // 3 + 8:
        raise InvalidInput(f"cover must be at most {COVER_MAX_BYTES // (1024 * 1024)} MiB")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("data is not valid base64") from None


@bp.route("/admin/articles/{article_id}/cover", methods=["PUT"])
@admin("articles:write")
def put_cover(article_id: str) -> dict:
    data = _image_bytes(read_object(bp.current_request))
    content_type, extension = validate_cover(data)
    return _decorate(covers.set_cover(article_id, data, content_type, extension))


@bp.route("/admin/articles/{article_id}/cover", methods=["DELETE"])
@admin("articles:write")
def delete_cover(article_id: str) -> dict:
    return _decorate(covers.remove_cover(article_id))


# -- categories ----------------------------------------------------------------------------


def _with_counts(category: dict[str, Any], counts: dict[str, tuple[int, int]]) -> dict[str, Any]:
    total, published = counts.get(category["id"], (0, 0))
    base = links.base_url_from_request(bp.current_request)
    return {
        **category,
        "article_count": total,
        "published_count": published,
        "url": base + links.category_path(category["id"]),
    }


@bp.route("/admin/categories", methods=["GET"])
@admin("categories:read")
def list_categories() -> dict:
    counts = wiring.article_index().get().counts()
    return {"items": [_with_counts(c, counts) for c in category_store.list_categories()]}


@bp.route("/admin/categories", methods=["POST"])
@admin("categories:write")
def create_category() -> Response:
    fields = validate_category(read_object(bp.current_request))
    return json_response(_with_counts(categories.create_category(fields), {}), 201)


@bp.route("/admin/categories/{category_id}", methods=["GET"])
@admin("categories:read")
def get_category(category_id: str) -> dict:
    category = category_store.get_category(category_id)
    return _with_counts(category, wiring.article_index().get().counts())


@bp.route("/admin/categories/{category_id}", methods=["PUT", "PATCH"])
@admin("categories:write")
def update_category(category_id: str) -> dict:
    fields = validate_category(read_object(bp.current_request), partial=True)
    category = categories.update_category(category_id, fields)
    return _with_counts(category, wiring.article_index().get().counts())


@bp.route("/admin/categories/{category_id}", methods=["DELETE"])
@admin("categories:write")
def delete_category(category_id: str) -> Response:
    move_to = _query("move_to")
    if move_to and move_to != categories.MOVE_TO_NONE:
        check_id(move_to, "move_to")
    try:
        moved = categories.delete_category(wiring.article_index(), category_id, move_to)
    except categories.CategoryNotEmpty as exc:
        return error(409, str(exc), article_count=exc.count)
    return json_response({"deleted": category_id, "moved": moved})
