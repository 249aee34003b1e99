"""A fake ``api.weixin.qq.com`` for tests and the local runner (stdlib only).

It keeps realistic in-memory state (tokens, menus, media, drafts, followers, tags, messages,
mass jobs), answers with WeChat's JSON shapes and error codes, and lets tests inject errors,
HTTP failures and delays per path. Tokens are real: API routes reject unknown or expired ones,
so a client's token handling is exercised, not bypassed.

    with FakeWeChat() as fake:
        client = WeChatClient(fake.url, ...)
        fake.inject_error("/cgi-bin/message/custom/send", 45015)

Script mode (``python -m infra.fake_wechat --port 0``, see ``__main__.py``) prints the base URL
as the first stdout line and serves until SIGINT/SIGTERM. One module per API family, one mixin
each (server.py says how they fit together).
"""

from __future__ import annotations

from infra.fake_wechat.blacklist import BlacklistApi
from infra.fake_wechat.comments import CommentsApi
from infra.fake_wechat.datacube import DatacubeApi
from infra.fake_wechat.drafts import DraftsApi
from infra.fake_wechat.kf import KfApi
from infra.fake_wechat.mass_protection import MassProtectionApi
from infra.fake_wechat.media import MediaApi
from infra.fake_wechat.menu import MenuApi
from infra.fake_wechat.messages import MessagesApi
from infra.fake_wechat.protocol import DEFAULT_APP_ID, DEFAULT_APP_SECRET, ApiError, Call
from infra.fake_wechat.qrcodes import QRCodesApi
from infra.fake_wechat.server import Server
from infra.fake_wechat.subscribe import SubscribeApi
from infra.fake_wechat.templates import TemplatesApi
from infra.fake_wechat.tokens import TokensApi
from infra.fake_wechat.users import UsersApi
from infra.fake_wechat.web import WebAuthApi

__all__ = ["DEFAULT_APP_ID", "DEFAULT_APP_SECRET", "ApiError", "Call", "FakeWeChat"]


class FakeWeChat(
    TokensApi,
    MenuApi,
    MediaApi,
    DraftsApi,
    CommentsApi,
    UsersApi,
    BlacklistApi,
    DatacubeApi,
    TemplatesApi,
    MassProtectionApi,
    MessagesApi,
    SubscribeApi,
    QRCodesApi,
    WebAuthApi,
    KfApi,
    Server,
):
    """In-memory WeChat API server bound to loopback: every API family on one server."""
