"""The answers Chalice makes itself, in the project's `{"error": "..."}` shape.

Chalice answers some requests before any view of ours runs, or around it, with its own body
`{"Code": ..., "Message": ...}`: a method the path lacks (405, with `Allow`), a Content-Type a
route does not list (415), a binary answer the request's `Accept` does not take (400), a view's
`ChaliceViewError` (e.g. `BadRequestError` from `current_request.json_body`), a bug outside the
admin gate (500, its traceback already logged), and an event without a known route (500
"Unknown request."). This HTTP middleware, registered once in app.py, turns each into the
project's shape with the same status and headers; a route the app does not have is `404`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.handlers.responses import INTERNAL_ERROR, NOT_FOUND, SEND_JSON, error

log = logging.getLogger("wxless.http")
#: Chalice's own error body has exactly these keys (chalice.app.error_response and the
#: ChaliceViewError answer); our answers never do.
_CHALICE_KEYS = frozenset({"Code", "Message"})


def register(app: Any) -> None:
    """Register the middleware on `app` (every HTTP request, the callback's included)."""

    def project_errors(request: Any, get_response: Callable[[Any], Response]) -> Response:
        route = (getattr(request, "context", None) or {}).get("resourcePath")
        if route not in app.routes:  # no request (no resourcePath) or a route we lack
            return error(404, NOT_FOUND)
        try:
            response = get_response(request)
        except Exception:  # what Chalice's own handler would answer with its 500 body
            log.exception("http.internal_error %s %s", getattr(request, "method", "?"), route)
            return error(500, INTERNAL_ERROR)
        body = response.body
        if isinstance(body, dict) and body.keys() == _CHALICE_KEYS:
            return reshaped(response, request)
        return response

    app.register_middleware(project_errors, "http")


def reshaped(response: Response, request: Any) -> Response:
    """Chalice's `{"Code", "Message"}` answer as ours: same status, its headers kept."""
    code, message = str(response.body["Code"]), str(response.body["Message"])
    status = response.status_code
    if status == 405:
        allowed = response.headers.get("Allow", "")
        text = f"method {request.method} is not allowed on this path (allowed: {allowed})"
    elif status == 415:
        content_type = (request.headers or {}).get("content-type", "")
        text = f"unsupported Content-Type {content_type!r}: {SEND_JSON}"
    elif status >= 500:
        text = INTERNAL_ERROR  # Chalice logged the traceback; the caller gets no detail
    elif code == "BadRequestError" and message == "Error Parsing JSON":
        text = "body is not valid JSON"
    else:
        text = message[:1].lower() + message[1:]
    answer = error(status, text)
    for name, value in response.headers.items():
        if name.lower() != "content-type":
            answer.headers[name] = value
    return answer
