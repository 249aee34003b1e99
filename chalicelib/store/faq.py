"""The knowledge base: entries, the admins' synonym list, and the version item the callback's
FAQ snapshot watches (engine/cache.py). Every change writes the data first and bumps the
version last, so a reader that sees the new version loads the new data.

Keys: an entry is `pk` = the account, `sk` = `faq#<id>` in the `faq` table (one partition per
account: the snapshot is one Query; entries are few thousand at most and rarely written). In
the config table: `<account>#faq#version` and `<account>#faq#synonyms` (`value`: the groups).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError
from pynamodb.models import Model

from chalicelib.store import articles, keys, versions
from chalicelib.store.errors import NotFound
from chalicelib.store.guard import guarded, is_condition_failure, save_new
from chalicelib.store.models import ConfigItem, register, table

ENTRY_SK = "faq#"


@register
class FaqItem(Model):
    """One knowledge-base entry, in its account's partition."""

    Meta = table("faq")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    question = UnicodeAttribute()
    alternatives = ListAttribute(of=UnicodeAttribute, default=list)
    answer = JSONAttribute()
    category = UnicodeAttribute(default="")
    enabled = BooleanAttribute(default=True)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    seq = NumberAttribute(default=0)  # creation order (µs since the epoch; imports count up)

    @staticmethod
    def partition() -> str:
        return keys.scoped()

    @classmethod
    def of(cls, entry_id: str, **fields: Any) -> FaqItem:
        return cls(cls.partition(), ENTRY_SK + entry_id, **fields)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.sk.removeprefix(ENTRY_SK),
            "question": self.question,
            "alternatives": list(self.alternatives or ()),
            "answer": self.answer,
            "category": self.category or "",
            "enabled": bool(self.enabled),
            "created_at": int(self.created_at),
            "updated_at": int(self.updated_at),
            "seq": int(self.seq or 0),
        }


def _seq() -> int:
    return time.time_ns() // 1000


def version_key() -> str:
    return versions.key("faq")


def _synonyms_key() -> str:
    return keys.scoped("faq", "synonyms")


def bump_version() -> int | None:
    return versions.bump(version_key())


def read_version() -> tuple[int, int]:
    """(the knowledge base's version, the articles' version): published articles answer too,
    so a change of either reloads the callback's FAQ snapshot."""
    return versions.read_fast(version_key())[0], versions.read_fast(articles.version_key())[0]


@guarded
def list_entries() -> list[dict[str, Any]]:
    """The account's entries, oldest first: one Query of its partition."""
    found = FaqItem.query(FaqItem.partition(), FaqItem.sk.startswith(ENTRY_SK))
    items = sorted(found, key=lambda item: (int(item.seq or 0), item.sk))
    return [item.to_dict() for item in items]


@guarded
def get_entry(entry_id: str) -> dict[str, Any]:
    try:
        return FaqItem.get(FaqItem.partition(), ENTRY_SK + entry_id).to_dict()
    except DoesNotExist:
        raise NotFound(f"faq entry {entry_id} not found") from None


@guarded
def create_entry(fields: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    item = FaqItem.of(uuid.uuid4().hex, created_at=now, updated_at=now, seq=_seq(), **fields)
    save_new(item)
    bump_version()
    return item.to_dict()


@guarded
def replace_entry(entry_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    current = get_entry(entry_id)
    item = FaqItem.of(
        entry_id,
        created_at=current["created_at"],
        updated_at=int(time.time()),
        seq=current["seq"],
        **fields,
    )
    try:
        item.save(condition=FaqItem.sk.exists())
    except PutError as exc:
        if is_condition_failure(exc):  # deleted meanwhile
            raise NotFound(f"faq entry {entry_id} not found") from None
        raise
    bump_version()
    return item.to_dict()


@guarded
def delete_entry(entry_id: str) -> None:
    try:
        FaqItem.of(entry_id).delete(condition=FaqItem.sk.exists())
    except DeleteError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"faq entry {entry_id} not found") from None
        raise
    bump_version()


@guarded
def set_alternatives(entry_id: str, alternatives: list[str], expect_updated: int) -> dict:
    """Replace an entry's alternatives, conditional on it not having changed since it was read
    (`updated_at`): two admins attaching questions at once must not lose one's."""
    item = FaqItem.of(entry_id)
    try:
        item.update(
            actions=[
                FaqItem.alternatives.set(alternatives),
                FaqItem.updated_at.set(max(int(time.time()), expect_updated + 1)),
            ],
            condition=FaqItem.sk.exists() & (FaqItem.updated_at == expect_updated),
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise StaleEntry(entry_id) from None
        raise
    bump_version()
    return get_entry(entry_id)


class StaleEntry(Exception):
    """The entry changed (or went) between read and write."""


@guarded
def import_entries(entries: Iterable[dict[str, Any]], *, replace: bool = False) -> dict[str, int]:
    """Write validated entries (new ids) with BatchWriteItem; with `replace`, every entry that
    was there before is deleted. One version bump at the end."""
    before = [e["id"] for e in list_entries()] if replace else []
    now, seq = int(time.time()), _seq()
    written = 0
    with FaqItem.batch_write() as batch:
        for fields in entries:
            entry_id = uuid.uuid4().hex
            batch.save(FaqItem.of(entry_id, created_at=now, updated_at=now, seq=seq, **fields))
            seq += 1
            written += 1
        for entry_id in before:
            batch.delete(FaqItem.of(entry_id))
    bump_version()
    return {"imported": written, "deleted": len(before)}


@guarded
def get_synonyms() -> list[list[str]]:
    try:
        return list(ConfigItem.get(_synonyms_key()).value or [])
    except DoesNotExist:
        return []


@guarded
def put_synonyms(groups: list[list[str]]) -> None:
    ConfigItem(_synonyms_key(), value=groups, updated_at=int(time.time())).save()
    bump_version()


@guarded
def load_snapshot() -> tuple[tuple[int, int], tuple[list, list, list]]:
    """Version first, then data: ((faq version, articles version), (entries, synonym groups,
    published articles))."""
    version = read_version()
    published = list(articles.published_entries().values())
    return version, (list_entries(), get_synonyms(), published)
