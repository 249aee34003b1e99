"""WeChat Official Account API client (framework-free).

Usage: ``WeChatClient(token_provider=provider).messages.send_text(openid, "您好")``; each API
family is a lazily built attribute of the client (menu, media, material, draft, freepublish,
users, tags, messages, token).
"""

from __future__ import annotations

from .client import WeChatClient
from .draft import DraftAPI, FreePublishAPI
from .errors import (
    ERROR_CLASSES,
    DuplicateClientMsgIdError,
    InvalidCredentialError,
    InvalidTokenError,
    IPNotWhitelistedError,
    OutOfWindowError,
    QuotaExhaustedError,
    RateLimitError,
    SystemBusyError,
    TooManyMessagesError,
    TransportError,
    UserUnsubscribedError,
    WeChatAPIError,
    error_for,
)
from .media import MaterialAPI, MediaAPI, check_media
from .menu import MenuAPI, validate_menu
from .messages import MassSendResult, MessagesAPI
from .tags import TagsAPI
from .token import StableTokenProvider, TokenAPI
from .transport import DEFAULT_BASE_URL, RawResponse, StaticTokenProvider, TokenProvider, Transport
from .users import UsersAPI

__all__ = [
    "DEFAULT_BASE_URL",
    "ERROR_CLASSES",
    "DraftAPI",
    "DuplicateClientMsgIdError",
    "FreePublishAPI",
    "IPNotWhitelistedError",
    "InvalidCredentialError",
    "InvalidTokenError",
    "MassSendResult",
    "MaterialAPI",
    "MediaAPI",
    "MenuAPI",
    "MessagesAPI",
    "OutOfWindowError",
    "QuotaExhaustedError",
    "RateLimitError",
    "RawResponse",
    "StableTokenProvider",
    "StaticTokenProvider",
    "SystemBusyError",
    "TagsAPI",
    "TokenAPI",
    "TokenProvider",
    "TooManyMessagesError",
    "Transport",
    "TransportError",
    "UserUnsubscribedError",
    "UsersAPI",
    "WeChatAPIError",
    "WeChatClient",
    "check_media",
    "error_for",
    "validate_menu",
]
