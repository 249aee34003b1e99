"""`WeChatClient`: the transport with every API family as an attribute.

``WeChatClient(token_provider=provider).messages.send_text(openid, "您好")``. The families know
only the :class:`~.transport.Transport` they are given; this module is the one place that knows
them all, so nothing in the package imports back up.
"""

from __future__ import annotations

from functools import cached_property

from .blacklist import BlacklistAPI
from .comments import CommentsAPI
from .datacube import DatacubeAPI
from .draft import DraftAPI, FreePublishAPI
from .kf import KfAPI
from .media import MaterialAPI, MediaAPI
from .menu import MenuAPI
from .messages import MessagesAPI
from .oauth import OAuthAPI
from .qrcode import QRCodeAPI
from .subscribe import SubscribeAPI
from .tags import TagsAPI
from .templates import TemplatesAPI
from .token import TokenAPI
from .transport import Transport
from .users import UsersAPI


class WeChatClient(Transport):
    """Thin synchronous client for ``api.weixin.qq.com``; each family is built on first use."""

    @cached_property
    def token(self) -> TokenAPI:
        return TokenAPI(self)

    @cached_property
    def menu(self) -> MenuAPI:
        return MenuAPI(self)

    @cached_property
    def media(self) -> MediaAPI:
        return MediaAPI(self)

    @cached_property
    def material(self) -> MaterialAPI:
        return MaterialAPI(self)

    @cached_property
    def draft(self) -> DraftAPI:
        return DraftAPI(self)

    @cached_property
    def freepublish(self) -> FreePublishAPI:
        return FreePublishAPI(self)

    @cached_property
    def users(self) -> UsersAPI:
        return UsersAPI(self)

    @cached_property
    def tags(self) -> TagsAPI:
        return TagsAPI(self)

    @cached_property
    def messages(self) -> MessagesAPI:
        return MessagesAPI(self)

    @cached_property
    def templates(self) -> TemplatesAPI:
        return TemplatesAPI(self)

    @cached_property
    def blacklist(self) -> BlacklistAPI:
        return BlacklistAPI(self)

    @cached_property
    def datacube(self) -> DatacubeAPI:
        return DatacubeAPI(self)

    @cached_property
    def subscribe(self) -> SubscribeAPI:
        return SubscribeAPI(self)

    @cached_property
    def comments(self) -> CommentsAPI:
        return CommentsAPI(self)

    @cached_property
    def qrcode(self) -> QRCodeAPI:
        return QRCodeAPI(self)

    @cached_property
    def oauth(self) -> OAuthAPI:
        return OAuthAPI(self)

    @cached_property
    def kf(self) -> KfAPI:
        return KfAPI(self)
