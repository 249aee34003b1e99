"""Parametric QR codes: `qrcode/create` (temporary and permanent, string scenes) and the image
behind a ticket (`showqrcode`).

A follower who scans a code gets a `subscribe` event with `EventKey` `qrscene_<scene>` (when
not yet following) or a `SCAN` event with `EventKey` `<scene>`. Limits: scenes are 1..64
characters; a temporary code lives at most 30 days (2,592,000 s; WeChat's default is 60 s);
an account has at most 100,000 permanent codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from .errors import TransportError
from .transport import Transport

if TYPE_CHECKING:
    from .transport import RawResponse

MAX_SCENE_CHARS = 64
MAX_EXPIRE_SECONDS = 2_592_000
#: showqrcode is served by mp.weixin.qq.com, not the API host (and needs no access_token).
SHOW_BASE_URL = "https://mp.weixin.qq.com"
API_BASE_URL = "https://api.weixin.qq.com"


@dataclass(frozen=True, slots=True)
class QRCode:
    ticket: str
    url: str  # what the code encodes (http://weixin.qq.com/q/...)
    expire_seconds: int | None  # None: permanent


def show_base(api_base: str) -> str:
    """Where showqrcode lives for a client of `api_base`: mp.weixin.qq.com for WeChat itself,
    the same server for a fake (the local run, tests)."""
    base = api_base.rstrip("/")
    return SHOW_BASE_URL if base == API_BASE_URL else base


def show_url(api_base: str, ticket: str) -> str:
    """The image's public URL (anyone holding the ticket may fetch it)."""
    return f"{show_base(api_base)}/cgi-bin/showqrcode?ticket={quote(ticket, safe='')}"


class QRCodeAPI:
    def __init__(self, client: Transport) -> None:
        self.client = client

    def create(self, scene: str, *, permanent: bool, expire_seconds: int | None = None) -> QRCode:
        """POST /cgi-bin/qrcode/create with a string scene (QR_LIMIT_STR_SCENE when permanent,
        QR_STR_SCENE otherwise)."""
        body: dict[str, object] = {
            "action_name": "QR_LIMIT_STR_SCENE" if permanent else "QR_STR_SCENE",
            "action_info": {"scene": {"scene_str": scene}},
        }
        if not permanent and expire_seconds is not None:
            body["expire_seconds"] = int(expire_seconds)
        data = self.client.post("/cgi-bin/qrcode/create", body)
        ticket, url = data.get("ticket"), data.get("url")
        if not isinstance(ticket, str) or not ticket or not isinstance(url, str):
            raise TransportError("answer has no ticket or url", "/cgi-bin/qrcode/create")
        expires = None if permanent else int(data.get("expire_seconds") or expire_seconds or 60)
        return QRCode(ticket, url, expires)

    def image(self, ticket: str) -> RawResponse:
        """GET showqrcode?ticket=...: the code's image (WeChat's is a 430 px JPEG)."""
        base = show_base(self.client.base_url)
        # The same connection pool; showqrcode takes no access_token.
        shower = Transport(base, http=self.client.http) if base != self.client.base_url else None
        return (shower or self.client).get_raw(
            "/cgi-bin/showqrcode", {"ticket": ticket}, with_token=False
        )
