"""Media items: the file in the private S3 bucket, its WeChat media_id(s) in the `media` table.

An item is one image / voice / video / thumb. Its bytes live in S3 (the source of truth, private
bucket, server-side encrypted); WeChat holds copies:
- *temporary* media (media/upload) live 3 days: the media_id is cached with its expiry and
  `media_id_for()` re-uploads from S3 when it is missing or within REUPLOAD_MARGIN of expiry;
- *permanent* material (material/add_material) never expires. An item uploaded with
  `permanent=true`, or referenced by a rule reply, has one.

The content type is decided by the file's magic bytes, never by its name or a declared type,
then checked against WeChat's limits for the kind (`check_media`).

Rule replies may name an item (`{"type": "image", "media": "<item id>"}`): `resolve_reply()`
turns that into the permanent material's media_id when the rule is SAVED (admin path), so the
stored reply is an ordinary Reply object and the callback's hot path does no extra read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError
from pynamodb.models import Model

from chalicelib import config
from chalicelib.store.aws import client as aws_client
from chalicelib.store.errors import Conflict, NotFound
from chalicelib.store.guard import guarded, is_condition_failure, save_new
from chalicelib.store.models import register, table
from chalicelib.wechat.api.media import PERMANENT_LIMITS, TEMPORARY_LIMITS, check_media

if TYPE_CHECKING:
    from chalicelib.wechat.api import WeChatClient

log = logging.getLogger("wxless.media")
T = TypeVar("T")

KINDS = ("image", "voice", "video", "thumb")
#: Presigned uploads land here; the bucket's lifecycle rule deletes `tmp/` objects after a day.
UPLOAD_PREFIX = "tmp/uploads/"
TEMPORARY_LIFETIME = 3 * 86400
#: Re-upload a temporary media when it has less than this left: a message sent now must not
#: carry a media_id that expires before WeChat delivers it.
REUPLOAD_MARGIN = 3600
#: Reply types that may name a media item, and the item kind each needs.
REPLY_MEDIA_FIELDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    # reply type -> ((field naming an item, field receiving the media_id, item kind), ...)
    "image": (("media", "media_id", "image"),),
    "voice": (("media", "media_id", "voice"),),
    "video": (("media", "media_id", "video"),),
    "music": (("thumb_media", "thumb_media_id", "thumb"),),
}

# content type -> file extension WeChat will accept (it checks the name's extension).
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/bmp": "bmp",
    "audio/amr": "amr",
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/x-ms-wma": "wma",
    "video/mp4": "mp4",
}
_ALIASES = {"image/jpg": "image/jpeg", "audio/mp3": "audio/mpeg", "audio/x-wav": "audio/wav"}
_ASF_GUID = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_NOT_VIDEO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"qt  "}


def sniff_content_type(data: bytes) -> str | None:
    """The content type the bytes really are (of the formats WeChat takes), or None."""
    head = data[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if (
        head.startswith(b"BM")
        and len(head) >= 18
        and int.from_bytes(head[14:18], "little") in (12, 40, 52, 56, 64, 108, 124)
    ):
        return "image/bmp"
    if head.startswith(b"#!AMR"):
        return "audio/amr"
    if head.startswith(b"ID3") or (
        len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06 == 0x02
    ):
        return "audio/mpeg"  # an ID3 tag, or an MPEG audio layer III frame header
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(_ASF_GUID):
        return "audio/x-ms-wma"
    if head[4:8] == b"ftyp" and head[8:12] not in _NOT_VIDEO_BRANDS:
        return "video/mp4"
    return None


def max_bytes(kind: str, permanent: bool) -> int:
    limits = PERMANENT_LIMITS if permanent else TEMPORARY_LIMITS
    if kind not in limits:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    return limits[kind].max_bytes


def check_content(kind: str, data: bytes, *, permanent: bool, declared: str | None = None) -> str:
    """Return the sniffed content type if `data` is acceptable for `kind`, else ValueError."""
    limit = max_bytes(kind, permanent)
    if not data:
        raise ValueError(f"{kind}: empty file")
    if len(data) > limit:
        raise ValueError(f"{kind}: {len(data)} bytes, limit {limit}")
    sniffed = sniff_content_type(data)
    if sniffed is None:
        raise ValueError(
            f"{kind}: unrecognised file content (expected {_formats(kind, permanent)}, "
            "judged by the file's bytes, not its name)"
        )
    if declared:
        normal = declared.split(";", 1)[0].strip().lower()
        if _ALIASES.get(normal, normal) != sniffed:
            raise ValueError(
                f"{kind}: declared content_type {normal!r} but the bytes are {sniffed}"
            )
    check_media(kind, sniffed, len(data), permanent=permanent)
    return sniffed


def _formats(kind: str, permanent: bool) -> str:
    limits = PERMANENT_LIMITS if permanent else TEMPORARY_LIMITS
    return limits[kind].formats if kind in limits else "?"


def decode_base64(text: Any, kind: str, permanent: bool) -> bytes:
    if not isinstance(text, str) or not text:
        raise ValueError("content_base64 must be a non-empty base64 string")
    limit = max_bytes(kind, permanent)
    if len(text) > (limit // 3 + 1) * 4 + 4:  # refuse before decoding
        raise ValueError(f"{kind}: file larger than the limit of {limit} bytes")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("content_base64 is not valid base64") from None


# --------------------------------------------------------------------------- table


@register
class MediaItem(Model):
    Meta = table("media")
    id = UnicodeAttribute(hash_key=True)
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


def _wechat(wechat: WeChatClient | None) -> WeChatClient:
    if wechat is not None:
        return wechat
    from chalicelib.jobs.wechat import client

    return client()


def _s3() -> Any:
    return aws_client("s3")


@guarded
def get_item(item_id: str) -> MediaItem:
    if not isinstance(item_id, str) or not item_id or len(item_id) > 64:
        raise NotFound(f"media item {item_id!r} not found")
    try:
        return MediaItem.get(item_id, consistent_read=True)
    except DoesNotExist:
        raise NotFound(f"media item {item_id} not found") from None


@guarded
def get_media(item_id: str) -> dict[str, Any]:
    return get_item(item_id).to_dict()


@guarded
def list_media(kind: str | None = None) -> list[dict[str, Any]]:
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    condition = MediaItem.kind == kind if kind else None
    items = [item.to_dict() for item in MediaItem.scan(filter_condition=condition)]
    items.sort(key=lambda m: (m["created_at"], m["id"]), reverse=True)
    return items


@guarded
def _read_s3(key: str) -> bytes:
    return _s3().get_object(Bucket=config.media_bucket(), Key=key)["Body"].read()


@guarded
def _object_size(key: str) -> int:
    from botocore.exceptions import ClientError

    try:
        head = _s3().head_object(Bucket=config.media_bucket(), Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise NotFound(f"no object {key!r} in the media bucket") from None
        raise
    return int(head["ContentLength"])


def _presigner() -> Any:
    # SigV4 explicitly: botocore still presigns S3 URLs with SigV2 by default in some regions,
    # which newer regions refuse. Admin-only and rare, so a client per call is fine.
    import os

    import botocore.session
    from botocore.config import Config

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return botocore.session.get_session().create_client(
        "s3", region_name=region, config=Config(signature_version="s3v4")
    )


@guarded
def presign_upload(kind: str, expires_in: int = 900) -> dict[str, Any]:
    """A presigned PUT URL for files too big for a JSON body (API Gateway caps bodies at 10 MB,
    base64 adds a third); POST the returned s3_key to /admin/media afterwards. Under `tmp/`,
    which the bucket's lifecycle rule empties after a day, so abandoned uploads vanish."""
    max_bytes(kind, True)
    key = f"{UPLOAD_PREFIX}{kind}/{uuid.uuid4().hex}"
    url = _presigner().generate_presigned_url(
        "put_object",
        Params={"Bucket": config.media_bucket(), "Key": key},
        ExpiresIn=expires_in,
    )
    return {"s3_key": key, "url": url, "method": "PUT", "expires_in": expires_in}


