"""`chalice local`, with every HTTP method routed through Chalice's local API Gateway.

http.server answers methods its handler lacks (TRACE, QUERY) with its own 501 page before the
app or the gateway emulation sees them; API Gateway would refuse them like any unrouted method.
Routing them through LocalGateway gives the same answer the deployed API gives.

http.server also reads the request line as Latin-1, so a URL sent with raw UTF-8 (curl
"$B/admin/faq?q=挂失") reached the app as mojibake, where API Gateway reads UTF-8: such bytes are
percent-encoded before routing, as if the client had encoded them.
"""

from __future__ import annotations

import sys
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

for _method in ("TRACE", "QUERY", "CONNECT"):
    setattr(
        local.ChaliceRequestHandler, f"do_{_method}", local.ChaliceRequestHandler._generic_handle
    )

if __name__ == "__main__":
    sys.argv[0] = "chalice"
    sys.exit(main())
