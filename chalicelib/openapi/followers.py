"""Followers: search, one follower with recent messages, remark and local tags, profile sync."""

from __future__ import annotations

from chalicelib.openapi.spec import op, path_param, query_param, ref

_str = {"type": "string"}
_nstr = {"type": "string", "nullable": True}
_int = {"type": "integer"}
_nint = {"type": "integer", "nullable": True, "description": "epoch seconds"}

SCHEMAS = {
    "Follower": {
        "type": "object",
        "required": ["openid", "subscribed", "tags", "wechat_tags", "profile_synced"],
        "properties": {
            "openid": _str,
            "subscribed": {"type": "boolean"},
            "first_seen_at": _nint,
            "first_subscribed_at": _nint,
            "last_subscribed_at": _nint,
            "unsubscribed_at": _nint,
            "subscribe_count": _int,
            "scene": {**_nstr, "description": "qrscene of the latest subscribe, if any"},
            "first_channel": {
                **_nstr,
                "description": "qrscene of the first subscribe seen (null: came without a code)",
            },
            "message_count": {
                **_int,
                "description": "messages sent in the last 90 days (the timeline's; events not "
                "counted)",
            },
            "last_interaction_at": {
                **_nint,
                "description": "the newest message or event of theirs (not an unsubscribe)",
            },
            "cs_window_until": {
                **_nint,
                "description": "customer-service messages allowed until (48 h after a message)",
            },
            "cs_event_window_until": {
                **_nint,
                "description": "a few messages allowed until (60 s after a click/scan/subscribe)",
            },
            "cs_window_open": {"type": "boolean", "description": "either window is open now"},
            "nickname": _nstr,
            "language": _nstr,
            "country": _nstr,
            "province": _nstr,
            "city": _nstr,
            "region": {**_nstr, "description": "country province city"},
            "remark": _str,
            "tags": {"type": "array", "items": _str, "description": "local tags"},
            "wechat_tags": {"type": "array", "items": _int, "description": "WeChat tag ids"},
            "subscribe_time": _nint,
            "subscribe_scene": _nstr,
            "qr_scene_str": _nstr,
            "unionid": _nstr,
            "profile_synced": {"type": "boolean"},
            "profile_synced_at": _nint,
            "updated_at": _nint,
        },
    },
    "FollowerPage": {
        "type": "object",
        "required": ["items", "cursor"],
        "properties": {
            "items": {"type": "array", "items": ref("Follower")},
            "cursor": {
                "type": "string",
                "nullable": True,
                "description": "pass as `cursor` for more; null when the table is exhausted. "
                "A page may hold fewer than `limit` items and still have a cursor (each "
                "request reads a bounded slice of the table).",
            },
        },
    },
    "FollowerDetail": {
        "type": "object",
        "required": ["follower", "recent_messages"],
        "properties": {
            "follower": ref("Follower"),
            "recent_messages": {"type": "array", "items": ref("LoggedMessage")},
        },
    },
    "FollowerUpdate": {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {
            "remark": {
                "type": "string",
                "maxLength": 29,
                "description": "set on WeChat first (user/info/updateremark), then stored",
            },
            "tags": {
                "type": "array",
                "maxItems": 20,
                "items": {"type": "string", "minLength": 1, "maxLength": 30},
                "description": "local tags (replace the current ones)",
            },
        },
    },
    "SyncReport": {
        "type": "object",
        "properties": {
            "mode": {"enum": ["pending", "full"]},
            "batches": _int,
            "synced": _int,
            "unsubscribed": _int,
            "invalid": _int,
            "raced": _int,
            "stopped_early": {"type": "boolean"},
            "error": _nstr,
            "full_resync": {"type": "object"},
        },
    },
}

_openid = path_param("openid")

_sync = op(
    "Run the profile sync now (pending profiles; `full` starts or continues a full resync of "
    "WeChat's follower list). Bounded by a few seconds: `stopped_early` says more is left.",
    tag="followers",
    body={
        "type": "object",
        "properties": {"mode": {"enum": ["pending", "full"], "default": "pending"}},
    },
    returns=ref("SyncReport"),
)
_sync["requestBody"]["required"] = False  # no body: mode pending
_sync["responses"]["502"] = {
    "description": "WeChat failed (token, quota, network): the report, with `error`",
    "content": {"application/json": {"schema": ref("SyncReport")}},
}
_update = op(
    "Set remark and/or local tags (fields left out keep their value)",
    tag="followers",
    body=ref("FollowerUpdate"),
    returns=ref("Follower"),
    errors=(400, 401, 404, 503),
)
_update["responses"]["502"] = {
    "description": "WeChat refused the remark; nothing was stored",
    "content": {"application/json": {"schema": ref("Error")}},
}

PATHS = {
    "/admin/followers": {
        "get": op(
            "Search followers (filters combine with AND; table order, paged with a cursor). "
            "Records come from subscribes, the profile sync and PUT; a follower who only wrote "
            "(subscribed before the account used wxless) is listed after the full sync",
            tag="followers",
            params=[
                query_param("tag", _str, "a local tag, or a WeChat tag id"),
                query_param("region", _str, "contained in 'country province city'"),
                query_param("subscribed", {"type": "boolean"}),
                query_param(
                    "active_since",
                    {"type": "string", "format": "date"},
                    "last interaction on or after this local date",
                ),
                query_param("q", _str, "in remark or nickname, or an openid prefix"),
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 200}),
                query_param("cursor", _str),
            ],
            returns=ref("FollowerPage"),
        ),
    },
    "/admin/followers/{openid}": {
        "parameters": [_openid],
        "get": op(
            "One follower with their recent messages",
            tag="followers",
            params=[
                query_param(
                    "messages",
                    {"type": "integer", "minimum": 0, "maximum": 200, "default": 20},
                    "how many recent messages",
                )
            ],
            returns=ref("FollowerDetail"),
            errors=(400, 401, 404, 503),
        ),
        "put": _update,
        "patch": _update,
    },
    "/admin/followers/sync": {"post": _sync},
}
