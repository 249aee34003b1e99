"""The CMS tables: articles and categories, their keys, their version counter and their reads.

Tables (`<prefix>-articles`, `<prefix>-categories`), one item per article or category, keyed by
account (`pk` = `<account>#article#<id>`, `<account>#category#<id>`); the admin API and the
public pages show the natural id.
- An article's `status` is draft | published. `published_at`, `pub_status` and `pub_category`
  are set only while it is published, so the GSIs hold published articles only:
  `by_status` (pub_status = `<account>#published`, published_at) serves publish-date ranges and
  the callback's snapshot, `by_category` (pub_category = `<account>#category#<id>`,
  published_at) is exactly a category's public page, newest first.
- `rev` (a PynamoDB VersionAttribute) makes every save conditional: two admins editing the same
  article cannot silently overwrite each other (the later one gets 409).
- Every change bumps the config item `<account>#articles#version`; the per-container caches
  (chalicelib.cms.index, chalicelib.cms.replies) watch it.

Writes: store.article_writes (articles), store.categories, store.covers (cover images in S3).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import DoesNotExist, PutError
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from chalicelib.store import ddb, keys, versions
from chalicelib.store.errors import Conflict, NotFound
from chalicelib.store.guard import guarded, is_condition_failure
from chalicelib.store.models import ConfigItem, register, table

PUBLISHED = "published"
DRAFT = "draft"
STATUSES = (DRAFT, PUBLISHED)
# Fields the list views and the reply snapshot need; the body stays out of the indexes.
SUMMARY = [
    "title",
    "digest",
    "author",
    "category_id",
    "status",
    "cover_key",
    "created_at",
    "updated_at",
]


def article_key(article_id: str) -> str:
    return keys.scoped("article", article_id)


def category_key(category_id: str) -> str:
    return keys.scoped("category", category_id)


def version_key() -> str:
    return versions.key("articles")


def _published_key() -> str:
    return keys.scoped(PUBLISHED)


def now() -> int:
    """Article and category timestamps (a seam for tests that need other publish dates)."""
    return int(time.time())


# -- tables ---------------------------------------------------------------------------------------


class ArticlesByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_status"
        projection = IncludeProjection(SUMMARY)

    pub_status = UnicodeAttribute(hash_key=True)
    published_at = NumberAttribute(range_key=True)


class ArticlesByCategory(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_category"
        projection = IncludeProjection(SUMMARY)

    pub_category = UnicodeAttribute(hash_key=True)
    published_at = NumberAttribute(range_key=True)


@register
class ArticleItem(Model):
    Meta = table("articles")
    pk = UnicodeAttribute(hash_key=True)  # <account>#article#<id>
    title = UnicodeAttribute()
    digest = UnicodeAttribute(null=True)
    author = UnicodeAttribute(null=True)
    body_html = UnicodeAttribute(null=True)
    category_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default=DRAFT)
    published_at = NumberAttribute(null=True)
    pub_status = UnicodeAttribute(null=True)
    pub_category = UnicodeAttribute(null=True)
    cover_key = UnicodeAttribute(null=True)  # the cover's key in the media bucket (store.objects)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    rev = VersionAttribute()
    by_status = ArticlesByStatus()
    by_category = ArticlesByCategory()

    @property
    def id(self) -> str:
        return keys.last(self.pk)

    def apply(self, fields: dict[str, Any], when: int) -> None:
        """Set validated fields; the publish fields follow `status` (and the category), so the
        GSIs always hold exactly the published articles."""
        for name in ("title", "digest", "author", "body_html", "category_id"):
            if name in fields:
                setattr(self, name, fields[name] or None)
        if fields.get("status", self.status or DRAFT) == PUBLISHED:
            if self.status != PUBLISHED or not self.published_at:
                self.published_at = when
            self.status = PUBLISHED
        else:
            self.status = DRAFT
            self.published_at = None
        self.place()
        self.updated_at = when

    def place(self) -> None:
        """The GSI keys for the current status and category."""
        published = self.status == PUBLISHED
        self.pub_status = _published_key() if published else None
        in_category = published and self.category_id
        self.pub_category = category_key(self.category_id) if in_category else None

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
    pk = UnicodeAttribute(hash_key=True)  # <account>#category#<id>
    name = UnicodeAttribute()
    description = UnicodeAttribute(null=True)
    position = NumberAttribute(default=0)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()

    @property
    def id(self) -> str:
        return keys.last(self.pk)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description or "",
            "position": int(self.position or 0),
            "created_at": int(self.created_at),
            "updated_at": int(self.updated_at),
        }


# -- the version counter --------------------------------------------------------------------------


def bump_version() -> int | None:
    """Tell the article caches to reload (best-effort, after the data write: store.versions)."""
    return versions.bump(version_key())


def read_version(consistent: bool = False) -> tuple[int, int]:
    """(version, updated_at) of the counter, (0, 0) before the first change. The admin index
    reads it consistently; the callback's snapshot uses versions.read_fast instead."""
    try:
        item = ConfigItem.get(version_key(), consistent_read=consistent)
    except DoesNotExist:
        return 0, 0
    return int(item.version or 0), int(item.updated_at or 0)


