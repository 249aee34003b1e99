"""Errors that carry their HTTP answer.

Every layer raises these (or lets an unexpected exception escape); only the HTTP handlers turn
them into responses, using `status`. Anything that is not an `AppError` is a bug: the handler
logs its traceback and answers 500, never a polite 400. `InvalidInput` is also a `ValueError`,
so pure code that already catches `ValueError` around a parse keeps working.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An expected failure with a known answer. `extra` goes into the JSON body next to
    `error` (e.g. `remaining`); a `retryable` type adds `"retryable": true` and a known
    `retry_after` (seconds) adds `retry_after` and the `Retry-After` header."""

    status = 500
    retryable = False
    retry_after: int | None = None

    def __init__(self, message: str = "", *, retry_after: int | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.extra = extra
        if retry_after is not None:
            self.retry_after = retry_after

    @property
    def message(self) -> str:
        """What the caller reads in `error`."""
        return str(self) or type(self).__name__

    def log_line(self) -> str | None:
        """What the operator's log says when this error answers a request (None: nothing).
        Only what is safe to log: never a follower's words, an openid or a secret."""
        return None


class InvalidInput(AppError, ValueError):
    """The caller sent something we cannot accept: fix the request."""

    status = 400


class Unauthorized(AppError):
    status = 401


#: The one answer to any bad credential, whatever was wrong with it (nothing to probe).
INVALID_CREDENTIALS = "missing or invalid credentials"


class Forbidden(AppError):
    status = 403


class NotFound(AppError, LookupError):
    status = 404


class Conflict(AppError):
    """The request is valid but clashes with the current state (a duplicate, a lost race)."""

    status = 409


class PayloadTooLarge(AppError):
    status = 413


class UnsupportedMediaType(AppError):
    status = 415


class Unprocessable(AppError):
    """Well-formed, understood, but refused (e.g. an idempotency key reused for another body)."""

    status = 422


class TooManyRequests(AppError):
    status = 429
    retryable = True


class Unavailable(AppError):
    """A dependency (DynamoDB, S3, WeChat) did not answer or refused: retry later."""

    status = 503
    retryable = True
