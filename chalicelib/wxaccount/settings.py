"""Account settings that WeChat's API cannot tell us, declared by an admin.

- `mass_send_protection` (「API群发保护」, in WeChat's console under 安全中心 / 风险操作保护):
  when on, WeChat holds every mass send to all followers until an administrator confirms it in
  WeChat (30 minutes at most, then it fails). A campaign to all then says "waiting for
  confirmation in WeChat" once sent, and shows WeChat's outcome when it comes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from chalicelib.errors import InvalidInput
from chalicelib.store import wxaccount as store

DEFAULTS: dict[str, Any] = {"mass_send_protection": False}


def get() -> dict[str, Any]:
    return {**DEFAULTS, **store.get_settings()}


def mass_send_protection() -> bool:
    return bool(get()["mass_send_protection"])


def put(body: Mapping[str, Any]) -> dict[str, Any]:
    """Change the settings named in `body` (the others stay)."""
    unknown = sorted(set(body) - set(DEFAULTS))
    if unknown:
        raise InvalidInput(
            f"unknown setting(s): {', '.join(unknown)}; known: {', '.join(sorted(DEFAULTS))}"
        )
    if not body:
        raise InvalidInput(f"name at least one setting: {', '.join(sorted(DEFAULTS))}")
    for key, value in body.items():
        if not isinstance(value, bool):
            raise InvalidInput(f"{key}: true or false", field=key)
    now = time.time()
    current = get()
    current.update(body)
    current["updated_at"] = int(now)
    return store.put_settings(current, now)
