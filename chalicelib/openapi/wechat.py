"""Menu, media, tags, live follower info, customer-service messages and token status."""

from __future__ import annotations

from typing import Any

from chalicelib.openapi.spec import items_of, op, path_param, query_param, ref

_str = {"type": "string"}
_int = {"type": "integer"}
_nullable_int = {"type": "integer", "nullable": True}
_nullable_str = {"type": "string", "nullable": True}

_WECHAT_ERROR = {
    "description": "WeChat did not answer, is busy, or refused our credentials / IP "
    "(`errcode` carries WeChat's code when it gave one)",
    "content": {"application/json": {"schema": ref("WeChatError")}},
}
_WECHAT_REFUSED = {
    "description": "WeChat refused this request (`errcode`, `wechat` carry its code and message)",
    "content": {"application/json": {"schema": ref("WeChatError")}},
}
_QUOTA = {
    "description": "WeChat API quota reached; retry later",
    "content": {"application/json": {"schema": ref("WeChatError")}},
}


def wop(summary: str, *, tag: str, quota: bool = False, **kw: Any) -> dict[str, Any]:
    """An operation that calls WeChat: adds 422, 502 (and 429) to the usual errors."""
    out = op(summary, tag=tag, **kw)
    out["responses"]["422"] = _WECHAT_REFUSED
    out["responses"]["502"] = _WECHAT_ERROR
    if quota:
        out["responses"]["429"] = _QUOTA
    return out


_unanswered_click_keys = {
    "type": "array",
    "items": _str,
    "description": "click keys no enabled click rule answers (in the answer to a publish)",
}

_button = {
    "type": "object",
    "required": ["name"],
    "description": "A top-level button (name <= 16 bytes) with a `type` or with 1..5 "
    "`sub_button` (name <= 60 bytes); click needs `key` (<= 128 bytes), view needs `url`.",
    "properties": {
        "name": _str,
        "type": {
            "enum": [
                "click",
                "view",
                "miniprogram",
                "scancode_push",
                "scancode_waitmsg",
                "pic_sysphoto",
                "pic_photo_or_album",
                "pic_weixin",
                "location_select",
                "media_id",
                "article_id",
                "article_view_limited",
            ]
        },
        "key": _str,
        "url": _str,
        "appid": _str,
        "pagepath": _str,
        "media_id": _str,
        "article_id": _str,
        "sub_button": {"type": "array", "maxItems": 5, "items": {"type": "object"}},
    },
}

_token_status = {
    "type": "object",
    "required": ["present", "generation"],
    "description": "Status only: the credential itself is never returned.",
    "properties": {
        "present": {"type": "boolean"},
        "expires_at": {**_nullable_int, "description": "epoch s"},
        "expires_in": {**_nullable_int, "description": "seconds left"},
        "refreshed_at": {**_nullable_int, "description": "epoch s of the last refresh"},
        "generation": {"type": "integer", "description": "bumped by every stored refresh"},
        "refresh_count": _int,
        "refreshing": {"type": "boolean", "description": "a refresh lease is held right now"},
        "last_error": _nullable_str,
        "last_error_at": _nullable_int,
    },
}

