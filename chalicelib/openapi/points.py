"""Points of service (branches, ATMs) and the answer to a follower's location."""

from __future__ import annotations

from chalicelib.openapi.spec import op, path_param, query_param, ref, stored
from chalicelib.openapi.wechat import wop  # an empty_reply naming a media item uploads it

_str = {"type": "string"}
_num = {"type": "number"}

SCHEMAS = {
    "PointInput": {
        "type": "object",
        "required": ["name", "lat", "lng"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 64},
            "lat": {"type": "number", "minimum": -90, "maximum": 90},
            "lng": {"type": "number", "minimum": -180, "maximum": 180},
            "address": {"type": "string", "maxLength": 200},
            "phone": {"type": "string", "maxLength": 40},
            "hours": {"type": "string", "maxLength": 100},
            "tags": {
                "type": "array",
                "maxItems": 10,
                "items": {"type": "string", "maxLength": 20},
                "description": "e.g. branch, ATM",
            },
            "url": {"type": "string", "description": "http(s) link used in news answers"},
            "enabled": {"type": "boolean", "default": True},
        },
    },
    "Point": stored("PointInput"),
    "NearbyPoint": {
        "allOf": [
            ref("Point"),
            {
                "type": "object",
                "properties": {
                    "distance_m": {**_num, "description": "great-circle distance in metres"},
                    "distance": {**_str, "description": "as followers see it: 850 m, 1.2 km"},
                },
            },
        ]
    },
    "PointImport": {
        "oneOf": [
            {"type": "array", "items": ref("PointInput"), "minItems": 1, "maxItems": 20000},
            {
                "type": "object",
                "required": ["points"],
                "properties": {
                    "points": {"type": "array", "items": ref("PointInput"), "minItems": 1},
                    "replace": {
                        "type": "boolean",
                        "default": False,
                        "description": "delete every stored point not in this import",
                    },
                },
            },
        ],
        "description": "Every point is validated before anything is written; a point with an "
        "`id` (1-64 of A-Z a-z 0-9 _ -) replaces the stored point with that id.",
    },
    "LocationSettings": {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3},
            "format": {"enum": ["text", "news"], "default": "text"},
            "max_distance_km": {
                "type": "number",
                "minimum": 0,
                "default": 50,
                "description": "0: no limit",
            },
            "title": {"type": "string", "default": "离您最近的网点"},
            "tags": {
                "type": "array",
                "items": _str,
                "description": "only points with one of these",
            },
            "answer_location_events": {
                "type": "boolean",
                "default": False,
                "description": "also answer LOCATION events (reported every 5 s when enabled)",
            },
            "empty_reply": {**ref("Reply"), "nullable": True},
            "url": {"type": "string", "nullable": True},
            "pic_url": {"type": "string", "nullable": True},
        },
    },
}

_point_id = path_param("point_id")
_nf = (400, 401, 404, 503)

PATHS = {
    "/admin/points": {
        "get": op(
            "List points, one page at a time",
            tag="points",
            params=[
                query_param(
                    "limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}
                ),
                query_param("cursor", _str, "`next` of the previous page"),
                query_param("tag", _str, "only points with this tag"),
            ],
            returns={
                "type": "object",
                "properties": {
                    "items": {"type": "array", "items": ref("Point")},
                    "next": {"type": "string", "nullable": True},
                },
            },
        ),
        "post": op(
            "Create a point", tag="points", body=ref("PointInput"), ok=201, returns=ref("Point")
        ),
    },
    "/admin/points/import": {
        "post": op(
            "Bulk import (up to 20,000 points)",
            tag="points",
            body=ref("PointImport"),
            returns={
                "type": "object",
                "properties": {"imported": {"type": "integer"}, "deleted": {"type": "integer"}},
            },
        ),
    },
    "/admin/points/nearest": {
        "get": op(
            "The points a follower at (lat, lng) would be offered, nearest first",
            tag="points",
            params=[
                {**query_param("lat", {"type": "number"}), "required": True},
                {**query_param("lng", {"type": "number"}), "required": True},
                query_param("n", {"type": "integer", "minimum": 1, "maximum": 100, "default": 3}),
                query_param("tag", _str, "only points with this tag (default: the settings')"),
            ],
            returns={
                "type": "object",
                "properties": {"items": {"type": "array", "items": ref("NearbyPoint")}},
            },
        ),
    },
    "/admin/points/settings": {
        "get": op(
            "How location messages are answered",
            tag="points",
            returns=ref("LocationSettings"),
            errors=(401, 503),
        ),
        "put": wop(
            "Change how location messages are answered (fields left out keep their value)",
            tag="points",
            body=ref("LocationSettings"),
            returns=ref("LocationSettings"),
        ),
    },
    "/admin/points/{point_id}": {
        "parameters": [_point_id],
        "get": op("Get a point", tag="points", returns=ref("Point"), errors=(401, 404, 503)),
        "put": op(
            "Update a point (fields left out keep their value)",
            tag="points",
            body={"type": "object"},
            returns=ref("Point"),
            errors=_nf,
        ),
        "patch": op(
            "Update some fields of a point",
            tag="points",
            body={"type": "object"},
            returns=ref("Point"),
            errors=_nf,
        ),
        "delete": op("Delete a point", tag="points", ok=204, errors=(401, 404, 503)),
    },
}
