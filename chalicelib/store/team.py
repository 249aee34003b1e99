"""The `team` table: who may use the admin API, as far as this app keeps it.

One partition per account (`pk` = the account id), small items under `sk`:
- `user#<username>`: the user's role, `disabled`, `revoked_before` (tokens issued before this
  second no longer work), who created it and when. The identity itself (password, MFA) lives in
  Amazon Cognito; this item is what a request checks every few seconds, so that disabling a
  user or changing their role takes effect within seconds, whatever their token says.
- `apikey#<id>`: an API key's name, role and the SHA-256 of its secret (never the secret).
- `setting#<name>`: team settings (approvals).

Items are few (people and systems of one bank) and read at most once per credential every few
seconds per container: the partition stays cold.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

from chalicelib import config
from chalicelib.errors import Conflict
from chalicelib.store import ddb, keys
from chalicelib.store.guard import guarded
from chalicelib.store.models import register, table

USER, APIKEY, SETTING = "user", "apikey", "setting"


@register
class TeamItem(Model):
    """Declares the table (keys only); items are read and written with store.ddb."""

    Meta = table("team")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


def table_name() -> str:
    return config.table_name("team")


def _key(kind: str, name: str) -> ddb.Raw:
    return ddb.key(keys.scoped(), f"{kind}#{name}")


def _natural(item: dict[str, Any] | None) -> dict[str, Any] | None:
    if item is not None:
        item.pop("pk", None)
        item.pop("sk", None)
    return item


@guarded
def get(kind: str, name: str) -> dict[str, Any] | None:
    """The item, read consistently (a change must show at once), or None."""
    return _natural(ddb.get(table_name(), _key(kind, name), consistent=True))


@guarded
def create(kind: str, name: str, fields: dict[str, Any]) -> None:
    """Put a new item; Conflict when one with this name exists."""
    item = ddb.to_raw(fields)
    item.update(_key(kind, name))
    request = ddb.Condition().where("attribute_not_exists({pk})").put_request(table_name(), item)
    done, _ = ddb.put(request)
    if not done:
        raise Conflict(f"{kind} {name!r} already exists")


@guarded
def put(kind: str, name: str, fields: dict[str, Any]) -> None:
    """Put (create or replace) an item."""
    item = ddb.to_raw(fields)
    item.update(_key(kind, name))
    ddb.put({"TableName": table_name(), "Item": item})


@guarded
def update(kind: str, name: str, **fields: Any) -> dict[str, Any] | None:
    """SET fields on an existing item; the item after, or None when there is none."""
    upd = ddb.Update().set(**fields).where("attribute_exists({pk})")
    done, item = ddb.update(table_name(), _key(kind, name), upd, returns="ALL_NEW")
    return _natural(item) if done else None


@guarded
def delete(kind: str, name: str) -> None:
    ddb.delete({"TableName": table_name(), "Key": _key(kind, name)})


@guarded
def list_kind(kind: str) -> list[dict[str, Any]]:
    """Every item of `kind`, by name, with its name as `name`."""
    request = {
        "TableName": table_name(),
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :kind)",
        "ExpressionAttributeValues": {
            ":pk": ddb.ser(keys.scoped()),
            ":kind": ddb.ser(f"{kind}#"),
        },
        "ConsistentRead": True,
    }
    out = []
    for item in ddb.query(request):
        name = item["sk"].split("#", 1)[1]
        out.append({"name": name, **(_natural(item) or {})})
    return out
