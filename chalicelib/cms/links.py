"""Public URLs of articles, and news replies built from articles by id.

A rule, special reply or flow step may answer `{"type": "news", "article_ids": [...]}`. The
callback turns that into a plain news reply at render time from a per-container snapshot of the
published articles (store.articles.published_snapshot), so a retitled article shows its new title
and an unpublished one simply drops out, with no DynamoDB read per message on a warm container.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from chalicelib import config


def base_url_from_request(request: Any) -> str:
    """`WXLESS_PUBLIC_BASE_URL` when set, else the scheme and host the request came in on.

    Behind API Gateway's default domain the stage name is part of the path, so it is added back;
    a custom domain (the normal production setup) should be named in WXLESS_PUBLIC_BASE_URL.
    """
    configured = config.get(config.PUBLIC_BASE_URL)
    if configured:
        return configured.rstrip("/")
    if request is None:
        return ""
    headers = request.headers or {}
    host = headers.get("host", "")
    if not host:
        return ""
    scheme = headers.get("x-forwarded-proto", "").split(",")[0].strip() or "http"
    base = f"{scheme}://{host}"
    if host.endswith(".amazonaws.com"):
        stage = (request.context or {}).get("stage")
        if stage:
            base += f"/{stage}"
    return base


def current_base_url() -> str:
    """The base URL for the request being served (the callback has no request object at hand)."""
    configured = config.get(config.PUBLIC_BASE_URL)
    if configured:
        return configured.rstrip("/")
    try:
        # Any Blueprint registered on the app sees its request; the callback's always is
        # (pages are registered lazily, chalicelib/handlers/routing.py).
        from chalicelib.handlers.callback import bp

        request = bp.current_request
    except Exception:  # not inside a request (benchmark, job) or blueprint not registered
        request = None
    return base_url_from_request(request)


def article_path(article_id: str) -> str:
    return f"/p/articles/{quote(article_id, safe='')}"


def cover_path(article_id: str) -> str:
    return f"/p/articles/{quote(article_id, safe='')}/cover"


def category_path(category_id: str) -> str:
    return f"/p/categories/{quote(category_id, safe='')}"


def news_article(entry: Mapping[str, Any], base: str) -> dict[str, Any]:
    """One item of a news reply for a published article (`entry` from the published snapshot)."""
    item: dict[str, Any] = {
        "title": entry["title"],
        "description": entry.get("digest") or "",
        "url": base + article_path(entry["id"]),
    }
    if entry.get("cover_key"):
        item["pic_url"] = base + cover_path(entry["id"])
    return item


def expand_article_ids(
    reply: Mapping[str, Any], published: Mapping[str, Mapping[str, Any]], base: str
) -> dict[str, Any] | None:
    """A plain news reply from `reply["article_ids"]`, skipping ids that are not published;
    None when none is left (the caller then answers nothing rather than an empty news reply)."""
    items = [
        news_article(published[article_id], base)
        for article_id in reply.get("article_ids") or ()
        if article_id in published
    ]
    if not items:
        return None
    return {"type": "news", "articles": items}


def is_article_reply(reply: Any) -> bool:
    return isinstance(reply, dict) and reply.get("type") == "news" and "article_ids" in reply
