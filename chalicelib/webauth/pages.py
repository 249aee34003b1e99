"""Which URLs are pages of this app (the JS-SDK signs only those) and the JS-SDK config for one."""

from __future__ import annotations

import time
from urllib.parse import unquote, urlsplit

from chalicelib.errors import InvalidInput
from chalicelib.wechat import jssdk

MAX_URL_CHARS = 2048


def check_page_url(url: str | None, base: str) -> str:
    """`url` when it is a page of this app (the host of `base`, under its /p/), InvalidInput
    otherwise. The scheme may differ (a proxy may end TLS before the app sees the request)."""
    if not url:
        raise InvalidInput("url is required: the page's own address")
    if len(url) > MAX_URL_CHARS or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise InvalidInput("url is not a valid page address")
    if not base:
        raise InvalidInput("this app does not know its own address (WXLESS_PUBLIC_BASE_URL)")
    page, own = urlsplit(url), urlsplit(base)
    if page.scheme not in ("http", "https") or page.username or page.password:
        raise InvalidInput("url must be an http(s) page of this app")
    if page.netloc.lower() != own.netloc.lower():
        raise InvalidInput("url is not a page of this app")
    if not page.path.startswith(own.path.rstrip("/") + "/p/"):
        raise InvalidInput("url is not a page of this app (pages live under /p/)")
    if any(is_dot_segment(segment) for segment in page.path.split("/")):
        raise InvalidInput("url must not contain dot segments")
    return url


def is_dot_segment(segment: str) -> bool:
    """Browsers resolve "/p/../admin" (and %2e%2e) to /admin: a path with one leaves /p/."""
    return unquote(segment).strip() in (".", "..")


def config(app_id: str, ticket: str, url: str, now: float | None = None) -> dict[str, object]:
    timestamp = int(time.time() if now is None else now)
    return jssdk.config(app_id, ticket, url, timestamp, jssdk.new_nonce())
