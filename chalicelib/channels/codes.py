"""Creating and reading channel QR codes (the admin API's service).

Creation claims the scene first, then asks WeChat (qrcode/create), then stores the ticket; a
refusal from WeChat releases the claim and goes back to the admin as WeChat's error. What a
code shows: the stored code plus its all-time `scans` and `subscribes`, summed from the
messages stream (seconds behind, `as_of`).
"""

from __future__ import annotations

import base64
import time
from typing import TYPE_CHECKING, Any

from chalicelib.errors import InvalidInput
from chalicelib.store import channel_stats, progress, qrcodes
from chalicelib.wechat.api.qrcode import MAX_EXPIRE_SECONDS, MAX_SCENE_CHARS, show_url

if TYPE_CHECKING:
    from chalicelib.wechat.api import WeChatClient

MAX_NAME_CHARS = 64
MAX_TAGS = 20  # WeChat: a follower carries at most 20 tags
MIN_EXPIRE_SECONDS = 60
FIELDS = frozenset({"name", "scene", "permanent", "expire_seconds", "reply", "tag_ids"})
MUTABLE = frozenset({"name", "reply", "tag_ids"})


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_NAME_CHARS:
        raise InvalidInput(f"name must be a non-empty string of at most {MAX_NAME_CHARS}")
    return value.strip()


def _scene(value: Any) -> str:
    # Kept exactly as given: it must equal the EventKey WeChat sends back.
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_SCENE_CHARS:
        raise InvalidInput(f"scene must be a string of 1..{MAX_SCENE_CHARS} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInput("scene must not contain control characters")
    return value


def _tag_ids(value: Any) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_TAGS:
        raise InvalidInput(f"tag_ids must be a list of at most {MAX_TAGS} WeChat tag ids")
    for tag in value:
        if not isinstance(tag, int) or isinstance(tag, bool) or not 0 <= tag < 2**31:
            raise InvalidInput("tag_ids must hold WeChat tag ids (non-negative integers)")
    return sorted(set(value))


def check_new(body: dict[str, Any]) -> dict[str, Any]:
    """A POST body, checked (the reply is checked by the caller, which may resolve media)."""
    unknown = set(body) - FIELDS
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    permanent = body.get("permanent", False)
    if not isinstance(permanent, bool):
        raise InvalidInput("permanent must be true or false")
    expire = body.get("expire_seconds")
    if permanent and expire is not None:
        raise InvalidInput("expire_seconds is for temporary codes only (permanent: false)")
    if not permanent:
        if expire is None:
            expire = MAX_EXPIRE_SECONDS
        if (
            not isinstance(expire, int)
            or isinstance(expire, bool)
            or not MIN_EXPIRE_SECONDS <= expire <= MAX_EXPIRE_SECONDS
        ):
            raise InvalidInput(
                f"expire_seconds must be an integer of {MIN_EXPIRE_SECONDS}..{MAX_EXPIRE_SECONDS}"
            )
    if "name" not in body or "scene" not in body:
        raise InvalidInput("name and scene are required")
    return {
        "name": _name(body["name"]),
        "scene": _scene(body["scene"]),
        "permanent": permanent,
        "expire_seconds": None if permanent else expire,
        "reply": body.get("reply") or None,
        "tag_ids": _tag_ids(body.get("tag_ids")),
    }


def check_change(body: dict[str, Any]) -> dict[str, Any]:
    """A PUT/PATCH body: name, reply and/or tag_ids (scene and kind are the code itself)."""
    unknown = set(body) - MUTABLE
    if unknown:
        raise InvalidInput(
            f"only name, reply and tag_ids can change (not {', '.join(sorted(unknown))}); "
            "create another code for another scene"
        )
    if not body:
        raise InvalidInput("give name, reply and/or tag_ids")
    out: dict[str, Any] = {}
    if "name" in body:
        out["name"] = _name(body["name"])
    if "reply" in body:
        out["reply"] = body["reply"] or None
    if "tag_ids" in body:
        out["tag_ids"] = _tag_ids(body["tag_ids"])
    return out


def create(fields: dict[str, Any], wechat: WeChatClient) -> dict[str, Any]:
    """Claim, ask WeChat, store the ticket: the new code (with zero counts)."""
    claimed = qrcodes.claim(fields)
    try:
        made = wechat.qrcode.create(
            fields["scene"], permanent=fields["permanent"], expire_seconds=fields["expire_seconds"]
        )
    except Exception:
        qrcodes.release(claimed["id"])
        raise
    expires_at = None if made.expire_seconds is None else int(time.time()) + made.expire_seconds
    code = qrcodes.finish(claimed["id"], made.ticket, made.url, expires_at)
    return shown(code, {"scans": 0, "subscribes": 0}, wechat.base_url)


def shown(code: dict[str, Any], counts: dict[str, int], api_base: str) -> dict[str, Any]:
    out = {k: v for k, v in code.items() if k != "state"}
    out["image_url"] = show_url(api_base, code["ticket"]) if code.get("ticket") else None
    expires_at = code.get("expires_at")
    out["expired"] = expires_at is not None and expires_at <= time.time()
    out.update(counts)
    return out


def list_all(api_base: str) -> dict[str, Any]:
    codes = qrcodes.list_codes()
    counts = channel_stats.totals(c["scene"] for c in codes)
    return {
        "items": [shown(c, counts[c["scene"]], api_base) for c in codes],
        **progress.as_of(),
    }


def get_one(item_id: str, api_base: str) -> dict[str, Any]:
    code = qrcodes.get_code(item_id)
    counts = channel_stats.totals([code["scene"]])[code["scene"]]
    return {**shown(code, counts, api_base), **progress.as_of()}


def image(item_id: str, wechat: WeChatClient) -> dict[str, Any]:
    """The code's image from showqrcode, as JSON the console turns into a download."""
    code = qrcodes.get_code(item_id)
    picture = wechat.qrcode.image(code["ticket"])
    content_type = (picture.content_type or "image/jpeg").split(";", 1)[0].strip()
    extension = {"image/png": "png", "image/gif": "gif"}.get(content_type, "jpg")
    return {
        "content_type": content_type,
        "filename": f"qrcode-{code['scene']}.{extension}",
        "content_base64": base64.b64encode(picture.content).decode(),
    }
