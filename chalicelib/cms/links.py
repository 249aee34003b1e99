"""Public URLs of articles and categories, and the plain news reply built from articles by id
(cms.replies keeps the snapshot of published articles it is built from).

Links are absolute: `WXLESS_PUBLIC_BASE_URL`, else the scheme and host of the request being
served, which the entry point passes in (`base_url_from_request`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from chalicelib import config


def base_url_from_request(request: Any | None) -> str:
    """`WXLESS_PUBLIC_BASE_URL` when set, else the scheme and host the request came in on
    (`""` outside a request, e.g. in a job, when no base URL is configured).

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
