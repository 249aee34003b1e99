"""Public article pages, no auth: `/p/articles/{id}`, `/p/articles/{id}/cover`,
`/p/categories/{id}`.

Rendered with Jinja2 (autoescape on; the article body is the one value marked safe, and it is
sanitized on save and again here). Only published articles exist for the public: a draft, an
unpublished or a deleted article is a 404, its cover too. Answers carry an ETag (a 304 for a
matching If-None-Match) and `Cache-Control: public, max-age=60`, which bounds how long a cache
may keep showing an article after it is unpublished.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.cms import links
from chalicelib.cms.index import published_in_category
from chalicelib.cms.sanitize import sanitize_html
from chalicelib.cms.search import format_day, format_iso
from chalicelib.errors import InvalidInput
from chalicelib.store import articles as store
from chalicelib.store.categories import find_category
from chalicelib.store.covers import cover_url
from chalicelib.store.errors import StoreUnavailable
from chalicelib.store.page_views import record as record_view
from chalicelib.webauth.readers import reader_of

bp = Blueprint(__name__)
log = logging.getLogger("wxless.pages")

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
HTML = "text/html; charset=utf-8"
PAGE_CACHE = "public, max-age=60"
COVER_CACHE = "public, max-age=600"  # well inside the presigned URL's hour
PAGE_SIZE = 10
# WeChat's JS-SDK (the share card on article pages, signed by /p/jssdk).
JWEIXIN_ORIGIN = "https://res.wx.qq.com"
JWEIXIN = f"{JWEIXIN_ORIGIN}/open/js/jweixin-1.6.0.js"


def _build_environment() -> tuple[Any, str]:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    css = (TEMPLATES / "page.css").read_text(encoding="utf-8")
    env.globals["css"] = css
    share_js = (TEMPLATES / "share.js").read_text(encoding="utf-8")
    env.globals["share_js"] = share_js
    csp = (
        "default-src 'none'; img-src https: http: data:; "
        f"style-src '{_sha256(css)}'; script-src '{_sha256(share_js)}' {JWEIXIN_ORIGIN}; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return env, csp


def _sha256(source: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode()


def _environment() -> tuple[Any, str]:
    """The Jinja2 environment and the page CSP, built on first use (keeps cold starts short),
    once per container."""
    return wiring.cached("page_templates", (), _build_environment)


def _page(template: str, status: int = 200, **context: Any) -> Response:
    from markupsafe import Markup

    env, csp = _environment()
    if "body" in context:
        context["body"] = Markup(context["body"])
    html = env.get_template(template).render(**context)
    headers = {
        "Content-Type": HTML,
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }
    if status != 200:
        headers["Cache-Control"] = "no-store"
        return Response(html, status_code=status, headers=headers)
    etag = '"' + hashlib.sha256(html.encode("utf-8")).hexdigest()[:32] + '"'
    headers.update({"ETag": etag, "Cache-Control": PAGE_CACHE})
    if _etag_matches(etag):
        return Response("", status_code=304, headers={"ETag": etag, "Cache-Control": PAGE_CACHE})
    return Response(html, status_code=200, headers=headers)


def _etag_matches(etag: str) -> bool:
    header = (bp.current_request.headers or {}).get("if-none-match", "")
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return etag in candidates or "*" in candidates


def _not_found(message: str = "文章不存在或已下线。") -> Response:
    return _page("not_found.html", 404, title="页面不存在", message=message)


def _unavailable() -> Response:
    response = _page("not_found.html", 503, title="请稍后再试", message="服务暂时不可用。")
    response.headers["Retry-After"] = "5"
    return response


def _base() -> str:
    return links.base_url_from_request(bp.current_request)


@bp.route("/p/articles/{article_id}", methods=["GET"])
def article_page(article_id: str) -> Response:
    try:
        article = store.get_published(article_id)
        category = None
        if article and article.get("category_id"):
            category = find_category(article["category_id"])
    except StoreUnavailable:
        return _unavailable()
    if article is None:
        return _not_found()
    _count_view(article_id)
    base = _base()
    url = base + links.article_path(article_id)
    cover = base + links.cover_path(article_id) if article.get("cover_key") else None
    return _page(
        "article.html",
        share={  # a JSON data block for share.js (tojson escapes <, > and & in it)
            "jssdk": base + "/p/jssdk",
            "jweixin": JWEIXIN,  # loaded inside WeChat only: elsewhere the page needs nothing
            "title": article.get("title") or "",
            "desc": article.get("digest") or "",
            "link": url,
            "imgUrl": cover or "",
        },
        article=article,
        category=category,
        body=sanitize_html(article.get("body_html")),  # stored clean; cleaned again to be sure
        url=url,
        cover_url=cover,
        category_url=base + links.category_path(category["id"]) if category else None,
        published_iso=format_iso(article.get("published_at")),
        published_day=format_day(article.get("published_at")),
    )


def _count_view(article_id: str) -> None:
    """One small write (store.page_views); a failure costs the count, never the page."""
    request = bp.current_request
    source = str((request.query_params or {}).get("from") or "")
    try:
        record_view(article_id, reader_of(request), source)
    except Exception:  # e.g. no signing key configured: count nothing, serve the page
        log.warning("pages.view_not_counted", exc_info=True)


@bp.route("/p/articles/{article_id}/cover", methods=["GET"])
def article_cover(article_id: str) -> Response:
    """A published article's cover: a redirect to a short-lived presigned S3 URL, so the image
    bytes never pass through Lambda and the bucket stays private."""
    try:
        article = store.get_published(article_id)
    except StoreUnavailable:
        return Response("", status_code=503, headers={"Retry-After": "5"})
    if article is None or not article.get("cover_key"):
        return Response("not found", status_code=404, headers={"Content-Type": "text/plain"})
    return Response(
        "",
        status_code=302,
        headers={
            "Location": cover_url(wiring.presigner(), article["cover_key"]),
            "Cache-Control": COVER_CACHE,
        },
    )


@bp.route("/p/categories/{category_id}", methods=["GET"])
def category_page(category_id: str) -> Response:
    cursor = (bp.current_request.query_params or {}).get("cursor") or None
    try:
        category = find_category(category_id)
        if category is None:
            return _not_found("栏目不存在。")
        try:
            items, next_cursor = published_in_category(category_id, PAGE_SIZE, cursor)
        except InvalidInput:
            return _not_found("页面不存在。")
    except StoreUnavailable:
        return _unavailable()
    base = _base()
    url = base + links.category_path(category_id)
    shown = [
        {
            **item,
            "url": base + links.article_path(item["id"]),
            "cover_url": base + links.cover_path(item["id"]) if item.get("cover_key") else None,
            "published_iso": format_iso(item.get("published_at")),
            "published_day": format_day(item.get("published_at")),
        }
        for item in items
    ]
    return _page(
        "category.html",
        category=category,
        items=shown,
        url=url,
        first_url=url if cursor else None,
        next_url=f"{url}?cursor={quote(next_cursor)}" if next_cursor else None,
    )
