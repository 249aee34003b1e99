"""What the public pages learn about articles: views, distinct readers, views through shared
links, per day, and the followers who read one."""

from __future__ import annotations

from chalicelib.openapi.spec import op, path_param, query_param, ref

_str = {"type": "string"}
_int = {"type": "integer"}
_nint = {"type": "integer", "nullable": True}

SCHEMAS = {
    "ArticleStats": {
        "type": "object",
        "required": ["views", "readers", "shared_views"],
        "properties": {
            "id": _str,
            "views": {**_int, "description": "page views (a revalidated page included)"},
            "readers": {
                **_int,
                "description": "distinct readers: followers known through web authorization, "
                "others by a keyed hash of address and user agent",
            },
            "shared_views": {
                **_int,
                "description": "views arriving with WeChat's from=timeline|singlemessage|"
                "groupmessage (a shared link)",
            },
            "days": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "date": _str,
                        "views": _int,
                        "readers": {**_int, "description": "first reads that day"},
                        "shared_views": _int,
                    },
                },
            },
            "as_of": {**_nint, "description": "ms: views received before this are counted"},
            "shards": _int,
        },
    },
    "ArticleReaders": {
        "type": "object",
        "required": ["items"],
        "properties": {
            "id": _str,
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"openid": _str}},
            },
            "as_of": _nint,
            "shards": _int,
        },
    },
}

_id = path_param("article_id")

PATHS = {
    "/admin/articles/{article_id}/stats": {
        "parameters": [_id],
        "get": op(
            "An article's views, distinct readers and views through shared links (summed from "
            "page views, seconds behind), all time and per local day (default: the last 30)",
            tag="articles",
            params=[
                query_param("from", {"type": "string", "format": "date"}),
                query_param("to", {"type": "string", "format": "date"}),
            ],
            returns=ref("ArticleStats"),
            errors=(400, 401, 404, 503),
        ),
    },
    "/admin/articles/{article_id}/readers": {
        "parameters": [_id],
        "get": op(
            "The followers who read the article (known through the pages' web authorization)",
            tag="articles",
            params=[query_param("limit", {"type": "integer", "minimum": 1, "maximum": 100000})],
            returns=ref("ArticleReaders"),
            errors=(400, 401, 404, 503),
        ),
    },
}
