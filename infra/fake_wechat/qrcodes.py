"""Parametric QR codes: qrcode/create (temporary and permanent, numeric and string scenes) and
showqrcode (the image behind a ticket: a real PNG, deterministic per ticket, no access_token)."""

from __future__ import annotations

import hashlib
import struct
import zlib
from typing import Any, ClassVar

from infra.fake_wechat.protocol import ApiError, Binary, Request
from infra.fake_wechat.server import Routes

MAX_EXPIRE_SECONDS = 2_592_000
DEFAULT_EXPIRE_SECONDS = 60
MAX_SCENE_STR = 64
MAX_PERMANENT_SCENE_ID = 100_000
IMAGE_MODULES = 43  # a 430 px image of 10 px modules, like WeChat's
MODULE_PX = 10


class QRCodesApi:
    # The state `make run` keeps between runs (state.py).
    SAVED: ClassVar[tuple[str, ...]] = ("_qrcodes",)
    ROUTES: ClassVar[Routes] = {
        "/cgi-bin/qrcode/create": ("POST", "_qrcode_create", True),
        "/cgi-bin/showqrcode": ("GET", "_showqrcode", False),
    }

    def _reset_state(self, *, tokens: bool) -> None:
        super()._reset_state(tokens=tokens)
        self._qrcodes: dict[str, dict[str, Any]] = {}  # ticket -> code

    # ---- test helpers --------------------------------------------------------------------

    @property
    def qrcodes(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(code, ticket=ticket) for ticket, code in self._qrcodes.items()]

    # ---- routes --------------------------------------------------------------------------

    def _qrcode_create(self, req: Request) -> dict[str, Any]:
        body = req.body()
        action = body.get("action_name")
        scene = (body.get("action_info") or {}).get("scene") or {}
        if action in ("QR_STR_SCENE", "QR_LIMIT_STR_SCENE"):
            value = scene.get("scene_str")
            if not isinstance(value, str) or not 1 <= len(value) <= MAX_SCENE_STR:
                raise ApiError(40097, "invalid args: scene_str")
        elif action in ("QR_SCENE", "QR_LIMIT_SCENE"):
            value = scene.get("scene_id")
            if not isinstance(value, int) or value <= 0:
                raise ApiError(40097, "invalid args: scene_id")
            if action == "QR_LIMIT_SCENE" and value > MAX_PERMANENT_SCENE_ID:
                raise ApiError(40097, "invalid args: scene_id")
            value = str(value)
        else:
            raise ApiError(40097, "invalid args: action_name")
        permanent = action.startswith("QR_LIMIT")
        expire = None
        if not permanent:
            expire = body.get("expire_seconds", DEFAULT_EXPIRE_SECONDS)
            if not isinstance(expire, int) or expire <= 0:
                raise ApiError(40097, "invalid args: expire_seconds")
            expire = min(expire, MAX_EXPIRE_SECONDS)
        ticket = "gQ" + self._new_id(36)
        url = f"http://weixin.qq.com/q/{self._new_id(16)}"
        self._qrcodes[ticket] = {
            "scene": value,
            "permanent": permanent,
            "url": url,
            "expires_at": None if expire is None else int(self.clock()) + expire,
        }
        answer: dict[str, Any] = {"ticket": ticket, "url": url}
        if expire is not None:
            answer["expire_seconds"] = expire
        return answer

    def _showqrcode(self, req: Request) -> Binary:
        ticket = req.query.get("ticket", "")
        code = self._qrcodes.get(ticket)
        if code is None or (code["expires_at"] is not None and self.clock() > code["expires_at"]):
            raise ApiError(40097, "invalid ticket")  # WeChat answers an error page; close enough
        return Binary(qr_png(code["url"]), "image/png", "qrcode.png")


def qr_png(text: str, modules: int = IMAGE_MODULES, px: int = MODULE_PX) -> bytes:
    """A PNG that looks like a QR code (finder squares and modules derived from `text`): the
    fake's image is not scannable, but it is a real, deterministic PNG."""
    bits = _bits(text, modules * modules)
    rows = []
    for y in range(modules):
        row = bytearray()
        for x in range(modules):
            dark = _finder(x, y, modules)
            if dark is None:
                dark = bits[y * modules + x]
            row += (b"\x00" if dark else b"\xff") * px
        rows.extend([b"\x00" + bytes(row)] * px)
    size = modules * px
    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _chunk(b"IEND", b"")
    )


def _bits(text: str, count: int) -> list[bool]:
    out: list[bool] = []
    counter = 0
    while len(out) < count:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        out.extend(bool(byte >> i & 1) for byte in digest for i in range(8))
        counter += 1
    return out[:count]


def _finder(x: int, y: int, n: int) -> bool | None:
    for ox, oy in ((0, 0), (n - 7, 0), (0, n - 7)):
        dx, dy = x - ox, y - oy
        if 0 <= dx < 7 and 0 <= dy < 7:
            ring = max(abs(dx - 3), abs(dy - 3))
            return ring != 2
        if -1 <= dx <= 7 and -1 <= dy <= 7:
            return False  # the separator
    return None


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
