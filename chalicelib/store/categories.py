"""Categories of the CMS (table and keys in store.articles). The rules about names and about
the articles a deleted category leaves behind live in chalicelib.cms.categories."""

from __future__ import annotations

import uuid
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from chalicelib.errors import InvalidInput
from chalicelib.store import articles, keys
from chalicelib.store.articles import CategoryItem, bump_version, category_key
from chalicelib.store.errors import NotFound
from chalicelib.store.guard import guarded, is_condition_failure, save_new


@guarded
def list_categories() -> list[dict[str, Any]]:
    found = CategoryItem.scan(filter_condition=CategoryItem.pk.startswith(keys.prefix("category")))
    items = [c.to_dict() for c in found]
    items.sort(key=lambda c: (c["position"], c["created_at"], c["id"]))
    return items


@guarded
def find_category(category_id: str) -> dict[str, Any] | None:
    try:
        return CategoryItem.get(category_key(category_id)).to_dict()
    except DoesNotExist:
        return None


def get_category(category_id: str) -> dict[str, Any]:
    found = find_category(category_id)
    if found is None:
        raise NotFound(f"category {category_id} not found")
    return found


def get_category_or_400(category_id: str, name: str = "category_id") -> dict[str, Any]:
    """The category a request names in a field: unknown is the request's mistake (400)."""
    found = find_category(category_id)
    if found is None:
        raise InvalidInput(f"{name}: unknown category {category_id}")
    return found


@guarded
def create_category(fields: dict[str, Any]) -> dict[str, Any]:
    when = articles.now()
    item = CategoryItem(
        category_key(uuid.uuid4().hex[:16]), created_at=when, updated_at=when, **fields
    )
    save_new(item)
    bump_version()
    return item.to_dict()


@guarded
def update_category(category_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Fields left out keep their value."""
    current = get_category(category_id)
    merged = {k: current[k] for k in ("name", "description", "position")}
    merged.update(fields)
    merged["description"] = merged["description"] or None
    created = current["created_at"]
    item = CategoryItem(
        category_key(category_id), created_at=created, updated_at=articles.now(), **merged
    )
    try:
        item.save(condition=CategoryItem.pk.exists())
    except PutError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"category {category_id} not found") from None
        raise
    bump_version()
    return item.to_dict()


@guarded
def delete_category(category_id: str) -> None:
    try:
        CategoryItem(category_key(category_id)).delete(condition=CategoryItem.pk.exists())
    except DeleteError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"category {category_id} not found") from None
        raise
    bump_version()
