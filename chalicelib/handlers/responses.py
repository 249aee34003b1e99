"""JSON answers of the admin API, and how an error becomes one.

An `AppError` answers its own `status` with `{"error": message, **extra}`, plus
`"retryable": true` when its type says so and `retry_after` (and `Retry-After`) when known.
Anything else is a bug: its traceback is logged and the caller gets a bare 500.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from chalice import Response

from chalicelib.errors import AppError

log = logging.getLogger("wxless.admin")
JSON_TYPE = "application/json; charset=utf-8"
#: Seconds a client should wait after a 503 from storage (botocore already retried with backoff;
#: throttling and brief outages clear within seconds).
STORE_RETRY_AFTER = 2
INTERNAL_ERROR = "internal error"
NOT_FOUND = "not found"
#: What a write whose body is not declared JSON is told (415).
SEND_JSON = "send JSON with Content-Type: application/json"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    all_headers = {"Content-Type": JSON_TYPE, "Cache-Control": "no-store"}
    all_headers.update(headers or {})
    text = "" if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return Response(text, status_code=status, headers=all_headers)


def error(status: int, message: str, **extra: Any) -> Response:
    return _error_body(status, {"error": message, **extra})


def _error_body(status: int, body: dict[str, Any]) -> Response:
    headers = {"Retry-After": str(body["retry_after"])} if "retry_after" in body else None
    return json_response(body, status, headers)


def app_error(exc: AppError) -> Response:
    """The answer an expected failure carries."""
    line = exc.log_line()
    if line:
        log.warning("admin.%s", line)
    elif exc.status >= 500:
        log.warning("admin.%s status=%d: %s", type(exc).__name__, exc.status, exc)
    body = {"error": exc.message, **exc.extra}
    if exc.retryable:
        body.setdefault("retryable", True)
    if exc.retry_after is not None:
        body.setdefault("retry_after", exc.retry_after)
    return _error_body(exc.status, body)


def store_unavailable(exc: BaseException) -> Response:
    # The store's message names the failed call: the log keeps it, the caller gets advice.
    log.warning("admin.store_unavailable: %s", exc)
    return error(
        503, "storage is unavailable, retry later", retryable=True, retry_after=STORE_RETRY_AFTER
    )


def internal_error(request: Any) -> Response:
    """A bug: the traceback goes to the log (call inside `except`), the caller gets no detail.
    The route's template (`/admin/followers/{openid}`) is logged, not the path: no openid."""
    context = getattr(request, "context", None) or {}
    route = context.get("resourcePath") or "?"
    log.exception("admin.internal_error %s %s", getattr(request, "method", "?"), route)
    return error(500, INTERNAL_ERROR)
