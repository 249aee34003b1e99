"""Article lists: the admin list (searched and paged over an in-memory index of every article's
summary) and a category's public list.

Published-only, date-ordered lists without a text query come straight from a GSI
(store.articles.published_page); everything else (text search, drafts, other orders) from the
index, which a container keeps (`AdminIndex`, built by chalicelib.wiring.article_index()) and
rebuilds when the articles' version counter moves. Cursors are opaque (cms.search) and tied to
the query that made them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.cms import search
from chalicelib.errors import InvalidInput
from chalicelib.store import articles as store
from chalicelib.store.guard import guarded

MAX_PAGE = 100
SORTS = {"updated": "updated_at", "created": "created_at", "published": "published_at"}
#: Rebuild the index at least this often even if the version item did not move (a best-effort
#: bump can be lost to a storage fault after the write it announces succeeded).
ADMIN_INDEX_MAX_AGE = 30.0


@dataclass(slots=True)
class ArticleQuery:
    q: str = ""
    status: str | None = None
    category_id: str | None = None
    published_from: int | None = None
    published_to: int | None = None
    sort: str = "updated"
    limit: int = 20
    cursor: str | None = None

    def filters(self) -> dict[str, Any]:
        return {
            "q": self.q,
            "status": self.status,
            "category_id": self.category_id,
            "from": self.published_from,
            "to": self.published_to,
            "sort": self.sort,
        }

    @property
    def has_range(self) -> bool:
        return self.published_from is not None or self.published_to is not None


@dataclass
class ArticleIndex:
    """Summaries of every article (no bodies), built from one consistent Scan.

    Holds a few hundred bytes per article: 10,000 articles are a few MB and a 2-4 MB scan to
    rebuild after a change. Past ~50,000 articles, move search to a search service.
    """

    entries: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def build(cls, items: list[dict[str, Any]]) -> ArticleIndex:
        for entry in items:
            entry["_title"] = search.normalize(entry["title"])
        return cls(items)

    def counts(self) -> dict[str, tuple[int, int]]:
        """(articles, published articles) per category id."""
        out: dict[str, tuple[int, int]] = {}
        for entry in self.entries:
            cid = entry["category_id"]
            if cid:
                total, published = out.get(cid, (0, 0))
                out[cid] = (total + 1, published + (entry["status"] == store.PUBLISHED))
        return out

    def in_category(self, category_id: str) -> list[str]:
        return [e["id"] for e in self.entries if e["category_id"] == category_id]

    def existing(self, ids: Iterable[str]) -> set[str]:
        known = {e["id"] for e in self.entries}
        return {i for i in ids if i in known}

    def query(self, query: ArticleQuery) -> tuple[list[dict[str, Any]], str | None, int]:
        matches = search.compile_query(query.q)
        sort_field = SORTS[query.sort]
        low = query.published_from if query.published_from is not None else float("-inf")
        high = query.published_to if query.published_to is not None else float("inf")
        hits = [
            e
            for e in self.entries
            if (query.status is None or e["status"] == query.status)
            and (query.category_id is None or e["category_id"] == query.category_id)
            and (not query.has_range or (e["published_at"] and low <= e["published_at"] <= high))
            and matches(e["_title"])
        ]
        hits.sort(key=lambda e: (e[sort_field] or 0, e["id"]), reverse=True)
        total = len(hits)
        fingerprint = search.filter_fingerprint(query.filters())
        if query.cursor:
            after = _position(query.cursor, "idx", fingerprint)
            hits = [e for e in hits if (e[sort_field] or 0, e["id"]) < after]
        page = hits[: query.limit]
        next_cursor = None
        if len(hits) > query.limit:
            last = page[-1]
            next_cursor = search.encode_cursor(
                {"m": "idx", "f": fingerprint, "k": [last[sort_field] or 0, last["id"]]}
            )
        return [_public(e) for e in page], next_cursor, total


def _public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if not k.startswith("_")}


class AdminIndex:
    """The admin list's index, never stale: every call reads the version item (consistent), and
    a call that finds it moved waits for the rebuild (unlike the callback's snapshot, which
    serves the old one while another thread refreshes). One per container (wiring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: int | None = None
        self._index: ArticleIndex | None = None
        self._loaded_at = 0.0

    @guarded
    def get(self) -> ArticleIndex:
        version, _ = store.read_version(consistent=True)
        with self._lock:
            aged = time.monotonic() - self._loaded_at >= ADMIN_INDEX_MAX_AGE  # a lost bump
            if self._index is None or version != self._version or aged:
                # The version first, then the data: a change landing between the two reads
                # shows as a newer version on the next call and rebuilds again.
                loaded_version, _ = store.read_version(consistent=True)
                self._index = ArticleIndex.build(store.summaries())
                self._version = loaded_version
                self._loaded_at = time.monotonic()
            return self._index


# -- the admin list -------------------------------------------------------------------------------


def list_articles(index: AdminIndex, query: ArticleQuery) -> dict[str, Any]:
    """A page of the admin list (`total` only when it comes from the index)."""
    if query.has_range:
        if query.status not in (None, store.PUBLISHED):
            raise InvalidInput("a publish-date range lists published articles only")
        low, high = query.published_from, query.published_to
        if low is not None and high is not None and low > high:
            raise InvalidInput("published_from must not be after published_to")
        query.status = store.PUBLISHED
        if query.sort == "updated":
            query.sort = "published"
    if not query.q and query.status == store.PUBLISHED and query.sort == "published":
        fingerprint = search.filter_fingerprint(query.filters())
        after = _position(query.cursor, "gsi", fingerprint) if query.cursor else None
        items, last = store.published_page(
            query.category_id, query.published_from, query.published_to, query.limit, after
        )
        cursor = None
        if last is not None:
            cursor = search.encode_cursor({"m": "gsi", "f": fingerprint, "k": list(last)})
        return {"items": items, "next_cursor": cursor}
    items, cursor, total = index.get().query(query)
    return {"items": items, "next_cursor": cursor, "total": total}


def published_in_category(
    category_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of a category's public list, newest first (InvalidInput for a bad cursor)."""
    after = None
    if cursor:
        payload = search.decode_cursor(cursor)
        if payload.get("m") != "cat" or payload.get("c") != category_id:
            raise InvalidInput("cursor is not valid")
        after = _key(payload.get("k"))
    items, last = store.published_page(category_id, None, None, limit, after)
    next_cursor = None
    if last is not None:
        next_cursor = search.encode_cursor({"m": "cat", "c": category_id, "k": list(last)})
    return items, next_cursor


def _position(cursor: str, mode: str, fingerprint: str) -> tuple[int, str]:
    payload = search.decode_cursor(cursor)
    if payload.get("m") != mode or payload.get("f") != fingerprint:
        raise InvalidInput("cursor belongs to another query; start from the first page")
    return _key(payload.get("k"))


def _key(key: Any) -> tuple[int, str]:
    """A cursor's position: [sort value, article id]."""
    if not (
        isinstance(key, list)
        and len(key) == 2
        and isinstance(key[0], int)
        and not isinstance(key[0], bool)
        and isinstance(key[1], str)
    ):
        raise InvalidInput("cursor is not valid")
    return key[0], key[1]
