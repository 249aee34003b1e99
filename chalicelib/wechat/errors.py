"""Errors raised by the WeChat protocol core.

Each error maps to exactly one HTTP status (`status`, as every `chalicelib.errors.AppError`) so
the callback handler can translate any failure of this package with a single
``except WeChatError as e: status = e.status``. Messages are short and never echo
attacker-controlled input (they end up in logs and response bodies).
"""

from __future__ import annotations

from chalicelib.errors import AppError


class WeChatError(AppError):
    """Base class: a request WeChat (or someone pretending to be WeChat) got wrong."""

    status: int = 400
    default_message: str = "invalid WeChat request"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)


class SignatureError(WeChatError):
    """Missing, wrong or stale signature / timestamp: HTTP 403."""

    status = 403
    default_message = "invalid signature"


class InvalidMessageError(WeChatError):
    """Malformed XML, forbidden DTD, missing fields, undecryptable payload: HTTP 400."""

    status = 400
    default_message = "invalid message"


class PayloadTooLarge(WeChatError):
    """Body over the size cap: HTTP 413."""

    status = 413
    default_message = "payload too large"
