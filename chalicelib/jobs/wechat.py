"""The shared WeChat API client, as jobs and handlers have called it so far.

The objects themselves are built by the composition root (chalicelib.wiring); this module only
forwards to it, so existing callers keep working while they move to `wiring.wechat()`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib import wiring

if TYPE_CHECKING:
    from chalicelib.store.tokens import DynamoTokenProvider
    from chalicelib.wechat.api import WeChatClient


def client() -> WeChatClient:
    """The container's WeChat client (access_token from the shared token store)."""
    return wiring.wechat()


def token_provider() -> DynamoTokenProvider:
    return wiring.token_provider()


def ticket_provider() -> DynamoTokenProvider:
    return wiring.ticket_provider()


def jsapi_ticket() -> str:
    """The current JS-SDK jsapi_ticket (for wx.config signatures)."""
    return wiring.ticket_provider().get()


def reset() -> None:
    wiring.reset()
