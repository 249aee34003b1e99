"""Media items' records: the `media` table (`pk` = `<account>#media#<id>`).

An item is one image / voice / video / thumb whose bytes live in the media bucket (`s3_key`, the
key inside the account, store.objects) and whose WeChat copies are cached here: a temporary
media_id with its expiry, and the permanent material's media_id once there is one. The logic that
talks to WeChat is chalicelib.media's; this module only reads and writes the records.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError
from pynamodb.models import Model

from chalicelib.store import keys
from chalicelib.store.errors import NotFound
from chalicelib.store.guard import guarded, is_condition_failure, save_new
from chalicelib.store.models import register, table


def item_key(item_id: str) -> str:
    return keys.scoped("media", item_id)


@register
class MediaItem(Model):
    Meta = table("media")
    pk = UnicodeAttribute(hash_key=True)  # <account>#media#<id>
    kind = UnicodeAttribute()
    s3_key = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    sha256 = UnicodeAttribute()
    filename = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    introduction = UnicodeAttribute(null=True)
    # Temporary media (3 days): cached media_id and when WeChat drops it.
    temp_media_id = UnicodeAttribute(null=True)
    temp_expires_at = NumberAttribute(null=True)
    # Permanent material: never expires.
    material_id = UnicodeAttribute(null=True)
    material_url = UnicodeAttribute(null=True)
    uploaded_at = NumberAttribute(null=True)
    upload_count = NumberAttribute(default=0)
    created_at = NumberAttribute()

    @property
    def id(self) -> str:
        return keys.last(self.pk)

    def to_dict(self) -> dict[str, Any]:
        permanent = bool(self.material_id)
        return {
            "id": self.id,
            "kind": self.kind,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": int(self.size),
            "sha256": self.sha256,
            "s3_key": self.s3_key,
            "permanent": permanent,
            "media_id": self.material_id if permanent else self.temp_media_id,
            "expires_at": None
            if permanent or not self.temp_expires_at
            else int(self.temp_expires_at),
            "url": self.material_url,
            "title": self.title,
            "introduction": self.introduction,
            "uploaded_at": int(self.uploaded_at) if self.uploaded_at else None,
            "upload_count": int(self.upload_count or 0),
            "created_at": int(self.created_at),
        }


@guarded
def get_item(item_id: str) -> MediaItem:
    if not isinstance(item_id, str) or not item_id or len(item_id) > 64:
        raise NotFound(f"media item {item_id!r} not found")
    try:
        return MediaItem.get(item_key(item_id), consistent_read=True)
    except DoesNotExist:
        raise NotFound(f"media item {item_id} not found") from None


@guarded
def list_items(kind: str | None = None) -> list[dict[str, Any]]:
    """The account's items (of one kind), newest first."""
    condition = MediaItem.pk.startswith(keys.prefix("media"))
    if kind:
        condition &= MediaItem.kind == kind
    items = [item.to_dict() for item in MediaItem.scan(filter_condition=condition)]
    items.sort(key=lambda m: (m["created_at"], m["id"]), reverse=True)
    return items


@guarded
def add_item(item: MediaItem) -> None:
    """Record a new item (a re-sent put meeting its own first attempt is success)."""
    save_new(item)


@guarded
def record_temporary(item: MediaItem, previous: str | None) -> bool:
    """Store the item's new temporary media_id, unless another caller replaced `previous`
    meanwhile (or the item was deleted): then False, and nothing is written."""
    condition = (
        MediaItem.temp_media_id == previous
        if previous
        else MediaItem.temp_media_id.does_not_exist()
    )
    return _update(
        item,
        [
            MediaItem.temp_media_id.set(item.temp_media_id),
            MediaItem.temp_expires_at.set(item.temp_expires_at),
            MediaItem.uploaded_at.set(item.uploaded_at),
            MediaItem.upload_count.add(1),
        ],
        condition & MediaItem.pk.exists(),
    )


@guarded
def record_material(item: MediaItem) -> bool:
    """Store the item's permanent material, unless it has one already (or was deleted): then
    False, and nothing is written."""
    return _update(
        item,
        [
            MediaItem.material_id.set(item.material_id),
            MediaItem.material_url.set(item.material_url),
            MediaItem.uploaded_at.set(item.uploaded_at),
            MediaItem.upload_count.add(1),
        ],
        MediaItem.material_id.does_not_exist() & MediaItem.pk.exists(),
    )


def _update(item: MediaItem, actions: list[Any], condition: Any) -> bool:
    try:
        item.update(actions=actions, condition=condition)
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


@guarded
def delete_item(item: MediaItem) -> None:
    try:
        item.delete(condition=MediaItem.pk.exists())
    except DeleteError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"media item {item.id} not found") from None
        raise
