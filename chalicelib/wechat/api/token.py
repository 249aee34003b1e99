"""access_token and JS-SDK ticket calls.

The token calls themselves never go through the client's token provider (they produce the token).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import TransportError

if TYPE_CHECKING:
    from .transport import Transport


class TokenAPI:
    def __init__(self, client: Transport) -> None:
        self.client = client

    def fetch_stable_token(
        self, appid: str, secret: str, force_refresh: bool = False
    ) -> tuple[str, int]:
        """POST /cgi-bin/stable_token -> (token, expires_in).

        Normal mode returns the current token while it is valid (no rotation), so many workers
        can call it safely. ``force_refresh`` (20/day, 30 s apart) invalidates the previous token
        at once: keep it for the scheduled refresher, never the request path.
        """
        data = self.client.post(
            "/cgi-bin/stable_token",
            {
                "grant_type": "client_credential",
                "appid": appid,
                "secret": secret,
                "force_refresh": force_refresh,
            },
            with_token=False,
        )
        return _token_pair(data, "access_token", "/cgi-bin/stable_token")

    def fetch_token(self, appid: str, secret: str) -> tuple[str, int]:
        """GET /cgi-bin/token -> (token, expires_in). Every call rotates the token (the old one
        survives ~5 min) and counts against 2,000/day: prefer :meth:`fetch_stable_token`."""
        data = self.client.get(
            "/cgi-bin/token",
            {"grant_type": "client_credential", "appid": appid, "secret": secret},
            with_token=False,
        )
        return _token_pair(data, "access_token", "/cgi-bin/token")

    def get_ticket(self, type: str = "jsapi") -> tuple[str, int]:
        """GET /cgi-bin/ticket/getticket -> (ticket, expires_in); type is jsapi or wx_card."""
        data = self.client.get("/cgi-bin/ticket/getticket", {"type": type})
        return _token_pair(data, "ticket", "/cgi-bin/ticket/getticket")


def _token_pair(data: dict[str, Any], key: str, path: str) -> tuple[str, int]:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise TransportError(f"answer has no {key}", path)
    try:
        expires_in = int(data.get("expires_in", 7200))
    except (TypeError, ValueError):
        raise TransportError("answer has a non-integer expires_in", path) from None
    if expires_in <= 0:
        # Storing it would replace a still-valid credential by a dead one.
        raise TransportError(f"answer has a non-positive expires_in ({expires_in})", path)
    return value, expires_in


class StableTokenProvider:
    """In-process token cache backed by ``stable_token`` normal mode.

    Good for scripts, the local runner and tests. Production Lambdas should read the token that
    the scheduled refresher stored (shared across instances); this class is the same idea with
    memory as the store.
    """

    def __init__(
        self,
        token_api: TokenAPI,
        appid: str,
        secret: str,
        *,
        margin: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = token_api
        self._appid = appid
        self._secret = secret
        # Refresh a little early: WeChat's normal mode itself rotates 5 min before expiry.
        self._margin = margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self.fetches = 0

    def get(self) -> str:
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - self._margin:
                return self._fetch()
            return self._token

    def invalidate(self, bad_token: str) -> str:
        with self._lock:
            if self._token is not None and self._token != bad_token:
                return self._token  # someone already replaced it
            # Normal mode only: force_refresh on the request path would invalidate the token
            # every other worker is using and burn the 20/day budget.
            return self._fetch()

    def _fetch(self) -> str:
        token, expires_in = self._api.fetch_stable_token(self._appid, self._secret)
        self.fetches += 1
        self._token = token
        self._expires_at = self._clock() + expires_in
        return token
