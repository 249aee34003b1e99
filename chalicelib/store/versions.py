"""Version counters: how a writer tells every container's cache that its data changed.

Each cached subject (rules, points, articles) has one config item, `<account>#<subject>#version`
(`key("rules")`). A writer bumps it after its data write has succeeded; the callback's caches
read it every few seconds with `read_fast` and reload when it moved (engine.cache). The rules'
sequence counter (`add`) is an item of the same shape.
"""

from __future__ import annotations

import logging
import time

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import config
from chalicelib.store import ddb, keys
from chalicelib.store.errors import StoreUnavailable
from chalicelib.store.models import ConfigItem

log = logging.getLogger("wxless.store")


def key(subject: str) -> str:
    """The version item of `subject`: `key("rules")` -> `default#rules#version`."""
    return keys.scoped(subject, "version")


def add(item_key: str) -> int:
    """Add one to the counter at `item_key` (created at 1); its new value."""
    item = ConfigItem(item_key)
    item.update(actions=[ConfigItem.version.add(1), ConfigItem.updated_at.set(int(time.time()))])
    return int(item.version)


def bump(item_key: str) -> int | None:
    """Tell every container's cache to reload. Best-effort: it runs after the data write has
    succeeded, and failing the admin's request then would invite a retry that writes twice.
    A lost bump is healed by the cache's max_age reload (engine.cache)."""
    try:
        return add(item_key)
    except Exception:
        log.warning(
            "versions.bump_failed key=%s: caches catch up within their max age",
            keys.natural(item_key),
            exc_info=True,
        )
        return None


def read_fast(item_key: str) -> tuple[int, int]:
    """(version, updated_at) of a counter, read on the callback's fail-fast client (one attempt,
    0.3 s connect, 0.8 s read). The callback's caches read a counter every few seconds: with
    PynamoDB's admin client (3 attempts of 5 s) a hung DynamoDB would hold that follower's
    answer past WeChat's 5 s. A failure here only means the cache serves its last snapshot."""
    try:
        item = ddb.get(config.table_name("config"), ddb.key(item_key), profile="fast")
    except (BotoCoreError, ClientError) as exc:
        raise StoreUnavailable(f"version read failed: {type(exc).__name__}") from exc
    item = item or {}
    return int(item.get("version", 0)), int(item.get("updated_at", 0))
