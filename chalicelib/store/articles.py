"""Articles and categories (the CMS) in DynamoDB; article covers in the media bucket (S3).

Tables (`<prefix>-articles`, `<prefix>-categories`):
- an article is one item; `status` is draft | published. `published_at` is set only while an
  article is published, so the GSI `by_status` (status, published_at) holds only published
  articles: publish-date ranges and the callback's snapshot query it. `pub_category` copies
  `category_id` only while published, so the GSI `by_category` (pub_category, published_at) is
  exactly a category's public page, newest first.
- `rev` (a PynamoDB VersionAttribute) makes every save conditional: two admins editing the same
  article cannot silently overwrite each other (the later one gets 409).
- Every change bumps the item `articles#version` in the config table. Two per-container caches
  watch it: the admin list's index (consistent read per list call, rebuilt only on change) and
  the published-article snapshot the callback expands `article_ids` replies from (checked at most
  every 2 s, like the rule cache).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib import config
from chalicelib.cms import links, search
from chalicelib.engine.cache import SnapshotCache
from chalicelib.store.aws import client
from chalicelib.store.errors import Conflict, NotFound
from chalicelib.store.guard import guarded, is_condition_failure, save_new
from chalicelib.store.models import ConfigItem, register, table

log = logging.getLogger("wxless.articles")

VERSION_KEY = "articles#version"
PUBLISHED = "published"
DRAFT = "draft"
STATUSES = (DRAFT, PUBLISHED)
MAX_PAGE = 100
COVER_MAX_BYTES = 2 * 1024 * 1024
COVER_URL_SECONDS = 3600
# Fields the list views and the reply snapshot need; the body stays out of the indexes.
SUMMARY = ["title", "digest", "author", "category_id", "cover_key", "created_at", "updated_at"]


class ArticlesByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_status"
        projection = IncludeProjection(SUMMARY)

    status = UnicodeAttribute(hash_key=True)
    published_at = NumberAttribute(range_key=True)


class ArticlesByCategory(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_category"
        projection = IncludeProjection([*SUMMARY, "status"])

    pub_category = UnicodeAttribute(hash_key=True)
    published_at = NumberAttribute(range_key=True)


@register
class ArticleItem(Model):
    Meta = table("articles")
    id = UnicodeAttribute(hash_key=True)
    title = UnicodeAttribute()
    digest = UnicodeAttribute(null=True)
    author = UnicodeAttribute(null=True)
    body_html = UnicodeAttribute(null=True)
    category_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default=DRAFT)
    published_at = NumberAttribute(null=True)
    pub_category = UnicodeAttribute(null=True)
    cover_key = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    rev = VersionAttribute()
    by_status = ArticlesByStatus()
    by_category = ArticlesByCategory()

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "digest": self.digest or "",
            "author": self.author or "",
            "category_id": self.category_id,
            "status": self.status or DRAFT,
            "published_at": int(self.published_at) if self.published_at else None,
            "cover_key": self.cover_key,
            "created_at": int(self.created_at or 0),
            "updated_at": int(self.updated_at or 0),
        }

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "body_html": self.body_html or "", "rev": int(self.rev or 0)}


@register
class CategoryItem(Model):
    Meta = table("categories")
    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    position = NumberAttribute(default=0)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description or "",
            "position": int(self.position or 0),
            "created_at": int(self.created_at),
            "updated_at": int(self.updated_at),
        }


def _new_id() -> str:
    return uuid.uuid4().hex[:16]


def _now() -> int:
    """Article and category timestamps (a seam for tests that need other publish dates)."""
    return int(time.time())


# -- version -------------------------------------------------------------------------------


def bump_version() -> int | None:
    """Tell the article caches to reload. Best-effort, as in store.rules: it runs after the data
    write succeeded, and a 503 then would invite a retry that writes twice. A lost bump is healed
    by the caches' max age (ADMIN_INDEX_MAX_AGE here, SnapshotCache's for the callback)."""
    try:
        item = ConfigItem(VERSION_KEY)
        actions = [ConfigItem.version.add(1), ConfigItem.updated_at.set(int(time.time()))]
        item.update(actions=actions)
        return int(item.version)
    except Exception:
        log.warning("articles.bump_version_failed: caches catch up within their max age")
        return None


def read_version(consistent: bool = False) -> tuple[int, int]:
    try:
        item = ConfigItem.get(VERSION_KEY, consistent_read=consistent)
    except DoesNotExist:
        return 0, 0
    return int(item.version or 0), int(item.updated_at or 0)


# -- categories ----------------------------------------------------------------------------


@guarded
def list_categories() -> list[dict[str, Any]]:
    items = [c.to_dict() for c in CategoryItem.scan()]
    items.sort(key=lambda c: (c["position"], c["created_at"], c["id"]))
    return items


@guarded
def get_category(category_id: str) -> dict[str, Any]:
    try:
        return CategoryItem.get(category_id).to_dict()
    except DoesNotExist:
        raise NotFound(f"category {category_id} not found") from None


def _check_name_free(name: str, except_id: str | None = None) -> None:
    wanted = search.normalize(name)
    for other in list_categories():
        if other["id"] != except_id and search.normalize(other["name"]) == wanted:
            raise Conflict(f"a category named {other['name']!r} already exists")


@guarded
def create_category(fields: dict[str, Any]) -> dict[str, Any]:
    _check_name_free(fields["name"])
    now = _now()
    item = CategoryItem(_new_id(), created_at=now, updated_at=now, **fields)
    save_new(item)
    bump_version()
    return item.to_dict()


@guarded
def update_category(category_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    current = get_category(category_id)
    if "name" in fields:
        _check_name_free(fields["name"], except_id=category_id)
    merged = {k: current[k] for k in ("name", "description", "position")}
    merged.update(fields)
    merged["description"] = merged["description"] or None
    item = CategoryItem(category_id, created_at=current["created_at"], updated_at=_now(), **merged)
    try:
        item.save(condition=CategoryItem.id.exists())
    except PutError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"category {category_id} not found") from None
        raise
    bump_version()
    return item.to_dict()


MOVE_TO_NONE = "none"


class CategoryNotEmpty(Conflict):
    def __init__(self, category_id: str, count: int) -> None:
        super().__init__(
            f"category {category_id} still has {count} article(s): move them to another "
            "category (move_to=<id>) or leave them uncategorized (move_to=none)"
        )
        self.count = count


@guarded
def delete_category(category_id: str, move_to: str | None = None) -> int:
    """Delete a category. One that still has articles (drafts too) is refused with Conflict
    unless `move_to` names another category (or "none": leave them uncategorized), in which case
    they are moved first. Returns how many articles were moved."""
    get_category(category_id)
    article_ids = [a["id"] for a in admin_index().entries if a["category_id"] == category_id]
    if article_ids and move_to is None:
        raise CategoryNotEmpty(category_id, len(article_ids))
    target: str | None = None
    if move_to and move_to != MOVE_TO_NONE:
        if move_to == category_id:
            raise ValueError("move_to must be another category")
        get_category_or_400(move_to, "move_to")
        target = move_to
    for article_id in article_ids:
        _move_article(article_id, category_id, target)
    try:
        CategoryItem(category_id).delete(condition=CategoryItem.id.exists())
    except DeleteError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"category {category_id} not found") from None
        raise
    bump_version()
    return len(article_ids)


def get_category_or_400(category_id: str, name: str = "category_id") -> dict[str, Any]:
    try:
        return get_category(category_id)
    except NotFound:
        raise ValueError(f"{name}: unknown category {category_id}") from None


def _move_article(article_id: str, source: str, target: str | None) -> None:
    for _attempt in range(3):
        try:
            item = ArticleItem.get(article_id, consistent_read=True)
        except DoesNotExist:
            return
        if item.category_id != source:
            return  # moved or edited meanwhile: leave it where the editor put it
        item.category_id = target
        item.pub_category = target if item.status == PUBLISHED else None
        item.updated_at = _now()
        try:
            item.save()
            return
        except PutError as exc:
            if not is_condition_failure(exc):
                raise
    raise Conflict(f"article {article_id} kept changing; try again")


# -- articles: writes ----------------------------------------------------------------------


def _apply(item: ArticleItem, fields: dict[str, Any], now: int) -> None:
    for key in ("title", "digest", "author", "body_html", "category_id"):
        if key in fields:
            setattr(item, key, fields[key] or None)
    status = fields.get("status", item.status or DRAFT)
    if status == PUBLISHED:
        if item.status != PUBLISHED or not item.published_at:
            item.published_at = now
        item.status = PUBLISHED
        item.pub_category = item.category_id or None
    else:
        item.status = DRAFT
        item.published_at = None
        item.pub_category = None
    item.updated_at = now


@guarded
def create_article(
    fields: dict[str, Any], *, article_id: str | None = None, now: int | None = None
) -> dict[str, Any]:
    """`now` (default: the clock) dates the article: the demo seed back-dates its content."""
    if fields.get("category_id"):
        get_category_or_400(fields["category_id"])
    now = _now() if now is None else now
    item = ArticleItem(article_id or _new_id(), created_at=now, status=DRAFT)
    _apply(item, fields, now)
    try:
        item.save()  # VersionAttribute: the condition is "no such item yet"
    except PutError as exc:
        if not is_condition_failure(exc):
            raise
        if article_id is not None:
            raise Conflict(f"article {item.id} already exists") from None
        # A fresh id: only this very put can have landed before (botocore re-sent it after its
        # answer was lost), so the article exists as asked.
        item = _load(item.id)
    bump_version()
    return item.to_dict()


def _load(article_id: str) -> ArticleItem:
    try:
        return ArticleItem.get(article_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound(f"article {article_id} not found") from None


def _save(item: ArticleItem) -> None:
    try:
        item.save()
    except PutError as exc:
        if is_condition_failure(exc):
            raise Conflict(
                f"article {item.id} was changed or deleted meanwhile; reload it and try again"
            ) from None
        raise


@guarded
def get_article(article_id: str) -> dict[str, Any]:
    return _load(article_id).to_dict()


@guarded
def update_article(
    article_id: str, fields: dict[str, Any], *, expected_rev: int | None = None
) -> dict[str, Any]:
    """Fields left out keep their value. `expected_rev` (the `rev` the editor loaded) turns a
    concurrent edit into a 409 instead of a silent overwrite."""
    item = _load(article_id)
    if expected_rev is not None and int(item.rev or 0) != expected_rev:
        raise Conflict(f"article {article_id} was changed meanwhile; reload it and try again")
    if fields.get("category_id") and fields["category_id"] != item.category_id:
        get_category_or_400(fields["category_id"])
    _apply(item, fields, _now())
    _save(item)
    bump_version()
    return item.to_dict()


def _set_status(article_id: str, status: str) -> dict[str, Any]:
    item = _load(article_id)
    if item.status != status:
        _apply(item, {"status": status}, _now())
        _save(item)
    return item.to_dict()


@guarded
def publish(article_id: str) -> dict[str, Any]:
    out = _set_status(article_id, PUBLISHED)
    bump_version()
    return out


@guarded
def unpublish(article_id: str) -> dict[str, Any]:
    out = _set_status(article_id, DRAFT)
    bump_version()
    return out


def _delete(article_id: str) -> None:
    try:
        item = ArticleItem.get(article_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound(f"article {article_id} not found") from None
    try:
        item.delete(condition=ArticleItem.id.exists(), add_version_condition=False)
    except DeleteError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"article {article_id} not found") from None
        raise
    _delete_objects(f"articles/{article_id}/")


@guarded
def delete_article(article_id: str) -> None:
    _delete(article_id)
    bump_version()


BATCH_ACTIONS = ("delete", "publish", "unpublish")
BATCH_MAX = 100


@guarded
def batch(action: str, article_ids: Iterable[str]) -> dict[str, list[str]]:
    """Apply one action to many articles; ids that do not exist (or that changed under us)
    are reported, not fatal."""
    done: list[str] = []
    missing: list[str] = []
    failed: list[str] = []
    for article_id in article_ids:
        try:
            if action == "delete":
                _delete(article_id)
            else:
                _set_status(article_id, PUBLISHED if action == "publish" else DRAFT)
            done.append(article_id)
        except NotFound:
            missing.append(article_id)
        except Conflict:  # edited by someone else at this very moment: report, go on
            failed.append(article_id)
    if done:
        bump_version()
    return {"done": done, "missing": missing, "failed": failed}


# -- covers (S3) ---------------------------------------------------------------------------

_IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


def sniff_image(data: bytes) -> str:
    """The image type from the bytes themselves (the declared type is not trusted)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise ValueError("cover must be a PNG, JPEG, GIF or WebP image")


