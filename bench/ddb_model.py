"""DynamoDB's capacity rules, and an in-memory copy of the tables that applies the app's writes.

Item 3 (ddb_calls.py) prices each write it sees on moto with `write_units`, from the item as it
was and as it is (moto's own images). The burst model (burst_drive.py) cannot run 10,000
messages' writes through moto (its UpdateItem takes ~70 ms here), so it applies them to an
`ItemStore`: the same requests, evaluated for what they leave in the item (SET, SET
if_not_exists, `+`/`-`, list_append, ADD, REMOVE, DELETE on top-level attributes: every form the
app writes). Conditions are not evaluated: every write of a burst is a first delivery or a
first application, which item 3 checks on moto.

The rules (AWS, "Read/write capacity mode" and "Working with items"):
- one write unit per started KB of the larger of the item before and after the write, at least
  one; a write whose condition failed still costs the item's size (at least one);
- a transaction costs twice that for each of its items; the GSI upkeep it causes is counted
  once (the price list does not say it doubles);
- a GSI is written when the item enters it, leaves it (a delete), moves in it (a delete and a
  put), or when a projected attribute changes (ALL: any attribute); KEYS_ONLY indexes only when
  the index key changes. An index write costs the index entry's size (table and index keys plus
  the projected attributes), per started KB.

This file imports nothing from the project: burst_drive.py loads it by path inside another
checkout of the repository (the previous design), so both designs are counted the same way.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

KB = 1024
Raw = dict[str, Any]  # an item or attribute value in DynamoDB's wire format
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")
READS = ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems")


# -- sizes -------------------------------------------------------------------------------------


def value_size(value: Raw) -> int:
    """Stored size of one attribute value (DynamoDB's item-size rules)."""
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(raw.encode("utf-8"))
    if kind == "N":
        digits = str(raw).lstrip("-").replace(".", "").strip("0") or "0"
        return math.ceil(len(digits) / 2) + 1
    if kind == "B":
        return len(raw)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + value_size(v) + 1 for k, v in raw.items())
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in raw)
    if kind == "SS":
        return sum(len(v.encode("utf-8")) for v in raw)
    if kind == "NS":
        return sum(value_size({"N": v}) for v in raw)
    if kind == "BS":
        return sum(len(v) for v in raw)
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: Raw | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(v) for name, v in item.items())


def size_units(nbytes: int) -> int:
    return max(1, math.ceil(nbytes / KB))


# -- tables ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Index:
    name: str
    hash: str
    range: str | None
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    include: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableDef:
    name: str
    hash: str
    range: str | None
    indexes: tuple[Index, ...] = ()

    def key(self, item: Raw) -> Raw:
        out = {self.hash: item[self.hash]}
        if self.range:
            out[self.range] = item[self.range]
        return out

    def ident(self, key: Raw) -> tuple[str, str]:
        """(hash value, range value or "") as text: the item's identity."""
        return scalar(key[self.hash]), scalar(key[self.range]) if self.range else ""


def scalar(value: Raw) -> str:
    ((_kind, raw),) = value.items()
    return raw if isinstance(raw, str) else repr(raw)


def _schema(key_schema: list[dict[str, str]]) -> tuple[str, str | None]:
    hash_key = next(k["AttributeName"] for k in key_schema if k["KeyType"] == "HASH")
    range_key = next((k["AttributeName"] for k in key_schema if k["KeyType"] == "RANGE"), None)
    return hash_key, range_key


def table_def(description: Raw) -> TableDef:
    """From DescribeTable's `Table`."""
    hash_key, range_key = _schema(description["KeySchema"])
    indexes = []
    for gsi in description.get("GlobalSecondaryIndexes") or []:
        ihash, irange = _schema(gsi["KeySchema"])
        projection = gsi.get("Projection") or {}
        indexes.append(
            Index(
                gsi["IndexName"],
                ihash,
                irange,
                projection.get("ProjectionType", "ALL"),
                tuple(projection.get("NonKeyAttributes") or ()),
            )
        )
    return TableDef(description["TableName"], hash_key, range_key, tuple(indexes))


def describe_all(client: Any) -> dict[str, TableDef]:
    """Every table of a botocore DynamoDB client (moto), by name."""
    names = client.list_tables()["TableNames"]
    return {name: table_def(client.describe_table(TableName=name)["Table"]) for name in names}


# -- what a write costs ------------------------------------------------------------------------


@dataclass
class Write:
    """One item written by one request, priced."""

    table: str
    item: tuple[str, str]  # (hash, range) values
    units: float  # write units on the table
    indexes: list[tuple[str, str, float]] = field(default_factory=list)  # (index, hash, units)
    op: str = ""
    ok: bool = True
    bytes: int = 0  # the larger of the item before and after

    def partitions(self) -> Iterable[tuple[str, str, float]]:
        """(table or table/index, partition key value, write units)."""
        yield self.table, self.item[0], self.units
        for index, hash_value, units in self.indexes:
            yield f"{self.table}/{index}", hash_value, units

    @property
    def total(self) -> float:
        return self.units + sum(u for _, _, u in self.indexes)


