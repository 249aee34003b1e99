"""Idempotency keys of the admin API (handlers.idempotency): one config item per key.

The item `<account>#idem#<sha256 of the key>` is either
- pending: a request holds the key. `version` is the holder's random token and `expires_at` the
  end of its lease (LEASE_SECONDS, well past the longest an API request can run). A holder whose
  container died mid-request loses the key when the lease ends: the next request runs instead of
  getting 409 for a day;
- done: the final answer (`value`: status and content type, `blob`: the body, zlib), replayed to
  any repeat until `expires_at` (TTL_SECONDS).
`value["fp"]` is the fingerprint of the request that took the key, so a different request with
the same key is told apart. Taking a key is one conditional put (free: no item, or an expired
one, since DynamoDB's TTL deletes late); only a taken key costs a second call (a strongly
consistent read of the holder's record).
"""

from __future__ import annotations

import logging
import secrets
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from chalicelib.store import keys
from chalicelib.store.guard import guarded, is_condition_failure
from chalicelib.store.models import ConfigItem

log = logging.getLogger("wxless.store")
PENDING, DONE = "pending", "done"
#: The API function runs at most 10 s (.chalice/config.json) behind API Gateway's 29 s.
LEASE_SECONDS = 60
#: How long a finished request's answer is replayed.
TTL_SECONDS = 24 * 3600
#: DynamoDB items stop at 400 KB; a compressed body above this is not kept (`too_large`).
MAX_STORED_BODY = 350_000


@dataclass(frozen=True)
class Claim:
    """What reserve() found: our token (the key is ours, run the request), or the record of the
    request that holds or held it."""

    token: int | None = None
    state: str = ""
    fingerprint: str = ""
    status: int = 0
    content_type: str = ""
    body: bytes = b""
    too_large: bool = False


def item_key(key_id: str) -> str:
    """The config item of an idempotency key (`key_id`: the sha256 of the client's key)."""
    return keys.scoped("idem", key_id)


def _at(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _claim(item: ConfigItem) -> Claim:
    value = item.value or {}
    return Claim(
        state=value.get("state", ""),
        fingerprint=value.get("fp", ""),
        status=int(value.get("status", 0)),
        content_type=value.get("content_type", ""),
        body=zlib.decompress(item.blob) if item.blob else b"",
        too_large=bool(value.get("too_large")),
    )


@guarded
def reserve(key_id: str, fingerprint: str, now: float | None = None) -> Claim:
    """Take the key for a request with this fingerprint, or say who has it."""
    now = time.time() if now is None else now
    token = secrets.randbits(52) + 1
    pending = ConfigItem(
        item_key(key_id),
        version=token,
        value={"state": PENDING, "fp": fingerprint},
        updated_at=int(now),
        expires_at=_at(now + LEASE_SECONDS),
    )
    free = ConfigItem.pk.does_not_exist() | (ConfigItem.expires_at < _at(now))
    for _ in range(3):
        try:
            pending.save(condition=free)
            return Claim(token=token)
        except PutError as exc:
            if not is_condition_failure(exc):
                raise
        try:
            held = ConfigItem.get(item_key(key_id), consistent_read=True)
        except DoesNotExist:
            continue  # released or deleted meanwhile: try again
        if held.version is not None and int(held.version) == token:
            return Claim(token=token)  # our own put, re-sent by botocore after a lost answer
        if held.expires_at is None or held.expires_at.timestamp() > now:
            return _claim(held)
    # The key changed hands three times in a row: call it busy; the client retries.
    return Claim(state=PENDING, fingerprint=fingerprint)


@guarded
def complete(
    key_id: str,
    token: int,
    fingerprint: str,
    status: int,
    content_type: str,
    body: bytes,
    now: float | None = None,
) -> bool:
    """Keep the final answer for replay. False when the lease was lost to another request (its
    answer will be kept instead)."""
    now = time.time() if now is None else now
    value: dict[str, Any] = {
        "state": DONE,
        "fp": fingerprint,
        "status": status,
        "content_type": content_type,
    }
    blob: bytes | None = zlib.compress(body) if body else None
    if blob is not None and len(blob) > MAX_STORED_BODY:
        value["too_large"], blob = True, None
    item = ConfigItem(
        item_key(key_id),
        version=token,
        value=value,
        blob=blob,
        updated_at=int(now),
        expires_at=_at(now + TTL_SECONDS),
    )
    try:
        item.save(condition=ConfigItem.version == token)
    except PutError as exc:
        if not is_condition_failure(exc):
            raise
        log.warning("idempotency.lease_lost key=%s", key_id[:12])
        return False
    return True


@guarded
def release(key_id: str, token: int) -> None:
    """Free the key so that a retry runs the request (it failed in a way worth retrying)."""
    try:
        ConfigItem(item_key(key_id)).delete(condition=ConfigItem.version == token)
    except DeleteError as exc:
        if not is_condition_failure(exc):  # else: not ours any more (or already deleted)
            raise
