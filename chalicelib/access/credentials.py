"""Who is calling: a bearer credential made into a `Principal` (actor and role), or refused.

Three kinds of credential, all sent as `Authorization: Bearer <credential>`:
- the owner's ADMIN_TOKEN (break-glass: role `owner`, actor `owner`), compared in constant time;
- an API key for a system, `wxk_<id>_<secret>` (actor `key:<name>`): its id finds the key's
  item, whose SHA-256 of the secret must match (the secret itself is never stored);
- a Cognito access token for a person (actor: the username), verified by chalicelib.access.tokens.

A key's or a user's current state (team table: role, disabled, revoked, deleted) is read at most
once every REVALIDATE seconds per container, so a revoked key, a disabled or deleted user, or a
changed role takes effect within that (plus the request's own time), even for a token issued
before: the contract's "within 5 s".
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.access import roles
from chalicelib.access.tokens import INVALID, KeySet, Pool, verify
from chalicelib.errors import Unauthorized
from chalicelib.store import team

OWNER_ACTOR = "owner"
KEY_PREFIX = "wxk_"
#: Seconds a container trusts what it read of a key's or user's state.
REVALIDATE = 2.0


@dataclass(frozen=True)
class Principal:
    actor: str  # "owner", the username, or "key:<name>"
    role: str
    kind: str  # "owner" | "user" | "key"
    name: str  # the username, the key's id, or "owner"

    def allows(self, permission: str) -> bool:
        return roles.allows(self.role, permission)


OWNER = Principal(OWNER_ACTOR, roles.OWNER, "owner", OWNER_ACTOR)


class StateCache:
    """Team items as read at most every REVALIDATE seconds (missing ones too); one per
    container (chalicelib.wiring)."""

    MAX_ENTRIES = 2048  # random key ids must not grow it without bound

    def __init__(self, read: Callable[[str, str], dict[str, Any] | None] = team.get) -> None:
        self._read = read
        self._items: dict[tuple[str, str], tuple[float, dict[str, Any] | None]] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        now = time.monotonic()
        found = self._items.get((kind, name))
        if found is not None and now - found[0] < REVALIDATE:
            return found[1]
        item = self._read(kind, name)
        with self._lock:
            if len(self._items) >= self.MAX_ENTRIES:
                self._items.clear()
            self._items[(kind, name)] = (now, item)
        return item

    def forget(self, kind: str, name: str) -> None:
        """This container made the change: no need to wait for it."""
        with self._lock:
            self._items.pop((kind, name), None)


# -- API keys ------------------------------------------------------------------------------------


def new_key() -> tuple[str, str, str]:
    """(id, the key to show once, the hash to store)."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return key_id, f"{KEY_PREFIX}{key_id}_{secret}", key_hash(secret)


def key_hash(secret: str) -> str:
    # The secret is 256 random bits: a plain SHA-256 cannot be brute-forced (no password here).
    return hashlib.sha256(secret.encode()).hexdigest()


def _key_principal(credential: str, state: StateCache) -> Principal:
    key_id, sep, secret = credential[len(KEY_PREFIX) :].partition("_")
    if not sep or not key_id or not secret or len(key_id) > 32:
        raise Unauthorized(INVALID)
    item = state.get(team.APIKEY, key_id)
    if item is None or item.get("revoked_at"):
        raise Unauthorized(INVALID)
    if not hmac.compare_digest(key_hash(secret), str(item.get("hash", ""))):
        raise Unauthorized(INVALID)
    return Principal(f"key:{item.get('key_name', key_id)}", str(item["role"]), "key", key_id)


# -- people --------------------------------------------------------------------------------------


def _group_role(claims: dict[str, Any]) -> str | None:
    groups = claims.get("cognito:groups") or []
    for role in roles.ASSIGNABLE:  # the most powerful group it is in
        if role in groups:
            return role
    return None


def _user_principal(token: str, pool: Pool, keys: KeySet, state: StateCache) -> Principal:
    claims = verify(token, pool, keys)
    username = str(claims["username"])
    item = state.get(team.USER, username)
    if item is None:
        # A person who never went through POST /admin/users (federated from the bank's IdP,
        # added in Cognito by hand): their pool groups say the role.
        role = _group_role(claims)
    elif item.get("deleted") or item.get("disabled"):
        raise Unauthorized(INVALID)
    elif float(claims["iat"]) <= float(item.get("revoked_before") or 0):
        raise Unauthorized(INVALID)  # issued before the user was disabled or signed out
    else:
        role = str(item.get("role") or "")
    if role not in roles.ASSIGNABLE:
        raise Unauthorized(INVALID)
    return Principal(username, role, "user", username)


def resolve(
    credential: str,
    *,
    admin_token: str,
    pool: Pool,
    keys: KeySet,
    state: StateCache,
) -> Principal:
    """The principal a bearer credential stands for, or Unauthorized."""
    credential = credential.strip()
    if not credential:
        raise Unauthorized(INVALID)
    if admin_token and hmac.compare_digest(credential.encode(), admin_token.encode()):
        return OWNER
    if credential.startswith(KEY_PREFIX):
        return _key_principal(credential, state)
    if credential.count(".") == 2 and pool.pool_id:
        return _user_principal(credential, pool, keys, state)
    raise Unauthorized(INVALID)
