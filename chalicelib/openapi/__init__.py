"""The admin API's OpenAPI 3 document, assembled from one fragment per concern.

Each fragment module exposes `PATHS` and `SCHEMAS`; a test checks that every admin route the app
serves is described here and that the document validates.
"""

from __future__ import annotations

from typing import Any

from chalicelib.openapi import core

FRAGMENTS = [core]


def document() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for fragment in FRAGMENTS:
        paths.update(fragment.PATHS)
        schemas.update(fragment.SCHEMAS)
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
