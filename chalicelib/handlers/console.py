"""The admin console: `GET /console` (the page) and `GET /console/static/{name}` (its assets).

A single-page app in plain ES modules (chalicelib/console/), no build step. The page itself needs
no auth: it holds no data, and every call it makes sends the admin token it keeps in
sessionStorage. It is served with a strict Content-Security-Policy (scripts from this origin
only, no inline script, no third-party anything), so a stored value that slipped through as
markup still could not run.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from chalice import Blueprint, Response

bp = Blueprint(__name__)

ASSETS = Path(__file__).resolve().parent.parent / "console"
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,60}\.(js|css|svg)")
_TYPES = {
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
}
# img-src allows http(s): article covers are presigned S3 links, and article bodies may show
# images from anywhere. Scripts, styles and API calls: this origin only.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https: "
    "http:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}

_cache: dict[str, tuple[bytes, str]] = {}


def _asset(name: str) -> tuple[bytes, str] | None:
    """File bytes and ETag, read once per container; None for anything not shipped."""
    found = _cache.get(name)
    if found is None:
        path = ASSETS / name
        if not path.is_file() or path.parent != ASSETS:
            return None
        data = path.read_bytes()
        found = (data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"')
        _cache[name] = found
    return found


def _serve(name: str, content_type: str) -> Response:
    found = _asset(name)
    if found is None:
        return Response("not found", status_code=404, headers={"Content-Type": "text/plain"})
    data, etag = found
    # Revalidate every time: a deploy must reach admins at once, and a 304 costs little.
    headers = {**SECURITY_HEADERS, "ETag": etag, "Cache-Control": "no-cache"}
    inm = (bp.current_request.headers or {}).get("if-none-match", "")
    if etag in {tag.strip() for tag in inm.split(",")}:
        return Response("", status_code=304, headers=headers)
    return Response(
        data.decode("utf-8"), status_code=200, headers={**headers, "Content-Type": content_type}
    )


@bp.route("/console", methods=["GET"])
def console_page() -> Response:
    path = (bp.current_request.context or {}).get("path", "")
    if path.endswith("/"):
        # The page loads its files by relative URL (so a stage prefix works): "/console/" would
        # resolve them one level too deep.
        return Response("", status_code=301, headers={"Location": "../console"})
    return _serve("index.html", "text/html; charset=utf-8")


@bp.route("/console/static/{name}", methods=["GET"])
def console_asset(name: str) -> Response:
    match = _NAME_RE.fullmatch(name)
    if match is None:
        return Response("not found", status_code=404, headers={"Content-Type": "text/plain"})
    return _serve(name, _TYPES[match.group(1)])
