"""PynamoDB models for every table, with table names resolved at call time.

Table names come from `WXLESS_TABLE_PREFIX` (see config). PynamoDB reads `Meta.table_name` on
every call and rebuilds its connection when the name changes, so making `table_name` a property of
the Meta class lets one process (tests, the local runner) switch stores without re-importing.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BinaryAttribute,
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.models import Model

from chalicelib import config
from chalicelib.store import keys

MODELS: list[type[Model]] = []

# Modules that define more models (one per concern, e.g. "chalicelib.store.followers"); each
# decorates its models with @register. all_models() imports them so every table gets created,
# deployed (infra/) and covered by the IAM policy.
MODEL_MODULES: tuple[str, ...] = (
    "chalicelib.store.messages",
    "chalicelib.store.articles",
    "chalicelib.store.media",
    "chalicelib.store.flows",
    "chalicelib.store.points",
    "chalicelib.store.followers",
    "chalicelib.store.analytics",
    "chalicelib.store.campaigns",
    "chalicelib.store.campaign_items",
    "chalicelib.store.faq",
    "chalicelib.store.team",
    "chalicelib.store.audit",
    "chalicelib.store.outbound",
    "chalicelib.store.qrcodes",
    "chalicelib.store.desk",
)


def all_models() -> list[type[Model]]:
    import importlib

    for name in MODEL_MODULES:
        importlib.import_module(name)
    return list(MODELS)


class _TableMeta(type):
    @property
    def table_name(cls) -> str:
        return config.table_name(cls.suffix)


def table(suffix: str) -> type:
    """A Meta class for a table named `<prefix>-<suffix>`."""

    class Meta(metaclass=_TableMeta):
        # Admin and job traffic: botocore's standard retries; the callback's hot write does not
        # go through PynamoDB (store.messages uses a fail-fast client).
        connect_timeout_seconds = 2
        read_timeout_seconds = 5
        max_retry_attempts = 2
        billing_mode = "PAY_PER_REQUEST"

    Meta.suffix = suffix  # type: ignore[attr-defined]
    return Meta


def register(cls: type[Model]) -> type[Model]:
    MODELS.append(cls)
    return cls


#: Models that read and write another model's table (store.tokens' TokenItem, over the config
#: table): neither created nor deployed on their own; their connections are reset with the rest.
VIEWS: list[type[Model]] = []


def view(cls: type[Model]) -> type[Model]:
    VIEWS.append(cls)
    return cls


@register
class ConfigItem(Model):
    """Small items, each under its own account-scoped key (`<account>#<what>#...`, built with
    store.keys): version counters (store.versions), the rules' sequence counter, special
    replies, the menu, the points' settings, tokens (store.tokens), the admin API's idempotency
    keys (store.idempotency) and auth-failure counters (store.throttle)."""

    Meta = table("config")
    pk = UnicodeAttribute(hash_key=True)
    version = NumberAttribute(null=True)
    value = JSONAttribute(null=True)
    updated_at = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)  # for short-lived items (auth failure counters)
    blob = BinaryAttribute(null=True, legacy_encoding=False)  # a replayable response's body


#: The sort key of a rule: `rule#<id>` (ids are the API's; they never show the key).
RULE_SK = "rule#"


@register
class RuleItem(Model):
    """One keyword rule, in its account's partition: `pk` = the account id, `sk` = `rule#<id>`.

    One partition per account serves the callback's cache with one Query (no Scan of other
    accounts' rules). It does not get hot: rules are few (hundreds), small and rarely written,
    and a container reads them only when it reloads its cache (after a change, or once per
    max_age), far below one partition's 3,000 reads a second."""

    Meta = table("rules")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    match = UnicodeAttribute()
    keywords = ListAttribute(of=UnicodeAttribute)
    reply = JSONAttribute()
    priority = NumberAttribute(default=0)
    enabled = BooleanAttribute(default=True)
    seq = NumberAttribute()
    created_at = NumberAttribute()
    updated_at = NumberAttribute()

    @staticmethod
    def partition() -> str:
        """The hash key of this account's rules."""
        return keys.scoped()

    @classmethod
    def of(cls, rule_id: str, **fields: Any) -> RuleItem:
        return cls(cls.partition(), RULE_SK + rule_id, **fields)

    @property
    def rule_id(self) -> str:
        return self.sk.removeprefix(RULE_SK)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.rule_id,
            "name": self.name,
            "match": self.match,
            "keywords": list(self.keywords),
            "reply": self.reply,
            "priority": int(self.priority),
            "enabled": bool(self.enabled),
            "seq": int(self.seq),
            "created_at": int(self.created_at),
            "updated_at": int(self.updated_at),
        }
