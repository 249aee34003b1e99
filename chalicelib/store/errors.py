"""Store-level exceptions: the app-wide error types (chalicelib.errors) as the store raises them."""

from __future__ import annotations

from chalicelib.errors import Conflict, NotFound, Unavailable

__all__ = ["Conflict", "NotFound", "StoreUnavailable"]


class StoreUnavailable(Unavailable):
    """AWS did not answer in time or refused (throttling, 5xx, network): retry later."""