SCHEMAS: dict[str, Any] = {
    "WeChatError": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": _str,
            "errcode": {"type": "integer", "description": "WeChat's errcode"},
            "wechat": {"type": "string", "description": "WeChat's errmsg"},
            "retryable": {"type": "boolean"},
        },
    },
    "Menu": {
        "type": "object",
        "required": ["button"],
        "properties": {"button": {"type": "array", "minItems": 1, "maxItems": 3, "items": _button}},
    },
    "MatchRule": {
        "type": "object",
        "minProperties": 1,
        "description": "Who sees a conditional menu; at least one condition. tag_id: a WeChat "
        "tag's id as a string; client_platform_type: 1 iOS, 2 Android, 3 others.",
        "properties": {
            key: _str
            for key in (
                "tag_id",
                "client_platform_type",
                "sex",
                "country",
                "province",
                "city",
                "language",
            )
        },
        "additionalProperties": False,
    },
    "ConditionalMenu": {
        "type": "object",
        "required": ["button", "matchrule"],
        "properties": {
            "button": {"type": "array", "minItems": 1, "maxItems": 3, "items": _button},
            "matchrule": ref("MatchRule"),
        },
    },
    "PublishedConditionalMenu": {
        "type": "object",
        "required": ["menuid", "button", "matchrule"],
        "properties": {
            "menuid": _str,
            "button": {"type": "array", "items": _button},
            "matchrule": ref("MatchRule"),
            "unanswered_click_keys": _unanswered_click_keys,
        },
    },
    "PublishedMenu": {
        "type": "object",
        "required": ["menu", "published_at"],
        "properties": {
            "menu": {"allOf": [ref("Menu")], "nullable": True},
            "published_at": _nullable_int,
            "unanswered_click_keys": _unanswered_click_keys,
            "live": {"type": "object", "description": "WeChat's menu/get answer (?live=true)"},
        },
    },
    "MediaUpload": {
        "type": "object",
        "required": ["kind"],
        "description": "Exactly one of content_base64 or s3_key. The type is judged by the "
        "file's bytes (jpg/png/gif, amr/mp3, mp4; bmp for permanent images, wav/wma for "
        "permanent voice). Limits: "
        "image 10 MB, voice 2 MB, video 10 MB, thumb 64 KB jpg.",
        "properties": {
            "kind": {"enum": ["image", "voice", "video", "thumb"]},
            "content_base64": {"type": "string", "format": "byte"},
            "s3_key": {
                "type": "string",
                "description": "an object already in the media bucket, named by its key inside "
                "the account's folder (copied under media/; a tmp/ source, e.g. from upload-url, "
                "is removed)",
            },
            "permanent": {
                "type": "boolean",
                "default": False,
                "description": "upload as permanent material (never expires) instead of "
                "temporary media (3 days, re-uploaded from S3 when stale)",
            },
            "filename": _str,
            "content_type": {"type": "string", "description": "optional; must match the bytes"},
            "title": {"type": "string", "description": "required for a permanent video"},
            "introduction": _str,
        },
    },
    "MediaItem": {
        "type": "object",
        "required": ["id", "kind", "content_type", "size", "s3_key", "permanent", "created_at"],
        "properties": {
            "id": _str,
            "kind": {"enum": ["image", "voice", "video", "thumb"]},
            "filename": _nullable_str,
            "content_type": _str,
            "size": _int,
            "sha256": _str,
            "s3_key": {
                **_str,
                "description": "key in the media bucket, inside the account's folder",
            },
            "permanent": {"type": "boolean"},
            "media_id": {**_nullable_str, "description": "WeChat media_id (current)"},
            "expires_at": {**_nullable_int, "description": "temporary media only (epoch s)"},
            "url": {**_nullable_str, "description": "permanent image material URL"},
            "title": _nullable_str,
            "introduction": _nullable_str,
            "uploaded_at": _nullable_int,
            "upload_count": _int,
            "created_at": _int,
        },
    },
    "UploadUrl": {
        "type": "object",
        "required": ["s3_key", "url", "method", "expires_in"],
        "properties": {
            "s3_key": _str,
            "url": _str,
            "method": {"enum": ["PUT"]},
            "expires_in": _int,
        },
    },
    "Tag": {
        "type": "object",
        "required": ["id", "name"],
        "properties": {"id": _int, "name": _str, "count": _int},
    },
    "TagName": {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 30}},
    },
    "OpenidList": {
        "type": "object",
        "required": ["openids"],
        "properties": {
            "openids": {"type": "array", "minItems": 1, "maxItems": 500, "items": _str},
        },
    },
    "OpenidPage": {
        "type": "object",
        "required": ["items"],
        "properties": {
            "total": _int,
            "items": {"type": "array", "items": _str},
            "next_openid": {**_nullable_str, "description": "pass back to get the next page"},
        },
    },
    "WeChatUser": {
        "type": "object",
        "description": "WeChat's user/info answer (subscribe, openid, language, "
        "subscribe_time, remark, tagid_list, subscribe_scene, ...)",
        "properties": {"subscribe": _int, "openid": _str, "tagid_list": {"type": "array"}},
    },
    "CustomMessage": {
        "type": "object",
        "required": ["openid"],
        "properties": {
            "openid": _str,
            "message": {
                "type": "object",
                "required": ["type"],
                "description": "A Reply object (text, image, voice, video, music, news with "
                "exactly 1 article) or {type: mpnewsarticle, article_id}. image/voice/video may "
                "name a media item with `media` instead of `media_id`.",
                "properties": {
                    "type": {
                        "enum": [
                            "text",
                            "image",
                            "voice",
                            "video",
                            "music",
                            "news",
                            "mpnewsarticle",
                        ]
                    },
                    "media": {"type": "string", "description": "a media item id"},
                },
            },
            "reply": {
                "type": "object",
                "description": "the same as `message`, named as the desk's reply names it; "
                "give one of the two",
            },
            "kf_account": {"type": "string", "description": "send as this CS account"},
        },
    },
    "TokenStatus": {
        "type": "object",
        "required": ["access", "jsapi", "schedule"],
        "properties": {
            "access": _token_status,
            "jsapi": _token_status,
            "schedule": {
                "type": "object",
                "properties": {
                    "rate_seconds": _int,
                    "access_refresh_window_seconds": _int,
                    "jsapi_refresh_margin_seconds": _int,
                },
            },
        },
    },
}

_tag_id = {**path_param("tag_id"), "schema": {"type": "integer"}}
_item_id = path_param("item_id")
_cursor = query_param("next_openid", _str, "cursor from the previous page")

