"""Validation of admin-written article and category bodies: one clear message per mistake."""

from __future__ import annotations

import re
from typing import Any

from chalicelib.cms.sanitize import sanitize_html
from chalicelib.errors import InvalidInput

ARTICLE_FIELDS = ("title", "digest", "author", "body_html", "category_id", "status")
# Sent back by a client that PUTs the whole object it read: accepted and ignored.
ARTICLE_READ_ONLY = (
    "id", "created_at", "updated_at", "published_at", "cover", "cover_key", "cover_url", "url",
    "category", "rev",
)  # fmt: skip
STATUSES = ("draft", "published")
CATEGORY_FIELDS = ("name", "description", "position")
CATEGORY_READ_ONLY = ("id", "created_at", "updated_at", "article_count", "published_count", "url")
ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

LIMITS = {"title": 100, "digest": 200, "author": 40, "name": 40, "description": 200}


def _text(body: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise InvalidInput(f"{key} is required")
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string")
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{key} must not be empty")
    if _CONTROL_RE.search(value):
        raise InvalidInput(f"{key} contains control characters")
    if len(value) > LIMITS[key]:
        raise InvalidInput(f"{key} must be at most {LIMITS[key]} characters")
    return value


def _check_fields(body: Any, allowed: tuple[str, ...], ignored: tuple[str, ...], what: str) -> None:
    if not isinstance(body, dict):
        raise InvalidInput(f"{what} must be a JSON object")
    unknown = sorted(str(k)[:40] for k in body if k not in allowed and k not in ignored)
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")


def check_id(value: Any, name: str) -> str:
    if not isinstance(value, str) or not ID_RE.fullmatch(value):
        raise InvalidInput(f"{name} must be an id (letters, digits, '-' or '_')")
    return value


def validate_article(body: Any, *, partial: bool = False) -> dict[str, Any]:
    """The fields present in `body`, cleaned; `partial` (an update) makes `title` optional.

    `body_html` is sanitized here, so what is stored is already safe to show.
    """
    _check_fields(body, ARTICLE_FIELDS, ARTICLE_READ_ONLY, "article")
    out: dict[str, Any] = {}
    if not partial or "title" in body:
        out["title"] = _text(body, "title", required=True)
    for key in ("digest", "author"):
        if key in body:
            out[key] = _text(body, key)
    if "body_html" in body:
        out["body_html"] = sanitize_html(body["body_html"]) or None
    if "category_id" in body:
        value = body["category_id"]
        out["category_id"] = None if value in (None, "") else check_id(value, "category_id")
    if "status" in body:
        if body["status"] not in STATUSES:
            raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
        out["status"] = body["status"]
    return out


def validate_category(body: Any, *, partial: bool = False) -> dict[str, Any]:
    _check_fields(body, CATEGORY_FIELDS, CATEGORY_READ_ONLY, "category")
    out: dict[str, Any] = {}
    if not partial or "name" in body:
        out["name"] = _text(body, "name", required=True)
    if "description" in body:
        out["description"] = _text(body, "description")
    if "position" in body:
        position = body["position"]
        if isinstance(position, bool) or not isinstance(position, int) or abs(position) > 10**6:
            raise InvalidInput("position must be an integer between -1000000 and 1000000")
        out["position"] = position
    return out


# -- covers ---------------------------------------------------------------------------------------

COVER_MAX_BYTES = 2 * 1024 * 1024
# content type -> the extension its object key gets
COVER_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


def sniff_image(data: bytes) -> str:
    """The image type from the bytes themselves (the declared type is not trusted)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise InvalidInput("cover must be a PNG, JPEG, GIF or WebP image")


def validate_cover(data: bytes) -> tuple[str, str]:
    """(content type, extension) of an acceptable cover image."""
    if not data:
        raise InvalidInput("cover is empty")
    if len(data) > COVER_MAX_BYTES:
        raise InvalidInput(f"cover must be at most {COVER_MAX_BYTES // (1024 * 1024)} MiB")
    content_type = sniff_image(data)
    return content_type, COVER_TYPES[content_type]
