"""`chalice local`, with every HTTP method routed through Chalice's local API Gateway.

http.server answers methods its handler lacks (TRACE, QUERY) with its own 501 page before the
app or the gateway emulation sees them; API Gateway would refuse them like any unrouted method.
Routing them through LocalGateway gives the same answer the deployed API gives.
"""

from __future__ import annotations

import sys

from chalice import local
from chalice.cli import main

for _method in ("TRACE", "QUERY", "CONNECT"):
    setattr(
        local.ChaliceRequestHandler, f"do_{_method}", local.ChaliceRequestHandler._generic_handle
    )

if __name__ == "__main__":
    sys.argv[0] = "chalice"
    sys.exit(main())