def _entry(table: TableDef, index: Index, item: Raw | None) -> Raw | None:
    """The index entry of `item`, None when the item is not in the index."""
    if not item or index.hash not in item or (index.range and index.range not in item):
        return None
    keys = {table.hash, table.range, index.hash, index.range} - {None}
    if index.projection == "ALL":
        return dict(item)
    wanted = keys | set(index.include if index.projection == "INCLUDE" else ())
    return {name: value for name, value in item.items() if name in wanted}


def write_units(
    table: TableDef,
    before: Raw | None,
    after: Raw | None,
    *,
    op: str,
    in_transaction: bool = False,
    ok: bool = True,
) -> Write:
    """Price one item's write from the item before and after it (after = before when a
    condition failed)."""
    source = after or before or {}
    ident = table.ident(table.key(source)) if source else ("", "")
    factor = 2.0 if in_transaction else 1.0
    larger = max(item_size(before), item_size(after))
    if not ok:
        return Write(table.name, ident, factor * size_units(item_size(before)), [], op, False)
    write = Write(table.name, ident, factor * size_units(larger), [], op, True, larger)
    for index in table.indexes:
        old, new = _entry(table, index, before), _entry(table, index, after)
        old_key = old and (scalar(old[index.hash]), scalar(old[index.range]) if index.range else "")
        new_key = new and (scalar(new[index.hash]), scalar(new[index.range]) if index.range else "")
        if old is not None and old_key != new_key:
            write.indexes.append((index.name, old_key[0], size_units(item_size(old))))
        if new is not None and (old_key != new_key or old != new):
            write.indexes.append((index.name, new_key[0], size_units(item_size(new))))
    return write


@dataclass(frozen=True)
class Touch:
    """One item a write request touches."""

    table: str
    key: Raw
    action: str  # Put | Update | Delete | ConditionCheck
    params: Raw
    in_transaction: bool = False


def touches(op: str, params: Raw, tables: dict[str, TableDef]) -> list[Touch]:
    """The items a write request touches, in request order."""
    if op == "PutItem":
        table = tables[params["TableName"]]
        return [Touch(table.name, table.key(params["Item"]), "Put", params)]
    if op == "UpdateItem":
        return [Touch(params["TableName"], params["Key"], "Update", params)]
    if op == "DeleteItem":
        return [Touch(params["TableName"], params["Key"], "Delete", params)]
    if op == "TransactWriteItems":
        out = []
        for entry in params["TransactItems"]:
            ((action, body),) = entry.items()
            table = tables[body["TableName"]]
            key = table.key(body["Item"]) if action == "Put" else body["Key"]
            out.append(Touch(table.name, key, action, body, True))
        return out
    if op == "BatchWriteItem":
        out = []
        for name, requests in params["RequestItems"].items():
            for request in requests:
                if "PutRequest" in request:
                    item = request["PutRequest"]["Item"]
                    body = {"TableName": name, "Item": item}
                    out.append(Touch(name, tables[name].key(item), "Put", body))
                else:
                    key = request["DeleteRequest"]["Key"]
                    out.append(Touch(name, key, "Delete", {"TableName": name, "Key": key}))
        return out
    return []


# -- the in-memory tables ----------------------------------------------------------------------


class ItemStore:
    """The tables' items in memory: `apply` performs a write request and prices it."""

    def __init__(self, tables: dict[str, TableDef]) -> None:
        self.tables = tables
        self.items: dict[str, dict[tuple[str, str], Raw]] = {name: {} for name in tables}

    def get(self, table: str, key: Raw) -> Raw | None:
        return self.items[table].get(self.tables[table].ident(key))

    def put(self, table: str, item: Raw) -> None:
        """Store an item without pricing it (seeding what exists before a burst)."""
        definition = self.tables[table]
        self.items[table][definition.ident(definition.key(item))] = item

    def apply(self, op: str, params: Raw) -> list[Write]:
        out = []
        for touch in touches(op, params, self.tables):
            if touch.action == "ConditionCheck":
                continue  # priced by DynamoDB like a write of the item; not used by the app
            table = self.tables[touch.table]
            ident = table.ident(touch.key)
            before = self.items[touch.table].get(ident)
            body = touch.params
            if touch.action == "Put":
                after: Raw | None = dict(body["Item"])
            elif touch.action == "Delete":
                after = None
            else:
                after = apply_update(
                    {**(before or {}), **touch.key},
                    body.get("UpdateExpression", ""),
                    body.get("ExpressionAttributeNames") or {},
                    body.get("ExpressionAttributeValues") or {},
                )
            if after is None:
                self.items[touch.table].pop(ident, None)
            else:
                self.items[touch.table][ident] = after
            out.append(
                write_units(
                    table, before, after, op=op, in_transaction=touch.in_transaction, ok=True
                )
            )
        return out


# -- UpdateExpression, as far as the app uses it -----------------------------------------------

