"""Category rules: names are unique (compared as search compares titles), and a category that
still has articles is deleted only when the admin says where they go."""

from __future__ import annotations

from typing import Any

from chalicelib.cms import search
from chalicelib.cms.index import AdminIndex
from chalicelib.errors import Conflict, InvalidInput
from chalicelib.store import article_writes, categories

MOVE_TO_NONE = "none"


def _check_name_free(name: str, except_id: str | None = None) -> None:
    wanted = search.normalize(name)
    for other in categories.list_categories():
        if other["id"] != except_id and search.normalize(other["name"]) == wanted:
            raise Conflict(f"a category named {other['name']!r} already exists")


def create_category(fields: dict[str, Any]) -> dict[str, Any]:
    _check_name_free(fields["name"])
    return categories.create_category(fields)


def update_category(category_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    categories.get_category(category_id)  # a 404 before a name clash
    if "name" in fields:
        _check_name_free(fields["name"], except_id=category_id)
    return categories.update_category(category_id, fields)


class CategoryNotEmpty(Conflict):
    def __init__(self, category_id: str, count: int) -> None:
        super().__init__(
            f"category {category_id} still has {count} article(s): move them to another "
            "category (move_to=<id>) or leave them uncategorized (move_to=none)",
            article_count=count,
        )
        self.count = count


def delete_category(index: AdminIndex, category_id: str, move_to: str | None = None) -> int:
    """Delete a category. One that still has articles (drafts too) is refused with Conflict
    unless `move_to` names another category (or "none": leave them uncategorized), in which case
    they are moved first. Returns how many articles were moved."""
    categories.get_category(category_id)
    article_ids = index.get().in_category(category_id)
    if article_ids and move_to is None:
        raise CategoryNotEmpty(category_id, len(article_ids))
    target: str | None = None
    if move_to and move_to != MOVE_TO_NONE:
        if move_to == category_id:
            raise InvalidInput("move_to must be another category")
        categories.get_category_or_400(move_to, "move_to")
        target = move_to
    for article_id in article_ids:
        article_writes.move_article(article_id, category_id, target)
    categories.delete_category(category_id)  # bumps the version: the moves show with it
    return len(article_ids)
