"""The last custom menu published through the admin API (kept in the config table).

WeChat's menu/get answers only what the API set and says nothing about when; keeping our own copy
lets the admin see what was published and when, even while WeChat is down. One item,
`<account>#menu#current`.
"""

from __future__ import annotations

import time
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.store import keys
from chalicelib.store.guard import guarded
from chalicelib.store.models import ConfigItem


def _key() -> str:
    return keys.scoped("menu", "current")


@guarded
def get_menu() -> dict[str, Any] | None:
    try:
        return ConfigItem.get(_key(), consistent_read=True).value
    except DoesNotExist:
        return None


@guarded
def put_menu(menu: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    record = {"menu": menu, "published_at": int(now if now is not None else time.time())}
    ConfigItem(_key(), value=record, updated_at=record["published_at"]).save()
    return record


@guarded
def delete_menu() -> None:
    ConfigItem(_key()).delete()
