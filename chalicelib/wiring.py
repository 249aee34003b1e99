"""The composition root: every per-container object, built lazily, and one `reset()` for tests.

A warm Lambda container keeps what is worth keeping between invocations: AWS clients, the WeChat
client and its token providers, caches of rules and articles, the callback pipeline. Each is
built here, on first use, from the settings it depends on, and rebuilt when those change (`chalice
local` sets the environment before import; tests change it between cases). Entry points
(handlers/, jobs/, app.py) ask this module for what they need and pass it down; modules below
them hold no state of their own.

    from chalicelib import wiring
    wiring.wechat().messages.send_text(openid, "您好")

Tests call `wiring.reset()` between cases (`reset(clients=True)` when a new moto starts).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from chalicelib import config

if TYPE_CHECKING:
    from chalicelib.access.credentials import StateCache
    from chalicelib.access.directory import Directory
    from chalicelib.access.tokens import KeySet, Pool
    from chalicelib.campaigns.queue import SendQueue
    from chalicelib.cms.index import AdminIndex
    from chalicelib.cms.replies import PublishedArticles
    from chalicelib.desk.walk import ListingWalk
    from chalicelib.engine.pipeline import Pipeline
    from chalicelib.store.throttle import Lockouts
    from chalicelib.store.tokens import DynamoTokenProvider
    from chalicelib.wechat.api import WeChatClient

T = TypeVar("T")

_lock = threading.RLock()
_objects: dict[str, tuple[tuple[str, ...], Any]] = {}


def settings(*names: str) -> tuple[str, ...]:
    """The current values of `names`: an object built from them is rebuilt when they change."""
    return tuple(config.get(name) for name in names)


def cached(name: str, key: tuple[str, ...], build: Callable[[], T]) -> T:
    """The object called `name`, built by `build()` once per `key` (thread-safe)."""
    found = _objects.get(name)
    if found is not None and found[0] == key:
        return found[1]
    with _lock:
        found = _objects.get(name)
        if found is None or found[0] != key:
            found = _objects[name] = (key, build())
        return found[1]


def reset(*, clients: bool = False) -> None:
    """Forget every built object. `clients=True` also drops the AWS clients and PynamoDB
    connections (a new moto per test session needs new ones; otherwise they stay valid)."""
    with _lock:
        _objects.clear()
    if clients:
        from chalicelib.store import aws, tables

        aws.reset()
        tables.reset_connections()


# -- the callback ---------------------------------------------------------------------------------


def _build_callback() -> Pipeline:
    from chalicelib.engine import faq as faq_engine
    from chalicelib.engine.cache import SnapshotCache
    from chalicelib.engine.pipeline import Pipeline
    from chalicelib.engine.replying import build_book
    from chalicelib.store import faq, flows, points, qrcodes, rules
    from chalicelib.store.messages import DynamoInbox

    def load_book() -> tuple[int, Any]:
        version, rule_list, specials = rules.load_snapshot()
        return version, (rule_list, specials, flows.list_flows(), qrcodes.replies())

    token, app_id, aes_key = settings(
        config.WECHAT_TOKEN, config.WECHAT_APP_ID, config.WECHAT_ENCODING_AES_KEY
    )
    return Pipeline(
        token,
        app_id,
        aes_key,
        inbox=DynamoInbox(flows.step_update),
        previous_aes_key=_previous_aes_key,
        book=SnapshotCache(rules.read_version, load_book, build_book),
        places=SnapshotCache(points.read_version, points.load_snapshot, _place_book),
        read_flow_state=flows.read_state,
        expand_reply=_expand_reply,
        # The knowledge base: its own snapshot (entries, synonyms, published articles), so a
        # rule change does not rebuild its index, nor an entry change the rules'.
        faq=SnapshotCache(faq.read_version, faq.load_snapshot, faq_engine.build, max_age=300),
    )


def _place_book(data: Any) -> Any:
    # engine.geo loads with the first location message, not with every container's first message.
    from chalicelib.engine.geo import build_place_book

    return build_place_book(data)


def _previous_aes_key() -> str:
    """Read when the current EncodingAESKey fails only: never on a message's usual path."""
    return config.get(config.WECHAT_ENCODING_AES_KEY_PREVIOUS)


def _expand_reply(reply: dict[str, Any], base_url: Callable[[], str]) -> dict[str, Any] | None:
    """News by CMS article id -> today's titles and links (CMS code loads only when needed)."""
    if not isinstance(reply, dict) or reply.get("type") != "news":  # no import per message
        return reply
    from chalicelib.cms.links import is_article_reply

    if not is_article_reply(reply):
        return reply
    return published_articles().expand_reply(reply, base_url())


def callback() -> Pipeline:
    """The message pipeline with its ports: the inbox, the rule and points snapshots."""
    key = settings(
        config.WECHAT_TOKEN,
        config.WECHAT_APP_ID,
        config.WECHAT_ENCODING_AES_KEY,
        config.TABLE_PREFIX,
        config.ACCOUNT_ID,
    )
    return cached("callback", key, _build_callback)


