"""Points of service (branches, ATMs, ...) and the settings of the location answer.

The callback never queries this table per message: it keeps every point in a per-container
snapshot (engine.geo.PlaceBook, an in-memory k-d tree) and reloads it when the `points#version`
item moves (checked at most every 2 s, and only by containers that see location messages).
A separate version from the rules' keeps a rule edit from reloading 10,000 points everywhere.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from decimal import Decimal
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
from chalicelib.store.aws import client
from chalicelib.store.errors import NotFound
from chalicelib.store.guard import guarded, is_condition_failure, save_new
from chalicelib.store.models import ConfigItem, register, table

VERSION_KEY = "points#version"
SETTINGS_KEY = "points#settings"
MAX_IMPORT = 20_000


@register
class PointItem(Model):
    Meta = table("points")
    id = UnicodeAttribute(hash_key=True)
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
            "id": self.id,
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
        point_id,
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


@guarded
def _add_version() -> int:
    item = ConfigItem(VERSION_KEY)
    item.update(actions=[ConfigItem.version.add(1), ConfigItem.updated_at.set(int(time.time()))])
    return int(item.version)


def bump_version() -> int | None:
    """Tell every container's points snapshot to reload. Best-effort, as in store.rules: it runs
    after the data write succeeded, and a 503 then would invite a retry that writes twice. A
    lost bump is healed by the snapshot cache's max_age reload."""
    try:
        return _add_version()
    except Exception:
        logging.getLogger("wxless.points").warning(
            "points.bump_version_failed: caches catch up within their max age", exc_info=True
        )
        return None


def read_version() -> int:
    from chalicelib.store.rules import fast_version  # the callback's fail-fast read

    return fast_version(VERSION_KEY)[0]


@guarded
def get_settings() -> dict[str, Any] | None:
    try:
        return ConfigItem.get(SETTINGS_KEY).value
    except DoesNotExist:
        return None


@guarded
def put_settings(settings: dict[str, Any]) -> None:
    ConfigItem(SETTINGS_KEY, value=settings, updated_at=int(time.time())).save()
    bump_version()


# -- CRUD -----------------------------------------------------------------------------------


@guarded
def get_point(point_id: str) -> dict[str, Any]:
    try:
        return PointItem.get(point_id).to_dict()
    except DoesNotExist:
        raise NotFound(f"point {point_id} not found") from None


@guarded
def list_points(
    limit: int = 100, cursor: str | None = None, tag: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page in table order and the cursor of the next page (None at the end). With a
    `tag`, a page may hold fewer than `limit` points: keep following the cursor."""
    kwargs: dict[str, Any] = {"limit": limit}
    if cursor:
        kwargs["last_evaluated_key"] = {"id": {"S": cursor}}
    if tag:
        kwargs["filter_condition"] = PointItem.tags.contains(tag)
    result = PointItem.scan(**kwargs)
    items = [item.to_dict() for item in result]
    last = result.last_evaluated_key
    return items, (last["id"]["S"] if last else None)


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
        item.save(condition=PointItem.id.exists())
    except PutError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"point {point_id} not found") from None
        raise
    bump_version()
    return item.to_dict()


@guarded
def delete_point(point_id: str) -> None:
    try:
        PointItem(point_id).delete(condition=PointItem.id.exists())
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
                batch.delete(PointItem(pid))
        deleted = len(stale)
    bump_version()
    return {"imported": written, "deleted": deleted}


def _scan_pages(projection: str | None = None) -> Iterable[dict[str, Any]]:
    ddb = client("dynamodb")
    kwargs: dict[str, Any] = {"TableName": config.table_name("points")}
    if projection:
        kwargs["ProjectionExpression"] = projection
    while True:
        page = ddb.scan(**kwargs)
        yield from page.get("Items", [])
        if not page.get("LastEvaluatedKey"):
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def all_point_ids() -> list[str]:
    return [item["id"]["S"] for item in _scan_pages("id")]


def _plain(value: dict[str, Any]) -> Any:
    if "S" in value:
        return value["S"]
    if "N" in value:
        number = Decimal(value["N"])
        return int(number) if number == number.to_integral_value() else float(number)
    if "BOOL" in value:
        return value["BOOL"]
    if "L" in value:
        return [_plain(v) for v in value["L"]]
    return None


@guarded
def all_points() -> list[dict[str, Any]]:
    """Every point, for the snapshot (plain dicts: no model object per item)."""
    return [{k: _plain(v) for k, v in item.items()} for item in _scan_pages()]


@guarded
def load_snapshot() -> tuple[int, tuple[list[dict[str, Any]], dict[str, Any] | None]]:
    """Version first, then data: a change landing meanwhile shows as a newer version later."""
    version = read_version()
    return version, (all_points(), get_settings())
