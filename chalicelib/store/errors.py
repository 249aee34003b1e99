"""Store-level exceptions that handlers map to HTTP answers."""

from __future__ import annotations


class NotFound(LookupError):
    pass


class Conflict(Exception):
    pass


class StoreUnavailable(Exception):
    """AWS did not answer in time or refused (throttling, 5xx, network): retry later."""
