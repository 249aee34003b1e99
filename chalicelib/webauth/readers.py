"""Who is reading a page, for counting distinct readers (store.page_views): the follower of the
signed cookie (web authorization), else `anon-` and a keyed hash of the client's address and
user agent. The hash is keyed (webauth.signing), so it cannot be reversed by trying addresses,
and nothing about the client is stored in clear."""

from __future__ import annotations

from typing import Any

from chalicelib.webauth import oauth, signing

ANONYMOUS = "anon-"


def follower_of(request: Any) -> str | None:
    """The openid of the page's signed follower cookie, or None."""
    headers = getattr(request, "headers", None) or {}
    found = oauth.read_cookie(oauth.cookie_from_header(headers.get("cookie")))
    return found.openid if found else None


def reader_of(request: Any) -> str:
    openid = follower_of(request)
    if openid:
        return openid
    headers = getattr(request, "headers", None) or {}
    identity = (getattr(request, "context", None) or {}).get("identity") or {}
    address = str(identity.get("sourceIp") or headers.get("x-forwarded-for", "").split(",")[0])
    agent = str(headers.get("user-agent", ""))[:300]
    return ANONYMOUS + signing.mac("reader", address.strip(), agent)[:20]
