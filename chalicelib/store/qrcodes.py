"""Channel QR codes: one item per code in the `channels` table, in its account's partition.

    pk = "<account>"        sk = "qr#<id>"       id = a hash of the scene (unique per account)

The id is derived from the scene, so "one code per scene" is one conditional put and the stream
aggregator can find a scene's code with one GetItem. A code is claimed first (`state =
creating`), then WeChat is asked for it (qrcode/create), then its ticket is stored (`ready`):
a permanent code is never created twice for one scene (an account has 100,000 of them).

The same table holds the tagging retry queue (store.channel_tagging). Every change bumps the
rules version (store.rules): the callback's cached snapshot carries the
codes' replies (`replies()`), so a scan is answered without a read.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, UpdateError
from pynamodb.models import Model

from chalicelib.store import keys
from chalicelib.store import rules as rules_store
from chalicelib.store.errors import Conflict, NotFound
from chalicelib.store.guard import guarded, is_condition_failure
from chalicelib.store.models import register, table

SK = "qr#"
CREATING, READY = "creating", "ready"
#: A claim older than this whose WeChat call never finished may be taken over.
STALE_CLAIM_SECONDS = 60


def code_id(scene: str) -> str:
    """The id of the code for `scene` (20 hex digits of its SHA-256)."""
    return hashlib.sha256(scene.encode("utf-8")).hexdigest()[:20]


@register
class QRCodeItem(Model):
    Meta = table("channels")
    pk = UnicodeAttribute(hash_key=True)  # <account>
    sk = UnicodeAttribute(range_key=True)  # qr#<id>
    name = UnicodeAttribute()
    scene = UnicodeAttribute()
    permanent = BooleanAttribute()
    expire_seconds = NumberAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    ticket = UnicodeAttribute(null=True)
    url = UnicodeAttribute(null=True)
    reply = JSONAttribute(null=True)
    tag_ids = ListAttribute(of=NumberAttribute, null=True)
    state = UnicodeAttribute()
    created_at = NumberAttribute()
    updated_at = NumberAttribute()
    # The table's TTL attribute: codes never expire as items (an expired temporary code keeps
    # its figures); the tagging retry queue's items do (store.channel_tagging).
    ttl_at = TTLAttribute(null=True)

    @classmethod
    def of(cls, item_id: str, **fields: Any) -> QRCodeItem:
        return cls(keys.scoped(), SK + item_id, **fields)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.sk.removeprefix(SK),
            "name": self.name,
            "scene": self.scene,
            "permanent": bool(self.permanent),
            "expire_seconds": _int(self.expire_seconds),
            "expires_at": _int(self.expires_at),
            "ticket": self.ticket,
            "url": self.url,
            "reply": self.reply,
            "tag_ids": [int(t) for t in self.tag_ids or ()],
            "state": self.state,
            "created_at": int(self.created_at),
            "updated_at": int(self.updated_at),
        }


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


@guarded
def claim(fields: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """Reserve the code of `fields["scene"]` before WeChat is asked for it. Conflict when a
    code with this scene exists (or is being created right now)."""
    now = int(time.time() if now is None else now)
    item = QRCodeItem.of(
        code_id(fields["scene"]), state=CREATING, created_at=now, updated_at=now, **fields
    )
    stale = (QRCodeItem.state == CREATING) & (QRCodeItem.updated_at < now - STALE_CLAIM_SECONDS)
    try:
        item.save(condition=QRCodeItem.sk.does_not_exist() | stale)
    except PutError as exc:
        if is_condition_failure(exc):
            raise Conflict(f"a QR code with scene {fields['scene']!r} exists") from None
        raise
    return item.to_dict()


@guarded
def finish(item_id: str, ticket: str, url: str, expires_at: int | None) -> dict[str, Any]:
    """Store WeChat's ticket on a claimed code: it is ready (and its reply goes live)."""
    item = QRCodeItem.of(item_id)
    actions = [
        QRCodeItem.ticket.set(ticket),
        QRCodeItem.url.set(url),
        QRCodeItem.state.set(READY),
        QRCodeItem.updated_at.set(int(time.time())),
    ]
    if expires_at is not None:
        actions.append(QRCodeItem.expires_at.set(expires_at))
    item.update(actions=actions, condition=QRCodeItem.sk.exists())
    rules_store.bump_version()
    return item.to_dict()


@guarded
def release(item_id: str) -> None:
    """Drop a claim whose WeChat call failed (only while it is still a claim)."""
    try:
        QRCodeItem.of(item_id).delete(condition=QRCodeItem.state == CREATING)
    except DeleteError as exc:
        if not is_condition_failure(exc):
            raise


@guarded
def list_codes(*, ready_only: bool = True) -> list[dict[str, Any]]:
    """The account's codes, newest first: one Query of its partition."""
    found = QRCodeItem.query(keys.scoped(), QRCodeItem.sk.startswith(SK))
    codes = [item.to_dict() for item in found]
    if ready_only:
        codes = [c for c in codes if c["state"] == READY]
    codes.sort(key=lambda c: (-c["created_at"], c["id"]))
    return codes


@guarded
def get_code(item_id: str) -> dict[str, Any]:
    try:
        code = QRCodeItem.get(keys.scoped(), SK + item_id).to_dict()
    except DoesNotExist:
        code = None
    if code is None or code["state"] != READY:
        raise NotFound(f"QR code {item_id} not found")
    return code


def find_by_scene(scene: str) -> dict[str, Any] | None:
    """The ready code of `scene`, or None (one GetItem: the id is the scene's hash)."""
    try:
        code = QRCodeItem.get(keys.scoped(), SK + code_id(scene)).to_dict()
    except DoesNotExist:
        return None
    return code if code["state"] == READY and code["scene"] == scene else None


@guarded
def update_code(item_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Change name, reply and/or tag_ids of a ready code (scene and kind never change)."""
    item = QRCodeItem.of(item_id)
    actions: list[Any] = [QRCodeItem.updated_at.set(int(time.time()))]
    if "name" in fields:
        actions.append(QRCodeItem.name.set(fields["name"]))
    if "reply" in fields:
        reply = fields["reply"]
        actions.append(QRCodeItem.reply.set(reply) if reply else QRCodeItem.reply.remove())
    if "tag_ids" in fields:
        tags = fields["tag_ids"]
        actions.append(QRCodeItem.tag_ids.set(tags) if tags else QRCodeItem.tag_ids.remove())
    try:
        item.update(actions=actions, condition=QRCodeItem.state == READY)
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"QR code {item_id} not found") from None
        raise
    rules_store.bump_version()
    return item.to_dict()


@guarded
def delete_code(item_id: str) -> None:
    """Forget a code: its reply and tags stop; WeChat keeps the code itself (a scan of it still
    counts for its scene)."""
    try:
        QRCodeItem.of(item_id).delete(condition=QRCodeItem.state == READY)
    except DeleteError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"QR code {item_id} not found") from None
        raise
    rules_store.bump_version()


def replies() -> dict[str, dict[str, Any]]:
    """What the callback's snapshot carries: scene -> {"id", "reply"} of every ready code that
    has a reply."""
    return {
        code["scene"]: {"id": code["id"], "reply": code["reply"]}
        for code in list_codes()
        if code["reply"]
    }
