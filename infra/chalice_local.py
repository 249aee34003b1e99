"""`chalice local`, with every HTTP method routed through Chalice's local API Gateway.

http.server answers methods its handler lacks (TRACE, QUERY) with its own 501 page before the
app or the gateway emulation sees them; API Gateway would refuse them like any unrouted method.
Routing them through LocalGateway gives the same answer the deployed API gives.

http.server also reads the request line as Latin-1, so a URL sent with raw UTF-8 (curl
"$B/admin/faq?q=挂失") reached the app as mojibake, where API Gateway reads UTF-8: such bytes are
percent-encoded before routing, as if the client had encoded them.

A path no route matches is Chalice's emulation of a REST API's `403 {"message": "Missing
Authentication Token"}`; it answers the project's `404 {"error": "not found"}` instead (in AWS
the HTTP API answers unknown paths itself, with its own 404, before the function runs).
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import quote

from chalice import local
from chalice.cli import main

_PRINTABLE_ASCII = "".join(chr(c) for c in range(33, 127))
_parse_request = local.ChaliceRequestHandler.parse_request


def _parse_request_utf8(self: local.ChaliceRequestHandler) -> bool:
    parsed = _parse_request(self)
    if parsed and not self.path.isascii():
        self.path = quote(self.path.encode("latin-1"), safe=_PRINTABLE_ASCII)
    return parsed


local.ChaliceRequestHandler.parse_request = _parse_request_utf8
_handle_request = local.LocalGateway.handle_request


def _handle_request_404(
    self: local.LocalGateway, method: str, path: str, headers: dict[str, Any], body: bytes | None
) -> dict[str, Any]:
    try:
        return _handle_request(self, method, path, headers, body)
    except local.ForbiddenError:
        # Imported here: `chalice local` puts the project on sys.path when it loads the app.
        from chalicelib.handlers.responses import NOT_FOUND, error

        # Raised only when no route matches: the app declares no Chalice authorizers (the admin
        # gate is ours, chalicelib/handlers/gate.py), whose refusals are the other source.
        return error(404, NOT_FOUND).to_dict()


local.LocalGateway.handle_request = _handle_request_404

for _method in ("TRACE", "QUERY", "CONNECT"):
    setattr(
        local.ChaliceRequestHandler, f"do_{_method}", local.ChaliceRequestHandler._generic_handle
    )

if __name__ == "__main__":
    sys.argv[0] = "chalice"
    sys.exit(main())
