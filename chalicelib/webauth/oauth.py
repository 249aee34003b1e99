"""WeChat web authorization for this app's pages, without an open redirect.

    GET /p/oauth?next=/p/articles/42            -> 302 open.weixin.qq.com/connect/oauth2/authorize
        ?appid=..&redirect_uri=<base>/p/oauth/callback?next=..&scope=snsapi_base&state=<signed>
    GET /p/oauth/callback?code=..&state=..&next=..  -> Set-Cookie (signed, HttpOnly), 302 next

`next` must be a path under `/p/` of this app: no scheme, no host, no `//`, no backslash, no
dot segments (`/p/../admin`, `/p/%2e%2e/`), no control characters. The state is
`<issued, 10 digits><nonce, 10 letters><MAC over issued, nonce, scope and next>`: WeChat allows
only letters and digits (128 at most), so `next` travels in the redirect URI and the state
signs it; a state is good for STATE_SECONDS. A forged or altered state, an expired one, or a
`next` that is not ours is a 400, and nothing is exchanged.

The follower cookie is `<openid>.<issued>.<scope letter>.<MAC>`: HttpOnly, SameSite=Lax, Secure
on https, for the `/p/` pages only, good for COOKIE_SECONDS.
"""

from __future__ import annotations

import re
import secrets
import string
import time
from dataclasses import dataclass
from urllib.parse import quote

from chalicelib.errors import InvalidInput
from chalicelib.webauth import signing
from chalicelib.webauth.pages import is_dot_segment

STATE_SECONDS = 600
COOKIE_SECONDS = 30 * 86400
COOKIE_NAME = "wxf"
MAX_NEXT_CHARS = 1024
PAGES_PREFIX = "/p/"
_NONCE_ALPHABET = string.ascii_letters + string.digits
_SCOPE_LETTERS = {"snsapi_base": "b", "snsapi_userinfo": "u"}
_LETTER_SCOPES = {v: k for k, v in _SCOPE_LETTERS.items()}
_STATE = re.compile(r"(\d{10})([A-Za-z0-9]{10})([0-9a-f]{32})")
_OPENID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_PRINTABLE_ASCII = "".join(chr(c) for c in range(33, 127))


def check_next(value: str | None) -> str:
    """`next` when it is a path under /p/ of this app; InvalidInput otherwise."""
    if not value:
        raise InvalidInput("next is required: a path under /p/")
    if len(value) > MAX_NEXT_CHARS:
        raise InvalidInput(f"next is longer than {MAX_NEXT_CHARS} characters")
    if any(ord(c) < 33 or ord(c) == 127 or c == "\\" for c in value):
        raise InvalidInput("next must not contain spaces, control characters or backslashes")
    if not value.startswith(PAGES_PREFIX) or value.startswith("//"):
        raise InvalidInput("next must be a path under /p/ of this app")
    path = value.split("?", 1)[0].split("#", 1)[0]
    for segment in path.split("/"):
        if is_dot_segment(segment):
            raise InvalidInput("next must not contain dot segments")
        if "%2f" in segment.lower() or "%5c" in segment.lower():
            raise InvalidInput("next must not contain encoded slashes")
    return value


def check_scope(value: str | None) -> str:
    scope = value or "snsapi_base"
    if scope not in _SCOPE_LETTERS:
        raise InvalidInput("scope must be snsapi_base or snsapi_userinfo")
    return scope


def new_state(next_path: str, scope: str, now: float | None = None) -> str:
    issued = f"{int(time.time() if now is None else now):010d}"
    nonce = "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(10))
    return issued + nonce + signing.mac("oauth-state", issued, nonce, scope, next_path)


def check_state(state: str | None, next_path: str, scope: str, now: float | None = None) -> None:
    """InvalidInput unless `state` was signed here for this `next` and scope, recently."""
    match = _STATE.fullmatch(state or "")
    if match is None:
        raise InvalidInput("state is missing or malformed")
    issued, nonce, given = match.groups()
    if not signing.valid(given, "oauth-state", issued, nonce, scope, next_path):
        raise InvalidInput("state does not match: start again from the page")
    age = (time.time() if now is None else now) - int(issued)
    if not -60 <= age <= STATE_SECONDS:
        raise InvalidInput("state has expired: start again from the page")


def location(next_path: str) -> str:
    """`next` as a Location header carries it: characters outside ASCII (a Chinese page name,
    decoded on the way in) percent-encoded as UTF-8, the rest (and its own escapes) as given."""
    return quote(next_path, safe=_PRINTABLE_ASCII)


def callback_uri(base: str, next_path: str, scope: str) -> str:
    uri = f"{base}/p/oauth/callback?next={quote(next_path, safe='')}"
    return uri if scope == "snsapi_base" else f"{uri}&scope={scope}"


@dataclass(frozen=True, slots=True)
class PageFollower:
    openid: str
    scope: str
    issued: int


def cookie_value(openid: str, scope: str, now: float | None = None) -> str:
    if not _OPENID.fullmatch(openid):
        raise InvalidInput("WeChat returned an openid this app cannot keep")
    issued = str(int(time.time() if now is None else now))
    letter = _SCOPE_LETTERS.get(scope, "b")
    return f"{openid}.{issued}.{letter}.{signing.mac('follower', openid, issued, letter)}"


def read_cookie(value: str | None, now: float | None = None) -> PageFollower | None:
    """The follower a cookie names, or None (absent, forged, expired)."""
    if not value:
        return None
    parts = value.split(".")
    if len(parts) != 4:
        return None
    openid, issued, letter, given = parts
    if not _OPENID.fullmatch(openid) or not issued.isdigit() or letter not in _LETTER_SCOPES:
        return None
    if not signing.valid(given, "follower", openid, issued, letter):
        return None
    if (time.time() if now is None else now) - int(issued) > COOKIE_SECONDS:
        return None
    return PageFollower(openid, _LETTER_SCOPES[letter], int(issued))


def set_cookie(value: str, *, secure: bool) -> str:
    flags = f"Path=/p/; Max-Age={COOKIE_SECONDS}; HttpOnly; SameSite=Lax"
    return f"{COOKIE_NAME}={value}; {flags}" + ("; Secure" if secure else "")


def cookie_from_header(header: str | None) -> str | None:
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE_NAME:
            return value
    return None
