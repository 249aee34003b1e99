"""News replies by article id: `{"type": "news", "article_ids": [...]}` in a rule, special reply,
flow step or customer-service message.

The admin side checks the ids exist when the reply is saved (drafts are fine: they are skipped
until published). The sending side turns the reply into a plain news reply at render time from a
per-container snapshot of the published articles (`PublishedArticles`, built by
chalicelib.wiring.published_articles()), so a retitled article shows its new title and an
unpublished one simply drops out, with no DynamoDB read per message on a warm container.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from chalicelib.cms import links
from chalicelib.engine.cache import SnapshotCache
from chalicelib.errors import InvalidInput
from chalicelib.store import articles as store
from chalicelib.store import versions

# The snapshot is read from the GSI, which trails the table by a moment. A version bumped less
# than SETTLE seconds ago reads as a different version once it has settled, so the snapshot is
# loaded once more after the GSI caught up instead of keeping a stale copy until the next change.
SETTLE = 3
Published = dict[str, dict[str, Any]]


def _version() -> tuple[int, bool]:
    # The callback's fail-fast read: a failure only means the last snapshot is served.
    version, changed_at = versions.read_fast(store.version_key())
    return version, time.time() - changed_at >= SETTLE


def _load() -> tuple[tuple[int, bool], Published]:
    version = _version()
    return version, store.published_entries()


class PublishedArticles:
    """The published articles a news reply may name, checked for changes at most every 2 s."""

    def __init__(self) -> None:
        self._cache: SnapshotCache[Published] = SnapshotCache(_version, _load, dict, ttl=2.0)

    def snapshot(self) -> Published:
        return self._cache.get()

    def expand_reply(self, reply: Mapping[str, Any], base_url: str) -> dict[str, Any] | None:
        """The news reply by article id as a plain news reply, its links under `base_url`
        (links.base_url_from_request); None when none of its articles is published."""
        return links.expand_article_ids(reply, self.snapshot(), base_url)


# -- the admin side ---------------------------------------------------------------------------


def _article_replies(value: Any) -> Iterable[Mapping[str, Any]]:
    if links.is_article_reply(value):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _article_replies(item)
    elif isinstance(value, list):
        for item in value:
            yield from _article_replies(item)


def check_reply_refs(reply: Any) -> None:
    """InvalidInput unless every id of a news reply by article id names an article."""
    check_nested_refs(reply)


def check_nested_refs(value: Any) -> None:
    """check_reply_refs for every such reply inside a larger object (a flow's prompts and
    options): one consistent batch read for all of them."""
    replies = _article_replies(value)
    wanted = [i for reply in replies for i in reply["article_ids"] if isinstance(i, str)]
    if not wanted:
        return
    known = store.existing_ids(wanted)
    unknown = [i for i in dict.fromkeys(wanted) if i not in known]
    if unknown:
        raise InvalidInput(f"reply.article_ids: unknown article(s): {', '.join(unknown)}")
