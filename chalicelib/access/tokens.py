"""Verifying a Cognito access token ourselves, with PyJWT.

What a token must be to be accepted: a JWS signed with RS256 by a key of our user pool's JWKS
(found by its `kid`), issued by our pool (`iss`), for our app client (`client_id`), an access
token (`token_use`), not expired (`exp`, no leeway) and carrying `username` and `iat`. Anything
else (another pool's token, `alg: none` or HS256 made with the public key, an id token, a token
for another client, a forged signature) is refused with the same `Unauthorized`.

A valid token is not enough: chalicelib/access/credentials.py then checks the user's current
state (disabled, revoked, role), so a token issued before a change stops working within seconds.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import jwt
from jwt import PyJWK, PyJWKSet

from chalicelib.errors import INVALID_CREDENTIALS as INVALID
from chalicelib.errors import Unauthorized, Unavailable

log = logging.getLogger("wxless.access")

ALGORITHM = "RS256"
#: A JWKS is kept this long; an unknown `kid` (Cognito rotated its keys) refetches it, at most
#: once per REFETCH_AFTER seconds (a forged kid must not make us fetch on every request).
JWKS_MAX_AGE = 3600.0
REFETCH_AFTER = 30.0


@dataclass(frozen=True)
class Pool:
    """The user pool a token must come from."""

    region: str
    pool_id: str
    client_id: str
    jwks_url: str = ""  # default: the issuer's /.well-known/jwks.json

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.pool_id}"

    @property
    def keys_url(self) -> str:
        return self.jwks_url or f"{self.issuer}/.well-known/jwks.json"


class KeySet:
    """A pool's JWKS, fetched on first use and kept (one per container, in chalicelib.wiring)."""

    def __init__(self, url: str, *, timeout: float = 3.0) -> None:
        self.url = url
        self.timeout = timeout
        self._keys: dict[str, PyJWK] = {}
        self._fetched = 0.0
        self._lock = threading.Lock()

    def key(self, kid: str) -> PyJWK | None:
        now = time.monotonic()
        found = self._keys.get(kid)
        if found is not None and now - self._fetched < JWKS_MAX_AGE:
            return found
        with self._lock:
            if kid not in self._keys or now - self._fetched >= JWKS_MAX_AGE:
                if self._fetched and now - self._fetched < REFETCH_AFTER and self._keys:
                    return self._keys.get(kid)
                self._keys = self._fetch()
                self._fetched = time.monotonic()
            return self._keys.get(kid)

    def _fetch(self) -> dict[str, PyJWK]:
        try:
            with urllib.request.urlopen(self.url, timeout=self.timeout) as resp:
                data = json.loads(resp.read())
            keys = PyJWKSet.from_dict(data).keys
        except Exception as exc:  # network, HTTP error, not a JWKS
            log.warning("access.jwks_unavailable url=%s error=%s", self.url, type(exc).__name__)
            raise Unavailable("the identity provider's keys are unavailable; retry") from exc
        return {k.key_id: k for k in keys if k.key_id}


def verify(token: str, pool: Pool, keys: KeySet) -> dict[str, Any]:
    """The token's claims, or Unauthorized."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Unauthorized(INVALID) from None
    if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
        raise Unauthorized(INVALID)
    key = keys.key(header["kid"])
    if key is None:
        raise Unauthorized(INVALID)
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],  # never the header's word for it
            issuer=pool.issuer,
            options={"require": ["exp", "iat", "iss", "token_use", "client_id", "username"]},
        )
    except jwt.PyJWTError as exc:
        log.info("access.token_refused reason=%s", type(exc).__name__)
        raise Unauthorized(INVALID) from None
    if claims.get("token_use") != "access" or claims.get("client_id") != pool.client_id:
        raise Unauthorized(INVALID)
    return claims
