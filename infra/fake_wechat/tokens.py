"""Tokens: /cgi-bin/token (every call rotates), /cgi-bin/stable_token (normal and force-refresh
modes) and jsapi tickets. Tokens are real: every other route rejects unknown or expired ones."""

from __future__ import annotations

import secrets
from typing import Any, ClassVar

from infra.fake_wechat.protocol import ApiError, Request
from infra.fake_wechat.server import Routes

TOKEN_TTL = 7200
# Old /cgi-bin/token tokens survive 5 min; stable normal mode renews 5 min early.
TOKEN_OVERLAP = 300


class TokensApi:
    # The state `make run` keeps between runs (state.py).
    SAVED: ClassVar[tuple[str, ...]] = ("_tokens", "_stable", "_plain", "_tickets")
    ROUTES: ClassVar[Routes] = {
        "/cgi-bin/token": ("GET", "_token", False),
        "/cgi-bin/stable_token": ("POST", "_stable_token", False),
        "/cgi-bin/ticket/getticket": ("GET", "_getticket", True),
    }

    def _reset_state(self, *, tokens: bool) -> None:
        super()._reset_state(tokens=tokens)
        if tokens:
            self._tokens: dict[str, float] = {}  # token -> expires_at
            self._stable: str | None = None
            self._plain: str | None = None
        self._tickets: dict[str, str] = {}

    # ---- test helpers --------------------------------------------------------------------

    def issue_token(self) -> str:
        """A valid access_token without an HTTP round trip (for tests of other parts)."""
        with self._lock:
            return self._new_token(self.clock())

    def expire_tokens(self) -> None:
        """Every issued token now answers 42001 (access_token expired)."""
        with self._lock:
            now = self.clock()
            for token in self._tokens:
                self._tokens[token] = now - 1

    def age_tokens(self, seconds: float) -> None:
        """Every issued token has ``seconds`` less to live, as if that much time had passed
        at WeChat (tests of a refresher that runs on the real clock)."""
        with self._lock:
            for token in self._tokens:
                self._tokens[token] -= seconds

    def revoke_tokens(self) -> None:
        """Every issued token now answers 40001, like after a force refresh elsewhere."""
        with self._lock:
            self._tokens.clear()
            self._stable = None
            self._plain = None

    def _new_token(self, now: float) -> str:
        token = f"{next(self._ids)}_{secrets.token_urlsafe(108)}"  # ~150 chars, like WeChat's
        self._tokens[token] = now + TOKEN_TTL
        return token

    def _check_token(self, token: str | None) -> None:
        if not token:
            raise ApiError(41001, "access_token missing")
        expires_at = self._tokens.get(token)
        if expires_at is None:
            raise ApiError(40001, "invalid credential, access_token is invalid or not latest")
        if self.clock() >= expires_at:
            raise ApiError(42001, "access_token expired")

    def _check_app(self, appid: Any, secret: Any) -> None:
        if not appid:
            raise ApiError(41002, "appid missing")
        if not secret:
            raise ApiError(41004, "appsecret missing")
        if appid != self.app_id:
            raise ApiError(40013, "invalid appid")
        if secret != self.app_secret:
            raise ApiError(40125, "invalid appsecret")

    def _token(self, req: Request) -> dict[str, Any]:
        if req.query.get("grant_type") != "client_credential":
            raise ApiError(40002, "invalid grant_type")
        self._check_app(req.query.get("appid"), req.query.get("secret"))
        now = self.clock()
        # Every call rotates; the previous token stays valid for at most 5 more minutes.
        if self._plain in self._tokens:
            self._tokens[self._plain] = min(self._tokens[self._plain], now + TOKEN_OVERLAP)
        self._plain = self._new_token(now)
        return {"access_token": self._plain, "expires_in": TOKEN_TTL}

    def _stable_token(self, req: Request) -> dict[str, Any]:
        body = req.body()
        if body.get("grant_type") != "client_credential":
            raise ApiError(40002, "invalid grant_type")
        self._check_app(body.get("appid"), body.get("secret"))
        force = body.get("force_refresh") in (True, "true", 1)
        now = self.clock()
        current = self._stable
        if force:
            if current is not None:
                self._tokens.pop(current, None)  # force refresh kills the previous token at once
        elif current is not None and self._tokens.get(current, 0) - now > TOKEN_OVERLAP:
            return {"access_token": current, "expires_in": int(self._tokens[current] - now)}
        # Normal mode renews 5 min before expiry; the old token lives until it expires.
        self._stable = self._new_token(now)
        return {"access_token": self._stable, "expires_in": TOKEN_TTL}

    def _getticket(self, req: Request) -> dict[str, Any]:
        kind = req.query.get("type", "jsapi")
        if kind not in ("jsapi", "wx_card"):
            raise ApiError(40097, "invalid args")
        ticket = self._tickets.setdefault(kind, self._new_id(64))
        return {"errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": TOKEN_TTL}
