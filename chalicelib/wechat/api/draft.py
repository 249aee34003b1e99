"""Drafts and free publishing: the replacement for the retired ``material/add_news`` (45106)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.errors import InvalidInput

if TYPE_CHECKING:
    from .transport import Transport

MAX_ARTICLES = 8

# publish_status values of freepublish/get (also delivered as a PUBLISHJOBFINISH event).
PUBLISH_SUCCESS = 0
PUBLISH_PUBLISHING = 1
PUBLISH_ORIGINAL_FAILED = 2
PUBLISH_FAILED = 3
PUBLISH_AUDIT_FAILED = 4
PUBLISH_DELETED = 5
PUBLISH_BANNED = 6


def _check_articles(articles: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if not 1 <= len(articles) <= MAX_ARTICLES:
        raise InvalidInput(f"articles: {len(articles)} given, allowed 1..{MAX_ARTICLES}")
    checked = []
    for i, article in enumerate(articles):
        for key in ("title", "content"):
            value = article.get(key)
            if not isinstance(value, str) or not value.strip():
                raise InvalidInput(f"articles[{i}].{key}: required non-empty string")
        # A news article (the default type) needs a cover from permanent material.
        if article.get("article_type", "news") == "news" and not article.get("thumb_media_id"):
            raise InvalidInput(f"articles[{i}].thumb_media_id: required for news articles")
        checked.append(dict(article))
    return checked


class DraftAPI:
    def __init__(self, client: Transport) -> None:
        self.client = client

    def add(self, articles: Sequence[Mapping[str, Any]]) -> str:
        """POST /cgi-bin/draft/add -> media_id of the draft."""
        data = self.client.post("/cgi-bin/draft/add", {"articles": _check_articles(articles)})
        return str(data["media_id"])

    def get(self, media_id: str) -> list[dict[str, Any]]:
        """POST /cgi-bin/draft/get -> the draft's articles (``news_item``)."""
        data = self.client.post("/cgi-bin/draft/get", {"media_id": media_id})
        return list(data.get("news_item") or [])

    def delete(self, media_id: str) -> None:
        """POST /cgi-bin/draft/delete."""
        self.client.post("/cgi-bin/draft/delete", {"media_id": media_id})


class FreePublishAPI:
    def __init__(self, client: Transport) -> None:
        self.client = client

    def submit(self, media_id: str) -> str:
        """POST /cgi-bin/freepublish/submit -> publish_id. Publishing is asynchronous: poll
        :meth:`get` or wait for the PUBLISHJOBFINISH event."""
        data = self.client.post("/cgi-bin/freepublish/submit", {"media_id": media_id})
        return str(data["publish_id"])

    def get(self, publish_id: str) -> dict[str, Any]:
        """POST /cgi-bin/freepublish/get -> {publish_id, publish_status, article_id,
        article_detail, fail_idx}."""
        return self.client.post("/cgi-bin/freepublish/get", {"publish_id": str(publish_id)})

    def delete(self, article_id: str, index: int = 0) -> None:
        """POST /cgi-bin/freepublish/delete: the published article (index from 1; 0: all of
        it). Its freepublish/get status becomes 5 (deleted)."""
        self.client.post("/cgi-bin/freepublish/delete", {"article_id": article_id, "index": index})
