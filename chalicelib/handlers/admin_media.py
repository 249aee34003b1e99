"""Admin routes for media items: S3 <-> WeChat (see chalicelib/media/).

Uploads are JSON: `content_base64` (API Gateway's binary handling needs per-type configuration
and breaks other routes, so files travel as base64 inside JSON, up to ~7 MB), or `s3_key` of an
object already in the media bucket (bigger files: get a presigned PUT URL from
`POST /admin/media/upload-url` first).
"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.errors import InvalidInput
from chalicelib.handlers.common import admin_route, json_response, read_object
from chalicelib.media import content, service
from chalicelib.store import media as records

bp = Blueprint(__name__)
admin = admin_route(bp)

UPLOAD_FIELDS = (
    "kind",
    "content_base64",
    "s3_key",
    "permanent",
    "filename",
    "content_type",
    "title",
    "introduction",
)


def _opt_str(body: dict[str, Any], key: str, limit: int) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{key} must be a non-empty string")
    if len(value) > limit:
        raise InvalidInput(f"{key} must be at most {limit} characters")
    return value


@bp.route("/admin/media", methods=["POST"])
@admin("media:write")
def upload_media() -> Response:
    body = read_object(bp.current_request)
    unknown = sorted(set(body) - set(UPLOAD_FIELDS))
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
    kind = content.check_kind(body.get("kind"))
    permanent = body.get("permanent", False)
    if not isinstance(permanent, bool):
        raise InvalidInput("permanent must be true or false")
    has_content, has_key = "content_base64" in body, "s3_key" in body
    if has_content == has_key:
        raise InvalidInput("give exactly one of content_base64 or s3_key")
    data = content.decode_base64(body["content_base64"], kind, permanent) if has_content else None
    s3_key = _opt_str(body, "s3_key", 1024) if has_key else None
    if has_key and s3_key is None:
        raise InvalidInput("s3_key must be a non-empty string")
    item = service.create_media(
        wiring.wechat(),
        kind,
        content=data,
        s3_key=s3_key,
        permanent=permanent,
        filename=_opt_str(body, "filename", 200),
        declared_type=_opt_str(body, "content_type", 100),
        title=_opt_str(body, "title", 64),
        introduction=_opt_str(body, "introduction", 120),
    )
    return json_response(item, 201)


@bp.route("/admin/media/upload-url", methods=["POST"])
@admin("media:write")
def media_upload_url() -> dict:
    body = read_object(bp.current_request)
    return service.presign_upload(wiring.presigner(), content.check_kind(body.get("kind")))


@bp.route("/admin/media", methods=["GET"])
@admin("media:read")
def list_media() -> dict:
    kind = (bp.current_request.query_params or {}).get("kind") or None
    return {"items": records.list_items(content.check_kind(kind) if kind else None)}


@bp.route("/admin/media/{item_id}", methods=["GET"])
@admin("media:read")
def get_media(item_id: str) -> dict:
    return records.get_item(item_id).to_dict()


@bp.route("/admin/media/{item_id}", methods=["DELETE"])
@admin("media:write")
def delete_media(item_id: str) -> Response:
    service.delete_media(item_id, wiring.wechat())
    return Response("", status_code=204)
