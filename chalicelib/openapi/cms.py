"""CMS: articles (covers, publishing, batch actions) and categories."""

from __future__ import annotations

from chalicelib.openapi.spec import items_of, op, path_param, query_param, ref

_str = {"type": "string"}
_int = {"type": "integer"}
_nullable_str = {"type": "string", "nullable": True}
_nullable_int = {"type": "integer", "nullable": True}

SCHEMAS = {
    "ArticleInput": {
        "type": "object",
        "description": "Fields left out of a PUT keep their value. Read-only fields sent back "
        "(id, created_at, url, ...) are ignored.",
        "properties": {
            "title": {"type": "string", "minLength": 1, "maxLength": 100},
            "digest": {
                "type": "string",
                "maxLength": 200,
                "description": "summary shown in news replies and lists",
            },
            "author": {"type": "string", "maxLength": 40},
            "body_html": {
                "type": "string",
                "description": "HTML from the editor; sanitized on save (nh3 allow-list: no "
                "script, style, event handler or javascript: URL survives). At most 256 KiB.",
            },
            "category_id": _nullable_str,
            "status": {"enum": ["draft", "published"], "default": "draft"},
            "rev": {
                "type": "integer",
                "description": "PUT only: the rev the editor loaded; a newer stored rev is a 409",
            },
        },
    },
    "ArticleSummary": {
        "type": "object",
        "required": ["id", "title", "status", "created_at", "updated_at"],
        "properties": {
            "id": _str,
            "title": _str,
            "digest": _str,
            "author": _str,
            "category_id": _nullable_str,
            "status": {"enum": ["draft", "published"]},
            "published_at": {**_nullable_int, "description": "epoch s; only while published"},
            "cover_key": {
                **_nullable_str,
                "description": "its key in the media bucket, inside the account's folder",
            },
            "cover_url": {**_nullable_str, "description": "presigned, valid one hour"},
            "url": {"type": "string", "description": "public page (404 unless published)"},
            "created_at": _int,
            "updated_at": _int,
        },
    },
    "Article": {
        "allOf": [
            ref("ArticleSummary"),
            {
                "type": "object",
                "properties": {"body_html": _str, "rev": _int},
            },
        ]
    },
    "ArticlePage": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {
            "items": {"type": "array", "items": ref("ArticleSummary")},
            "next_cursor": {**_nullable_str, "description": "pass as `cursor` for the next page"},
            "total": {"type": "integer", "description": "matches in all pages (index lists)"},
        },
    },
    "CoverInput": {
        "type": "object",
        "required": ["data"],
        "properties": {
            "data": {
                "type": "string",
                "description": "PNG, JPEG, GIF or WebP, at most 2 MiB, as base64 or a data: URL "
                "(the type is read from the bytes)",
            }
        },
    },
    "BatchInput": {
        "type": "object",
        "required": ["action", "ids"],
        "properties": {
            "action": {"enum": ["delete", "publish", "unpublish"]},
            "ids": {"type": "array", "minItems": 1, "maxItems": 100, "items": _str},
        },
    },
    "BatchResult": {
        "type": "object",
        "required": ["done", "missing", "failed"],
        "properties": {
            "done": {"type": "array", "items": _str},
            "missing": {"type": "array", "items": _str, "description": "unknown ids"},
            "failed": {"type": "array", "items": _str, "description": "changed meanwhile"},
        },
    },
    "CategoryInput": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 40},
            "description": {"type": "string", "maxLength": 200},
            "position": {"type": "integer", "default": 0, "description": "lower comes first"},
        },
    },
    "Category": {
        "type": "object",
        "required": ["id", "name", "article_count", "published_count"],
        "properties": {
            "id": _str,
            "name": _str,
            "description": _str,
            "position": _int,
            "article_count": _int,
            "published_count": _int,
            "url": {"type": "string", "description": "public list page"},
            "created_at": _int,
            "updated_at": _int,
        },
    },
}

