"""Temporary media (upload/get, images for articles, mass-send videos) and permanent material."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from infra.fake_wechat.protocol import ApiError, Binary, FilePart, Request, extension
from infra.fake_wechat.server import Routes

KB = 1024
MB = 1024 * KB
# kind -> (max bytes, allowed file extensions); WeChat checks the extension, not the bytes.
TEMP_MEDIA_LIMITS: dict[str, tuple[int, frozenset[str]]] = {
    "image": (10 * MB, frozenset({"png", "jpeg", "jpg", "gif"})),
    "voice": (2 * MB, frozenset({"amr", "mp3"})),
    "video": (10 * MB, frozenset({"mp4"})),
    "thumb": (64 * KB, frozenset({"jpg", "jpeg"})),
}
MATERIAL_LIMITS = {
    **TEMP_MEDIA_LIMITS,
    "image": (10 * MB, frozenset({"bmp", "png", "jpeg", "jpg", "gif"})),
    "voice": (2 * MB, frozenset({"amr", "mp3", "wma", "wav"})),
}


class MediaApi:
    # The state `make run` keeps between runs (state.py).
    SAVED: ClassVar[tuple[str, ...]] = ("_media", "_materials", "_mass_videos")
    ROUTES: ClassVar[Routes] = {
        "/cgi-bin/media/upload": ("POST", "_media_upload", True),
        "/cgi-bin/media/get": ("GET", "_media_get", True),
        "/cgi-bin/media/uploadimg": ("POST", "_media_uploadimg", True),
        "/cgi-bin/media/uploadvideo": ("POST", "_media_uploadvideo", True),
        "/cgi-bin/material/add_material": ("POST", "_material_add", True),
        "/cgi-bin/material/get_material": ("POST", "_material_get", True),
        "/cgi-bin/material/del_material": ("POST", "_material_del", True),
        "/cgi-bin/material/get_materialcount": ("GET", "_material_count", True),
        "/cgi-bin/material/batchget_material": ("POST", "_material_batchget", True),
        "/cgi-bin/material/add_news": ("POST", "_material_add_news", True),
    }

    def _reset_state(self, *, tokens: bool) -> None:
        super()._reset_state(tokens=tokens)
        self._media: dict[str, dict[str, Any]] = {}
        self._materials: dict[str, dict[str, Any]] = {}
        self._mass_videos: dict[str, dict[str, Any]] = {}  # media/uploadvideo results

    def _file(self, req: Request, limits: dict[str, tuple[int, frozenset[str]]], kind: str):
        part = req.form().get("media")
        if part is None or part.filename is None:
            raise ApiError(41005, "media data missing")
        max_bytes, extensions = limits[kind]
        if extension(part.filename) not in extensions:
            raise ApiError(40005, "invalid file type")
        if not part.content or len(part.content) > max_bytes:
            raise ApiError(40006, "invalid meida size")
        return part

    def _media_upload(self, req: Request) -> dict[str, Any]:
        kind = req.query.get("type", "")
        if kind not in TEMP_MEDIA_LIMITS:
            raise ApiError(40004, "invalid media type")
        part = self._file(req, TEMP_MEDIA_LIMITS, kind)
        media_id = self._new_id()
        now = int(self.clock())
        self._media[media_id] = {"kind": kind, "part": part, "created_at": now}
        key = "thumb_media_id" if kind == "thumb" else "media_id"
        return {"type": kind, key: media_id, "created_at": now}

    def _media_get(self, req: Request) -> Any:
        item = self._media.get(req.query.get("media_id", ""))
        if item is None:
            raise ApiError(40007, "invalid media_id")
        part: FilePart = item["part"]
        if item["kind"] == "video":
            return {"video_url": f"http://video.example.invalid/{req.query['media_id']}.mp4"}
        return Binary(part.content, part.content_type, part.filename or "media")

    def _media_uploadimg(self, req: Request) -> dict[str, Any]:
        limits = {"image": (1 * MB, frozenset({"jpg", "jpeg", "png"}))}
        self._file(req, limits, "image")
        return {"url": f"http://mmbiz.qpic.cn/mmbiz_jpg/{self._new_id(24)}/0"}

    def _media_uploadvideo(self, req: Request) -> dict[str, Any]:
        """A video (temporary media or permanent material) made into a mass-send video."""
        body = req.body()
        source = str(body.get("media_id") or "")
        item = self._media.get(source) or self._materials.get(source)
        if item is None or item["kind"] != "video":
            raise ApiError(40007, "invalid media_id")
        media_id = self._new_id()
        now = int(self.clock())
        self._mass_videos[media_id] = {
            "source": source,
            "title": body.get("title"),
            "description": body.get("description"),
        }
        return {"type": "video", "media_id": media_id, "created_at": now}

    def _material_add(self, req: Request) -> dict[str, Any]:
        kind = req.query.get("type", "")
        if kind not in MATERIAL_LIMITS:
            raise ApiError(40004, "invalid media type")
        part = self._file(req, MATERIAL_LIMITS, kind)
        record: dict[str, Any] = {"kind": kind, "part": part, "update_time": int(self.clock())}
        if kind == "video":
            desc = req.form().get("description")
            try:
                info = json.loads(desc.content.decode("utf-8")) if desc else None
            except (UnicodeDecodeError, ValueError):
                info = None
            if not isinstance(info, dict) or not info.get("title"):
                raise ApiError(47001, "data format error")
            record["title"] = info["title"]
            record["introduction"] = info.get("introduction", "")
        media_id = self._new_id()
        answer: dict[str, Any] = {"media_id": media_id}
        if kind == "image":
            record["url"] = f"http://mmbiz.qpic.cn/mmbiz_png/{self._new_id(24)}/0"
            answer["url"] = record["url"]
        self._materials[media_id] = record
        return answer

    def _material(self, media_id: Any) -> dict[str, Any]:
        item = self._materials.get(str(media_id or ""))
        if item is None:
            raise ApiError(40007, "invalid media_id")
        return item

    def _material_get(self, req: Request) -> Any:
        media_id = req.body().get("media_id")
        item = self._material(media_id)
        if item["kind"] == "video":
            return {
                "title": item["title"],
                "description": item["introduction"],
                "down_url": f"http://video.example.invalid/{media_id}.mp4",
            }
        part: FilePart = item["part"]
        return Binary(part.content, part.content_type, part.filename or "material")

    def _material_del(self, req: Request) -> dict[str, Any]:
        media_id = req.body().get("media_id")
        self._material(media_id)
        del self._materials[str(media_id)]
        return {"errcode": 0, "errmsg": "ok"}

    def _material_count(self, req: Request) -> dict[str, Any]:
        counts = {f"{k}_count": 0 for k in ("voice", "video", "image", "news")}
        for item in self._materials.values():
            if item["kind"] != "thumb":  # thumbs are counted as images by WeChat's console only
                counts[f"{item['kind']}_count"] += 1
        return counts

    def _material_batchget(self, req: Request) -> dict[str, Any]:
        body = req.body()
        kind = body.get("type")
        if kind not in ("image", "video", "voice", "news"):
            raise ApiError(40004, "invalid media type")
        offset, count = int(body.get("offset", 0)), int(body.get("count", 0))
        if not 1 <= count <= 20 or offset < 0:
            raise ApiError(40097, "invalid args")
        matching = [(mid, m) for mid, m in self._materials.items() if m["kind"] == kind]
        page = matching[offset : offset + count]
        items = []
        for mid, m in page:
            item = {"media_id": mid, "name": m["part"].filename, "update_time": m["update_time"]}
            if "url" in m:
                item["url"] = m["url"]
            items.append(item)
        return {"total_count": len(matching), "item_count": len(items), "item": items}

    def _material_add_news(self, req: Request) -> dict[str, Any]:
        raise ApiError(45106, "This API has been unsupported")
