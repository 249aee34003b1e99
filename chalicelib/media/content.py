"""What a media file is, decided by its magic bytes (never by its name or a declared type), and
whether WeChat takes it for a kind (`check_content`: WeChat's formats and size limits)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from chalicelib.errors import InvalidInput
from chalicelib.wechat.api.media import PERMANENT_LIMITS, TEMPORARY_LIMITS, check_media

KINDS = ("image", "voice", "video", "thumb")

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


def check_kind(kind: Any) -> str:
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    return kind


def max_bytes(kind: str, permanent: bool) -> int:
    limits = PERMANENT_LIMITS if permanent else TEMPORARY_LIMITS
    if kind not in limits:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    return limits[kind].max_bytes


def check_media_fits(kind: str, content_type: str, size: int, *, permanent: bool) -> None:
    """WeChat's own limits for the kind (its formats and sizes), as a 400 when they fail."""
    try:
        check_media(kind, content_type, size, permanent=permanent)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def check_content(kind: str, data: bytes, *, permanent: bool, declared: str | None = None) -> str:
    """The sniffed content type if `data` is acceptable for `kind`, else InvalidInput."""
    limit = max_bytes(kind, permanent)
    if not data:
        raise InvalidInput(f"{kind}: empty file")
    if len(data) > limit:
        raise InvalidInput(f"{kind}: {len(data)} bytes, limit {limit}")
    sniffed = sniff_content_type(data)
    if sniffed is None:
        raise InvalidInput(
            f"{kind}: unrecognised file content (expected {_formats(kind, permanent)}, "
            "judged by the file's bytes, not its name)"
        )
    if declared:
        normal = declared.split(";", 1)[0].strip().lower()
        if _ALIASES.get(normal, normal) != sniffed:
            raise InvalidInput(
                f"{kind}: declared content_type {normal!r} but the bytes are {sniffed}"
            )
    check_media_fits(kind, sniffed, len(data), permanent=permanent)
    return sniffed


def _formats(kind: str, permanent: bool) -> str:
    limits = PERMANENT_LIMITS if permanent else TEMPORARY_LIMITS
    return limits[kind].formats if kind in limits else "?"


def decode_base64(text: Any, kind: str, permanent: bool) -> bytes:
    if not isinstance(text, str) or not text:
        raise InvalidInput("content_base64 must be a non-empty base64 string")
    limit = max_bytes(kind, permanent)
    if len(text) > (limit // 3 + 1) * 4 + 4:  # refuse before decoding
        raise InvalidInput(f"{kind}: file larger than the limit of {limit} bytes")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("content_base64 is not valid base64") from None
