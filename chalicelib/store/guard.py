"""Turn PynamoDB/botocore failures into store errors the handlers understand."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PutError, PynamoDBException

from chalicelib.store.ddb import condition_failed
from chalicelib.store.errors import StoreUnavailable

F = TypeVar("F", bound=Callable[..., Any])


def is_condition_failure(exc: BaseException) -> bool:
    """A PynamoDB or botocore write failed its own condition (store.ddb decodes it)."""
    return condition_failed(exc)


def guarded(func: F) -> F:
    """Map every AWS failure to StoreUnavailable (a 503 the client retries). Anything else goes
    through untouched: the app's own errors carry their status, and any other exception is a
    bug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (PynamoDBException, BotoCoreError, ClientError) as exc:
            raise StoreUnavailable(f"storage error: {type(exc).__name__}") from exc

    return wrapper  # type: ignore[return-value]


def save_new(item: Any) -> None:
    """Put an item under a fresh random id, conditional on the id being free.

    Nobody else can know a fresh uuid, so a condition failure means this very put already
    landed: botocore re-sent it after its answer was lost on the way back. That is success; a
    503 would have the admin retry and create a second item."""
    key = type(item)._hash_key_attribute()
    try:
        item.save(condition=key.does_not_exist())
    except PutError as exc:
        if not is_condition_failure(exc):
            raise
