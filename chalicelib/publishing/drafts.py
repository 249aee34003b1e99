"""CMS articles as WeChat draft articles (draft/add): title, author, digest and body within
WeChat's limits, the "read more" link to the article's own page, the cover, and whether
followers may comment."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.cms.links import article_path
from chalicelib.store import articles


def draft_articles(
    article_ids: Sequence[str],
    thumb_media_id: str,
    base_url: str,
    *,
    open_comment: bool | None = None,
    fans_only_comment: bool = False,
) -> list[dict[str, Any]]:
    """`open_comment` None leaves comments to the account's default (the mass-send path)."""
    out = []
    for article_id in article_ids:
        article = articles.get_article(article_id)
        draft: dict[str, Any] = {
            "title": article["title"][:64],
            "author": (article.get("author") or "")[:16],
            "digest": (article.get("digest") or "")[:120],
            "content": article.get("body_html") or article["title"],
            "content_source_url": base_url + article_path(article_id) if base_url else "",
            "thumb_media_id": thumb_media_id,
        }
        if open_comment is not None:
            draft["need_open_comment"] = int(open_comment)
            draft["only_fans_can_comment"] = int(fans_only_comment)
        out.append(draft)
    return out