@guarded
def set_cover(article_id: str, data: bytes, *, now: int | None = None) -> dict[str, Any]:
    if not data:
        raise ValueError("cover is empty")
    if len(data) > COVER_MAX_BYTES:
        raise ValueError(f"cover must be at most {COVER_MAX_BYTES // (1024 * 1024)} MiB")
    content_type = sniff_image(data)
    item = _load(article_id)
    digest = hashlib.sha256(data).hexdigest()[:16]
    key = f"articles/{article_id}/cover-{digest}.{_IMAGE_TYPES[content_type]}"
    client("s3").put_object(
        Bucket=config.media_bucket(),
        Key=key,
        Body=data,
        ContentType=content_type,
        CacheControl="public, max-age=31536000, immutable",  # the key changes with the bytes
    )
    old = item.cover_key
    item.cover_key = key
    item.updated_at = _now() if now is None else now
    try:
        _save(item)
    except Exception as exc:
        if key == old or not _cover_landed(article_id, key, exc):
            raise
        # The record names the new cover: this very put landed and its answer was lost (or
        # botocore re-sent it and met its own first attempt). The cover is set.
    bump_version()
    if old and old != key:
        _delete_keys([old])
    return item.to_dict()


def _cover_landed(article_id: str, key: str, error: Exception) -> bool:
    """After a failed record write: True if the record names `key` anyway. Else the new object
    is deleted (nobody names it); if the record cannot be read, it is kept (an orphan costs
    cents, a cover naming a deleted object would not)."""
    try:
        landed = _load(article_id).cover_key == key
    except Exception:
        raise error from None
    if not landed:
        _delete_keys([key])
    return landed


