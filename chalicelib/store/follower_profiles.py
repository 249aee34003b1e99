"""Follower profiles from WeChat's user-info API, as chalicelib.jobs.profile_sync stores them:
the pending records it works through (GSI `by_profile_sync`), one answer per record, and the
weekly full resync's progress. The records themselves are store.followers'.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import DoesNotExist, PynamoDBException, UpdateError

from chalicelib.store import keys
from chalicelib.store.errors import StoreUnavailable
from chalicelib.store.followers import (
    PENDING_SHARDS,
    FollowerItem,
    done_flag,
    follower_key,
    invalid_flag,
)
from chalicelib.store.guard import guarded, is_condition_failure
from chalicelib.store.models import ConfigItem


def pending_openids(page_size: int = 100) -> Iterator[str]:
    """Followers whose profile is due, from the GSI (one pass over the pending keys; pages
    lazily)."""
    try:
        for shard in range(PENDING_SHARDS):
            flag = keys.scoped("pending", str(shard))
            for item in FollowerItem.by_profile_sync.query(flag, page_size=page_size):
                yield keys.natural(item.pk)
    except (PynamoDBException, BotoCoreError, ClientError) as exc:  # @guarded, for a generator
        raise StoreUnavailable(f"storage error: {type(exc).__name__}") from exc


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


@guarded
def apply_profile(openid: str, info: dict[str, Any], fetched_at: float) -> str:
    """Store one user-info answer. Returns "synced", "unsubscribed" or "raced": a subscribe or
    unsubscribe event that landed after `fetched_at` wins over the older answer (the record
    stays pending when it was a subscribe, so the next run fetches it again)."""
    now = int(time.time())
    item = FollowerItem(follower_key(openid))
    actions: list[Any] = [
        FollowerItem.profile_sync.set(done_flag()),
        FollowerItem.profile_synced_at.set(now),
        FollowerItem.updated_at.set(now),
        FollowerItem.first_seen_at.set(FollowerItem.first_seen_at | now),
    ]
    subscribed = bool(info.get("subscribe"))
    actions.append(FollowerItem.subscribed.set(subscribed))
    if subscribed:
        for attr, key in (
            (FollowerItem.language, "language"),
            (FollowerItem.subscribe_scene, "subscribe_scene"),
            (FollowerItem.qr_scene_str, "qr_scene_str"),
            (FollowerItem.nickname, "nickname"),
            (FollowerItem.country, "country"),
            (FollowerItem.province, "province"),
            (FollowerItem.city, "city"),
            (FollowerItem.unionid, "unionid"),
        ):
            value = _text(info.get(key))
            if value:  # since 2021 WeChat sends "" for nickname and region: keep what we know
                actions.append(attr.set(value))
        region = " ".join(
            p for p in (_text(info.get(k)) for k in ("country", "province", "city")) if p
        )
        if region:
            actions.append(FollowerItem.region.set(region))
        actions.append(FollowerItem.remark.set(_text(info.get("remark"))))
        tag_ids = [int(t) for t in info.get("tagid_list") or [] if str(t).lstrip("-").isdigit()]
        actions.append(FollowerItem.wechat_tags.set(tag_ids))
        subscribe_time = info.get("subscribe_time")
        if isinstance(subscribe_time, int) and subscribe_time > 0:
            actions += [
                FollowerItem.subscribe_time.set(subscribe_time),
                FollowerItem.last_subscribed_at.set(
                    FollowerItem.last_subscribed_at | subscribe_time
                ),
                FollowerItem.first_subscribed_at.set(
                    FollowerItem.first_subscribed_at | subscribe_time
                ),
            ]
    no_newer_event = FollowerItem.state_changed_ms.does_not_exist() | (
        FollowerItem.state_changed_ms < int(fetched_at * 1000)
    )
    try:
        item.update(actions=actions, condition=no_newer_event)
    except UpdateError as exc:
        if is_condition_failure(exc):
            return "raced"
        raise
    return "synced" if subscribed else "unsubscribed"


@guarded
def mark_invalid(openid: str) -> None:
    """WeChat does not know this openid (40003): stop asking for it."""
    FollowerItem(follower_key(openid)).update(
        actions=[
            FollowerItem.profile_sync.set(invalid_flag()),
            FollowerItem.updated_at.set(int(time.time())),
        ]
    )


def _resync_key() -> str:
    return keys.scoped("followers", "resync")


@guarded
def resync_state() -> dict[str, Any]:
    """The full resync's progress: {"running", "cursor", "started_at", "processed", ...}."""
    try:
        return dict(ConfigItem.get(_resync_key()).value or {})
    except DoesNotExist:
        return {}


@guarded
def save_resync_state(state: dict[str, Any]) -> None:
    ConfigItem(_resync_key(), value=state, updated_at=int(time.time())).save()
