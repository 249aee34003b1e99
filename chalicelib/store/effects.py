"""Side effects that must happen exactly once per inbound message (follower records, counters,
campaign totals, ...), written in the same DynamoDB transaction as the inbox item.

A provider is `fn(message, decision, now) -> list[TransactWriteItem]`. Providers live next to the
table they write; their modules are listed in PROVIDER_MODULES and imported on first use, so the
callback needs no knowledge of them. A provider that raises is logged and skipped: a broken counter
must never cost a follower their reply.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger("wxless.effects")

Provider = Callable[[Any, Any, float], list[dict[str, Any]]]

# Modules that call `register(...)` at import time.
PROVIDER_MODULES: tuple[str, ...] = (
    "chalicelib.store.followers",
    "chalicelib.store.analytics",
    "chalicelib.store.campaign_results",  # MASSSENDJOBFINISH / TEMPLATESENDJOBFINISH
)

_providers: list[Provider] = []
_loaded = False


def register(provider: Provider) -> Provider:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def _load() -> None:
    global _loaded
    if not _loaded:
        for name in PROVIDER_MODULES:
            importlib.import_module(name)
        _loaded = True


def collect(message: Any, decision: Any, now: float) -> list[dict[str, Any]]:
    _load()
    writes: list[dict[str, Any]] = []
    for provider in _providers:
        try:
            writes.extend(provider(message, decision, now))
        except Exception:
            log.exception("effects.provider_failed: %s", getattr(provider, "__name__", provider))
    return writes
