"""Shared plumbing for the admin Blueprints: the route decorator (the gate: credential,
permission, audit; handlers.gate), JSON in, every failure to its answer
(chalicelib.handlers.responses)."""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.errors import AppError, InvalidInput, UnsupportedMediaType
from chalicelib.handlers import gate
from chalicelib.handlers.cors import CROSS_ORIGIN_REFUSED, check_origin, cors_headers
from chalicelib.handlers.gate import Declaration
from chalicelib.handlers.responses import (
    SEND_JSON,
    app_error,
    error,
    internal_error,
    json_response,
    store_unavailable,
)
from chalicelib.store.errors import StoreUnavailable

log = logging.getLogger("wxless.admin")

#: The writes that may carry an `Idempotency-Key` (handlers.idempotency).
IDEMPOTENT_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Deepest nesting of arrays and objects a body may have: what the admin API takes nests a few
#: levels, and code that walks a body recursively must never meet a thousand.
MAX_JSON_DEPTH = 64


def read_json(request: Any) -> Any:
    raw = request.raw_body or b""
    if not raw.strip():
        raise InvalidInput("request body must be a JSON document")
    too_deep = f"body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels"
    try:
        body = json.loads(raw)
    except RecursionError:  # the parser's own limit (~1,000 levels)
        raise InvalidInput(too_deep) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"body is not valid JSON: {exc}") from None
    if _deeper_than(body, MAX_JSON_DEPTH):
        raise InvalidInput(too_deep)
    # JSON may spell half of a UTF-16 pair ("\\ud800"): no character, nothing can store it.
    if _SURROGATE_ESCAPE.search(raw) and not _encodable(body):
        raise InvalidInput("body is not valid JSON: a \\u escape spells an unpaired surrogate")
    return body


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _encodable(body: Any) -> bool:
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels (level by level, no recursion)."""
    level = [value] if isinstance(value, dict | list) else []
    depth = len(level)
    while level:
        if depth > limit:
            return True
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        depth += 1
    return False


def declares_json(request: Any) -> bool:
    """A write's body must be declared JSON: `curl -d` sends form encoding, and a body read as
    JSON under another type would be a guess. No body, or no Content-Type (read as JSON, as
    Chalice does), passes."""
    if request.method not in IDEMPOTENT_METHODS or not (request.raw_body or b"").strip():
        return True
    content_type = (request.headers or {}).get("content-type", "application/json")
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


def read_object(request: Any) -> dict[str, Any]:
    body = read_json(request)
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    return body


def admin_route(bp: Any) -> Callable[..., Any]:
    """The decorator of a Blueprint's admin views, called with the route's permission:

        admin = admin_route(bp)

        @bp.route("/admin/rules/{rule_id}", methods=["PUT"])
        @admin("rules:write", before=_rule)   # before: the object as it was, for the audit
        def update_rule(rule_id): ...

    The view then runs behind the gate (handlers.gate: network guard, credential, permission,
    audit of writes); an `AppError` answers its status, any other exception is a bug: a logged
    500. Bare `@admin` (no permission) still works but declares nothing: only the owner and
    admins pass, and the permission matrix test fails until the route declares one."""

    def declare(permission: Any = None, *, before: Callable[..., Any] | None = None) -> Any:
        if callable(permission):  # bare @admin
            return _decorate(bp, permission, Declaration(None))
        return lambda view: _decorate(bp, view, Declaration(permission, before))

    return declare


def _decorate(bp: Any, view: Callable[..., Any], declared: Declaration) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        allowed, cors_origin = check_origin(bp.current_request)
        if not allowed:
            return error(403, CROSS_ORIGIN_REFUSED)
        # The throttle, the audit and the idempotency store may fail too: the same answers.
        request = bp.current_request
        response = answered(
            request,
            lambda: gate.admit(request, declared, kwargs, lambda: answer(*args, **kwargs)),
        )
        if cors_origin:
            response.headers.update(cors_headers(cors_origin))
        return response

    def answer(*args: Any, **kwargs: Any) -> Response:
        request = bp.current_request
        if not declares_json(request):  # before the idempotency key can keep the answer
            return app_error(UnsupportedMediaType(SEND_JSON))
        key = (request.headers or {}).get("idempotency-key")
        if key is None or request.method not in IDEMPOTENT_METHODS:
            return answered(request, lambda: view(*args, **kwargs))
        from chalicelib.handlers import idempotency  # only requests with the header

        return idempotency.once(
            request, key, lambda: answered(request, lambda: view(*args, **kwargs))
        )

    wrapper.permission = declared.permission  # type: ignore[attr-defined]
    return wrapper


def answered(request: Any, call: Callable[[], Any]) -> Response:
    """`call()` as a Response: its result as JSON, an `AppError` as its answer, a bug as 500."""
    try:
        result = call()
        return result if isinstance(result, Response) else json_response(result)
    except StoreUnavailable as exc:
        return store_unavailable(exc)
    except AppError as exc:
        return app_error(exc)
    except Exception:
        return internal_error(request)


def query_limit(request: Any, default: int, most: int) -> int:
    """`?limit=`: a page size. Above `most` it is `most` (a client asking for "everything" gets
    the largest page, and the cursor for the rest), not a 400; below 1 or not an integer: 400."""
    return min(query_int(request, "limit", default, 1, 2**31), most)


def query_int(request: Any, name: str, default: int, lo: int, hi: int) -> int:
    raw = (request.query_params or {}).get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be an integer") from None
    if not lo <= value <= hi:
        raise InvalidInput(f"{name} must be between {lo} and {hi}")
    return value
