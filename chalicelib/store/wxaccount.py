"""What we keep of the account's side at WeChat, in the config table (one item each):

- `<account>#wechat#templates`: the last sync of the account's template-message templates
  (`{"items": [...], "synced_at": ...}`; at most 25 templates, a few KB);
- `<account>#settings#wechat`: what WeChat's API cannot tell us about the account, declared by
  an admin (e.g. 「API群发保护」, API mass-send protection).
"""

from __future__ import annotations

import time
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.store import keys
from chalicelib.store.guard import guarded
from chalicelib.store.models import ConfigItem


def _templates_key() -> str:
    return keys.scoped("wechat", "templates")


def _settings_key() -> str:
    return keys.scoped("settings", "wechat")


def _value(key: str) -> dict[str, Any] | None:
    try:
        return ConfigItem.get(key, consistent_read=True).value
    except DoesNotExist:
        return None


@guarded
def get_templates() -> dict[str, Any] | None:
    """{"items": [template views], "synced_at": epoch seconds}, or None before the first sync."""
    return _value(_templates_key())


@guarded
def put_templates(items: list[dict[str, Any]], now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    record = {"items": items, "synced_at": int(now)}
    ConfigItem(_templates_key(), value=record, updated_at=int(now)).save()
    return record


@guarded
def get_settings() -> dict[str, Any]:
    return dict(_value(_settings_key()) or {})


@guarded
def put_settings(settings: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    ConfigItem(_settings_key(), value=settings, updated_at=int(now)).save()
    return settings
