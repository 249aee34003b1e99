"""Temporary media (3 days) and permanent material.

WeChat rejects oversize or wrongly-typed files with terse codes (40004, 40005, 40006), so
:func:`check_media` applies the documented limits before any upload.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.errors import InvalidInput

if TYPE_CHECKING:
    from .transport import RawResponse, Transport

KB = 1024
MB = 1024 * KB


@dataclass(frozen=True)
class MediaLimit:
    max_bytes: int
    content_types: frozenset[str]
    formats: str  # for messages


_IMAGE_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png", "image/gif"})
_MP3_AMR = frozenset({"audio/amr", "audio/mpeg", "audio/mp3"})

#: Temporary media (media/upload): image 10 MB png/jpeg/jpg/gif, voice 2 MB amr/mp3, video
#: 10 MB mp4, thumb 64 KB jpg.
TEMPORARY_LIMITS: dict[str, MediaLimit] = {
    "image": MediaLimit(10 * MB, _IMAGE_TYPES, "png/jpeg/jpg/gif"),
    "voice": MediaLimit(2 * MB, _MP3_AMR, "amr/mp3"),
    "video": MediaLimit(10 * MB, frozenset({"video/mp4"}), "mp4"),
    "thumb": MediaLimit(64 * KB, frozenset({"image/jpeg", "image/jpg"}), "jpg"),
}

#: Permanent material (material/add_material): same sizes; image also takes bmp, voice wma/wav.
PERMANENT_LIMITS: dict[str, MediaLimit] = {
    **TEMPORARY_LIMITS,
    "image": MediaLimit(10 * MB, _IMAGE_TYPES | {"image/bmp"}, "bmp/png/jpeg/jpg/gif"),
    "voice": MediaLimit(
        2 * MB,
        _MP3_AMR | {"audio/x-ms-wma", "audio/wav", "audio/x-wav", "audio/wave"},
        "mp3/wma/wav/amr",
    ),
}

#: Images inside article bodies (media/uploadimg): 1 MB jpg/png; the URL is only usable in articles.
ARTICLE_IMAGE_LIMIT = MediaLimit(
    1 * MB, frozenset({"image/jpeg", "image/jpg", "image/png"}), "jpg/png"
)

MEDIA_KINDS = frozenset(TEMPORARY_LIMITS)
MATERIAL_BATCH_KINDS = frozenset({"image", "video", "voice", "news"})
MAX_BATCHGET_COUNT = 20


def check_media(kind: str, content_type: str, size: int, *, permanent: bool = False) -> None:
    """Raise InvalidInput unless a ``kind`` upload of ``content_type`` and ``size`` bytes is OK.

    ``kind`` is image / voice / video / thumb, or ``article_image`` for media/uploadimg.
    """
    if kind == "article_image":
        limit = ARTICLE_IMAGE_LIMIT
    else:
        limits = PERMANENT_LIMITS if permanent else TEMPORARY_LIMITS
        if kind not in limits:
            raise InvalidInput(f"media kind {kind!r}: expected one of {sorted(limits)}")
        limit = limits[kind]
    ctype = content_type.split(";", 1)[0].strip().lower()
    if ctype not in limit.content_types:
        raise InvalidInput(f"{kind}: content type {ctype!r} not allowed ({limit.formats})")
    if size <= 0:
        raise InvalidInput(f"{kind}: empty file")
    if size > limit.max_bytes:
        raise InvalidInput(f"{kind}: {size} bytes, limit {limit.max_bytes} ({limit.formats})")


class MediaAPI:
    """Temporary media: kept by WeChat for 3 days."""

    def __init__(self, client: Transport) -> None:
        self.client = client

    def upload(self, kind: str, filename: str, content: bytes, content_type: str) -> dict[str, Any]:
        """POST /cgi-bin/media/upload?type=kind -> {type, media_id | thumb_media_id, created_at}."""
        check_media(kind, content_type, len(content))
        return self.client.post_multipart(
            "/cgi-bin/media/upload",
            "media",
            filename,
            content,
            content_type,
            params={"type": kind},
        )

    def upload_article_image(self, filename: str, content: bytes, content_type: str) -> str:
        """POST /cgi-bin/media/uploadimg -> URL for use inside article HTML only."""
        check_media("article_image", content_type, len(content))
        data = self.client.post_multipart(
            "/cgi-bin/media/uploadimg", "media", filename, content, content_type
        )
        return str(data["url"])

    def upload_video(self, media_id: str, title: str, description: str = "") -> str:
        """POST /cgi-bin/media/uploadvideo: a video (media/upload or permanent material) as the
        media_id a mass send's `mpvideo` needs."""
        data = self.client.post(
            "/cgi-bin/media/uploadvideo",
            {"media_id": media_id, "title": title, "description": description},
        )
        return str(data["media_id"])

    def get(self, media_id: str) -> RawResponse:
        """GET /cgi-bin/media/get. Binary for image/voice/thumb; for video WeChat answers JSON
        ``{"video_url": ...}`` (use ``.is_json`` / ``.json()``)."""
        return self.client.get_raw("/cgi-bin/media/get", {"media_id": media_id})