@guarded
def remove_cover(article_id: str) -> dict[str, Any]:
    item = _load(article_id)
    old = item.cover_key
    if old:
        item.cover_key = None
        item.updated_at = _now()
        _save(item)
        bump_version()
        _delete_keys([old])
    return item.to_dict()


_presigners: dict[tuple[str, str], Any] = {}


def _presigner() -> Any:
    """An S3 client that signs URLs with SigV4 (newer regions refuse SigV2 links)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    found = _presigners.get((endpoint, region))
    if found is None:
        import botocore.session
        from botocore.config import Config

        found = botocore.session.get_session().create_client(
            "s3", region_name=region, config=Config(signature_version="s3v4")
        )
        _presigners[(endpoint, region)] = found
    return found


def cover_url(key: str, seconds: int = COVER_URL_SECONDS) -> str:
    """A presigned GET: computed locally, no request to S3."""
    return _presigner().generate_presigned_url(
        "get_object", Params={"Bucket": config.media_bucket(), "Key": key}, ExpiresIn=seconds
    )


def _delete_keys(keys: list[str]) -> None:
    try:
        client("s3").delete_objects(
            Bucket=config.media_bucket(), Delete={"Objects": [{"Key": k} for k in keys]}
        )
    except Exception:  # an orphaned object costs cents; the article change already happened
        log.warning("articles.cover_delete_failed: %s", keys, exc_info=True)


def _delete_objects(prefix: str) -> None:
    try:
        listed = client("s3").list_objects_v2(Bucket=config.media_bucket(), Prefix=prefix)
    except Exception:
        log.warning("articles.cover_list_failed: %s", prefix, exc_info=True)
        return
    keys = [obj["Key"] for obj in listed.get("Contents", [])]
    if keys:
        _delete_keys(keys)


# -- the admin list: an in-memory index ------------------------------------------------------

SORTS = {"updated": "updated_at", "created": "created_at", "published": "published_at"}


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
        out: dict[str, tuple[int, int]] = {}
        for entry in self.entries:
            cid = entry["category_id"]
            if cid:
                total, published = out.get(cid, (0, 0))
                out[cid] = (total + 1, published + (entry["status"] == PUBLISHED))
        return out

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
            payload = search.decode_cursor(query.cursor)
            if payload.get("m") != "idx" or payload.get("f") != fingerprint:
                raise ValueError("cursor belongs to another query; start from the first page")
            key = payload.get("k")
            if not (
                isinstance(key, list)
                and len(key) == 2
                and isinstance(key[0], int)
                and isinstance(key[1], str)
            ):
                raise ValueError("cursor is not valid")
            after = (key[0], key[1])
            hits = [e for e in hits if (e[sort_field] or 0, e["id"]) < after]
        page = hits[: query.limit]
        next_cursor = None
        if len(hits) > query.limit:
            last = page[-1]
            next_cursor = search.encode_cursor(
                {"m": "idx", "f": fingerprint, "k": [last[sort_field] or 0, last["id"]]}
            )
        return [_public_summary(e) for e in page], next_cursor, total


def _public_summary(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if not k.startswith("_")}


def _load_index() -> tuple[int, list[dict[str, Any]]]:
    version, _ = read_version(consistent=True)
    attrs = ["id", "status", "published_at", *SUMMARY]
    items = [
        item.summary() for item in ArticleItem.scan(attributes_to_get=attrs, consistent_read=True)
    ]
    return version, items


#: Rebuild the admin index at least this often even if the version item did not move (a
#: best-effort bump can be lost to a storage fault after the write it announces succeeded).
ADMIN_INDEX_MAX_AGE = 30.0


class _AdminIndexCache:
    """The admin list's index, never stale: every call reads the version item (consistent), and
    a call that finds it moved waits for the rebuild (unlike the callback's SnapshotCache, which
    serves the old snapshot while another thread refreshes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: int | None = None
        self._index: ArticleIndex | None = None
        self._loaded_at = 0.0

    def get(self) -> ArticleIndex:
        version, _ = read_version(consistent=True)
        with self._lock:
            aged = time.monotonic() - self._loaded_at >= ADMIN_INDEX_MAX_AGE  # a lost bump
            if self._index is None or version != self._version or aged:
                loaded_version, items = _load_index()
                self._index = ArticleIndex.build(items)
                self._version = loaded_version
                self._loaded_at = time.monotonic()
            return self._index


_caches: dict[tuple[str, str], Any] = {}
_caches_lock = threading.Lock()


def _cache(kind: str) -> Any:
    key = (kind, config.table_name("articles"))
    cache = _caches.get(key)
    if cache is None:
        with _caches_lock:
            cache = _caches.get(key)
            if cache is None:
                if kind == "admin":
                    cache = _AdminIndexCache()
                else:
                    cache = SnapshotCache(_published_version, _load_published, dict, ttl=2.0)
                _caches[key] = cache
    return cache


@guarded
def admin_index() -> ArticleIndex:
    return _cache("admin").get()


def reset_caches() -> None:
    """Tests start a new moto per case, where version numbers start again."""
    with _caches_lock:
        _caches.clear()
        _presigners.clear()


# -- the admin list ----------------------------------------------------------------------------


@guarded
def list_articles(query: ArticleQuery) -> dict[str, Any]:
    """Published-only, date-ordered lists without a text query come straight from a GSI (no
    index rebuild needed); everything else (text search, drafts, other orders) from the index."""
    if query.has_range:
        if query.status not in (None, PUBLISHED):
            raise ValueError("a publish-date range lists published articles only")
        query.status = PUBLISHED
        if query.sort == "updated":
            query.sort = "published"
    if not query.q and query.status == PUBLISHED and query.sort == "published":
        items, next_cursor = _query_published(query)
        return {"items": items, "next_cursor": next_cursor}
    items, next_cursor, total = admin_index().query(query)
    return {"items": items, "next_cursor": next_cursor, "total": total}


def _range_condition(attr: Any, low: int | None, high: int | None) -> Any:
    if low is not None and high is not None:
        if low > high:
            raise ValueError("published_from must not be after published_to")
        return attr.between(low, high)
    if low is not None:
        return attr >= low
    if high is not None:
        return attr <= high
    return None


def _query_published(query: ArticleQuery) -> tuple[list[dict[str, Any]], str | None]:
    fingerprint = search.filter_fingerprint(query.filters())
    start = None
    if query.cursor:
        payload = search.decode_cursor(query.cursor)
        if payload.get("m") != "gsi" or payload.get("f") != fingerprint:
            raise ValueError("cursor belongs to another query; start from the first page")
        start = _start_key(payload.get("k"), query.category_id)
    page, next_key = _gsi_page(
        query.category_id, query.published_from, query.published_to, query.limit, start
    )
    cursor = (
        search.encode_cursor({"m": "gsi", "f": fingerprint, "k": next_key}) if next_key else None
    )
    return page, cursor


def _start_key(key: Any, category_id: str | None) -> dict[str, Any]:
    if not (
        isinstance(key, list)
        and len(key) == 2
        and isinstance(key[0], int)
        and isinstance(key[1], str)
    ):
        raise ValueError("cursor is not valid")
    published_at, article_id = key
    out = {"id": {"S": article_id}, "published_at": {"N": str(published_at)}}
    if category_id:
        out["pub_category"] = {"S": category_id}
    else:
        out["status"] = {"S": PUBLISHED}
    return out


def _gsi_page(
    category_id: str | None,
    low: int | None,
    high: int | None,
    limit: int,
    start: dict[str, Any] | None,
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """One page of published articles, newest first; the cursor is the last item's key, and
    only when another item exists (one extra item is read to know)."""
    if category_id:
        index, hash_key = ArticleItem.by_category, category_id
    else:
        index, hash_key = ArticleItem.by_status, PUBLISHED
    results = index.query(
        hash_key,
        range_key_condition=_range_condition(ArticleItem.published_at, low, high),
        scan_index_forward=False,
        limit=limit + 1,
        last_evaluated_key=start,
    )
    items = [item.summary() for item in results]
    for entry in items:
        entry["status"] = PUBLISHED
    if len(items) > limit:
        last = items[limit - 1]
        return items[:limit], [last["published_at"], last["id"]]
    return items, None


# -- the public side -------------------------------------------------------------------------


@guarded
def get_published(article_id: str) -> dict[str, Any] | None:
    """The article if it exists and is published, else None (the public pages say 404)."""
    try:
        item = ArticleItem.get(article_id)
    except DoesNotExist:
        return None
    if item.status != PUBLISHED:
        return None
    return item.to_dict()


@guarded
def find_category(category_id: str) -> dict[str, Any] | None:
    try:
        return CategoryItem.get(category_id).to_dict()
    except DoesNotExist:
        return None


@guarded
def published_in_category(
    category_id: str, limit: int, cursor: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    start = None
    if cursor:
        payload = search.decode_cursor(cursor)
        if payload.get("m") != "cat" or payload.get("c") != category_id:
            raise ValueError("cursor is not valid")
        start = _start_key(payload.get("k"), category_id)
    items, next_key = _gsi_page(category_id, None, None, limit, start)
    next_cursor = None
    if next_key:
        next_cursor = search.encode_cursor({"m": "cat", "c": category_id, "k": next_key})
    return items, next_cursor


# -- the callback's snapshot of published articles -------------------------------------------

# The snapshot is read from the GSI, which trails the table by a moment. A version bumped less
# than SETTLE seconds ago reads as a different version once it has settled, so the snapshot is
# loaded once more after the GSI caught up instead of keeping a stale copy until the next change.
SETTLE = 3


def _published_version() -> tuple[int, bool]:
    from chalicelib.store.rules import fast_version  # on the callback path: fail fast

    version, changed_at = fast_version(VERSION_KEY)
    return version, time.time() - changed_at >= SETTLE


def _load_published() -> tuple[tuple[int, bool], dict[str, dict[str, Any]]]:
    version = _published_version()
    out: dict[str, dict[str, Any]] = {}
    for item in ArticleItem.by_status.query(PUBLISHED):
        out[item.id] = {
            "id": item.id,
            "title": item.title,
            "digest": item.digest or "",
            "cover_key": item.cover_key,
            "updated_at": int(item.updated_at or 0),
        }
    return version, out


def published_snapshot() -> dict[str, dict[str, Any]]:
    return _cache("published").get()


def expand_reply(reply: dict[str, Any], base_url: str | None = None) -> dict[str, Any] | None:
    """A news reply by article id as a plain news reply (None when none is published).
    The links use WXLESS_PUBLIC_BASE_URL, else the host of the request being served."""
    base = links.current_base_url() if base_url is None else base_url
    return links.expand_article_ids(reply, published_snapshot(), base)


def _article_replies(value: Any) -> Iterable[dict[str, Any]]:
    if links.is_article_reply(value):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _article_replies(item)
    elif isinstance(value, list):
        for item in value:
            yield from _article_replies(item)


@guarded
def check_nested_refs(value: Any) -> None:
    """check_reply_refs for every reply inside a larger object (a flow's prompts and options)."""
    for reply in _article_replies(value):
        check_reply_refs(reply)


@guarded
def check_reply_refs(reply: Any) -> None:
    """Admin-side check that a reply's `article_ids` exist (drafts are fine: they are skipped
    until published). ValueError -> 400."""
    if not links.is_article_reply(reply):
        return
    ids = reply["article_ids"]
    unknown = [i for i in ids if i not in admin_index().existing(ids)]
    if unknown:
        raise ValueError(f"reply.article_ids: unknown article(s): {', '.join(unknown)}")
