"""The JS-SDK's `wx.config` signature (WeChat's "JS-SDK 使用权限签名算法").

    signature = sha1("jsapi_ticket=<ticket>&noncestr=<nonce>&timestamp=<ts>&url=<url>")

The four fields in that order (ASCII order of their names), the URL as the page's address bar
shows it without the `#` fragment, nothing URL-encoded. Pure: the ticket comes from the caller.
"""

from __future__ import annotations

import hashlib
import secrets
import string

NONCE_ALPHABET = string.ascii_letters + string.digits


def page_url(url: str) -> str:
    """The URL as it is signed: everything before the first `#`."""
    return url.split("#", 1)[0]


def signature(ticket: str, nonce: str, timestamp: int | str, url: str) -> str:
    plain = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={page_url(url)}"
    return hashlib.sha1(plain.encode("utf-8")).hexdigest()


def new_nonce(length: int = 16) -> str:
    return "".join(secrets.choice(NONCE_ALPHABET) for _ in range(length))


def config(app_id: str, ticket: str, url: str, timestamp: int, nonce: str) -> dict[str, object]:
    """What a page passes to `wx.config` (plus `jsApiList`, which the page chooses)."""
    return {
        "appId": app_id,
        "timestamp": timestamp,
        "nonceStr": nonce,
        "signature": signature(ticket, nonce, timestamp, url),
    }