_CLAUSE = re.compile(r"\b(SET|ADD|REMOVE|DELETE)\b", re.IGNORECASE)
_FUNCTION = re.compile(r"^(if_not_exists|list_append)\s*\((.*)\)$", re.DOTALL)


def _split(text: str, separators: str) -> list[tuple[str, str]]:
    """Split at `separators` outside parentheses: [(separator before, part), ...]."""
    parts: list[tuple[str, str]] = []
    depth, start, sep = 0, 0, ""
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char in separators and depth == 0:
            parts.append((sep, text[start:i].strip()))
            start, sep = i + 1, char
    parts.append((sep, text[start:].strip()))
    return [(s, p) for s, p in parts if p]


def _name(path: str, names: dict[str, str]) -> str:
    path = path.strip()
    if "." in path or "[" in path:
        raise NotImplementedError(f"nested path {path!r}: the burst model handles top-level names")
    return names.get(path, path)


def _number(value: Raw) -> Decimal:
    return Decimal(value["N"])


def _operand(text: str, item: Raw, names: dict[str, str], values: Raw) -> Raw | None:
    text = text.strip()
    if text.startswith(":"):
        return values[text]
    call = _FUNCTION.match(text)
    if call:
        function, inner = call.groups()
        first, second = (part for _, part in _split(inner, ","))
        if function == "if_not_exists":
            found = item.get(_name(first, names))
            return found if found is not None else _operand(second, item, names, values)
        left = _operand(first, item, names, values) or {"L": []}
        right = _operand(second, item, names, values) or {"L": []}
        return {"L": [*left["L"], *right["L"]]}
    return item.get(_name(text, names))


def _value(text: str, item: Raw, names: dict[str, str], values: Raw) -> Raw:
    terms = _split(text, "+-")
    result = _operand(terms[0][1], item, names, values)
    if len(terms) == 1:
        if result is None:
            raise ValueError(f"{text!r} reads an attribute the item does not have")
        return result
    total = _number(result or {"N": "0"})
    for sign, term in terms[1:]:
        amount = _number(_operand(term, item, names, values) or {"N": "0"})
        total = total + amount if sign == "+" else total - amount
    return {"N": _format(total)}


def _format(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return text if text != "-0" else "0"


def apply_update(item: Raw, expression: str, names: dict[str, str], values: Raw) -> Raw:
    """The item after `expression` (every operand reads the item as it was, as in DynamoDB)."""
    out = dict(item)
    pieces = _CLAUSE.split(expression)
    for keyword, body in zip(pieces[1::2], pieces[2::2], strict=True):
        keyword = keyword.upper()
        for _, action in _split(body, ","):
            if keyword == "SET":
                path, _, value = action.partition("=")
                out[_name(path, names)] = _value(value, item, names, values)
            elif keyword == "REMOVE":
                out.pop(_name(action, names), None)
            else:
                path, value = action.split(None, 1)
                out = _add_or_delete(out, keyword, _name(path, names), values[value.strip()])
    return out


def _add_or_delete(item: Raw, keyword: str, name: str, value: Raw) -> Raw:
    current = item.get(name)
    ((kind, raw),) = value.items()
    if keyword == "ADD" and kind == "N":
        base = _number(current) if current else Decimal(0)
        item[name] = {"N": _format(base + Decimal(raw))}
        return item
    members = set(current[kind]) if current else set()
    members = members | set(raw) if keyword == "ADD" else members - set(raw)
    if members:
        item[name] = {kind: sorted(members)}
    else:
        item.pop(name, None)
    return item


# -- the busiest keys --------------------------------------------------------------------------


@dataclass
class Tally:
    """Write units per partition key and writes per item, over a set of priced writes."""

    partition_units: Counter = field(default_factory=Counter)  # (table[/index], key) -> WRU
    item_writes: Counter = field(default_factory=Counter)  # (table, hash, range) -> writes
    requests: int = 0
    units: float = 0.0
    by_table: Counter = field(default_factory=Counter)  # table -> WRU

    def add(self, writes: Iterable[Write], *, requests: int = 1) -> None:
        self.requests += requests
        for write in writes:
            self.item_writes[(write.table, *write.item)] += 1
            self.units += write.total
            self.by_table[write.table] += write.total
            for partition, key, units in write.partitions():
                self.partition_units[(partition, key)] += units

    def busiest(self, top: int = 5) -> dict[str, list[tuple[str, str, float]]]:
        return {
            "partitions": [(p, k, u) for (p, k), u in self.partition_units.most_common(top)],
            "items": [
                (t, f"{h}|{r}" if r else h, float(n))
                for (t, h, r), n in self.item_writes.most_common(top)
            ],
        }


def merge(tallies: Iterable[Tally]) -> Tally:
    out = Tally()
    for tally in tallies:
        out.partition_units.update(tally.partition_units)
        out.item_writes.update(tally.item_writes)
        out.requests += tally.requests
        out.units += tally.units
        out.by_table.update(tally.by_table)
    return out
