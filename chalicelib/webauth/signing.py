"""HMAC signatures for what the public pages hand to browsers (the OAuth state, the follower
cookie): short, ASCII letters and digits only, checked in constant time.

The key is WXLESS_PAGE_SECRET, else derived from ADMIN_TOKEN and WECHAT_APP_SECRET (secrets the
deployment already has), with a purpose label per use so that a value signed for one use is
never accepted for another.
"""

from __future__ import annotations

import hashlib
import hmac

from chalicelib import config
from chalicelib.errors import Unavailable

MAC_CHARS = 32  # 128 bits of HMAC-SHA256, hex


def _key() -> bytes:
    secret = config.get(config.PAGE_SECRET)
    if secret:
        return secret.encode("utf-8")
    admin, app_secret = config.get(config.ADMIN_TOKEN), config.get(config.WECHAT_APP_SECRET)
    if not admin and not app_secret:
        raise Unavailable("the pages' signing key is not configured (WXLESS_PAGE_SECRET)")
    material = f"{admin}\0{app_secret}".encode()
    return hmac.new(material, b"wxless pages v1", hashlib.sha256).digest()


def mac(purpose: str, *parts: str) -> str:
    """The MAC of `parts` for `purpose` (hex, MAC_CHARS long)."""
    message = "\0".join((purpose, *parts)).encode("utf-8")
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()[:MAC_CHARS]


def valid(given: str, purpose: str, *parts: str) -> bool:
    return hmac.compare_digest(given.encode("ascii", "replace"), mac(purpose, *parts).encode())
