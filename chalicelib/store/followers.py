"""Follower records: one item per follower (`pk = <account>#<openid>`), what changes rarely:
subscription state, profile, tags. Their activity (last interaction, customer-service windows,
messages sent) is not kept here: it is read from the follower's own timeline
(chalicelib/followers/activity.py), so a message costs no write to this table.

The stream aggregator (chalicelib/aggregate) folds a batch's subscribes and unsubscribes of one
follower into one `FollowerChange` and writes it with ONE UpdateItem, exactly once
(store.ledger, `own` watermark: every record of one follower comes through one shard, in
order); a batch with neither writes nothing here:

- subscribe: `subscribed`, `last_subscribed_at`, `first_subscribed_at` (if new),
  `subscribe_count + 1`, `scene` (the qrscene, removed when none), `first_channel` (the
  qrscene of the first subscribe seen, "" without one; never changed after), `first_seen_at`
  (if new), `profile_sync` pending;
- unsubscribe: `subscribed = false`, `unsubscribed_at`.

Followers who subscribed before the account used wxless get their record from the full profile
sync (WeChat's follower list), not from their first message.

Profiles (nickname when WeChat still gives one, language, region, WeChat tags, remark,
subscribe time and scene) come from the user-info API via chalicelib.jobs.profile_sync, which
finds work through the GSI `by_profile_sync` (KEYS_ONLY, hash `profile_sync`). Pending records
carry `<account>#pending#<k>` (k: a hash of the openid over PENDING_SHARDS, so a wave of new
followers spreads over several index partitions); synced ones `<account>#done`, which the index
only sees when the job marks a record (the per-message fold sets the flag only where absent:
`if_not_exists` needs a value for "already synced"). The job queries only the pending keys, so
its cost is proportional to the work, never the table.
"""

from __future__ import annotations

import base64
import binascii
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
)
from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib import config
from chalicelib.errors import InvalidInput
from chalicelib.store import ddb, keys
from chalicelib.store.aws import client
from chalicelib.store.errors import NotFound
from chalicelib.store.guard import guarded, is_condition_failure
from chalicelib.store.models import register, table

PENDING_SHARDS = 16


def pending_flag(openid: str) -> str:
    return keys.scoped("pending", str(zlib.crc32(openid.encode()) % PENDING_SHARDS))


def done_flag() -> str:
    return keys.scoped("done")


def invalid_flag() -> str:
    return keys.scoped("invalid")


def follower_key(openid: str) -> str:
    return keys.scoped(openid)


MAX_OPENID_CHARS = 128  # WeChat's are 28; DynamoDB keys stop at 2048 bytes
MAX_LOCAL_TAGS = 20
MAX_TAG_CHARS = 30
MAX_REMARK_CHARS = 29  # WeChat: "shorter than 30 characters"