_article_id = path_param("article_id")
_category_id = path_param("category_id")
_found = (400, 401, 404, 409, 503)
_time = {"type": "string", "description": "epoch seconds or ISO 8601; dates are China time"}

PATHS = {
    "/admin/articles": {
        "get": op(
            "List articles, newest first, paged",
            tag="articles",
            params=[
                query_param(
                    "q",
                    {"type": "string", "maxLength": 100},
                    "title search: every term must occur (case-insensitive; Latin words "
                    "tolerate 1-2 typos, Chinese matches substrings)",
                ),
                query_param("status", {"enum": ["draft", "published", "all"]}),
                query_param("category_id", _str),
                query_param("published_from", _time, "publish time, inclusive"),
                query_param("published_to", _time, "inclusive; a date includes the whole day"),
                query_param("sort", {"enum": ["updated", "created", "published"]}),
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
                query_param("cursor", _str, "next_cursor of the previous page"),
            ],
            returns=ref("ArticlePage"),
        ),
        "post": op(
            "Create an article (a draft unless status is published)",
            tag="articles",
            body=ref("ArticleInput"),
            ok=201,
            returns=ref("Article"),
        ),
    },
    "/admin/articles/batch": {
        "post": op(
            "Delete, publish or unpublish many articles",
            tag="articles",
            body=ref("BatchInput"),
            returns=ref("BatchResult"),
        ),
    },
    "/admin/articles/{article_id}": {
        "parameters": [_article_id],
        "get": op("Get an article", tag="articles", returns=ref("Article"), errors=(401, 404, 503)),
        "put": op(
            "Update an article",
            tag="articles",
            body=ref("ArticleInput"),
            returns=ref("Article"),
            errors=_found,
        ),
        "patch": op(
            "Update some fields of an article",
            tag="articles",
            body=ref("ArticleInput"),
            returns=ref("Article"),
            errors=_found,
        ),
        "delete": op("Delete an article and its cover", tag="articles", ok=204, errors=_found),
    },
    "/admin/articles/{article_id}/publish": {
        "parameters": [_article_id],
        "post": op("Publish", tag="articles", returns=ref("Article"), errors=_found),
    },
    "/admin/articles/{article_id}/unpublish": {
        "parameters": [_article_id],
        "post": op(
            "Unpublish (back to draft; the public page becomes 404)",
            tag="articles",
            returns=ref("Article"),
            errors=_found,
        ),
    },
    "/admin/articles/{article_id}/cover": {
        "parameters": [_article_id],
        "put": op(
            "Upload the cover image (stored in the media bucket)",
            tag="articles",
            body=ref("CoverInput"),
            returns=ref("Article"),
            errors=_found,
        ),
        "delete": op("Remove the cover", tag="articles", returns=ref("Article"), errors=_found),
    },
    "/admin/categories": {
        "get": op(
            "List categories (with article counts)",
            tag="categories",
            returns=items_of(ref("Category")),
            errors=(401, 503),
        ),
        "post": op(
            "Create a category (names are unique)",
            tag="categories",
            body=ref("CategoryInput"),
            ok=201,
            returns=ref("Category"),
            errors=(400, 401, 409, 503),
        ),
    },
    "/admin/categories/{category_id}": {
        "parameters": [_category_id],
        "get": op(
            "Get a category", tag="categories", returns=ref("Category"), errors=(401, 404, 503)
        ),
        "put": op(
            "Update a category",
            tag="categories",
            body=ref("CategoryInput"),
            returns=ref("Category"),
            errors=_found,
        ),
        "patch": op(
            "Update some fields of a category",
            tag="categories",
            body=ref("CategoryInput"),
            returns=ref("Category"),
            errors=_found,
        ),
        "delete": op(
            "Delete a category. One with articles (drafts too) is a 409 naming the count, unless "
            "move_to names the category to move them to, or is `none` (uncategorized).",
            tag="categories",
            params=[query_param("move_to", _str, "a category id, or none")],
            returns={
                "type": "object",
                "properties": {"deleted": _str, "moved": _int},
            },
            errors=_found,
        ),
    },
}