# -- reads ----------------------------------------------------------------------------------------


def load(article_id: str) -> ArticleItem:
    """The article's item, read consistently (for a change); NotFound when there is none."""
    try:
        return ArticleItem.get(article_key(article_id), consistent_read=True)
    except DoesNotExist:
        raise NotFound(f"article {article_id} not found") from None


def save(item: ArticleItem) -> None:
    """Save a loaded article; Conflict when someone changed or deleted it meanwhile."""
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
    return load(article_id).to_dict()


@guarded
def get_published(article_id: str) -> dict[str, Any] | None:
    """The article if it exists and is published, else None (the public pages say 404)."""
    try:
        item = ArticleItem.get(article_key(article_id))
    except DoesNotExist:
        return None
    return item.to_dict() if item.status == PUBLISHED else None


@guarded
def summaries() -> list[dict[str, Any]]:
    """Every article of the account without its body, from one consistent Scan."""
    attrs = ["pk", "published_at", *SUMMARY]
    found = ArticleItem.scan(
        filter_condition=ArticleItem.pk.startswith(keys.prefix("article")),
        attributes_to_get=attrs,
        consistent_read=True,
    )
    return [item.summary() for item in found]


@guarded
def existing_ids(article_ids: Iterable[str]) -> set[str]:
    """The ids among `article_ids` that name an article (draft or published)."""
    wanted = list(dict.fromkeys(article_ids))
    if not wanted:
        return set()
    found = ArticleItem.batch_get(
        [article_key(i) for i in wanted], consistent_read=True, attributes_to_get=["pk"]
    )
    return {item.id for item in found}


def published_entries() -> dict[str, dict[str, Any]]:
    """What a news reply needs of every published article, by id (the callback's snapshot)."""
    out: dict[str, dict[str, Any]] = {}
    for item in ArticleItem.by_status.query(_published_key()):
        out[item.id] = {
            "id": item.id,
            "title": item.title,
            "digest": item.digest or "",
            "cover_key": item.cover_key,
            "updated_at": int(item.updated_at or 0),
        }
    return out


@guarded
def published_page(
    category_id: str | None,
    low: int | None,
    high: int | None,
    limit: int,
    after: tuple[int, str] | None = None,
) -> tuple[list[dict[str, Any]], tuple[int, str] | None]:
    """One page of published articles (of a category, or all), newest first, published between
    `low` and `high`. `after` and the returned key are (published_at, id) of a page's last
    item; the key is None when nothing follows (one extra item is read to know)."""
    if category_id:
        index: Any = ArticleItem.by_category
        hash_name, hash_value = "pub_category", category_key(category_id)
    else:
        index, hash_name, hash_value = ArticleItem.by_status, "pub_status", _published_key()
    start = None
    if after is not None:
        start = ddb.to_raw(
            {"pk": article_key(after[1]), "published_at": after[0], hash_name: hash_value}
        )
    results = index.query(
        hash_value,
        range_key_condition=_range(ArticleItem.published_at, low, high),
        scan_index_forward=False,
        limit=limit + 1,
        last_evaluated_key=start,
    )
    items = [item.summary() for item in results]
    if len(items) > limit:
        last = items[limit - 1]
        return items[:limit], (last["published_at"], last["id"])
    return items, None


def _range(attr: Any, low: int | None, high: int | None) -> Any:
    if low is not None and high is not None:
        return attr.between(low, high)
    if low is not None:
        return attr >= low
    if high is not None:
        return attr <= high
    return None