class FollowersByProfileSync(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_profile_sync"
        projection = KeysOnlyProjection()

    profile_sync = UnicodeAttribute(hash_key=True)


@register
class FollowerItem(Model):
    Meta = table("followers")
    pk = UnicodeAttribute(hash_key=True)  # <account>#<openid>
    subscribed = BooleanAttribute(null=True)
    first_seen_at = NumberAttribute(null=True)
    first_subscribed_at = NumberAttribute(null=True)
    last_subscribed_at = NumberAttribute(null=True)
    unsubscribed_at = NumberAttribute(null=True)
    subscribe_count = NumberAttribute(null=True)
    state_changed_ms = NumberAttribute(null=True)  # server clock (ms) of the last (un)subscribe
    scene = UnicodeAttribute(null=True)
    first_channel = UnicodeAttribute(null=True)  # "" when the first subscribe had no scene
    # from the user-info API
    nickname = UnicodeAttribute(null=True)
    language = UnicodeAttribute(null=True)
    country = UnicodeAttribute(null=True)
    province = UnicodeAttribute(null=True)
    city = UnicodeAttribute(null=True)
    region = UnicodeAttribute(null=True)  # "country province city", for search
    remark = UnicodeAttribute(null=True)
    wechat_tags = ListAttribute(of=NumberAttribute, null=True)
    subscribe_time = NumberAttribute(null=True)
    subscribe_scene = UnicodeAttribute(null=True)
    qr_scene_str = UnicodeAttribute(null=True)
    unionid = UnicodeAttribute(null=True)
    profile_sync = UnicodeAttribute(null=True)
    profile_synced_at = NumberAttribute(null=True)
    # ours only
    tags = UnicodeSetAttribute(null=True)
    updated_at = NumberAttribute(null=True)
    by_profile_sync = FollowersByProfileSync()


def item(openid: str, **attrs: Any) -> FollowerItem:
    """A record of `openid`, keyed for this account (seeds and tests build records directly)."""
    return FollowerItem(follower_key(openid), **attrs)


def _int(value: Any) -> int | None:
    return int(value) if value is not None else None


def to_dict(item: FollowerItem) -> dict[str, Any]:
    return {
        "openid": keys.natural(item.pk),
        "subscribed": bool(item.subscribed),
        "first_seen_at": _int(item.first_seen_at),
        "first_subscribed_at": _int(item.first_subscribed_at),
        "last_subscribed_at": _int(item.last_subscribed_at),
        "unsubscribed_at": _int(item.unsubscribed_at),
        "subscribe_count": int(item.subscribe_count or 0),
        "scene": item.scene,
        "first_channel": item.first_channel or None,
        "nickname": item.nickname or None,
        "language": item.language or None,
        "country": item.country or None,
        "province": item.province or None,
        "city": item.city or None,
        "region": item.region or None,
        "remark": item.remark or "",
        "tags": sorted(item.tags or ()),
        "wechat_tags": [int(t) for t in item.wechat_tags or ()],
        "subscribe_time": _int(item.subscribe_time),
        "subscribe_scene": item.subscribe_scene or None,
        "qr_scene_str": item.qr_scene_str or None,
        "unionid": item.unionid or None,
        "profile_synced": item.profile_sync == done_flag(),
        "profile_synced_at": _int(item.profile_synced_at),
        "updated_at": _int(item.updated_at),
    }


# -- the stream aggregator's update ---------------------------------------------------------------


@dataclass(slots=True)
class FollowerChange:
    """A batch's subscribes and unsubscribes of one follower, folded (chalicelib/aggregate
    builds it). Times are event times (epoch s); `state_ms` is when the last (un)subscribe was
    received (ms)."""

    first_at: int
    last_at: int
    subscribes: int = 0
    first_subscribed_at: int | None = None
    last_subscribed_at: int | None = None
    state: str | None = None  # the last of subscribe / unsubscribe in the batch
    state_ms: int = 0
    scene: str | None = None  # of the last subscribe, when `state` is subscribe
    first_channel: str | None = None  # scene of the batch's first subscribe ("" without one)


def change_update(openid: str, change: FollowerChange) -> ddb.Update:
    upd = ddb.Update()
    upd.set(updated_at=change.last_at).set_if_absent(first_seen_at=change.first_at)
    if change.first_channel is not None:  # kept from the first subscribe ever seen
        upd.set_if_absent(first_channel=change.first_channel)
    if change.subscribes:
        upd.add(subscribe_count=change.subscribes)
        upd.set_if_absent(first_subscribed_at=change.first_subscribed_at)
        upd.set(last_subscribed_at=change.last_subscribed_at)
    if change.state == "unsubscribe":
        upd.set(subscribed=False, unsubscribed_at=change.last_at, state_changed_ms=change.state_ms)
        return upd
    # re-subscribers get a fresh profile too
    upd.set(subscribed=True, state_changed_ms=change.state_ms)
    upd.set(profile_sync=pending_flag(openid))
    if change.scene:
        upd.set(scene=change.scene)
    else:
        upd.remove("scene")
    return upd


def table_name() -> str:
    return config.table_name("followers")


# -- admin reads and writes ---------------------------------------------------------------------


def _known_shape(openid: str) -> str:
    if not openid or len(openid) > MAX_OPENID_CHARS:  # could never be stored
        raise NotFound(f"follower {openid[:40]} not found")
    return openid


@guarded
def get_follower(openid: str) -> dict[str, Any]:
    try:
        return to_dict(FollowerItem.get(follower_key(_known_shape(openid))))
    except DoesNotExist:
        raise NotFound(f"follower {openid} not found") from None


@guarded
def create_if_absent(openid: str, first_seen_at: int) -> None:
    """A record for a follower known only from their timeline (they subscribed before the
    account used wxless): subscribed, profile sync pending. Changes nothing when one exists."""
    upd = ddb.Update().set_if_absent(
        subscribed=True, first_seen_at=first_seen_at, profile_sync=pending_flag(openid)
    )
    ddb.update(table_name(), ddb.key(follower_key(_known_shape(openid))), upd)


@dataclass(slots=True)
class Filters:
    tag: str | None = None  # a local tag, or a WeChat tag id
    region: str | None = None  # contained in "country province city"
    subscribed: bool | None = None
    active_since: int | None = None  # epoch s: last interaction at or after (the caller's `keep`)
    q: str | None = None  # in remark or nickname, or an openid prefix


def _filter_expression(filters: Filters) -> ddb.Condition:
    """This account's records, narrowed by the filters (applied while scanning)."""
    cond = ddb.Condition().where("begins_with({pk}, :mine)", mine=keys.prefix())
    if filters.tag:
        if filters.tag.isascii() and filters.tag.isdigit() and len(filters.tag) <= 10:
            cond.where(
                "contains({tags}, :tag) OR contains({wechat_tags}, :tagid)",
                tag=filters.tag,
                tagid=int(filters.tag),
            )
        else:
            cond.where("contains({tags}, :tag)", tag=filters.tag)
    if filters.region:
        cond.where("contains({region}, :region)", region=filters.region)
    if filters.subscribed is not None:
        cond.where("{subscribed} = :sub", sub=filters.subscribed)
    if filters.q:
        cond.where(
            "contains({remark}, :q) OR contains({nickname}, :q) OR begins_with({pk}, :oid)",
            q=filters.q,
            oid=follower_key(filters.q),
        )
    return cond


def encode_cursor(openid: str) -> str:
    return base64.urlsafe_b64encode(openid.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        openid = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidInput("cursor is not valid") from None
    if not openid or len(openid) > MAX_OPENID_CHARS:
        raise InvalidInput("cursor is not valid")
    return openid


# A search reads at most SCAN_PAGE * SCAN_PAGES records per request; fewer matches than `limit`
# plus a cursor means "keep going", not "no more".
SCAN_PAGE = 500
SCAN_PAGES = 6


Keep = Callable[[list[dict[str, Any]]], list[bool]]


@guarded
def search(
    filters: Filters, limit: int = 50, cursor: str | None = None, keep: Keep | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """A filtered Scan with a cursor, in table order (not sorted). Fine for an admin screen at a
    bank's scale (10^5..10^6 followers: a full pass is a few hundred thousand read units); a GSI
    per filter would cost a write on every message for a rarely used screen. `keep` narrows each
    page's matches further (what the record cannot say: `active_since`, read from timelines)."""
    cond = _filter_expression(filters)
    kwargs: dict[str, Any] = {"TableName": table_name(), "Limit": SCAN_PAGE}
    kwargs["FilterExpression"] = cond.condition()
    kwargs["ExpressionAttributeNames"] = cond.names
    kwargs["ExpressionAttributeValues"] = cond.values
    if cursor:
        kwargs["ExclusiveStartKey"] = ddb.key(follower_key(decode_cursor(cursor)))
    scan = client("dynamodb").scan
    found: list[dict[str, Any]] = []
    for _ in range(SCAN_PAGES):
        page = scan(**kwargs)
        items = page.get("Items", [])
        records = [to_dict(FollowerItem.from_raw_data(raw)) for raw in items]
        kept = keep(records) if keep is not None and records else [True] * len(records)
        for index, raw in enumerate(items):
            if not kept[index]:
                continue
            found.append(records[index])
            if len(found) == limit:
                more = index < len(items) - 1 or "LastEvaluatedKey" in page
                return found, _cursor_of(raw) if more else None
        last = page.get("LastEvaluatedKey")
        if not last:
            return found, None
        kwargs["ExclusiveStartKey"] = last
    return found, _cursor_of(kwargs["ExclusiveStartKey"])


def _cursor_of(raw_key: dict[str, Any]) -> str:
    return encode_cursor(keys.natural(raw_key["pk"]["S"]))


@guarded
def get_many(openids: list[str]) -> dict[str, dict[str, Any]]:
    """Records of these followers (BatchGetItem), by openid; unknown ones are left out."""
    found: dict[str, dict[str, Any]] = {}
    wanted = [follower_key(o) for o in openids if o and len(o) <= MAX_OPENID_CHARS]
    for item in FollowerItem.batch_get(wanted):
        record = to_dict(item)
        found[record["openid"]] = record
    return found


def check_local_fields(body: dict[str, Any]) -> dict[str, Any]:
    """Validate a PUT body: `remark` (str, < 30 chars) and/or `tags` (local tags)."""
    unknown = set(body) - {"remark", "tags"}
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}; use remark and tags")
    if not body:
        raise InvalidInput("give remark and/or tags")
    fields: dict[str, Any] = {}
    if "remark" in body:
        remark = body["remark"]
        if not isinstance(remark, str) or len(remark) > MAX_REMARK_CHARS:
            raise InvalidInput(f"remark must be a string of at most {MAX_REMARK_CHARS} characters")
        fields["remark"] = remark
    if "tags" in body:
        tags = body["tags"]
        if not isinstance(tags, list) or len(tags) > MAX_LOCAL_TAGS:
            raise InvalidInput(f"tags must be a list of at most {MAX_LOCAL_TAGS} strings")
        clean = []
        for tag in tags:
            if not isinstance(tag, str) or not tag.strip() or len(tag.strip()) > MAX_TAG_CHARS:
                raise InvalidInput(
                    f"each tag must be a non-empty string of at most {MAX_TAG_CHARS}"
                )
            clean.append(tag.strip())
        fields["tags"] = sorted(set(clean))
    return fields


@guarded
def update_local(openid: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Set remark and/or local tags of a known follower."""
    item = FollowerItem(follower_key(_known_shape(openid)))
    actions = [FollowerItem.updated_at.set(int(time.time()))]
    if "remark" in fields:
        actions.append(FollowerItem.remark.set(fields["remark"]))
    if "tags" in fields:
        tags = fields["tags"]
        actions.append(FollowerItem.tags.set(set(tags)) if tags else FollowerItem.tags.remove())
    try:
        item.update(actions=actions, condition=FollowerItem.pk.exists())
    except UpdateError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"follower {openid} not found") from None
        raise
    return to_dict(item)