PATHS: dict[str, Any] = {
    "/admin/menu": {
        "put": wop(
            "Validate and publish the custom menu (replaces the current one)",
            tag="menu",
            body=ref("Menu"),
            returns=ref("PublishedMenu"),
        ),
        "get": wop(
            "The last menu published through this API (?live=true adds WeChat's menu/get)",
            tag="menu",
            params=[query_param("live", {"type": "boolean"}, "also ask WeChat")],
            returns=ref("PublishedMenu"),
            errors=(401, 404, 503),
        ),
        "delete": wop("Delete the menu at WeChat", tag="menu", ok=204, errors=(401, 503)),
    },
    "/admin/menu/conditional": {
        "post": wop(
            "Validate and add a conditional menu (needs a published default menu: else 409)",
            tag="menu",
            body=ref("ConditionalMenu"),
            ok=201,
            returns=ref("PublishedConditionalMenu"),
            errors=(400, 401, 404, 409, 503),
        ),
        "get": wop(
            "The conditional menus WeChat holds (menu/get)",
            tag="menu",
            returns=items_of(ref("PublishedConditionalMenu")),
            errors=(401, 503),
        ),
    },
    "/admin/menu/conditional/{menuid}": {
        "parameters": [path_param("menuid")],
        "delete": wop(
            "Delete a conditional menu at WeChat",
            tag="menu",
            ok=204,
            errors=(400, 401, 404, 503),
        ),
    },
    "/admin/media": {
        "post": wop(
            "Upload a file (base64 or an S3 key) to S3 and WeChat",
            tag="media",
            body=ref("MediaUpload"),
            ok=201,
            returns=ref("MediaItem"),
            errors=(400, 401, 404, 503),
        ),
        "get": op(
            "List media items, newest first",
            tag="media",
            params=[query_param("kind", {"enum": ["image", "voice", "video", "thumb"]})],
            returns=items_of(ref("MediaItem")),
        ),
    },
    "/admin/media/upload-url": {
        "post": op(
            "A presigned S3 PUT URL for a big file; then POST its s3_key to /admin/media",
            tag="media",
            body={
                "type": "object",
                "required": ["kind"],
                "properties": {"kind": {"enum": ["image", "voice", "video", "thumb"]}},
            },
            returns=ref("UploadUrl"),
        ),
    },
    "/admin/media/{item_id}": {
        "parameters": [_item_id],
        "get": op(
            "Get a media item", tag="media", returns=ref("MediaItem"), errors=(401, 404, 503)
        ),
        "delete": wop(
            "Delete a media item (WeChat material, S3 object, record); "
            "409 while a rule, special reply or flow uses it",
            tag="media",
            ok=204,
            errors=(401, 404, 409, 503),
        ),
    },
    "/admin/tags": {
        "get": wop("List WeChat follower tags", tag="tags", returns=items_of(ref("Tag"))),
        "post": wop(
            "Create a tag",
            tag="tags",
            body=ref("TagName"),
            ok=201,
            returns=ref("Tag"),
            errors=(400, 401, 409, 503),
        ),
    },
    "/admin/tags/{tag_id}": {
        "parameters": [_tag_id],
        "put": wop(
            "Rename a tag",
            tag="tags",
            body=ref("TagName"),
            returns=ref("Tag"),
            errors=(400, 401, 404, 409, 503),
        ),
        "delete": wop("Delete a tag", tag="tags", ok=204, errors=(400, 401, 404, 409, 503)),
    },
    "/admin/tags/{tag_id}/members": {
        "parameters": [_tag_id],
        "get": wop(
            "One page of a tag's followers",
            tag="tags",
            params=[_cursor],
            returns=ref("OpenidPage"),
            errors=(400, 401, 404, 503),
        ),
        "post": wop(
            "Tag followers (up to 500 per request; WeChat takes 50 per call)",
            tag="tags",
            body=ref("OpenidList"),
            returns={"type": "object"},
            errors=(400, 401, 404, 409, 503),
        ),
    },
    "/admin/tags/{tag_id}/members/remove": {
        "parameters": [_tag_id],
        "post": wop(
            "Untag followers",
            tag="tags",
            body=ref("OpenidList"),
            returns={"type": "object"},
            errors=(400, 401, 404, 503),
        ),
    },
    "/admin/wechat/users": {
        "get": wop(
            "One page of the account's followers, live from WeChat",
            tag="followers",
            params=[_cursor],
            returns=ref("OpenidPage"),
        ),
    },
    "/admin/wechat/users/{openid}": {
        "parameters": [path_param("openid")],
        "get": wop(
            "A follower's profile, live from WeChat (user/info)",
            tag="followers",
            returns=ref("WeChatUser"),
            errors=(400, 401, 404, 503),
        ),
    },
    "/admin/token": {
        "get": op(
            "access_token / jsapi_ticket status (never the credentials)",
            tag="wechat",
            returns=ref("TokenStatus"),
            errors=(401, 503),
        ),
    },
}
