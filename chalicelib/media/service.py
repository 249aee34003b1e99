"""Media items between S3 and WeChat: upload, the media_id valid right now, delete.

S3 holds the bytes (the source of truth, private bucket, server-side encrypted); WeChat holds
copies:
- *temporary* media (media/upload) live 3 days: the media_id is cached with its expiry and
  `media_id_for()` re-uploads from S3 when it is missing or within REUPLOAD_MARGIN of expiry;
- *permanent* material (material/add_material) never expires. An item uploaded with
  `permanent=true`, or named by a stored reply (media.replies), has one.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.errors import Conflict, InvalidInput
from chalicelib.media.content import (
    EXTENSIONS,
    check_content,
    check_kind,
    check_media_fits,
    max_bytes,
)
from chalicelib.store import media as records
from chalicelib.store import objects
from chalicelib.store.guard import guarded
from chalicelib.store.media import MediaItem
from chalicelib.wechat.api import TransportError, WeChatAPIError

if TYPE_CHECKING:
    from chalicelib.wechat.api import WeChatClient

log = logging.getLogger("wxless.media")

#: Presigned uploads land here (inside the account); the bucket's lifecycle rule empties `tmp/`
#: after a day, so abandoned uploads vanish.
UPLOAD_PREFIX = "tmp/uploads/"
UPLOAD_URL_SECONDS = 900
TEMPORARY_LIFETIME = 3 * 86400
#: Re-upload a temporary media when it has less than this left: a message sent now must not
#: carry a media_id that expires before WeChat delivers it.
REUPLOAD_MARGIN = 3600


def presign_upload(presigner: Any, kind: str) -> dict[str, Any]:
    """A presigned PUT URL for files too big for a JSON body (API Gateway caps bodies at 10 MB,
    base64 adds a third); POST the returned s3_key to /admin/media afterwards."""
    max_bytes(check_kind(kind), True)
    key = f"{UPLOAD_PREFIX}{kind}/{uuid.uuid4().hex}"
    url = objects.presigned_put(presigner, key, UPLOAD_URL_SECONDS)
    return {"s3_key": key, "url": url, "method": "PUT", "expires_in": UPLOAD_URL_SECONDS}


@guarded
def create_media(
    wechat: WeChatClient,
    kind: str,
    *,
    content: bytes | None = None,
    s3_key: str | None = None,
    permanent: bool = False,
    filename: str | None = None,
    declared_type: str | None = None,
    title: str | None = None,
    introduction: str | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Store a file in S3 and upload it to WeChat; all or nothing.

    Give `content` (the bytes) or `s3_key` (an object already in the account's part of the
    media bucket). The item always keeps its own copy under `media/<kind>/<id>.<ext>`; a source
    under `tmp/` (a presigned upload) is deleted once copied, any other source is left alone.
    If WeChat refuses, nothing is kept.
    """
    check_kind(kind)
    if (content is None) == (s3_key is None):
        raise InvalidInput("give exactly one of content_base64 or s3_key")
    if permanent and kind == "video" and not title:
        raise InvalidInput("title is required for a permanent video (WeChat shows it)")
    if s3_key is not None:
        size = objects.size(s3_key)
        limit = max_bytes(kind, permanent)
        if size > limit:
            raise InvalidInput(f"{kind}: {size} bytes, limit {limit}")
        content = objects.read(s3_key)
    assert content is not None
    content_type = check_content(kind, content, permanent=permanent, declared=declared_type)

    item_id = uuid.uuid4().hex
    key = f"media/{kind}/{item_id}.{EXTENSIONS[content_type]}"
    objects.put(key, content, content_type, ServerSideEncryption="AES256")
    item = MediaItem(
        records.item_key(item_id),
        kind=kind,
        s3_key=key,
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        filename=filename,
        title=title,
        introduction=introduction,
        created_at=int(clock()),
    )
    try:
        if permanent:
            _fill_material(item, content, wechat, clock)
        else:
            _fill_temporary(item, content, wechat, clock)
        records.add_item(item)
    except Exception:
        objects.delete([key])  # WeChat or DynamoDB refused: keep nothing half-made
        if item.material_id:  # WeChat stored a material that no record will ever name
            try:
                _delete_material(wechat, item.material_id)
            except Exception:
                log.warning("media.orphan_material media_id=%s", item.material_id)
        raise
    if s3_key is not None and s3_key.startswith(objects.TEMP):
        objects.delete([s3_key])
    return item.to_dict()


def _wechat_filename(item: MediaItem) -> str:
    # WeChat judges the type by the extension: use the sniffed one, not the admin's file name.
    return f"{item.id}.{EXTENSIONS[item.content_type]}"


