"""Keyword rules and special replies (subscribe, default), with the version item the callback's
rule cache watches. Every change writes the data first and bumps the version last, so a reader
that sees the new version always loads the new data.

Keys (see RuleItem): a rule is `pk` = the account, `sk` = `rule#<id>` in the rules table; in
the config table, `<account>#rules#version`, `<account>#rules#seq` and `<account>#reply#<kind>`.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from chalicelib.store import keys, versions
from chalicelib.store.errors import NotFound
from chalicelib.store.guard import guarded, is_condition_failure, save_new
from chalicelib.store.models import RULE_SK, ConfigItem, RuleItem

SPECIAL_KINDS = ("subscribe", "default")

#: (version, updated_at) of a config counter on the callback's fail-fast client. Kept for the
#: modules that still import it from here (store.articles); new code calls store.versions.
fast_version = versions.read_fast


def version_key() -> str:
    """The item every rule, special reply and flow change bumps: `<account>#rules#version`."""
    return versions.key("rules")


def _seq_key() -> str:
    return keys.scoped("rules", "seq")


def _special_key(kind: str) -> str:
    return keys.scoped("reply", kind)


def bump_version() -> int | None:
    """Tell every container's rule cache to reload (best-effort, see versions.bump)."""
    return versions.bump(version_key())


def read_version() -> int:
    return versions.read_fast(version_key())[0]


@guarded
def list_rules() -> list[dict[str, Any]]:
    """The account's rules in creation order: one Query of its partition."""
    found = RuleItem.query(RuleItem.partition(), RuleItem.sk.startswith(RULE_SK))
    rules = [item.to_dict() for item in found]
    rules.sort(key=lambda r: r["seq"])
    return rules


@guarded
def get_rule(rule_id: str) -> dict[str, Any]:
    try:
        return RuleItem.get(RuleItem.partition(), RULE_SK + rule_id).to_dict()
    except DoesNotExist:
        raise NotFound(f"rule {rule_id} not found") from None


@guarded
def create_rule(fields: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    item = RuleItem.of(
        uuid.uuid4().hex,
        seq=versions.add(_seq_key()),
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
    item = RuleItem.of(
        rule_id,
        seq=current["seq"],
        created_at=current["created_at"],
        updated_at=int(time.time()),
        **fields,
    )
    try:
        item.save(condition=RuleItem.sk.exists())
    except PutError as exc:
        if is_condition_failure(exc):  # deleted meanwhile
            raise NotFound(f"rule {rule_id} not found") from None
        raise
    bump_version()
    return item.to_dict()


@guarded
def delete_rule(rule_id: str) -> None:
    try:
        RuleItem.of(rule_id).delete(condition=RuleItem.sk.exists())
    except DeleteError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"rule {rule_id} not found") from None
        raise
    bump_version()


@guarded
def get_special(kind: str) -> dict[str, Any] | None:
    try:
        return ConfigItem.get(_special_key(kind)).value
    except DoesNotExist:
        return None


@guarded
def put_special(kind: str, reply: dict[str, Any] | None) -> None:
    if reply is None:
        ConfigItem(_special_key(kind)).delete()
    else:
        ConfigItem(_special_key(kind), value=reply, updated_at=int(time.time())).save()
    bump_version()


@guarded
def load_snapshot() -> tuple[int, list[dict[str, Any]], dict[str, dict[str, Any] | None]]:
    """Version first, then data: a change landing meanwhile shows as a newer version next check."""
    version = read_version()
    specials = {kind: get_special(kind) for kind in SPECIAL_KINDS}
    return version, list_rules(), specials
