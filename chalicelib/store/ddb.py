"""The one way this app speaks DynamoDB's wire format: values, expressions, condition failures.

PynamoDB models declare the tables and serve plain typed CRUD. Everything that needs more
(dynamic attribute names, transactions, ReturnValuesOnConditionCheckFailure, the hot path, the
stream aggregator) builds its requests here, never with hand-written `{"N": ...}` literals:

    upd = Update().set(state="sent", sent_at=now).add(sent=3).where("{state} = :s", s="sending")
    ok, old = update(table, key("c#1", "b#00001"), upd)  # (False, item): condition failed

and every condition failure, from botocore or from PynamoDB, is decoded by `condition_failed`,
`old_item` and `cancel_reasons`.
"""

from __future__ import annotations

import math
import re
import string
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.store.aws import client
from chalicelib.store.errors import StoreUnavailable

Raw = dict[str, Any]  # one attribute value or item in DynamoDB's wire format


# -- values -------------------------------------------------------------------------------------


def ser(value: Any) -> Raw:
    """A Python value as a DynamoDB attribute value (bool before int: bool is an int)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError("cannot store a non-finite number")
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, Mapping):
        return {"M": {str(k): ser(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [ser(v) for v in value]}
    if isinstance(value, set | frozenset):
        if value and all(isinstance(v, str) for v in value):
            return {"SS": sorted(value)}
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            return {"NS": [str(v) for v in sorted(value)]}
        raise TypeError("sets must be non-empty and all strings or all integers")
    raise TypeError(f"cannot store {type(value).__name__}")


def de(attr: Raw) -> Any:
    ((kind, value),) = attr.items()
    if kind == "S":
        return value
    if kind == "N":
        return float(value) if any(c in value for c in ".eE") else int(value)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: de(v) for k, v in value.items()}
    if kind == "L":
        return [de(v) for v in value]
    if kind == "B":
        return bytes(value)
    if kind == "SS":
        return set(value)
    if kind == "NS":
        return {de({"N": v}) for v in value}
    if kind == "BS":
        return {bytes(v) for v in value}
    raise TypeError(f"unsupported attribute type {kind}")


def to_raw(item: Mapping[str, Any]) -> Raw:
    """A whole item; attributes whose value is None are left out (DynamoDB has no "unset")."""
    out: Raw = {}
    for name, value in item.items():
        # Strings and integers inline (exact types: bool is an int): nearly every attribute of
        # the callback's one write per message is one of them, and a call to ser() costs more
        # than the conversion. Anything else, and subclasses, goes through ser().
        kind = type(value)
        if kind is str:
            out[name] = {"S": value}
        elif kind is int:
            out[name] = {"N": str(value)}
        elif value is not None:
            out[name] = ser(value)
    return out


def from_raw(raw: Raw | None) -> dict[str, Any] | None:
    return None if raw is None else {name: de(value) for name, value in raw.items()}


def key(pk: str, sk: str | None = None, *, pk_name: str = "pk", sk_name: str = "sk") -> Raw:
    out: Raw = {pk_name: {"S": pk}}
    if sk is not None:
        out[sk_name] = {"S": sk}
    return out


# -- expressions --------------------------------------------------------------------------------


class Expression:
    """Placeholder bookkeeping shared by conditions and updates: attribute names become `#aN`,
    values `:vN`, so any attribute name (reserved words, `t:text`, `w.3f2a`) is safe."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.conditions: list[str] = []

    def name(self, attr: str) -> str:
        for placeholder, existing in self.names.items():
            if existing == attr:
                return placeholder
        placeholder = f"#a{len(self.names)}"
        self.names[placeholder] = attr
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = ser(value)
        return placeholder

    def where(self, template: str, **values: Any) -> Expression:
        """Add a condition (ANDed with the others). `template` names attributes as `{attr}` and
        values as `:name`, e.g. `where("attribute_not_exists({pk}) OR {exp} < :now", now=t)`."""
        names = {field: self.name(field) for field in _fields_in(template)}
        text = template.format(**names)
        for name, value in values.items():
            text = re.sub(rf":{name}\b", self.value(value), text)
        self.conditions.append(f"({text})")
        return self

    def condition(self) -> str | None:
        return " AND ".join(self.conditions) or None

    def _attach(self, out: Raw) -> Raw:
        condition = self.condition()
        if condition:
            out["ConditionExpression"] = condition
        if self.names:
            out["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            out["ExpressionAttributeValues"] = dict(self.values)
        return out


class Condition(Expression):
    """A condition alone, for PutItem and DeleteItem (and ConditionCheck in a transaction)."""

    def put_request(self, table_name: str, item: Raw) -> Raw:
        return self._attach({"TableName": table_name, "Item": item})

    def delete_request(self, table_name: str, item_key: Raw) -> Raw:
        return self._attach({"TableName": table_name, "Key": item_key})


class Update(Expression):
    """One UpdateExpression: SET, SET if absent, ADD, REMOVE, plus conditions."""

    def __init__(self) -> None:
        super().__init__()
        self.sets: list[str] = []
        self.adds: list[str] = []
        self.removes: list[str] = []

    def set(self, **fields: Any) -> Update:
        return self.set_attrs(fields)

    def set_attrs(self, fields: Mapping[str, Any]) -> Update:
        """SET with attribute names that are not Python identifiers."""
        for attr, value in fields.items():
            self.sets.append(f"{self.name(attr)} = {self.value(value)}")
        return self

    def set_if_absent(self, **fields: Any) -> Update:
        for attr, value in fields.items():
            n = self.name(attr)
            self.sets.append(f"{n} = if_not_exists({n}, {self.value(value)})")
        return self

    def add(self, **fields: int) -> Update:
        return self.add_attrs(fields)

    def add_attrs(self, fields: Mapping[str, int | float]) -> Update:
        """ADD to numbers (zero deltas are dropped: they would only cost bytes)."""
        for attr, value in fields.items():
            if value:
                self.adds.append(f"{self.name(attr)} {self.value(value)}")
        return self

    def remove(self, *attrs: str) -> Update:
        self.removes.extend(self.name(a) for a in attrs)
        return self

    def empty(self) -> bool:
        return not (self.sets or self.adds or self.removes)

    def expression(self) -> str:
        parts = []
        if self.sets:
            parts.append("SET " + ", ".join(self.sets))
        if self.adds:
            parts.append("ADD " + ", ".join(self.adds))
        if self.removes:
            parts.append("REMOVE " + ", ".join(self.removes))
        return " ".join(parts)

    def request(self, table_name: str, item_key: Raw) -> Raw:
        out: Raw = {"TableName": table_name, "Key": item_key}
        if not self.empty():
            out["UpdateExpression"] = self.expression()
        return self._attach(out)


def _fields_in(template: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(template) if field]


# -- condition failures -------------------------------------------------------------------------


def error_code(exc: BaseException) -> str | None:
    """The DynamoDB error code of a botocore ClientError or a PynamoDB exception."""
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    code = getattr(exc, "cause_response_code", None)
    if code:
        return code
    cause = getattr(exc, "cause", None)
    return error_code(cause) if isinstance(cause, BaseException) and cause is not exc else None


def condition_failed(exc: BaseException) -> bool:
    """True when a write's own condition failed: a single write, or a transaction cancelled
    because one of its conditions failed (not for conflicts or throttling)."""
    code = error_code(exc)
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        return any(r.get("Code") == "ConditionalCheckFailed" for r in cancel_reasons(exc) or [])
    return False


def old_item(exc: BaseException) -> Raw | None:
    """The item as it was, from a failed condition with ReturnValuesOnConditionCheckFailure=
    ALL_OLD (raw wire format; None when absent or not asked for)."""
    response = _response(exc)
    return (response or {}).get("Item")


def cancel_reasons(exc: BaseException) -> list[Raw] | None:
    """A cancelled transaction's reasons, one per item in request order; None if not one."""
    if error_code(exc) != "TransactionCanceledException":
        return None
    response = _response(exc) or {}
    return response.get("CancellationReasons") or []


def _response(exc: BaseException) -> Raw | None:
    if isinstance(exc, ClientError):
        return exc.response
    cause = getattr(exc, "cause", None)
    return _response(cause) if isinstance(cause, BaseException) and cause is not exc else None


# -- requests -----------------------------------------------------------------------------------


def put(request: Raw, *, profile: str = "standard") -> tuple[bool, Raw | None]:
    """PutItem. (True, None), or (False, the stored item) when its condition failed."""
    if "ConditionExpression" in request:
        request = {**request, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
    try:
        client("dynamodb", profile).put_item(**request)
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False, old_item(exc)
        raise
    return True, None


def update(
    table_name: str,
    item_key: Raw,
    upd: Update,
    *,
    returns: str = "NONE",
    profile: str = "standard",
) -> tuple[bool, dict[str, Any] | None]:
    """UpdateItem. (True, the item per `returns`), or (False, the item as it is) when the
    condition failed."""
    request = upd.request(table_name, item_key)
    if returns != "NONE":
        request["ReturnValues"] = returns
    if upd.conditions:
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    try:
        resp = client("dynamodb", profile).update_item(**request)
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False, from_raw(old_item(exc))
        raise
    return True, from_raw(resp.get("Attributes"))


def delete(request: Raw, *, profile: str = "standard") -> bool:
    """DeleteItem; False when its condition failed."""
    try:
        client("dynamodb", profile).delete_item(**request)
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def transact(entries: list[Raw], *, profile: str = "standard") -> bool:
    """One TransactWriteItems; False when a condition failed (nothing was written)."""
    try:
        client("dynamodb", profile).transact_write_items(TransactItems=entries)
    except ClientError as exc:
        if condition_failed(exc):
            return False
        raise
    return True


def get(
    table_name: str, item_key: Raw, *, consistent: bool = False, profile: str = "standard"
) -> dict[str, Any] | None:
    resp = client("dynamodb", profile).get_item(
        TableName=table_name, Key=item_key, ConsistentRead=consistent
    )
    return from_raw(resp.get("Item"))


BATCH_GET_KEYS = 100  # DynamoDB's limit per BatchGetItem


def batch_get(
    table_name: str,
    item_keys: Sequence[Raw],
    *,
    consistent: bool = False,
    projection: str | None = None,
    profile: str = "standard",
    attempts: int = 8,
) -> list[dict[str, Any]]:
    """The items that exist among `item_keys` (any order; only the `projection` attributes when
    given): one BatchGetItem per 100 keys, the keys DynamoDB leaves unprocessed (throttling)
    asked again with a short backoff."""
    found: list[dict[str, Any]] = []
    dynamodb = client("dynamodb", profile)
    for start in range(0, len(item_keys), BATCH_GET_KEYS):
        chunk = list(item_keys[start : start + BATCH_GET_KEYS])
        request: Raw = {table_name: {"Keys": chunk, "ConsistentRead": consistent}}
        if projection:
            request[table_name]["ProjectionExpression"] = projection
        for attempt in range(attempts):
            resp = dynamodb.batch_get_item(RequestItems=request)
            found += [from_raw(raw) or {} for raw in resp.get("Responses", {}).get(table_name, [])]
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))
        else:
            raise StoreUnavailable(f"batch_get {table_name}: keys left unprocessed (throttled)")
    return found


def query(
    request: Raw, *, max_items: int | None = None, profile: str = "standard"
) -> Iterator[dict[str, Any]]:
    """The items a Query returns, page after page (`Limit` in the request is DynamoDB's page
    size), lazily; at most `max_items` of them."""
    request = dict(request)
    seen = 0
    while True:
        resp = client("dynamodb", profile).query(**request)
        for raw in resp.get("Items", []):
            if max_items is not None and seen >= max_items:
                return
            yield from_raw(raw)  # type: ignore[misc]
            seen += 1
        last = resp.get("LastEvaluatedKey")
        if not last or (max_items is not None and seen >= max_items):
            return
        request["ExclusiveStartKey"] = last
