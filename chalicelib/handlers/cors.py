"""Cross-origin use of the admin API: which origins may call it, and the CORS preflight.

Apart from handlers/common.py (the admin gate) so that `app.py` can answer preflight on every
admin route without importing the gate, the credentials and the store behind it: those load
with the first admin request, not with the callback's cold start.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from chalice import Response

from chalicelib import config
from chalicelib.handlers.responses import error

# Browsers send `Origin` on cross-origin calls (and on same-origin non-GET calls). The console is
# served by this app, so it is same-origin; any other site is refused unless its origin is listed
# in WXLESS_ALLOWED_ORIGINS. Callers without a browser (curl, scripts) send no Origin.
CROSS_ORIGIN_REFUSED = "cross-origin admin requests are refused (see WXLESS_ALLOWED_ORIGINS)"


def allowed_origins() -> set[str]:
    raw = config.get(config.ALLOWED_ORIGINS)
    return {o.strip().rstrip("/").lower() for o in raw.split(",") if o.strip()}


def check_origin(request: Any) -> tuple[bool, str | None]:
    """(allowed, the origin to name in Access-Control-Allow-Origin, or None)."""
    headers = request.headers or {}
    origin = (headers.get("origin") or "").strip().rstrip("/")
    if not origin:
        return True, None
    own = {headers.get("host", ""), urlsplit(config.get(config.PUBLIC_BASE_URL)).netloc}
    if urlsplit(origin).netloc.lower() in {o.lower() for o in own} - {""}:
        return True, None
    if origin.lower() in allowed_origins():
        return True, origin
    return False, None


def cors_headers(origin: str, methods: str | None = None) -> dict[str, str]:
    out = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    if methods:
        out["Access-Control-Allow-Methods"] = methods
        out["Access-Control-Allow-Headers"] = "Authorization, Content-Type, Idempotency-Key"
        out["Access-Control-Max-Age"] = "600"
    else:
        out["Access-Control-Expose-Headers"] = "Idempotent-Replayed, Retry-After"
    return out


def add_admin_preflight(app: Any) -> None:
    """Answer CORS preflight (OPTIONS) on every admin path: 204 with the CORS headers for a
    listed origin, 403 for any other. Call it once, after every Blueprint is registered."""

    def preflight(**_params: str) -> Response:
        request = app.current_request
        allowed, origin = check_origin(request)
        if not allowed or origin is None:
            return error(403, CROSS_ORIGIN_REFUSED)
        methods = ", ".join(sorted(app.routes.get(request.context.get("resourcePath", ""), {})))
        return Response("", status_code=204, headers=cors_headers(origin, methods))

    for path, methods in list(app.routes.items()):
        if path.startswith("/admin") and "OPTIONS" not in methods:
            app.route(path, methods=["OPTIONS"], name=f"preflight{path}")(preflight)
