"""Replies that name a media item (`{"type": "image", "media": "<item id>"}`).

A stored reply (rule, special reply, flow step, the location answer's empty_reply) is resolved
to the item's permanent material media_id when it is SAVED (admin path), so what is stored is an
ordinary Reply object and the callback's hot path does no extra read. A message sent now takes
any media_id valid right now (temporary is fine).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib.errors import InvalidInput
from chalicelib.media.service import media_id_for, permanent_media_id
from chalicelib.store.errors import NotFound
from chalicelib.store.media import get_item

if TYPE_CHECKING:
    from chalicelib.wechat.api import WeChatClient

T = TypeVar("T")

#: Reply types that may name a media item, and the item kind each needs.
REPLY_MEDIA_FIELDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    # reply type -> ((field naming an item, field receiving the media_id, item kind), ...)
    "image": (("media", "media_id", "image"),),
    "voice": (("media", "media_id", "voice"),),
    "video": (("media", "media_id", "video"),),
    "music": (("thumb_media", "thumb_media_id", "thumb"),),
}


def resolve_reply(
    reply: Any,
    wechat: WeChatClient | None,
    *,
    permanent: bool = True,
    dry: bool = False,
    path: str = "reply",
) -> Any:
    """Replace `media` / `thumb_media` (a media item id) by a WeChat media_id.

    `permanent=True` (rules, special replies: stored for good) uses the item's permanent
    material, uploading it as material the first time; `permanent=False` (a message sent now)
    takes any media_id valid right now (`media_id_for`). Anything that is not a reply naming an
    item comes back unchanged: validation is `validate_reply`'s job, after this. `dry=True`
    checks the items exist and fit, and puts a placeholder instead of uploading anything (no
    WeChat client needed).
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
            raise InvalidInput(f"{path}: give {ref_field} or {id_field}, not both")
        if not isinstance(item_id, str) or not item_id:
            raise InvalidInput(f"{path}.{ref_field}: must be a media item id")
        try:
            item = get_item(item_id)
        except NotFound:
            raise InvalidInput(f"{path}.{ref_field}: no media item {item_id!r}") from None
        if item.kind != kind:
            raise InvalidInput(
                f"{path}.{ref_field}: media item {item_id} is a {item.kind}, a {kind} is needed"
            )
        if dry:
            out[id_field] = f"pending-{item_id}"
            continue
        if wechat is None:
            raise TypeError("resolve_reply needs the WeChat client unless dry=True")
        if permanent:
            title = out.get("title") if kind == "video" else None
            out[id_field] = permanent_media_id(item_id, wechat, title=title)
        else:
            out[id_field] = media_id_for(item_id, wechat)
    return out


def names_media(reply: Any) -> bool:
    kind = reply.get("type") if isinstance(reply, dict) else None
    # an unhashable "type" ({} or []) is the validator's to refuse, not a lookup error here
    fields = REPLY_MEDIA_FIELDS.get(kind) if isinstance(kind, str) else None
    return bool(fields) and any(ref in reply for ref, _, _ in fields)  # type: ignore[union-attr]


def validated(
    validate: Callable[[Any], T],
    body: Any,
    wechat: WeChatClient,
    *,
    reply_key: str | None = "reply",
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

    validate(with_reply(resolve_reply(reply, None, dry=True)))
    return validate(with_reply(resolve_reply(reply, wechat)))
