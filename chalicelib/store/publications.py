"""Publications: CMS articles published as WeChat articles with freepublish (`outbound`,
`<a>#pub` / `<id>`, ids in time order: the account's list is one Query, newest first), and the
pointer `<a>#pubid#<publish_id>` / `p` by which WeChat's PUBLISHJOBFINISH finds its publication.

A publication moves drafting -> publishing -> published | failed (| deleted); each step is a
plain update of the fields it learned, so the stream aggregator and a refresh by the admin may
both record the same outcome.
"""

from __future__ import annotations

import secrets
from typing import Any

from chalicelib.errors import NotFound
from chalicelib.store import ddb, keys, outbound
from chalicelib.store.guard import guarded

DRAFTING, PUBLISHING, PUBLISHED, FAILED, DELETED = (
    "drafting",
    "publishing",
    "published",
    "failed",
    "deleted",
)


def _pk() -> str:
    return keys.scoped("pub")


def _key(publication_id: str) -> ddb.Raw:
    return ddb.key(_pk(), publication_id)


def _pointer_key(publish_id: str) -> ddb.Raw:
    return ddb.key(keys.scoped("pubid", publish_id), "p")


def new_id(now: float) -> str:
    """Sortable by creation (milliseconds), unique (random tail)."""
    return f"{int(now * 1000):013d}{secrets.token_hex(3)}"


def _public(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is None:
        return None
    item = dict(item)
    item.pop("pk", None)
    item["id"] = item.pop("sk")
    return item


@guarded
def create(record: dict[str, Any]) -> dict[str, Any]:
    item = ddb.to_raw({k: v for k, v in record.items() if k != "id"}) | _key(record["id"])
    ddb.put(ddb.Condition().where("attribute_not_exists({pk})").put_request(
        outbound.table_name(), item
    ))  # fmt: skip
    return dict(record)


@guarded
def get(publication_id: str) -> dict[str, Any]:
    found = ddb.get(outbound.table_name(), _key(publication_id), consistent=True)
    if found is None:
        raise NotFound(f"no publication {publication_id}")
    return _public(found)  # type: ignore[return-value]


@guarded
def update(publication_id: str, **fields: Any) -> dict[str, Any]:
    upd = ddb.Update().set(**{k: v for k, v in fields.items() if v is not None})
    upd.where("attribute_exists({pk})")
    ok, item = ddb.update(outbound.table_name(), _key(publication_id), upd, returns="ALL_NEW")
    if not ok:
        raise NotFound(f"no publication {publication_id}")
    return _public(item)  # type: ignore[return-value]


@guarded
def list_recent(limit: int = 50) -> list[dict[str, Any]]:
    request = {
        "TableName": outbound.table_name(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": ddb.ser(_pk())},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    return [_public(item) for item in ddb.query(request, max_items=limit)]  # type: ignore[misc]


@guarded
def put_pointer(publish_id: str, publication_id: str) -> None:
    item = ddb.to_raw({"publication": publication_id}) | _pointer_key(publish_id)
    ddb.put({"TableName": outbound.table_name(), "Item": item})


@guarded
def by_publish_id(publish_id: str) -> str | None:
    found = ddb.get(outbound.table_name(), _pointer_key(publish_id), consistent=True)
    return (found or {}).get("publication")