def _fill_temporary(
    item: MediaItem, content: bytes, wechat: WeChatClient, clock: Callable[[], float]
) -> None:
    started = clock()
    answer = wechat.media.upload(item.kind, _wechat_filename(item), content, item.content_type)
    media_id = answer.get("thumb_media_id") if item.kind == "thumb" else None
    media_id = media_id or answer.get("media_id")
    if not media_id:
        raise TransportError("answered without a media_id", "/cgi-bin/media/upload")
    item.temp_media_id = str(media_id)
    # Counted on our clock from before the upload (WeChat's created_at differs by its skew at
    # most, which REUPLOAD_MARGIN absorbs).
    item.temp_expires_at = int(started) + TEMPORARY_LIFETIME
    item.uploaded_at = int(clock())
    item.upload_count = int(item.upload_count or 0) + 1


def _fill_material(
    item: MediaItem, content: bytes, wechat: WeChatClient, clock: Callable[[], float]
) -> None:
    title = item.title
    if item.kind == "video" and not title:
        title = (item.filename or "video").rsplit(".", 1)[0] or "video"
    answer = wechat.material.add(
        item.kind,
        _wechat_filename(item),
        content,
        item.content_type,
        title=title,
        introduction=item.introduction,
    )
    item.material_id = str(answer["media_id"])
    item.material_url = answer.get("url")
    item.uploaded_at = int(clock())
    item.upload_count = int(item.upload_count or 0) + 1


@guarded
def media_id_for(
    item_id: str, wechat: WeChatClient, *, clock: Callable[[], float] = time.time
) -> str:
    """A media_id WeChat accepts right now for this item (messages, mass sends, replies).

    The permanent material if there is one; else the cached temporary media_id, re-uploaded from
    S3 when missing or about to expire (3-day lifetime).
    """
    item = records.get_item(item_id)
    if item.material_id:
        return item.material_id
    if item.temp_media_id and (item.temp_expires_at or 0) - clock() > REUPLOAD_MARGIN:
        return item.temp_media_id
    previous = item.temp_media_id
    _fill_temporary(item, objects.read(item.s3_key), wechat, clock)
    if not records.record_temporary(item, previous):
        # Another caller re-uploaded meanwhile (or the item was deleted): use what is stored.
        current = records.get_item(item_id)
        if current.material_id or current.temp_media_id:
            return current.material_id or current.temp_media_id  # type: ignore[return-value]
        raise Conflict(f"media item {item_id} changed meanwhile; try again")
    log.info("media.reuploaded id=%s kind=%s", item.id, item.kind)
    return item.temp_media_id  # type: ignore[return-value]


@guarded
def permanent_media_id(
    item_id: str,
    wechat: WeChatClient,
    *,
    clock: Callable[[], float] = time.time,
    title: str | None = None,
) -> str:
    """The item's permanent material media_id, uploading it as material the first time."""
    item = records.get_item(item_id)
    if item.material_id:
        return item.material_id
    content = objects.read(item.s3_key)
    check_media_fits(item.kind, item.content_type, len(content), permanent=True)
    if title and not item.title:
        item.title = title
    _fill_material(item, content, wechat, clock)
    if not records.record_material(item):
        # Lost a race: keep the winner's material and drop our duplicate.
        _delete_material(wechat, item.material_id)
        return records.get_item(item_id).material_id or ""
    return item.material_id  # type: ignore[return-value]


def _references(media_ids: set[str]) -> list[str]:
    """Rules, special replies and flows whose stored replies use one of these media_ids."""
    from chalicelib.engine.flow_definitions import replies_in
    from chalicelib.store import flows, points, rules

    def uses(reply: Any) -> bool:
        return isinstance(reply, dict) and any(
            reply.get(k) in media_ids for k in ("media_id", "thumb_media_id")
        )

    found = [f"rule {r['id']} ({r['name']})" for r in rules.list_rules() if uses(r.get("reply"))]
    for kind in rules.SPECIAL_KINDS:
        if uses(rules.get_special(kind)):
            found.append(f"the {kind} reply")
    for flow in flows.list_flows():
        if any(uses(reply) for reply in replies_in(flow)):
            found.append(f"flow {flow['id']} ({flow['name']})")
    if uses((points.get_settings() or {}).get("empty_reply")):
        found.append("the location answer's empty_reply")
    return found


@guarded
def delete_media(item_id: str, wechat: WeChatClient) -> None:
    """Delete the WeChat material, the S3 object and the record. Refused (409) while a rule,
    special reply, flow or the location empty_reply still uses the item's permanent media_id."""
    item = records.get_item(item_id)
    if item.material_id:
        users = _references({item.material_id})
        if users:
            raise Conflict(f"media item {item_id} is used by {', '.join(users)}")
        _delete_material(wechat, item.material_id)
    # Temporary media cannot be deleted at WeChat; it expires on its own within 3 days.
    objects.delete([item.s3_key])
    records.delete_item(item)


def _delete_material(wechat: WeChatClient, media_id: str | None) -> None:
    if not media_id:
        return
    try:
        wechat.material.delete(media_id)
    except WeChatAPIError as exc:
        if exc.errcode != 40007:  # already gone at WeChat: fine
            raise
