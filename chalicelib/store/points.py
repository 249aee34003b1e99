"""Points of service (branches, ATMs, ...) and the settings of the location answer.

The callback never queries this table per message: it keeps every point in a per-container
snapshot (engine.geo.PlaceBook, an in-memory k-d tree) and reloads it when the `points#version`
item moves (checked at most every 2 s, and only by containers that see location messages).
A separate version from the rules' keeps a rule edit from reloading 10,000 points everywhere.

Keys: a point is `pk` = `<account>#point#<id>` (one partition per point: the snapshot reads the
whole table, and a single partition per account would concentrate every container's reload on
it); an account's points are the items under its prefix. The version and the settings are config
items `<account>#points#version` and `<account>#points#settings`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError
from pynamodb.models import Model

from chalicelib import config
from chalicelib.engine.geo import check_point_id
from chalicelib.errors import InvalidInput
from chalicelib.store import ddb, keys, versions
from chalicelib.store.aws import client
from chalicelib.store.errors import NotFound
from chalicelib.store.guard import guarded, is_condition_failure, save_new
from chalicelib.store.models import ConfigItem, register, table

MAX_IMPORT = 20_000


def _pk(point_id: str) -> str:
    return keys.scoped("point", point_id)


@register
class PointItem(Model):
    Meta = table("points")
    pk = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    lat = NumberAttribute()
    lng = NumberAttribute()
    address = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    hours = UnicodeAttribute(null=True)
    tags = ListAttribute(of=UnicodeAttribute, null=True)
    url = UnicodeAttribute(null=True)
    enabled = BooleanAttribute(default=True)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": keys.last(self.pk),
            "name": self.name,
            "lat": float(self.lat),
            "lng": float(self.lng),
            "tags": list(self.tags or []),
            "enabled": bool(self.enabled),
            "created_at": int(self.created_at),
            "updated_at": int(self.updated_at),
        }
        for key in ("address", "phone", "hours", "url"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


def _item(point_id: str, fields: dict[str, Any], created_at: int, now: int) -> PointItem:
    return PointItem(
        _pk(point_id),
        name=fields["name"],
        lat=fields["lat"],
        lng=fields["lng"],
        address=fields.get("address"),
        phone=fields.get("phone"),
        hours=fields.get("hours"),
        tags=fields.get("tags") or None,
        url=fields.get("url"),
        enabled=fields.get("enabled", True),
        created_at=created_at,
        updated_at=now,
    )


# -- version and settings -------------------------------------------------------------------


def _version_key() -> str:
    return versions.key("points")


def _settings_key() -> str:
    return keys.scoped("points", "settings")


def bump_version() -> int | None:
    """Tell every container's points snapshot to reload (best-effort, see versions.bump)."""
    return versions.bump(_version_key())


def read_version() -> int:
    return versions.read_fast(_version_key())[0]  # the callback's fail-fast read


@guarded
def get_settings() -> dict[str, Any] | None:
    try:
        return ConfigItem.get(_settings_key()).value
    except DoesNotExist:
        return None


@guarded
def put_settings(settings: dict[str, Any]) -> None:
    ConfigItem(_settings_key(), value=settings, updated_at=int(time.time())).save()
    bump_version()


# -- CRUD -----------------------------------------------------------------------------------


@guarded
def get_point(point_id: str) -> dict[str, Any]:
    try:
        return PointItem.get(_pk(point_id)).to_dict()
    except DoesNotExist:
        raise NotFound(f"point {point_id} not found") from None


@guarded
def list_points(
    limit: int = 100, cursor: str | None = None, tag: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page in table order and the cursor of the next page (None at the end). With a
    `tag`, a page may hold fewer than `limit` points: keep following the cursor."""
    condition = PointItem.pk.startswith(keys.prefix("point"))
    if tag:
        condition &= PointItem.tags.contains(tag)
    kwargs: dict[str, Any] = {"limit": limit, "filter_condition": condition}
    if cursor:
        kwargs["last_evaluated_key"] = ddb.key(_pk(_cursor_id(cursor)))
    result = PointItem.scan(**kwargs)
    items = [item.to_dict() for item in result]
    last = result.last_evaluated_key
    return items, (keys.last(ddb.de(last["pk"])) if last else None)


def _cursor_id(cursor: str) -> str:
    try:
        return check_point_id(cursor)  # a cursor is the last point id of the previous page
    except ValueError:
        raise InvalidInput("cursor is not one this API returned") from None


@guarded
def create_point(fields: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    item = _item(uuid.uuid4().hex, fields, now, now)
    save_new(item)
    bump_version()
    return item.to_dict()


@guarded
def replace_point(point_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    current = get_point(point_id)
    item = _item(point_id, fields, current["created_at"], int(time.time()))
    try:
        item.save(condition=PointItem.pk.exists())
    except PutError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"point {point_id} not found") from None
        raise
    bump_version()
    return item.to_dict()


@guarded
def delete_point(point_id: str) -> None:
    try:
        PointItem(_pk(point_id)).delete(condition=PointItem.pk.exists())
    except DeleteError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"point {point_id} not found") from None
        raise
    bump_version()


@guarded
def import_points(
    points: Iterable[tuple[str | None, dict[str, Any]]], *, replace: bool = False
) -> dict[str, int]:
    """Upsert validated points ((id or None, fields)) with BatchWriteItem, 25 per request; with
    `replace`, every point not in the import is deleted. One version bump at the end."""
    now = int(time.time())
    kept: set[str] = set()
    written = 0
    with PointItem.batch_write() as batch:
        for point_id, fields in points:
            point_id = point_id or uuid.uuid4().hex
            kept.add(point_id)
            batch.save(_item(point_id, fields, now, now))
            written += 1
    deleted = 0
    if replace:
        stale = [pid for pid in all_point_ids() if pid not in kept]
        with PointItem.batch_write() as batch:
            for pid in stale:
                batch.delete(PointItem(_pk(pid)))
        deleted = len(stale)
    bump_version()
    return {"imported": written, "deleted": deleted}


def _scan(*attrs: str) -> Iterable[dict[str, Any]]:
    """Every point of the account as a plain dict (no model object per item: 20,000 of them
    load faster this way), its key given as `id`."""
    scan = ddb.Expression().where("begins_with({pk}, :account)", account=keys.prefix("point"))
    request: dict[str, Any] = {
        "TableName": config.table_name("points"),
        "FilterExpression": scan.condition(),
        "ExpressionAttributeValues": scan.values,
    }
    if attrs:
        request["ProjectionExpression"] = ", ".join(scan.name(a) for a in attrs)
    request["ExpressionAttributeNames"] = scan.names
    dynamodb = client("dynamodb")
    while True:
        page = dynamodb.scan(**request)
        for raw in page.get("Items", []):
            item = ddb.from_raw(raw) or {}
            item["id"] = keys.last(item.pop("pk"))
            yield item
        if not page.get("LastEvaluatedKey"):
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def all_point_ids() -> list[str]:
    return [item["id"] for item in _scan("pk")]


@guarded
def all_points() -> list[dict[str, Any]]:
    """Every point, for the snapshot."""
    return list(_scan())


@guarded
def load_snapshot() -> tuple[int, tuple[list[dict[str, Any]], dict[str, Any] | None]]:
    """Version first, then data: a change landing meanwhile shows as a newer version later."""
    version = read_version()
    return version, (all_points(), get_settings())