# -- the WeChat API client -----------------------------------------------------------------------


def _build_wechat() -> tuple[WeChatClient, DynamoTokenProvider, DynamoTokenProvider]:
    from chalicelib.store.tokens import ACCESS, JSAPI, DynamoTokenProvider
    from chalicelib.wechat.api import WeChatClient

    base_url, app_id = config.get(config.WECHAT_API_BASE), config.get(config.WECHAT_APP_ID)
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


def _wechat_bundle() -> tuple[WeChatClient, DynamoTokenProvider, DynamoTokenProvider]:
    key = settings(config.WECHAT_API_BASE, config.WECHAT_APP_ID, config.TABLE_PREFIX)
    return cached("wechat", key, _build_wechat)


def wechat() -> WeChatClient:
    """The container's WeChat client: one connection pool, access_token from the token store
    that the scheduled refresher keeps fresh."""
    return _wechat_bundle()[0]


def token_provider() -> DynamoTokenProvider:
    """The access_token provider behind `wechat()`."""
    return _wechat_bundle()[1]


def ticket_provider() -> DynamoTokenProvider:
    """The jsapi_ticket provider (same store, same guarded refresh)."""
    return _wechat_bundle()[2]


# -- the admin token's brute-force throttle -------------------------------------------------------


def lockouts() -> Lockouts:
    """The IPs this container knows to be locked out of the admin API (store.throttle)."""
    from chalicelib.store.throttle import Lockouts

    return cached("lockouts", (), Lockouts)


# -- team access: the user pool, its keys, what a container knows of users and API keys ----------


def user_pool() -> Pool:
    from chalicelib.access.tokens import Pool

    key = settings(
        config.USER_POOL_ID, config.USER_POOL_CLIENT_ID, config.COGNITO_JWKS_URL, "AWS_REGION"
    )
    return cached(
        "user_pool",
        key,
        lambda: Pool(config.region(), key[0], key[1], key[2]),
    )


def pool_keys() -> KeySet:
    """The user pool's JWKS, fetched once per container (again when Cognito rotates keys)."""
    from chalicelib.access.tokens import KeySet

    pool = user_pool()
    return cached("pool_keys", (pool.keys_url,), lambda: KeySet(pool.keys_url))


def directory() -> Directory:
    """The Cognito user pool's admin API (users, groups, sign-in)."""
    from chalicelib.access.directory import Directory

    pool = user_pool()
    return cached("directory", (pool.pool_id, pool.client_id), lambda: Directory(pool))


def team_state() -> StateCache:
    """Users' and API keys' state as this container last read it (at most REVALIDATE s old)."""
    from chalicelib.access.credentials import StateCache

    return cached("team_state", settings(config.TABLE_PREFIX, config.ACCOUNT_ID), StateCache)


# -- content (CMS) and the media bucket ----------------------------------------------------------


def _content_key() -> tuple[str, ...]:
    return settings(config.TABLE_PREFIX, config.ACCOUNT_ID)


def article_index() -> AdminIndex:
    """The admin article list's index (rebuilt when the articles' version moves)."""
    from chalicelib.cms.index import AdminIndex

    return cached("article_index", _content_key(), AdminIndex)


def published_articles() -> PublishedArticles:
    """The snapshot of published articles that news replies by article id are built from."""
    from chalicelib.cms.replies import PublishedArticles

    return cached("published_articles", _content_key(), PublishedArticles)


def presigner() -> Any:
    """An S3 client that signs URLs of the media bucket (covers, uploads) without a request."""
    from chalicelib.store.objects import build_presigner

    key = settings("AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION")
    return cached("presigner", key, build_presigner)


# -- the agent desk ------------------------------------------------------------------------------


def desk_walk() -> ListingWalk:
    """The desk list's walk of the listing: read whole by the container's first request, then
    only where it grew (chalicelib.desk.walk says what each costs)."""
    from chalicelib.desk.walk import ListingWalk

    return cached("desk_walk", settings(config.TABLE_PREFIX, config.ACCOUNT_ID), ListingWalk)


# -- the campaigns' send queue ---------------------------------------------------------------------


def _build_campaign_queue() -> SendQueue:
    from chalicelib.campaigns import QUEUE
    from chalicelib.campaigns.queue import QUEUE_URL_ENV, SendQueue

    name = f"{config.get(config.TABLE_PREFIX)}-{QUEUE}"
    return SendQueue(name, config.get(QUEUE_URL_ENV, ""))


def campaign_queue() -> SendQueue:
    """The template sender's queue: its URL from the environment (deployed) or looked up once
    (local runs and tests, where it is created on first use)."""
    from chalicelib.campaigns.queue import QUEUE_URL_ENV

    key = settings(config.TABLE_PREFIX, QUEUE_URL_ENV, "AWS_ENDPOINT_URL")
    return cached("campaign_queue", key, _build_campaign_queue)
