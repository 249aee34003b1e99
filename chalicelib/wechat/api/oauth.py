"""Web authorization (网页授权): the authorize URL a follower's browser is sent to, and the code
it comes back with exchanged for the follower's openid (`sns/oauth2/access_token`).

`snsapi_base` is silent (the follower sees nothing) and gives the openid; `snsapi_userinfo`
asks the follower and also allows `sns/userinfo` (nickname, avatar). The web access_token is
the follower's, not the account's: it never goes through the client's token provider.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from .errors import TransportError

if TYPE_CHECKING:
    from .transport import Transport

AUTHORIZE_URL = "https://open.weixin.qq.com/connect/oauth2/authorize"
SCOPES = frozenset({"snsapi_base", "snsapi_userinfo"})
MAX_STATE_BYTES = 128  # WeChat: a-zA-Z0-9, at most 128 bytes


def authorize_url(app_id: str, redirect_uri: str, scope: str, state: str) -> str:
    """Where the browser goes; WeChat sends it back to `redirect_uri?code=...&state=...`."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {sorted(SCOPES)}")
    if not state.isascii() or not state.isalnum() or len(state) > MAX_STATE_BYTES:
        raise ValueError("state must be at most 128 ASCII letters and digits")
    return (
        f"{AUTHORIZE_URL}?appid={quote(app_id, safe='')}"
        f"&redirect_uri={quote(redirect_uri, safe='')}"
        f"&response_type=code&scope={scope}&state={state}#wechat_redirect"
    )


@dataclass(frozen=True, slots=True)
class WebGrant:
    openid: str
    scope: str
    access_token: str
    expires_in: int
    unionid: str | None = None


class OAuthAPI:
    def __init__(self, client: Transport) -> None:
        self.client = client

    def exchange_code(self, app_id: str, secret: str, code: str) -> WebGrant:
        """GET /sns/oauth2/access_token: a code (single use, 5 minutes) -> the follower."""
        data = self.client.get(
            "/sns/oauth2/access_token",
            {"appid": app_id, "secret": secret, "code": code, "grant_type": "authorization_code"},
            with_token=False,
        )
        openid = data.get("openid")
        if not isinstance(openid, str) or not openid:
            raise TransportError("answer has no openid", "/sns/oauth2/access_token")
        return WebGrant(
            openid=openid,
            scope=str(data.get("scope") or "snsapi_base"),
            access_token=str(data.get("access_token") or ""),
            expires_in=int(data.get("expires_in") or 7200),
            unionid=data.get("unionid") or None,
        )
