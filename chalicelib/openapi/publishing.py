"""Publishing CMS articles as WeChat articles (freepublish) and their comments."""

from __future__ import annotations

from typing import Any

from chalicelib.openapi.spec import items_of, path_param, query_param, ref
from chalicelib.openapi.wechat import wop

_str = {"type": "string"}
_int = {"type": "integer"}
_nint = {"type": "integer", "nullable": True, "description": "epoch seconds"}
_tag = "publishing"
_index = query_param("index", {"type": "integer", "minimum": 0, "maximum": 7}, "article, from 0")
_index_body = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"index": {"type": "integer", "minimum": 0, "maximum": 7}},
}

SCHEMAS = {
    "PublicationNew": {
        "type": "object",
        "required": ["article_ids"],
        "additionalProperties": False,
        "description": "Give the cover as `thumb_media_id` (permanent material) or "
        "`thumb_media` (a media item, uploaded as material once).",
        "properties": {
            "article_ids": {
                "type": "array",
                "items": _str,
                "minItems": 1,
                "maxItems": 8,
                "description": "published CMS articles",
            },
            "thumb_media_id": _str,
            "thumb_media": _str,
            "open_comment": {"type": "boolean"},
            "fans_only_comment": {"type": "boolean"},
        },
    },
    "Publication": {
        "type": "object",
        "required": ["id", "state", "article_ids", "created_at"],
        "properties": {
            "id": _str,
            "state": {
                "enum": ["drafting", "publishing", "published", "failed", "deleted"],
                "description": "publishing until WeChat's PUBLISHJOBFINISH (or a refresh)",
            },
            "article_ids": {"type": "array", "items": _str},
            "titles": {"type": "array", "items": _str},
            "thumb_media_id": _str,
            "open_comment": {"type": "boolean"},
            "fans_only_comment": {"type": "boolean"},
            "media_id": {"type": "string", "description": "the draft's"},
            "publish_id": _str,
            "msg_data_id": {"type": "string", "description": "what comments are keyed by"},
            "publish_status": {"type": "integer", "description": "WeChat's, 0 published"},
            "wechat_article_id": _str,
            "urls": {"type": "array", "items": _str},
            "error": _str,
            "created_at": _int,
            "updated_at": _int,
            "published_at": _nint,
        },
    },
    "Comment": {
        "type": "object",
        "required": ["id", "openid", "content", "created_at", "elected", "reply"],
        "properties": {
            "id": _int,
            "openid": _str,
            "content": _str,
            "created_at": _int,
            "elected": {"type": "boolean", "description": "shown under the article"},
            "reply": {
                "type": "object",
                "nullable": True,
                "properties": {"content": _str, "created_at": _int},
            },
        },
    },
}

_pub = path_param("publication_id")
_comment = path_param("comment_id")


def _act(summary: str, *, body: dict[str, Any] | None = None, ok: int = 204) -> dict[str, Any]:
    out = wop(summary, tag=_tag, ok=ok, body=body, errors=(400, 401, 404, 409, 503))
    if body is _index_body:
        out["requestBody"]["required"] = False  # the first article when left out
    return out


PATHS: dict[str, Any] = {
    "/admin/publications": {
        "post": wop(
            "Publish CMS articles as WeChat articles (draft/add, then freepublish/submit)",
            tag=_tag,
            ok=201,
            body=ref("PublicationNew"),
            returns=ref("Publication"),
            errors=(400, 401, 503),
        ),
        "get": wop(
            "Publications, newest first",
            tag=_tag,
            params=[query_param("limit", {"type": "integer", "minimum": 1, "maximum": 200})],
            returns=items_of(ref("Publication")),
            errors=(400, 401, 503),
        ),
    },
    "/admin/publications/{publication_id}": {
        "parameters": [_pub],
        "get": wop(
            "A publication (`refresh=true`: ask WeChat's freepublish/get while publishing)",
            tag=_tag,
            params=[query_param("refresh", {"type": "boolean"})],
            returns=ref("Publication"),
            errors=(400, 401, 404, 503),
        ),
        "delete": _act("Take a published publication down (freepublish/delete)"),
    },
    "/admin/publications/{publication_id}/comments": {
        "parameters": [_pub],
        "get": wop(
            "Comments on one of the publication's articles (comment/list)",
            tag=_tag,
            params=[
                _index,
                query_param("type", {"enum": ["all", "normal", "elected"]}),
                query_param("begin", {"type": "integer", "minimum": 0}),
                query_param("count", {"type": "integer", "minimum": 1, "maximum": 50}),
            ],
            returns={
                "type": "object",
                "required": ["total", "items"],
                "properties": {"total": _int, "items": {"type": "array", "items": ref("Comment")}},
            },
            errors=(400, 401, 404, 409, 503),
        ),
    },
    "/admin/publications/{publication_id}/comments/open": {
        "parameters": [_pub],
        "post": _act("Open an article to comments", body=_index_body, ok=200),
    },
    "/admin/publications/{publication_id}/comments/close": {
        "parameters": [_pub],
        "post": _act("Close an article to comments", body=_index_body, ok=200),
    },
    "/admin/publications/{publication_id}/comments/{comment_id}": {
        "parameters": [_pub, _comment],
        "delete": {**_act("Delete a comment"), "parameters": [_index]},
    },
    "/admin/publications/{publication_id}/comments/{comment_id}/elect": {
        "parameters": [_pub, _comment],
        "post": _act("Elect a comment (shown under the article)", body=_index_body),
    },
    "/admin/publications/{publication_id}/comments/{comment_id}/unelect": {
        "parameters": [_pub, _comment],
        "post": _act("Unelect a comment", body=_index_body),
    },
    "/admin/publications/{publication_id}/comments/{comment_id}/reply": {
        "parameters": [_pub, _comment],
        "post": _act(
            "Reply to a comment (one reply each)",
            body={
                "type": "object",
                "required": ["content"],
                "additionalProperties": False,
                "properties": {
                    "content": {"type": "string", "minLength": 1, "maxLength": 1000},
                    "index": {"type": "integer", "minimum": 0, "maximum": 7},
                },
            },
        ),
        "delete": {**_act("Delete the reply"), "parameters": [_index]},
    },
}
