"""Article covers: the image in the media bucket (`articles/<id>/cover-<digest>.<ext>` inside
the account, store.objects), its key on the article's item.

The object is written first and named by the record second, so a record never names a missing
object; a failure in between leaves at most an orphaned object, deleted when nobody names it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from chalicelib.store import articles, objects
from chalicelib.store.articles import bump_version, load, save
from chalicelib.store.guard import guarded

URL_SECONDS = 3600


@guarded
def set_cover(
    article_id: str, data: bytes, content_type: str, extension: str, *, when: int | None = None
) -> dict[str, Any]:
    """Store `data` (already checked to be an image of `content_type`) as the article's cover."""
    item = load(article_id)
    digest = hashlib.sha256(data).hexdigest()[:16]
    key = f"articles/{article_id}/cover-{digest}.{extension}"
    objects.put(
        key,
        data,
        content_type,
        CacheControl="public, max-age=31536000, immutable",  # the key changes with the bytes
    )
    old = item.cover_key
    item.cover_key = key
    item.updated_at = articles.now() if when is None else when
    try:
        save(item)
    except Exception as exc:
        if key == old or not _cover_landed(article_id, key, exc):
            raise
        # The record names the new cover: this very put landed and its answer was lost (or
        # botocore re-sent it and met its own first attempt). The cover is set.
    bump_version()
    if old and old != key:
        objects.delete([old])
    return item.to_dict()


def _cover_landed(article_id: str, key: str, error: Exception) -> bool:
    """After a failed record write: True if the record names `key` anyway. Else the new object
    is deleted (nobody names it); if the record cannot be read, it is kept (an orphan costs
    cents, a cover naming a deleted object would not)."""
    try:
        landed = load(article_id).cover_key == key
    except Exception:
        raise error from None
    if not landed:
        objects.delete([key])
    return landed


@guarded
def remove_cover(article_id: str) -> dict[str, Any]:
    item = load(article_id)
    old = item.cover_key
    if old:
        item.cover_key = None
        item.updated_at = articles.now()
        save(item)
        bump_version()
        objects.delete([old])
    return item.to_dict()


def cover_url(presigner: Any, key: str, seconds: int = URL_SECONDS) -> str:
    """A presigned GET of a cover (computed locally: no request to S3)."""
    return objects.presigned_get(presigner, key, seconds)