@guarded
def create_media(
    kind: str,
    *,
    content: bytes | None = None,
    s3_key: str | None = None,
    permanent: bool = False,
    filename: str | None = None,
    declared_type: str | None = None,
    title: str | None = None,
    introduction: str | None = None,
    wechat: WeChatClient | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Store a file in S3 and upload it to WeChat; all or nothing.

    Give `content` (the bytes) or `s3_key` (an object already in the media bucket). The item
    always keeps its own copy under `media/<kind>/<id>.<ext>`; a source under `tmp/` (a presigned
    upload) is deleted once copied, any other source is left alone. If WeChat refuses, nothing
    is kept.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    if (content is None) == (s3_key is None):
        raise ValueError("give exactly one of content_base64 or s3_key")
    if permanent and kind == "video" and not title:
        raise ValueError("title is required for a permanent video (WeChat shows it)")
    if s3_key is not None:
        size = _object_size(s3_key)
        limit = max_bytes(kind, permanent)
        if size > limit:
            raise ValueError(f"{kind}: {size} bytes, limit {limit}")
        content = _read_s3(s3_key)
    assert content is not None
    content_type = check_content(kind, content, permanent=permanent, declared=declared_type)

    item_id = uuid.uuid4().hex
    key = f"media/{kind}/{item_id}.{EXTENSIONS[content_type]}"
    _s3().put_object(
        Bucket=config.media_bucket(),
        Key=key,
        Body=content,
        ContentType=content_type,
        ServerSideEncryption="AES256",
    )
    item = MediaItem(
        item_id,
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
    api = _wechat(wechat)
    try:
        if permanent:
            _fill_material(item, content, api, clock)
        else:
            _fill_temporary(item, content, api, clock)
        save_new(item)  # a re-sent put meeting its own first attempt is success
    except Exception:
        _delete_object(key)  # WeChat or DynamoDB refused: keep nothing half-made
        if item.material_id:  # WeChat stored a material that no record will ever name
            try:
                _delete_material(api, item.material_id)
            except Exception:
                log.warning("media.orphan_material media_id=%s", item.material_id)
        raise
    if s3_key is not None and s3_key.startswith("tmp/"):
        _delete_object(s3_key)
    return item.to_dict()


def _wechat_filename(item: MediaItem) -> str:
    # WeChat judges the type by the extension: use the sniffed one, not the admin's file name.
    return f"{item.id}.{EXTENSIONS[item.content_type]}"


def _fill_temporary(
    item: MediaItem, content: bytes, api: WeChatClient, clock: Callable[[], float]
) -> None:
    started = clock()
    answer = api.media.upload(item.kind, _wechat_filename(item), content, item.content_type)
    media_id = answer.get("thumb_media_id") if item.kind == "thumb" else None
    media_id = media_id or answer.get("media_id")
    if not media_id:
        raise ValueError("WeChat answered without a media_id")
    item.temp_media_id = str(media_id)
    # Counted on our clock from before the upload (WeChat's created_at differs by its skew at
    # most, which REUPLOAD_MARGIN absorbs).
    item.temp_expires_at = int(started) + TEMPORARY_LIFETIME
    item.uploaded_at = int(clock())
    item.upload_count = int(item.upload_count or 0) + 1


def _fill_material(
    item: MediaItem, content: bytes, api: WeChatClient, clock: Callable[[], float]
) -> None:
    title = item.title
    if item.kind == "video" and not title:
        title = (item.filename or "video").rsplit(".", 1)[0] or "video"
    answer = api.material.add(
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
    item_id: str,
    *,
    wechat: WeChatClient | None = None,
    clock: Callable[[], float] = time.time,
) -> str:
    """A media_id WeChat accepts right now for this item (messages, mass sends, replies).

    The permanent material if there is one; else the cached temporary media_id, re-uploaded from
    S3 when missing or about to expire (3-day lifetime).
    """
    item = get_item(item_id)
    if item.material_id:
        return item.material_id
    now = clock()
    if item.temp_media_id and (item.temp_expires_at or 0) - now > REUPLOAD_MARGIN:
        return item.temp_media_id
    previous = item.temp_media_id
    _fill_temporary(item, _read_s3(item.s3_key), _wechat(wechat), clock)
    condition = (
        MediaItem.temp_media_id == previous
        if previous
        else MediaItem.temp_media_id.does_not_exist()
    )
    try:
        item.update(
            actions=[
                MediaItem.temp_media_id.set(item.temp_media_id),
                MediaItem.temp_expires_at.set(item.temp_expires_at),
                MediaItem.uploaded_at.set(item.uploaded_at),
                MediaItem.upload_count.add(1),
            ],
            condition=condition & MediaItem.id.exists(),
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        # Another caller re-uploaded meanwhile (or the item was deleted): use what is stored.
        current = get_item(item_id)
        if current.material_id:
            return current.material_id
        if current.temp_media_id:
            return current.temp_media_id
        raise
    log.info("media.reuploaded id=%s kind=%s", item.id, item.kind)
    return item.temp_media_id  # type: ignore[return-value]


@guarded
def permanent_media_id(
    item_id: str,
    *,
    wechat: WeChatClient | None = None,
    clock: Callable[[], float] = time.time,
    title: str | None = None,
) -> str:
    """The item's permanent material media_id, uploading it as material the first time."""
    item = get_item(item_id)
    if item.material_id:
        return item.material_id
    content = _read_s3(item.s3_key)
    check_media(item.kind, item.content_type, len(content), permanent=True)
    if title and not item.title:
        item.title = title
    api = _wechat(wechat)
    _fill_material(item, content, api, clock)
    try:
        item.update(
            actions=[
                MediaItem.material_id.set(item.material_id),
                MediaItem.material_url.set(item.material_url),
                MediaItem.uploaded_at.set(item.uploaded_at),
                MediaItem.upload_count.add(1),
            ],
            condition=MediaItem.material_id.does_not_exist() & MediaItem.id.exists(),
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise
        # Lost a race: keep the winner's material and drop our duplicate.
        _delete_material(api, item.material_id)
        return get_item(item_id).material_id or ""
    return item.material_id  # type: ignore[return-value]


def resolve_reply(
    reply: Any,
    *,
    permanent: bool = True,
    dry: bool = False,
    wechat: WeChatClient | None = None,
    path: str = "reply",
) -> Any:
    """Replace `media` / `thumb_media` (a media item id) by a WeChat media_id.

    `permanent=True` (rules, special replies: stored for good) uses the item's permanent
    material, uploading it as material the first time; `permanent=False` (a message sent now)
    takes any media_id valid right now (`media_id_for`). Anything that is not a reply naming an
    item comes back unchanged: validation is `validate_reply`'s job, after this. `dry=True`
    checks the items exist and fit, and puts a placeholder instead of uploading anything.
    """
    if not isinstance(reply, dict):
        return reply
    fields = REPLY_MEDIA_FIELDS.get(reply.get("type"))  # type: ignore[arg-type]
    if not fields:
        return reply
    out = dict(reply)
    for ref_field, id_field, kind in fields:
        if ref_field not in out:
            continue
        item_id = out.pop(ref_field)
        if id_field in out:
            raise ValueError(f"{path}: give {ref_field} or {id_field}, not both")
        if not isinstance(item_id, str) or not item_id:
            raise ValueError(f"{path}.{ref_field}: must be a media item id")
        try:
            item = get_item(item_id)
        except NotFound:
            raise ValueError(f"{path}.{ref_field}: no media item {item_id!r}") from None
        if item.kind != kind:
            raise ValueError(
                f"{path}.{ref_field}: media item {item_id} is a {item.kind}, a {kind} is needed"
            )
        if dry:
            out[id_field] = f"pending-{item_id}"
        elif permanent:
            title = out.get("title") if kind == "video" else None
            out[id_field] = permanent_media_id(item_id, wechat=wechat, title=title)
        else:
            out[id_field] = media_id_for(item_id, wechat=wechat)
    return out


def names_media(reply: Any) -> bool:
    kind = reply.get("type") if isinstance(reply, dict) else None
    # an unhashable "type" ({} or []) is the validator's to refuse, not a lookup error here
    fields = REPLY_MEDIA_FIELDS.get(kind) if isinstance(kind, str) else None
    return bool(fields) and any(ref in reply for ref, _, _ in fields)  # type: ignore[union-attr]


def validated(
    validate: Callable[[Any], T],
    body: Any,
    *,
    reply_key: str | None = "reply",
    wechat: WeChatClient | None = None,
) -> T:
    """`validate(body)` where the reply (body[reply_key], or body itself when None) may name
    media items (admin rule / special reply saves).

    Validated first with placeholders, so a body with any other mistake uploads nothing; then the
    items are uploaded as permanent material (once per item) and the real ids validated.
    """
    reply = body.get(reply_key) if reply_key and isinstance(body, dict) else body
    if not names_media(reply):
        return validate(body)

    def with_reply(new_reply: Any) -> Any:
        return {**body, reply_key: new_reply} if reply_key else new_reply

    validate(with_reply(resolve_reply(reply, dry=True, wechat=wechat)))
    return validate(with_reply(resolve_reply(reply, wechat=wechat)))


def _references(media_ids: set[str]) -> list[str]:
    """Rules, special replies and flows whose stored replies use one of these media_ids."""
    from chalicelib.engine.flows import replies_in
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
def delete_media(item_id: str, *, wechat: WeChatClient | None = None) -> None:
    """Delete the WeChat material, the S3 object and the record. Refused (409) while a rule,
    special reply, flow or the location empty_reply still uses the item's permanent media_id."""
    item = get_item(item_id)
    if item.material_id:
        users = _references({item.material_id})
        if users:
            raise Conflict(f"media item {item_id} is used by {', '.join(users)}")
        _delete_material(_wechat(wechat), item.material_id)
    # Temporary media cannot be deleted at WeChat; it expires on its own within 3 days.
    _delete_object(item.s3_key)
    try:
        item.delete(condition=MediaItem.id.exists())
    except DeleteError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"media item {item_id} not found") from None
        raise


def _delete_material(api: WeChatClient, media_id: str | None) -> None:
    from chalicelib.wechat.api import WeChatAPIError

    if not media_id:
        return
    try:
        api.material.delete(media_id)
    except WeChatAPIError as exc:
        if exc.errcode != 40007:  # already gone at WeChat: fine
            raise


def _delete_object(key: str) -> None:
    try:
        _s3().delete_object(Bucket=config.media_bucket(), Key=key)
    except Exception:
        log.warning("media.s3_delete_failed key=%s", key)
