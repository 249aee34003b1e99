"""Make the embedded AWS emulator (moto) safe for concurrent DynamoDB transactions.

moto's `transact_write_items` snapshots every table it touches (a deep copy) and, when any part
of the transaction is cancelled, puts the snapshots back. With several requests in flight (the
local stack serves them on threads) that rollback wipes out writes other requests made in the
meantime, and the deep copy itself can fail with "dictionary changed size during iteration"
(a 500). Real DynamoDB does neither. Every callback message is a transaction (the inbox put plus
effect writes), and a WeChat retry is a cancelled one, so under load the emulator would lose
messages that DynamoDB keeps.

`apply()` serializes moto's DynamoDB writes behind one re-entrant lock: a transaction's snapshot,
writes and rollback then happen with no other write in between. Emulator only; idempotent.

The same wrapper counts the writes (`writes()`), and `write_lock()` lets the local runner's saver
(infra/local_state.py) read every table with no write in between: one consistent snapshot.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_LOCK = threading.RLock()
# Every item write of moto's DynamoDB goes through one of these (BatchWriteItem too).
_WRITES = ("transact_write_items", "put_item", "update_item", "delete_item")
_applied = False
_writes = 0


def _locked(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        global _writes
        with _LOCK:
            try:
                return method(self, *args, **kwargs)
            finally:
                _writes += 1  # a refused write counts too: at worst one save too many

    return wrapper


def writes() -> int:
    """DynamoDB item writes (attempted) since the start; changes whenever data may have."""
    return _writes


def write_lock() -> threading.RLock:
    """Held, no DynamoDB write lands (only after `apply()`)."""
    return _LOCK


def apply() -> None:
    global _applied
    with _LOCK:
        if _applied:
            return
        from moto.dynamodb.models import DynamoDBBackend

        for name in _WRITES:
            setattr(DynamoDBBackend, name, _locked(getattr(DynamoDBBackend, name)))
        _applied = True
