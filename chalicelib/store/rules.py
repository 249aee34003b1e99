"""Keyword rules and special replies (subscribe, default), with the version item the callback's
rule cache watches. Every change writes the data first and bumps the version last, so a reader
that sees the new version always loads the new data."""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.store.errors import NotFound
from chalicelib.store.guard import guarded, is_condition_failure, save_new
from chalicelib.store.models import ConfigItem, RuleItem

log = logging.getLogger("wxless.store")
VERSION_KEY = "rules#version"
SEQ_KEY = "rules#seq"
SPECIAL_KINDS = ("subscribe", "default")


def _counter_add(key: str) -> int:
    item = ConfigItem(key)
    item.update(actions=[ConfigItem.version.add(1), ConfigItem.updated_at.set(int(time.time()))])
    return int(item.version)


def bump_version() -> int | None:
    """Tell every container's cache to reload. Best-effort: it runs after the data write has
    succeeded, and failing the admin's request then would invite a retry that writes twice.
    A lost bump is healed by the cache's max_age reload (engine.cache)."""
    try:
        return _counter_add(VERSION_KEY)
    except Exception:
        log.warning(
            "rules.bump_version_failed: caches catch up within their max age", exc_info=True
        )
        return None


def fast_version(key: str) -> tuple[int, int]:
    """(version, updated_at) of a config counter, read on the callback's fail-fast client (one
    attempt, 0.3 s connect, 0.8 s read). The callback's caches read a counter every few seconds:
    with PynamoDB's admin client (3 attempts of 5 s) a hung DynamoDB would hold that follower's
    answer past WeChat's 5 s. A failure here only means the cache serves its last snapshot."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib import config
    from chalicelib.store.aws import client
    from chalicelib.store.errors import StoreUnavailable

    try:
        found = client("dynamodb", "fast").get_item(
            TableName=config.table_name("config"),
            Key={"pk": {"S": key}},
            ProjectionExpression="#v, updated_at",
            ExpressionAttributeNames={"#v": "version"},
        )
    except (BotoCoreError, ClientError) as exc:
        raise StoreUnavailable(f"version read failed: {type(exc).__name__}") from exc
    item = found.get("Item") or {}
    version = item.get("version", {}).get("N", "0")
    updated_at = item.get("updated_at", {}).get("N", "0")
    return int(float(version)), int(float(updated_at))


def read_version() -> int:
    return fast_version(VERSION_KEY)[0]


@guarded
def list_rules() -> list[dict[str, Any]]:
    rules = [item.to_dict() for item in RuleItem.scan()]
    rules.sort(key=lambda r: r["seq"])
    return rules


@guarded
def get_rule(rule_id: str) -> dict[str, Any]:
    try:
        return RuleItem.get(rule_id).to_dict()
    except DoesNotExist:
        raise NotFound(f"rule {rule_id} not found") from None


@guarded
def create_rule(fields: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    item = RuleItem(
        uuid.uuid4().hex,
        seq=_counter_add(SEQ_KEY),
        created_at=now,
        updated_at=now,
        **fields,
    )
    save_new(item)
    bump_version()
    return item.to_dict()


@guarded
def replace_rule(rule_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    current = get_rule(rule_id)
    item = RuleItem(
        rule_id,
        seq=current["seq"],
        created_at=current["created_at"],
        updated_at=int(time.time()),
        **fields,
    )
    try:
        item.save(condition=RuleItem.id.exists())
    except PutError as exc:
        if is_condition_failure(exc):  # deleted meanwhile
            raise NotFound(f"rule {rule_id} not found") from None
        raise
    bump_version()
    return item.to_dict()


@guarded
def delete_rule(rule_id: str) -> None:
    from pynamodb.exceptions import DeleteError

    try:
        RuleItem(rule_id).delete(condition=RuleItem.id.exists())
    except DeleteError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"rule {rule_id} not found") from None
        raise
    bump_version()


@guarded
def get_special(kind: str) -> dict[str, Any] | None:
    try:
        return ConfigItem.get(f"reply#{kind}").value
    except DoesNotExist:
        return None


@guarded
def put_special(kind: str, reply: dict[str, Any] | None) -> None:
    if reply is None:
        ConfigItem(f"reply#{kind}").delete()
    else:
        ConfigItem(f"reply#{kind}", value=reply, updated_at=int(time.time())).save()
    bump_version()


@guarded
def load_snapshot() -> tuple[int, list[dict[str, Any]], dict[str, dict[str, Any] | None]]:
    """Version first, then data: a change landing meanwhile shows as a newer version next check."""
    version = read_version()
    specials = {kind: get_special(kind) for kind in SPECIAL_KINDS}
    return version, list_rules(), specials
