"""The access_token and the jsapi_ticket, shared by every container through the config table.

One item per credential (`<account>#token#access`, `<account>#token#jsapi`) holds the value, its
expiry, the last refresh time and a `generation` counter (stored in the config table's `version`
attribute), plus a short *lease* that serialises refreshes across containers:

- a refresh first takes the lease with a conditional write ("generation is still g and nobody
  holds an unexpired lease"); only the winner calls WeChat, then stores the answer with a second
  conditional write ("I still hold the lease") that bumps the generation to g + 1;
- the losers never call WeChat: they re-read the item until the generation moves;
- a failed WeChat call keeps the lease until it expires, so a WeChat outage costs one attempt per
  lease period across the whole fleet instead of one per request.

`DynamoTokenProvider` implements the API client's TokenProvider protocol on top of this: `get()`
reads the stored token (cached per container until shortly before expiry) and `invalidate(bad)`
re-reads the store and, only if the stored token is still `bad`, performs ONE guarded
normal-mode refresh. It never asks for force_refresh.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.models import Model

from chalicelib.store import keys
from chalicelib.store.errors import StoreUnavailable
from chalicelib.store.guard import guarded, is_condition_failure
from chalicelib.store.models import table, view

log = logging.getLogger("wxless.tokens")

ACCESS = "access"
JSAPI = "jsapi"
KINDS = (ACCESS, JSAPI)

#: How long a refresher may hold the lease: longer than one WeChat call (3 s client timeout) so a
#: slow winner is not overtaken, short enough that a crashed winner blocks nobody for long.
LEASE_SECONDS = 10.0

Fetch = Callable[[], tuple[str, int]]


def item_key(kind: str) -> str:
    """The config item of a credential. `kind` comes from code, never from a request: an
    unknown one is a bug (ValueError, a 500), not bad input."""
    if kind not in KINDS:
        raise ValueError(f"unknown token kind {kind!r}")
    return keys.scoped("token", kind)


@view
class TokenItem(Model):
    """A view of the `config` table's token items.

    A view, not @register-ed: the table belongs to ConfigItem (created and deployed through it). The
    attribute names avoid ConfigItem's `value` (JSON) so a ConfigItem read of a token item never
    fails; `generation` is ConfigItem's numeric `version`.
    """

    Meta = table("config")
    pk = UnicodeAttribute(hash_key=True)
    generation = NumberAttribute(attr_name="version", null=True)
    secret = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    refreshed_at = NumberAttribute(null=True)
    refresh_count = NumberAttribute(null=True)
    lease_owner = UnicodeAttribute(null=True)
    lease_until = NumberAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    last_error_at = NumberAttribute(null=True)
    updated_at = NumberAttribute(null=True)


@dataclass(frozen=True)
class StoredToken:
    kind: str
    value: str | None
    expires_at: float
    refreshed_at: float | None
    generation: int
    refresh_count: int = 0
    lease_until: float | None = None
    last_error: str | None = None
    last_error_at: float | None = None

    def remaining(self, now: float) -> float:
        return self.expires_at - now if self.value else 0.0

    def usable(self, now: float, margin: float = 0.0) -> bool:
        return bool(self.value) and self.expires_at - now > margin

    def status(self, now: float) -> dict[str, Any]:
        """Everything about the credential except the credential itself."""
        return {
            "present": bool(self.value),
            "expires_at": int(self.expires_at) if self.value else None,
            "expires_in": max(0, int(self.remaining(now))) if self.value else None,
            "refreshed_at": int(self.refreshed_at) if self.refreshed_at else None,
            "generation": self.generation,
            "refresh_count": self.refresh_count,
            "refreshing": bool(self.lease_until and self.lease_until > now),
            "last_error": self.last_error,
            "last_error_at": int(self.last_error_at) if self.last_error_at else None,
        }


def _from_item(kind: str, item: TokenItem) -> StoredToken:
    return StoredToken(
        kind=kind,
        value=item.secret or None,
        expires_at=float(item.expires_at or 0),
        refreshed_at=float(item.refreshed_at) if item.refreshed_at else None,
        generation=int(item.generation or 0),
        refresh_count=int(item.refresh_count or 0),
        lease_until=float(item.lease_until) if item.lease_until else None,
        last_error=item.last_error,
        last_error_at=float(item.last_error_at) if item.last_error_at else None,
    )


# --------------------------------------------------------------------------- store operations


@guarded
def read(kind: str, *, consistent: bool = False) -> StoredToken | None:
    try:
        item = TokenItem.get(item_key(kind), consistent_read=consistent)
    except DoesNotExist:
        return None
    return _from_item(kind, item)


@guarded
def try_lease(kind: str, generation: int, owner: str, now: float, seconds: float) -> bool:
    """Take the refresh lease if the item is still at `generation` and no lease is live."""
    at_generation = (
        TokenItem.generation.does_not_exist()
        if generation == 0
        else TokenItem.generation == generation
    )
    lease_free = TokenItem.lease_until.does_not_exist() | (TokenItem.lease_until < now)
    try:
        TokenItem(item_key(kind)).update(
            actions=[
                TokenItem.lease_owner.set(owner),
                TokenItem.lease_until.set(now + seconds),
            ],
            condition=at_generation & lease_free,
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            return False
        raise
    return True


@guarded
def save(
    kind: str, owner: str, generation: int, value: str, expires_at: float, now: float
) -> StoredToken | None:
    """Store a fresh credential if `owner` still holds the lease; None when it lost it."""
    try:
        item = TokenItem(item_key(kind))
        item.update(
            actions=[
                TokenItem.secret.set(value),
                TokenItem.expires_at.set(int(expires_at)),
                TokenItem.refreshed_at.set(int(now)),
                TokenItem.updated_at.set(int(now)),
                TokenItem.generation.set(generation + 1),
                TokenItem.refresh_count.add(1),
                TokenItem.lease_owner.remove(),
                TokenItem.lease_until.remove(),
                TokenItem.last_error.remove(),
                TokenItem.last_error_at.remove(),
            ],
            condition=TokenItem.lease_owner == owner,
        )
    except UpdateError as exc:
        if is_condition_failure(exc):
            return None
        raise
    return _from_item(kind, item)


@guarded
def record_failure(kind: str, owner: str, now: float, error: str) -> None:
    """Note the error for the status route. The lease is kept on purpose: it is the back-off."""
    try:
        TokenItem(item_key(kind)).update(
            actions=[
                TokenItem.last_error.set(error[:300]),
                TokenItem.last_error_at.set(int(now)),
            ],
            condition=TokenItem.lease_owner == owner,
        )
    except UpdateError as exc:
        if not is_condition_failure(exc):
            raise


@dataclass(frozen=True)
class RefreshResult:
    #: "refreshed" (this caller called WeChat and stored the answer), "busy" (another caller
    #: holds the lease or already moved the generation: nothing was called), "lost" (WeChat was
    #: called but the lease expired before the answer could be stored).
    outcome: str
    token: StoredToken | None


def describe(exc: BaseException) -> str:
    # Never str() a transport exception from a library that may print URLs: the WeChat client's
    # own messages are token-free, anything else is reduced to its class name.
    from chalicelib.wechat.api import WeChatAPIError

    if isinstance(exc, WeChatAPIError):
        return str(exc)
    return type(exc).__name__


def refresh(
    kind: str,
    fetch: Fetch,
    expected: StoredToken | None,
    *,
    clock: Callable[[], float] = time.time,
    lease_seconds: float = LEASE_SECONDS,
) -> RefreshResult:
    """One guarded refresh of `kind`, expecting the store to still hold `expected`.

    Exactly one of any number of concurrent callers that expect the same generation calls
    `fetch` (WeChat); the others get "busy" at the cost of one conditional write.
    """
    generation = expected.generation if expected else 0
    owner = uuid.uuid4().hex
    if not try_lease(kind, generation, owner, clock(), lease_seconds):
        return RefreshResult("busy", None)
    started = clock()
    try:
        value, expires_in = fetch()
    except Exception as exc:
        try:
            record_failure(kind, owner, clock(), describe(exc))
        except Exception:  # the original failure matters more than the bookkeeping
            log.warning("tokens.record_failure_failed kind=%s", kind)
        raise
    # Expiry counted from before the call: never later than WeChat's own.
    stored = save(kind, owner, generation, value, started + expires_in, clock())
    if stored is None:
        return RefreshResult("lost", None)
    return RefreshResult("refreshed", stored)


# --------------------------------------------------------------------------- provider


class TokenUnavailable(StoreUnavailable):
    """No usable credential: the store is empty and another caller's refresh did not land
    (admin routes answer 503, retryable)."""


class DynamoTokenProvider:
    """TokenProvider over the shared store, for Lambda handlers and jobs.

    `fetch` returns `(value, expires_in)` from WeChat (stable_token normal mode for the access
    token, ticket/getticket for the jsapi ticket); it is only called on the rare paths below, by
    at most one caller at a time across all containers:
    - the store holds nothing usable (first start, or the scheduled refresher is down and the
      token is within `reader_margin` of expiry);
    - WeChat rejected the stored token (`invalidate`), and nobody replaced it yet.
    """

    def __init__(
        self,
        fetch: Fetch,
        *,
        kind: str = ACCESS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        reader_margin: float = 60.0,
        max_cache_age: float = 300.0,
        lease_seconds: float = LEASE_SECONDS,
        wait_seconds: float = 4.0,
        poll_seconds: float = 0.1,
    ) -> None:
        item_key(kind)
        self.kind = kind
        self._fetch = fetch
        self._clock = clock
        self._sleep = sleep
        # Stop using a token this long before it expires (clock skew, request in flight).
        self._reader_margin = reader_margin
        # Re-read the store at least this often, so an out-of-band replacement is picked up
        # without waiting for a 40001.
        self._max_cache_age = max_cache_age
        self._lease_seconds = lease_seconds
        self._wait_seconds = wait_seconds
        self._poll_seconds = poll_seconds
        self._lock = threading.Lock()
        self._cached: StoredToken | None = None
        self._cached_until = 0.0
        #: WeChat calls made by this provider (tests and logs).
        self.fetches = 0

    # ---- TokenProvider protocol ----------------------------------------------------------

    def get(self) -> str:
        with self._lock:
            now = self._clock()
            if self._cached is not None and now < self._cached_until:
                return self._cached.value  # type: ignore[return-value]
            try:
                stored = read(self.kind)
            except Exception:
                # Storage trouble: a cached token that WeChat still accepts beats an error.
                if self._cached is not None and self._cached.usable(now):
                    log.warning("tokens.store_unreadable kind=%s: using cached token", self.kind)
                    return self._cached.value  # type: ignore[return-value]
                raise
            if stored is not None and stored.usable(now, self._reader_margin):
                return self._remember(stored, now)
            return self._refresh(stored, bad=None)

    def invalidate(self, bad_token: str) -> str:
        with self._lock:
            self._cached = None
            stored = read(self.kind, consistent=True)
            now = self._clock()
            if stored is not None and stored.value != bad_token and stored.usable(now):
                return self._remember(stored, now)  # someone already replaced it
            return self._refresh(stored, bad=bad_token)

    # ---- helpers -------------------------------------------------------------------------

    def status(self) -> StoredToken | None:
        return read(self.kind, consistent=True)

    def forget(self) -> None:
        """Drop the container cache (the next get() reads the store)."""
        with self._lock:
            self._cached = None

    def _remember(self, stored: StoredToken, now: float) -> str:
        self._cached = stored
        until = min(stored.expires_at - self._reader_margin, now + self._max_cache_age)
        # A token already inside the margin (WeChat kept it when asked) is still good until it
        # expires: keep it a few seconds so each request does not ask WeChat again.
        self._cached_until = max(until, min(now + 15.0, stored.expires_at - 1.0))
        return stored.value  # type: ignore[return-value]

    def _counted_fetch(self) -> tuple[str, int]:
        self.fetches += 1
        return self._fetch()

    def _refresh(self, stored: StoredToken | None, bad: str | None) -> str:
        result = refresh(
            self.kind,
            self._counted_fetch,
            stored,
            clock=self._clock,
            lease_seconds=self._lease_seconds,
        )
        if result.token is not None:
            log.info(
                "tokens.refreshed kind=%s generation=%s by=request",
                self.kind,
                result.token.generation,
            )
            return self._remember(result.token, self._clock())
        return self._await_other(stored, bad)

    def _await_other(self, stored: StoredToken | None, bad: str | None) -> str:
        """Another caller is refreshing: re-read until its answer lands (never call WeChat)."""
        generation = stored.generation if stored else 0
        deadline = self._clock() + self._wait_seconds
        latest = stored
        while True:
            latest = read(self.kind, consistent=True)
            now = self._clock()
            if (
                latest is not None
                and latest.usable(now)
                and (latest.generation > generation or (bad is not None and latest.value != bad))
            ):
                return self._remember(latest, now)
            if now >= deadline:
                break
            self._sleep(self._poll_seconds)
        if latest is not None and latest.usable(self._clock()):
            # The other refresher failed; what is stored is still the best there is.
            return latest.value  # type: ignore[return-value]
        raise TokenUnavailable(f"no usable {self.kind} credential yet; retry shortly")