class MaterialAPI:
    """Permanent material (image/voice/video/thumb). Articles go through draft + freepublish:
    ``material/add_news`` was retired (45106)."""

    def __init__(self, client: Transport) -> None:
        self.client = client

    def add(
        self,
        kind: str,
        filename: str,
        content: bytes,
        content_type: str,
        *,
        title: str | None = None,
        introduction: str | None = None,
    ) -> dict[str, Any]:
        """POST /cgi-bin/material/add_material?type=kind -> {media_id, url?}.

        Videos need a title and introduction, sent as a JSON ``description`` form field.
        """
        check_media(kind, content_type, len(content), permanent=True)
        extra: dict[str, str] = {}
        if kind == "video":
            if not title:
                raise InvalidInput("video: title is required")
            extra["description"] = json.dumps(
                {"title": title, "introduction": introduction or ""}, ensure_ascii=False
            )
        return self.client.post_multipart(
            "/cgi-bin/material/add_material",
            "media",
            filename,
            content,
            content_type,
            extra,
            params={"type": kind},
        )

    def get(self, media_id: str) -> RawResponse:
        """POST /cgi-bin/material/get_material. Binary for image/voice/thumb; JSON for video
        ``{title, description, down_url}`` and for old news ``{news_item: [...]}``."""
        return self.client.post_raw("/cgi-bin/material/get_material", {"media_id": media_id})

    def delete(self, media_id: str) -> None:
        """POST /cgi-bin/material/del_material."""
        self.client.post("/cgi-bin/material/del_material", {"media_id": media_id})

    def count(self) -> dict[str, int]:
        """GET /cgi-bin/material/get_materialcount -> {voice_count, video_count, image_count,
        news_count}."""
        data = self.client.get("/cgi-bin/material/get_materialcount")
        return {k: int(v) for k, v in data.items() if k.endswith("_count")}

    def batchget(
        self, kind: str, offset: int = 0, count: int = MAX_BATCHGET_COUNT
    ) -> dict[str, Any]:
        """POST /cgi-bin/material/batchget_material -> {total_count, item_count, item: [...]}."""
        if kind not in MATERIAL_BATCH_KINDS:
            raise InvalidInput(
                f"material kind {kind!r}: expected one of {sorted(MATERIAL_BATCH_KINDS)}"
            )
        if not 1 <= count <= MAX_BATCHGET_COUNT:
            raise InvalidInput(f"count must be 1..{MAX_BATCHGET_COUNT}")
        if offset < 0:
            raise InvalidInput("offset must be >= 0")
        return self.client.post(
            "/cgi-bin/material/batchget_material",
            {"type": kind, "offset": offset, "count": count},
        )

    def iter_all(self, kind: str, page_size: int = MAX_BATCHGET_COUNT) -> Iterator[dict[str, Any]]:
        """Yield every item of one kind, paging with offset."""
        offset = 0
        while True:
            page = self.batchget(kind, offset, page_size)
            items = page.get("item") or []
            yield from items
            offset += len(items)
            if not items or offset >= int(page.get("total_count", 0)):
                return
