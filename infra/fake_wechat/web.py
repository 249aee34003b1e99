"""Web authorization (网页授权): sns/oauth2/access_token exchanges a code for the follower's
openid. The real codes come from open.weixin.qq.com's authorize page, which the fake has no
part of: a test names the follower behind a code with `oauth_code(openid)`; any other code is
taken as a sandbox code and stands for a follower derived from it (so a browser on `make run`
can finish the flow by hand). Either is good once (40163 after)."""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

from infra.fake_wechat.protocol import ApiError, Request
from infra.fake_wechat.server import Routes

WEB_TOKEN_TTL = 7200


class WebAuthApi:
    SAVED: ClassVar[tuple[str, ...]] = ()
    ROUTES: ClassVar[Routes] = {
        "/sns/oauth2/access_token": ("GET", "_sns_access_token", False),
    }

    def _reset_state(self, *, tokens: bool) -> None:
        super()._reset_state(tokens=tokens)
        self._oauth_codes: dict[str, tuple[str, str]] = {}  # code -> (openid, scope)
        self._oauth_used: set[str] = set()

    # ---- test helpers --------------------------------------------------------------------

    def oauth_code(self, openid: str, scope: str = "snsapi_base") -> str:
        """A code that WeChat's authorize page would have handed the browser of `openid`."""
        with self._lock:
            code = self._new_id(24)
            self._oauth_codes[code] = (openid, scope)
            return code

    @staticmethod
    def sandbox_openid(code: str) -> str:
        """The follower an unknown code stands for."""
        return "o" + hashlib.sha256(code.encode()).hexdigest()[:27]

    # ---- routes --------------------------------------------------------------------------

    def _sns_access_token(self, req: Request) -> dict[str, Any]:
        query = req.query
        if query.get("grant_type") != "authorization_code":
            raise ApiError(40002, "invalid grant_type")
        self._check_app(query.get("appid"), query.get("secret"))  # tokens family
        code = query.get("code") or ""
        if not code:
            raise ApiError(41008, "missing code")
        if code in self._oauth_used:
            raise ApiError(40163, "code been used")
        self._oauth_used.add(code)
        openid, scope = self._oauth_codes.pop(code, (self.sandbox_openid(code), "snsapi_base"))
        return {
            "access_token": self._new_id(64),
            "expires_in": WEB_TOKEN_TTL,
            "refresh_token": self._new_id(64),
            "openid": openid,
            "scope": scope,
        }
