"""The admin API's OpenAPI 3 document, assembled from one fragment per concern.

Each fragment module exposes `PATHS` and `SCHEMAS`; a test checks that every admin route the app
serves is described here and that the document validates.
"""

from __future__ import annotations

from typing import Any

from chalicelib.openapi import campaigns, cms, core, flows, followers, points, stats, wechat

FRAGMENTS = [core, wechat, cms, followers, stats, campaigns, flows, points]

# Every admin path answers CORS preflight: 204 for an origin in WXLESS_ALLOWED_ORIGINS, else 403.
# Any other admin call carrying a foreign Origin header gets the same 403.
PREFLIGHT = {
    "summary": "CORS preflight (no token needed)",
    "tags": ["meta"],
    "security": [],
    "responses": {
        "204": {"description": "the Origin is listed in WXLESS_ALLOWED_ORIGINS"},
        "403": {"description": "cross-origin use is not allowed for this Origin"},
    },
}


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for fragment in FRAGMENTS:
        paths.update(fragment.PATHS)
        schemas.update(fragment.SCHEMAS)
    for item in paths.values():  # chalicelib.handlers.common.add_admin_preflight
        item.setdefault("options", PREFLIGHT)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "wxless admin API",
            "version": "1.0.0",
            "description": "Manage a WeChat Official Account's replies, content and campaigns. "
            "Every route needs `Authorization: Bearer <ADMIN_TOKEN>`.",
        },
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": schemas,
            "responses": core.RESPONSES,
        },
    }
