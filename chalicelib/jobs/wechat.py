"""The shared WeChat API client of this app: `client()` (and `jsapi_ticket()`).

Every handler and job that talks to WeChat uses `client()`: one client per container (one
connection pool), whose access_token comes from the DynamoDB token store that the scheduled
refresher keeps fresh (chalicelib.store.tokens). Built lazily and keyed by the settings it was
built from, so tests and the local runner that change the environment get a matching client.

    from chalicelib.jobs.wechat import client
    client().messages.send_text(openid, "您好")
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from chalicelib import config

if TYPE_CHECKING:
    from chalicelib.store.tokens import DynamoTokenProvider
    from chalicelib.wechat.api import WeChatClient

_lock = threading.Lock()
_built: dict[tuple[str, ...], tuple[WeChatClient, DynamoTokenProvider, DynamoTokenProvider]] = {}


def _key() -> tuple[str, ...]:
    return (
        config.get(config.WECHAT_API_BASE),
        config.get(config.WECHAT_APP_ID),
        config.get(config.TABLE_PREFIX),
    )


def _build(
    base_url: str, app_id: str
) -> tuple[WeChatClient, DynamoTokenProvider, DynamoTokenProvider]:
    from chalicelib.store.tokens import ACCESS, JSAPI, DynamoTokenProvider
    from chalicelib.wechat.api import WeChatClient

    api = WeChatClient(base_url)

    def fetch_access_token() -> tuple[str, int]:
        # Normal mode only: force_refresh would kill the token every other container holds.
        return api.token.fetch_stable_token(app_id, config.get(config.WECHAT_APP_SECRET))

    def fetch_jsapi_ticket() -> tuple[str, int]:
        return api.token.get_ticket("jsapi")

    access = DynamoTokenProvider(fetch_access_token, kind=ACCESS)
    api.token_provider = access
    ticket = DynamoTokenProvider(fetch_jsapi_ticket, kind=JSAPI)
    return api, access, ticket


def _get() -> tuple[WeChatClient, DynamoTokenProvider, DynamoTokenProvider]:
    key = _key()
    found = _built.get(key)
    if found is None:
        with _lock:
            found = _built.get(key)
            if found is None:
                found = _built[key] = _build(key[0], key[1])
    return found


def client() -> WeChatClient:
    """The container's WeChat client (access_token from the shared token store)."""
    return _get()[0]


def token_provider() -> DynamoTokenProvider:
    """The access_token provider behind `client()`."""
    return _get()[1]


def ticket_provider() -> DynamoTokenProvider:
    """The jsapi_ticket provider (same store, same guarded refresh)."""
    return _get()[2]


def jsapi_ticket() -> str:
    """The current JS-SDK jsapi_ticket (for wx.config signatures)."""
    return ticket_provider().get()


def reset() -> None:
    """Forget every built client (tests, settings changes)."""
    with _lock:
        _built.clear()
