"""Channel QR codes: create, list, read, change, delete, image, daily figures, the report."""

from __future__ import annotations

from chalicelib.openapi.spec import op, path_param, query_param, ref
from chalicelib.openapi.wechat import wop

_str = {"type": "string"}
_int = {"type": "integer"}
_nint = {"type": "integer", "nullable": True}
_tag_ids = {
    "type": "array",
    "maxItems": 20,
    "items": {"type": "integer", "minimum": 0},
    "description": "WeChat tag ids given to every follower who scans the code (applied from "
    "the messages stream, seconds later; retried when WeChat is busy)",
}
_reply = {
    "allOf": [ref("Reply")],
    "nullable": True,
    "description": "answers a subscribe or SCAN through this code (a subscribe through a code "
    "without one gets the subscribe reply)",
}
_retention = {
    "type": "object",
    "properties": {
        "eligible": {**_int, "description": "followers who came long enough ago to tell"},
        "retained": {**_int, "description": "of those, still subscribed after the period"},
    },
}
_range = [
    query_param("from", {"type": "string", "format": "date"}, "first local date (inclusive)"),
    query_param("to", {"type": "string", "format": "date"}, "last local date (default today)"),
]

SCHEMAS = {
    "QRCodeInput": {
        "type": "object",
        "required": ["name", "scene"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 64},
            "scene": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "description": "what WeChat sends back as EventKey (`qrscene_<scene>` on a "
                "subscribe); one code per scene",
            },
            "permanent": {"type": "boolean", "default": False},
            "expire_seconds": {
                "type": "integer",
                "minimum": 60,
                "maximum": 2592000,
                "description": "temporary codes only; default 30 days",
            },
            "reply": _reply,
            "tag_ids": _tag_ids,
        },
    },
    "QRCodeChange": {
        "type": "object",
        "additionalProperties": False,
        "minProperties": 1,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 64},
            "reply": _reply,
            "tag_ids": _tag_ids,
        },
    },
    "QRCode": {
        "type": "object",
        "required": ["id", "name", "scene", "permanent", "ticket", "url", "scans", "subscribes"],
        "properties": {
            "id": _str,
            "name": _str,
            "scene": _str,
            "permanent": {"type": "boolean"},
            "expire_seconds": _nint,
            "expires_at": {**_nint, "description": "epoch s; null for a permanent code"},
            "expired": {"type": "boolean"},
            "ticket": _str,
            "url": {**_str, "description": "what the code encodes"},
            "image_url": {**_str, "description": "WeChat's showqrcode URL of the image"},
            "reply": _reply,
            "tag_ids": _tag_ids,
            "scans": {**_int, "description": "subscribes and SCANs through the code, all time"},
            "subscribes": _int,
            "created_at": _int,
            "updated_at": _int,
            "as_of": {**_nint, "description": "ms: counts hold every event received before"},
        },
    },
    "QRCodeList": {
        "type": "object",
        "required": ["items"],
        "properties": {
            "items": {"type": "array", "items": ref("QRCode")},
            "as_of": _nint,
        },
    },
    "QRCodeImage": {
        "type": "object",
        "required": ["content_type", "filename", "content_base64"],
        "properties": {"content_type": _str, "filename": _str, "content_base64": _str},
    },
    "QRCodeDays": {
        "type": "object",
        "properties": {
            "id": _str,
            "scene": _str,
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"date": _str, "scans": _int, "subscribes": _int},
                },
            },
        },
    },
    "ChannelReport": {
        "type": "object",
        "required": ["items", "complete"],
        "properties": {
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "scene": _str,
                        "id": {**_str, "nullable": True},
                        "name": {**_str, "nullable": True},
                        "scans": _int,
                        "subscribes": _int,
                        "followers": {**_int, "description": "followers whose first channel it is"},
                        "still_subscribed": _int,
                        "retained_7d": _retention,
                        "retained_30d": _retention,
                        "messages": {**_int, "description": "messages those followers sent"},
                    },
                },
            },
            "complete": {
                "type": "boolean",
                "description": "false when the follower records could not all be read in time",
            },
            "generated_at": _int,
        },
    },
}

_id = path_param("code_id")
_change = op(
    "Change a code's name, reply and/or tags (scene and kind are the code itself)",
    tag="channels",
    body=ref("QRCodeChange"),
    returns=ref("QRCode"),
    errors=(400, 401, 404, 503),
)

PATHS = {
    "/admin/qrcodes": {
        "get": op(
            "Channel QR codes with their scans and subscribes, newest first",
            tag="channels",
            returns=ref("QRCodeList"),
        ),
        "post": wop(
            "Create a channel QR code at WeChat (qrcode/create); 409 when its scene has one",
            tag="channels",
            quota=True,
            body=ref("QRCodeInput"),
            ok=201,
            returns=ref("QRCode"),
            errors=(400, 401, 409, 503),
        ),
    },
    "/admin/qrcodes/{code_id}": {
        "parameters": [_id],
        "get": op(
            "One code with its scans and subscribes",
            tag="channels",
            returns=ref("QRCode"),
            errors=(401, 404, 503),
        ),
        "put": _change,
        "patch": _change,
        "delete": op(
            "Forget a code (WeChat keeps it; its scans still count for its scene)",
            tag="channels",
            ok=204,
            errors=(401, 404, 503),
        ),
    },
    "/admin/qrcodes/{code_id}/image": {
        "parameters": [_id],
        "get": wop(
            "The code's image from WeChat's showqrcode (base64), for download and print",
            tag="channels",
            returns=ref("QRCodeImage"),
            errors=(401, 404, 503),
        ),
    },
    "/admin/qrcodes/{code_id}/stats": {
        "parameters": [_id],
        "get": op(
            "Scans and subscribes per local day (default: the last 30 days)",
            tag="channels",
            params=_range,
            returns=ref("QRCodeDays"),
            errors=(400, 401, 404, 503),
        ),
    },
    "/admin/channels/report": {
        "get": op(
            "Per channel: followers it brought first, still subscribed, kept after 7 and 30 "
            "days, their messages",
            tag="channels",
            returns=ref("ChannelReport"),
            errors=(401, 503),
        ),
    },
}
