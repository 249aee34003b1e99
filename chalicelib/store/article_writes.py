"""Article changes: create, edit, publish, unpublish, delete, move between categories.

Each write is one conditional put or delete of the article's item (its `rev` guards against a
concurrent edit) and then a best-effort bump of the version counter, so a cache that sees the new
version always loads the new data (store.articles).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from pynamodb.exceptions import DeleteError, PutError

from chalicelib.store import articles, objects
from chalicelib.store.articles import (
    DRAFT,
    PUBLISHED,
    ArticleItem,
    article_key,
    bump_version,
    load,
    save,
)
from chalicelib.store.categories import get_category_or_400
from chalicelib.store.errors import Conflict, NotFound
from chalicelib.store.guard import guarded, is_condition_failure

BATCH_ACTIONS = ("delete", "publish", "unpublish")
BATCH_MAX = 100


@guarded
def create_article(
    fields: dict[str, Any], *, article_id: str | None = None, when: int | None = None
) -> dict[str, Any]:
    """`when` (default: the clock) dates the article: the demo seed back-dates its content."""
    if fields.get("category_id"):
        get_category_or_400(fields["category_id"])
    when = articles.now() if when is None else when
    item = ArticleItem(article_key(article_id or uuid.uuid4().hex[:16]), created_at=when)
    item.apply(fields, when)
    try:
        item.save()  # VersionAttribute: the condition is "no such item yet"
    except PutError as exc:
        if not is_condition_failure(exc):
            raise
        if article_id is not None:
            raise Conflict(f"article {item.id} already exists") from None
        # A fresh id: only this very put can have landed before (botocore re-sent it after its
        # answer was lost), so the article exists as asked.
        item = load(item.id)
    bump_version()
    return item.to_dict()


@guarded
def update_article(
    article_id: str, fields: dict[str, Any], *, expected_rev: int | None = None
) -> dict[str, Any]:
    """Fields left out keep their value. `expected_rev` (the `rev` the editor loaded) turns a
    concurrent edit into a 409 instead of a silent overwrite."""
    item = load(article_id)
    if expected_rev is not None and int(item.rev or 0) != expected_rev:
        raise Conflict(f"article {article_id} was changed meanwhile; reload it and try again")
    if fields.get("category_id") and fields["category_id"] != item.category_id:
        get_category_or_400(fields["category_id"])
    item.apply(fields, articles.now())
    save(item)
    bump_version()
    return item.to_dict()


def _set_status(article_id: str, status: str) -> dict[str, Any]:
    item = load(article_id)
    if item.status != status:
        item.apply({"status": status}, articles.now())
        save(item)
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
    item = load(article_id)
    try:
        item.delete(condition=ArticleItem.pk.exists(), add_version_condition=False)
    except DeleteError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"article {article_id} not found") from None
        raise
    objects.delete_under(f"articles/{article_id}/")  # its covers


@guarded
def delete_article(article_id: str) -> None:
    _delete(article_id)
    bump_version()


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


@guarded
def move_article(article_id: str, source: str, target: str | None) -> None:
    """Move an article out of category `source` (into `target`, or none). One that left `source`
    meanwhile stays where its editor put it; the caller bumps the version once for all moves."""
    for _attempt in range(3):
        try:
            item = load(article_id)
        except NotFound:
            return
        if item.category_id != source:
            return
        item.category_id = target
        item.place()
        item.updated_at = articles.now()
        try:
            item.save()
            return
        except PutError as exc:
            if not is_condition_failure(exc):
                raise
    raise Conflict(f"article {article_id} kept changing; try again")
