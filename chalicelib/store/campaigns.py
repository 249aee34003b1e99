"""Campaigns in DynamoDB: every state change is one conditional write (or one transaction).

Two tables:

- `campaigns` (hash `id`): one item per campaign; GSI `by_status` (status, send_at) lets the
  dispatcher find due and running campaigns without a scan.
- `campaign-items` (hash `pk`, range `sk`): everything a campaign fans out into.

  | pk                      | sk          | what                                                |
  | ----------------------- | ----------- | --------------------------------------------------- |
  | `c#<id>`                | `b#00001`   | a mass-send batch (sendall, or up to 10,000 openids) |
  | `c#<id>`                | `l#0001`    | a part of an openid-list audience (template)        |
  | `c#<id>`                | `q#000001`  | a template chunk (a few hundred openids, one SQS msg)|
  | `c#<id>`                | `stat#07`   | one of 32 counter shards                            |
  | `c#<id>#r#<openid>`     | `r`         | one template recipient (own partition: no hot key)  |
  | `m#<msg_id>`            | `m`         | msg_id -> batch/recipient, for the *JOBFINISH events |
  | `limit#mass`            | `gcra`      | the mass-send rate limiter (see `acquire_mass_slot`) |
  | `limit#template`        | `quota`     | template/send paused (daily quota) until `until`    |
  | `quota#<period>`        | `v`         | version of a quota period, guards concurrent creates |

  Batches and chunks that still need work carry `open_pk`/`open_sk` (GSI `open`, sparse):
  `P#<not_before>` pending, `C#<lease_until>` claimed, `E#<enqueued_at>` enqueued. The attributes
  are removed when the item reaches a final state, so the index holds only open work.

Counters are ADDed to one of 32 shards (`stat#NN`, shard by batch/chunk/msg) in the same
transaction as the state change they count, so they count exactly once; many workers and
completion events touching one campaign then never contend on one item (a transaction on a busy
item fails with TransactionConflict). Reading a campaign's totals is one Query of <= 32 items.

Times are epoch seconds (floats, millisecond precision). Nothing here decides *what* to do: that
is chalicelib.jobs.campaigns; this module only makes the writes safe.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import string
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.attributes import NumberAttribute, TTLAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib import config
from chalicelib.jobs.schedules import CAMPAIGN_QUEUE
from chalicelib.store.aws import client
from chalicelib.store.errors import Conflict, NotFound
from chalicelib.store.guard import guarded
from chalicelib.store.models import register, table

log = logging.getLogger("wxless.campaigns")

# Campaign statuses.
SCHEDULED, RUNNING, COMPLETED, FAILED, CANCELLED = (
    "scheduled",
    "running",
    "completed",
    "failed",
    "cancelled",
)
STATUSES = (SCHEDULED, RUNNING, COMPLETED, FAILED, CANCELLED)
# Batch / chunk / recipient states.
PENDING, CLAIMED, SENT, UNKNOWN = "PENDING", "CLAIMED", "SENT", "UNKNOWN"
ENQUEUED, DONE, RETRY, FAILED_STATE = "ENQUEUED", "DONE", "RETRY", "FAILED"
FINAL_STATES = frozenset({SENT, FAILED_STATE, UNKNOWN, DONE})

SHARDS = 32
RETENTION_SECONDS = 180 * 86400  # recipients and msg pointers expire (TTL) after this


# --------------------------------------------------------------------------- tables


class CampaignsByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()  # campaign items are small; saves a read per campaign

    status = UnicodeAttribute(hash_key=True)
    send_at = NumberAttribute(range_key=True)


@register
class CampaignRecord(Model):
    """Declares the table (keys and index only); items are read and written with botocore."""

    Meta = table("campaigns")
    id = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute(null=True)
    send_at = NumberAttribute(null=True)
    by_status = CampaignsByStatus()


class OpenWork(GlobalSecondaryIndex):
    class Meta:
        index_name = "open"
        projection = KeysOnlyProjection()

    open_pk = UnicodeAttribute(hash_key=True)
    open_sk = UnicodeAttribute(range_key=True)


@register
class CampaignPart(Model):
    Meta = table("campaign-items")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    open_pk = UnicodeAttribute(null=True)
    open_sk = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    open = OpenWork()


def _campaigns() -> str:
    return config.table_name("campaigns")


def _items() -> str:
    return config.table_name("campaign-items")


def items_table() -> str:
    """The campaign-items table (batches, recipients, counters, msg_id pointers)."""
    return _items()


def _ddb() -> Any:
    return client("dynamodb")


# --------------------------------------------------------------------------- (de)serialization


def ser(value: Any) -> dict[str, Any]:
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        return {"N": f"{value:.3f}"}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, dict):
        return {"M": {str(k): ser(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"L": [ser(v) for v in value]}
    raise TypeError(f"cannot store {type(value).__name__}")


def de(attr: dict[str, Any]) -> Any:
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
    if kind in ("SS", "NS"):
        return [de({kind[0]: v}) for v in value]
    raise TypeError(f"unsupported attribute type {kind}")


def item_dict(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if raw is None else {k: de(v) for k, v in raw.items()}


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def cpk(campaign_id: str) -> str:
    return f"c#{campaign_id}"


def batch_sk(seq: int) -> str:
    return f"b#{seq:05d}"


def part_sk(seq: int) -> str:
    return f"l#{seq:04d}"


def chunk_sk(seq: int) -> str:
    return f"q#{seq:06d}"


def recipient_pk(campaign_id: str, openid: str) -> str:
    return f"c#{campaign_id}#r#{openid}"


def msg_pk(msg_id: Any) -> str:
    return f"m#{msg_id}"


def _stamp(t: float) -> str:
    """Sortable time for `open_sk`: zero-padded milliseconds."""
    return f"{max(0, int(t * 1000)):015d}"


def shard_of(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=2).digest(), "big") % SHARDS


def encode_openids(openids: Sequence[str]) -> str:
    # One string, not a List: ~30 bytes per openid keeps a 10,000-openid batch near 300 KB.
    return "\n".join(openids)


def decode_openids(text: str | None) -> list[str]:
    return [o for o in (text or "").split("\n") if o]


class _Update:
    """Builds one UpdateExpression with safe placeholder names."""

    def __init__(self) -> None:
        self.sets: list[str] = []
        self.adds: list[str] = []
        self.removes: list[str] = []
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        self.conditions: list[str] = []

    def name(self, attr: str) -> str:
        placeholder = f"#a{len(self.names)}"
        for existing, value in self.names.items():
            if value == attr:
                return existing
        self.names[placeholder] = attr
        return placeholder

    def value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = ser(value)
        return placeholder

    def set(self, **fields: Any) -> _Update:
        for attr, value in fields.items():
            self.sets.append(f"{self.name(attr)} = {self.value(value)}")
        return self

    def set_if_absent(self, **fields: Any) -> _Update:
        for attr, value in fields.items():
            n = self.name(attr)
            self.sets.append(f"{n} = if_not_exists({n}, {self.value(value)})")
        return self

    def add(self, **fields: int) -> _Update:
        for attr, value in fields.items():
            if value:
                self.adds.append(f"{self.name(attr)} {self.value(value)}")
        return self

    def remove(self, *attrs: str) -> _Update:
        self.removes.extend(self.name(a) for a in attrs)
        return self

    def where(self, template: str, **values: Any) -> _Update:
        """`template` uses {attr} for names and :name for values, e.g. "{state} = :s"."""
        names = {}
        for part in _fields_in(template):
            names[part] = self.name(part)
        text = template.format(**names)
        for key, value in values.items():
            placeholder = self.value(value)
            text = re.sub(rf":{key}\b", placeholder, text)
        self.conditions.append(f"({text})")
        return self

    def request(self, table_name: str, key: dict[str, Any]) -> dict[str, Any]:
        parts = []
        if self.sets:
            parts.append("SET " + ", ".join(self.sets))
        if self.adds:
            parts.append("ADD " + ", ".join(self.adds))
        if self.removes:
            parts.append("REMOVE " + ", ".join(self.removes))
        out: dict[str, Any] = {"TableName": table_name, "Key": key}
        if parts:
            out["UpdateExpression"] = " ".join(parts)
        if self.conditions:
            out["ConditionExpression"] = " AND ".join(self.conditions)
        if self.names:
            out["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            out["ExpressionAttributeValues"] = dict(self.values)
        return out


def _fields_in(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


def _condition_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _cancel_reasons(exc: ClientError) -> list[dict[str, Any]] | None:
    if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    return exc.response.get("CancellationReasons") or []


def _update(
    table_name: str, key: dict[str, Any], update: _Update, returns: str = "NONE"
) -> tuple[bool, dict[str, Any] | None]:
    """(True, item per `returns`) or (False, the item as it is) when the condition failed."""
    request = update.request(table_name, key)
    if returns != "NONE":
        request["ReturnValues"] = returns
    if update.conditions:
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    try:
        resp = _ddb().update_item(**request)
    except ClientError as exc:
        if _condition_failed(exc):
            return False, item_dict(exc.response.get("Item"))
        raise
    return True, item_dict(resp.get("Attributes"))


def _transact(entries: list[dict[str, Any]]) -> bool:
    """One TransactWriteItems; False when a condition failed (nothing was written)."""
    try:
        _ddb().transact_write_items(TransactItems=entries)
    except ClientError as exc:
        reasons = _cancel_reasons(exc)
        if reasons is not None and any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
            return False
        raise
    return True


def _stat_update(campaign_id: str, shard: int, counts: dict[str, int]) -> dict[str, Any] | None:
    counts = {k: int(v) for k, v in counts.items() if v}
    if not counts:
        return None
    update = _Update().add(**counts)
    return {"Update": update.request(_items(), _key(cpk(campaign_id), f"stat#{shard:02d}"))}


# --------------------------------------------------------------------------- campaigns


def _campaign_key(campaign_id: str) -> dict[str, Any]:
    return {"id": {"S": campaign_id}}


@guarded
def quota_version(period: str) -> int:
    resp = _ddb().get_item(
        TableName=_items(), Key=_key(f"quota#{period}", "v"), ConsistentRead=True
    )
    return int(de(resp["Item"]["v"])) if "Item" in resp else 0


@guarded
def create_campaign(
    campaign: dict[str, Any],
    children: Iterable[tuple[str, dict[str, Any]]] = (),
    quota_guard: tuple[str, int] | None = None,
) -> dict[str, Any]:
    """Children (batches, openid-list parts) first, then the campaign and the quota version in one
    transaction: a crash in between leaves only unreachable children, never a campaign that
    lacks its audience. `quota_guard = (period, version seen)` makes the transaction fail with
    Conflict when another campaign was created for the same period since the limits were
    checked (the caller re-checks)."""
    campaign_id = campaign["id"]
    for sk, fields in children:
        item = {k: ser(v) for k, v in fields.items()}
        item.update(_key(cpk(campaign_id), sk))
        _ddb().put_item(
            TableName=_items(), Item=item, ConditionExpression="attribute_not_exists(pk)"
        )
    item = {k: ser(v) for k, v in campaign.items()}
    entries: list[dict[str, Any]] = [
        {
            "Put": {
                "TableName": _campaigns(),
                "Item": item,
                "ConditionExpression": "attribute_not_exists(id)",
            }
        }
    ]
    if quota_guard is not None:
        period, seen = quota_guard
        update = _Update().set(v=seen + 1)
        if seen:
            update.where("{v} = :seen", seen=seen)
        else:
            update.where("attribute_not_exists({v})")
        entries.append({"Update": update.request(_items(), _key(f"quota#{period}", "v"))})
    if not _transact(entries):
        landed = _ddb().get_item(
            TableName=_campaigns(), Key=_campaign_key(campaign_id), ConsistentRead=True
        )
        if "Item" not in landed:
            raise Conflict("another campaign was scheduled meanwhile; retry")
        # The id is fresh: the campaign exists because this very transaction landed before
        # (botocore re-sent it after its answer was lost). Success, or a retry would duplicate it.
    return item_dict(item) or {}


@guarded
def get_campaign(campaign_id: str) -> dict[str, Any]:
    resp = _ddb().get_item(
        TableName=_campaigns(), Key=_campaign_key(campaign_id), ConsistentRead=True
    )
    if "Item" not in resp:
        raise NotFound(f"campaign {campaign_id} not found")
    return item_dict(resp["Item"]) or {}


@guarded
def list_campaigns() -> list[dict[str, Any]]:
    """Every campaign (the table holds one small item per campaign: a scan is fine)."""
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": _campaigns()}
    while True:
        page = _ddb().scan(**kwargs)
        out.extend(item_dict(raw) or {} for raw in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@guarded
def campaigns_by_status(
    status: str, send_at_max: float | None = None, send_at_min: float | None = None
) -> list[dict[str, Any]]:
    """Campaigns in `status` (optionally by send time), by send time. From the GSI, so
    eventually consistent: act on them only through conditional writes."""
    names = {"#s": "status", "#t": "send_at"}
    values: dict[str, Any] = {":s": {"S": status}}
    condition = "#s = :s"
    if send_at_min is not None and send_at_max is not None:
        condition += " AND #t BETWEEN :lo AND :hi"
        values.update({":lo": ser(float(send_at_min)), ":hi": ser(float(send_at_max))})
    elif send_at_max is not None:
        condition += " AND #t <= :hi"
        values[":hi"] = ser(float(send_at_max))
    elif send_at_min is not None:
        condition += " AND #t >= :lo"
        values[":lo"] = ser(float(send_at_min))
    else:
        names.pop("#t")
    kwargs: dict[str, Any] = {
        "TableName": _campaigns(),
        "IndexName": "by_status",
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    found: list[dict[str, Any]] = []
    while True:
        page = _ddb().query(**kwargs)
        found.extend(item_dict(raw) or {} for raw in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return found
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@guarded
def transition(
    campaign_id: str,
    expected: str | Sequence[str],
    to: str,
    **fields: Any,
) -> tuple[bool, dict[str, Any] | None]:
    """status expected -> to, conditionally. Returns (done, item now or as found)."""
    allowed = [expected] if isinstance(expected, str) else list(expected)
    update = _Update().set(status=to, **fields)
    names = " OR ".join(f"{{status}} = :s{i}" for i in range(len(allowed)))
    update.where(names, **{f"s{i}": s for i, s in enumerate(allowed)})
    return _update(_campaigns(), _campaign_key(campaign_id), update, returns="ALL_NEW")


@guarded
def set_campaign_fields(
    campaign_id: str,
    *,
    status: str | None = RUNNING,
    if_absent: str | None = None,
    **fields: Any,
) -> bool:
    """SET fields while the campaign has `status` (and, optionally, `if_absent` is not set)."""
    update = _Update().set(**fields)
    if status is not None:
        update.where("{status} = :st", st=status)
    if if_absent is not None:
        update.where("attribute_not_exists({" + if_absent + "})")
    done, _ = _update(_campaigns(), _campaign_key(campaign_id), update)
    return done


# --------------------------------------------------------------------------- planning


@guarded
def plan_step(
    campaign_id: str,
    old_cursor: str | None,
    new_cursor: str | None,
    children: Sequence[tuple[str, dict[str, Any]]],
    *,
    finished: bool,
    counts: dict[str, int],
) -> bool:
    """Write one planning unit atomically: the new batches/chunks (each must be new) and the
    campaign's cursor, conditional on the cursor still being `old_cursor`. Two planners racing
    on a unit: one wins, the other's transaction is cancelled and writes nothing."""
    entries: list[dict[str, Any]] = []
    for sk, fields in children:
        item = {k: ser(v) for k, v in fields.items()}
        item.update(_key(cpk(campaign_id), sk))
        entries.append(
            {
                "Put": {
                    "TableName": _items(),
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
    update = _Update()
    if new_cursor is None:
        update.remove("plan_cursor")
    else:
        update.set(plan_cursor=new_cursor)
    if finished:
        update.set(planned=True)
    update.add(**counts)
    update.where("{status} = :st", st=RUNNING)
    update.where("attribute_not_exists({planned})")
    if old_cursor is None:
        update.where("attribute_not_exists({plan_cursor})")
    else:
        update.where("{plan_cursor} = :cur", cur=old_cursor)
    entries.append({"Update": update.request(_campaigns(), _campaign_key(campaign_id))})
    return _transact(entries)


# --------------------------------------------------------------------------- open work (GSI)


@guarded
def open_work(
    campaign_id: str, prefix: str, before: float | None = None, limit: int = 100
) -> list[str]:
    """Sort keys of open batches/chunks whose `open_sk` is `<prefix>#<t>` with t <= `before`,
    oldest first. The index is eventually consistent: callers re-check with a conditional
    write, so a stale entry costs one failed condition, never a double send."""
    hi = f"{prefix}#{_stamp(before)}~" if before is not None else f"{prefix}#~"
    kwargs: dict[str, Any] = {
        "TableName": _items(),
        "IndexName": "open",
        "KeyConditionExpression": "open_pk = :p AND open_sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {
            ":p": {"S": cpk(campaign_id)},
            ":lo": {"S": f"{prefix}#"},
            ":hi": {"S": hi},
        },
        "Limit": limit,
    }
    page = _ddb().query(**kwargs)
    return [raw["sk"]["S"] for raw in page.get("Items", [])]


@guarded
def count_open(campaign_id: str, prefix: str) -> int:
    kwargs: dict[str, Any] = {
        "TableName": _items(),
        "IndexName": "open",
        "KeyConditionExpression": "open_pk = :p AND begins_with(open_sk, :lo)",
        "ExpressionAttributeValues": {":p": {"S": cpk(campaign_id)}, ":lo": {"S": f"{prefix}#"}},
        "Select": "COUNT",
    }
    total = 0
    while True:
        page = _ddb().query(**kwargs)
        total += int(page.get("Count", 0))
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def open_attrs(campaign_id: str, prefix: str, at: float, sk: str) -> dict[str, Any]:
    return {"open_pk": cpk(campaign_id), "open_sk": f"{prefix}#{_stamp(at)}#{sk}"}


@guarded
def get_part(campaign_id: str, sk: str, *, projection: str | None = None) -> dict[str, Any] | None:
    kwargs: dict[str, Any] = {
        "TableName": _items(),
        "Key": _key(cpk(campaign_id), sk),
        "ConsistentRead": True,
    }
    if projection:
        names = {f"#p{i}": attr for i, attr in enumerate(projection.split(","))}
        kwargs["ProjectionExpression"] = ", ".join(names)
        kwargs["ExpressionAttributeNames"] = names
    resp = _ddb().get_item(**kwargs)
    return item_dict(resp.get("Item"))


@guarded
def iter_parts(campaign_id: str, prefix: str, projection: str | None = None) -> Iterator[dict]:
    kwargs: dict[str, Any] = {
        "TableName": _items(),
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
        "ExpressionAttributeValues": {":p": {"S": cpk(campaign_id)}, ":s": {"S": prefix}},
    }
    if projection:
        names = {f"#p{i}": attr for i, attr in enumerate(projection.split(","))}
        kwargs["ProjectionExpression"] = ", ".join(names)
        kwargs["ExpressionAttributeNames"] = names
    while True:
        page = _ddb().query(**kwargs)
        for raw in page.get("Items", []):
            yield item_dict(raw) or {}
        if "LastEvaluatedKey" not in page:
            return
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


# --------------------------------------------------------------------------- mass batches


@guarded
def claim_batch(
    campaign_id: str, sk: str, owner: str, now: float, lease: float
) -> dict[str, Any] | None:
    """PENDING (due) or CLAIMED-with-an-expired-lease -> CLAIMED by `owner`.

    Returns the item as it was before the claim (so the caller sees whether the previous attempt
    died mid-call), or None when someone else holds it or it is final."""
    until = now + lease
    update = (
        _Update()
        .set(state=CLAIMED, owner=owner, lease_until=until, claimed_at=now)
        .set(**open_attrs(campaign_id, "C", until, sk))
        .set_if_absent(first_attempt_at=now)
        .add(attempts=1)
        .where(
            "({state} = :p AND {not_before} <= :now) OR ({state} = :c AND {lease_until} < :now)",
            p=PENDING,
            c=CLAIMED,
            now=now,
        )
    )
    done, old = _update(_items(), _key(cpk(campaign_id), sk), update, returns="ALL_OLD")
    return old if done else None


@guarded
def release_batch(
    campaign_id: str,
    sk: str,
    owner: str,
    *,
    not_before: float,
    ambiguous: bool,
    error: str | None = None,
) -> bool:
    """CLAIMED by owner -> PENDING again (retry after `not_before`)."""
    update = (
        _Update()
        .set(state=PENDING, not_before=not_before)
        .set(**open_attrs(campaign_id, "P", not_before, sk))
        .remove("owner", "lease_until")
        .where("{state} = :c AND {owner} = :o", c=CLAIMED, o=owner)
    )
    if ambiguous:
        update.set(ambiguous=True)
    if error:
        update.set(last_error=error)
    done, _ = _update(_items(), _key(cpk(campaign_id), sk), update)
    return done


@guarded
def finish_batch(
    campaign_id: str,
    sk: str,
    owner: str,
    state: str,
    fields: dict[str, Any],
    counts: dict[str, int],
    pointer: dict[str, Any] | None = None,
) -> bool:
    """CLAIMED by owner -> SENT / FAILED / UNKNOWN, with its counters and (SENT) the msg_id
    pointer, in one transaction. False when the claim was lost (someone else finishes it)."""
    seq = int(sk.split("#")[1])
    update = (
        _Update()
        .set(state=state, **fields)
        .remove("open_pk", "open_sk", "owner", "lease_until")
        .where("{state} = :c AND {owner} = :o", c=CLAIMED, o=owner)
    )
    entries: list[dict[str, Any]] = [
        {"Update": update.request(_items(), _key(cpk(campaign_id), sk))}
    ]
    stat = _stat_update(campaign_id, seq % SHARDS, counts)
    if stat:
        entries.append(stat)
    if pointer is not None:
        entries.append({"Put": _pointer_put(pointer)})
    return _transact(entries)


@guarded
def batches_awaiting_results(campaign_id: str) -> list[dict[str, Any]]:
    """SENT batches that have no completion result yet (small items: openids not read)."""
    fields = "sk,state,msg_id,sent_at,finish_status,msg_status,reconciled_at"
    return [
        b
        for b in iter_parts(campaign_id, "b#", projection=fields)
        if b.get("state") == SENT and not b.get("finish_status") and not b.get("reconciled_at")
    ]


@guarded
def record_reconciled(campaign_id: str, sk: str, msg_status: str, now: float) -> bool:
    update = (
        _Update()
        .set(msg_status=msg_status, reconciled_at=now)
        .where("attribute_not_exists({reconciled_at}) AND attribute_not_exists({finish_status})")
    )
    done, _ = _update(_items(), _key(cpk(campaign_id), sk), update)
    if done:
        seq = int(sk.split("#")[1])
        stat = _stat_update(campaign_id, seq % SHARDS, {f"reconciled_{msg_status}": 1})
        if stat:
            _ddb().update_item(**stat["Update"])
    return done


# --------------------------------------------------------------------------- template chunks


@guarded
def touch_chunk(campaign_id: str, sk: str, now: float, *, requeue: bool) -> bool:
    """Record that the chunk went (back) onto the queue: new `enqueued_at`, and for a requeue by
    the stuck-chunk sweep one more `enqueues`."""
    update = (
        _Update()
        .set(enqueued_at=now)
        .set(**open_attrs(campaign_id, "E", now, sk))
        .where("{state} = :e", e=ENQUEUED)
    )
    if requeue:
        update.add(enqueues=1)
    done, _ = _update(_items(), _key(cpk(campaign_id), sk), update)
    return done


@guarded
def finish_chunk(
    campaign_id: str,
    sk: str,
    state: str,
    counts: dict[str, int],
    failures: dict[str, str] | None = None,
) -> bool:
    """ENQUEUED -> DONE/FAILED with the chunk's recipient counts, once (conditional)."""
    seq = int(sk.split("#")[1])
    update = (
        _Update().set(state=state).remove("open_pk", "open_sk").where("{state} = :e", e=ENQUEUED)
    )
    if failures:
        update.set(failures=failures)
    entries: list[dict[str, Any]] = [
        {"Update": update.request(_items(), _key(cpk(campaign_id), sk))}
    ]
    stat = _stat_update(campaign_id, seq % SHARDS, counts)
    if stat:
        entries.append(stat)
    return _transact(entries)


# --------------------------------------------------------------------------- template recipients


@guarded
def claim_recipient(
    campaign_id: str, openid: str, chunk: str, owner: str, now: float, lease: float
) -> tuple[bool, dict[str, Any] | None]:
    """New, RETRY or CLAIMED-with-an-expired-lease -> CLAIMED by `owner`.

    Returns (claimed, the item as it was before): when not claimed, the old item says whether the
    recipient is final (count it) or held by a live worker (leave it)."""
    update = (
        _Update()
        .set(state=CLAIMED, owner=owner, lease_until=now + lease, chunk=chunk)
        .set_if_absent(first_attempt_at=now, expires_at=int(now + RETENTION_SECONDS))
        .add(attempts=1)
        .where(
            "attribute_not_exists({pk}) OR {state} = :r OR ({state} = :c AND {lease_until} < :now)",
            r=RETRY,
            c=CLAIMED,
            now=now,
        )
    )
    return _update(_items(), _key(recipient_pk(campaign_id, openid), "r"), update, "ALL_OLD")


@guarded
def finish_recipient(
    campaign_id: str, openid: str, owner: str, state: str, fields: dict[str, Any]
) -> bool:
    update = (
        _Update()
        .set(state=state, **fields)
        .remove("owner", "lease_until")
        .where("{state} = :c AND {owner} = :o", c=CLAIMED, o=owner)
    )
    done, _ = _update(_items(), _key(recipient_pk(campaign_id, openid), "r"), update)
    return done


@guarded
def release_recipient(
    campaign_id: str, openid: str, owner: str, *, ambiguous: bool, error: str
) -> bool:
    update = (
        _Update()
        .set(state=RETRY, last_error=error)
        .remove("owner", "lease_until")
        .where("{state} = :c AND {owner} = :o", c=CLAIMED, o=owner)
    )
    if ambiguous:
        update.set(ambiguous=True)
    done, _ = _update(_items(), _key(recipient_pk(campaign_id, openid), "r"), update)
    return done


@guarded
def give_up_recipient(campaign_id: str, openid: str, now: float, reason: str) -> bool:
    """RETRY -> FAILED (the chunk ran out of attempts): never retried forever."""
    update = (
        _Update()
        .set(state=FAILED_STATE, errcode=reason, finished_at=now)
        .where("{state} = :r", r=RETRY)
    )
    done, _ = _update(_items(), _key(recipient_pk(campaign_id, openid), "r"), update)
    return done


@guarded
def get_recipient(campaign_id: str, openid: str) -> dict[str, Any] | None:
    resp = _ddb().get_item(
        TableName=_items(), Key=_key(recipient_pk(campaign_id, openid), "r"), ConsistentRead=True
    )
    return item_dict(resp.get("Item"))


# --------------------------------------------------------------------------- msg_id pointers


def _pointer_put(pointer: dict[str, Any]) -> dict[str, Any]:
    fields = dict(pointer)
    msg_id = fields.pop("msg_id")
    item = {k: ser(v) for k, v in fields.items()}
    item.update(_key(msg_pk(msg_id), "m"))
    return {"TableName": _items(), "Item": item}


@guarded
def put_pointer(pointer: dict[str, Any]) -> None:
    _ddb().put_item(**_pointer_put(pointer))


@guarded
def get_pointer(msg_id: Any, *, fast: bool = False) -> dict[str, Any] | None:
    ddb = client("dynamodb", "fast") if fast else _ddb()
    resp = ddb.get_item(TableName=_items(), Key=_key(msg_pk(msg_id), "m"), ConsistentRead=True)
    return item_dict(resp.get("Item"))


# --------------------------------------------------------------------------- counters


@guarded
def totals(campaign_id: str) -> dict[str, int]:
    """The sum of the campaign's counter shards."""
    sums: dict[str, int] = {}
    for shard in iter_parts(campaign_id, "stat#"):
        for name, value in shard.items():
            if name in ("pk", "sk") or not isinstance(value, (int, float)):
                continue
            sums[name] = sums.get(name, 0) + int(value)
    return sums


# --------------------------------------------------------------------------- mass rate limit


@guarded
def acquire_mass_slot(now: float, interval: float) -> float:
    """Take one mass-send call slot: 0.0 when taken, else the seconds to wait.

    A GCRA ("theoretical arrival time") in one item, shared by every Lambda: a slot is free when
    `tat <= now`; taking it sets `tat = now + interval`, conditional on the `tat` we read, so two
    callers racing for one slot cannot both win. With interval = 60/59 s no 60-second window ever
    holds more than 60 calls, whatever mix of dispatcher runs, campaigns and previews makes them.
    """
    key = _key("limit#mass", "gcra")
    resp = _ddb().get_item(TableName=_items(), Key=key, ConsistentRead=True)
    tat = de(resp["Item"]["tat"]) if "Item" in resp else None
    for _ in range(5):
        if tat is not None and tat > now:
            return float(tat - now)
        # Rounded up to the stored millisecond: never a hair early.
        update = _Update().set(tat=math.ceil((now + interval) * 1000) / 1000)
        if tat is None:
            update.where("attribute_not_exists({tat})")
        else:
            update.where("{tat} = :old", old=tat)
        done, old = _update(_items(), key, update)
        if done:
            return 0.0
        tat = (old or {}).get("tat")
    return interval


# --------------------------------------------------------------------------- template quota pause

_TEMPLATE_PAUSE = ("limit#template", "quota")


@guarded
def pause_template_sends(until: float, now: float, *, errcode: int, campaign_id: str) -> bool:
    """Record, for the whole account, that template/send is refused (daily quota) until `until`.
    Idempotent: the write only ever moves `until` later, so chunks racing to report the same
    45009 write one marker; False when it already said as much."""
    update = (
        _Update()
        .set(
            until=until,
            paused_at=now,
            errcode=errcode,
            campaign=campaign_id,
            expires_at=int(until) + 86400,  # TTL: gone a day after it stopped mattering
        )
        .where("attribute_not_exists({until}) OR {until} < :u", u=until)
    )
    done, _ = _update(_items(), _key(*_TEMPLATE_PAUSE), update)
    return done


@guarded
def template_pause() -> dict[str, Any] | None:
    """The marker (callers compare `until` with their clock: an old one is not deleted).
    Eventually consistent, half the cost: a read that misses a pause written a moment ago costs
    one refused call, whose 45009 writes the same marker again."""
    resp = _ddb().get_item(TableName=_items(), Key=_key(*_TEMPLATE_PAUSE))
    return item_dict(resp.get("Item"))


# --------------------------------------------------------------------------- completion events


def delivery_outcome(status: str) -> str:
    """TEMPLATESENDJOBFINISH Status -> delivered | blocked | failed."""
    text = status.strip().lower()
    if text == "success":
        return "delivered"
    if "block" in text:
        return "blocked"
    return "failed"


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


# --------------------------------------------------------------------------- the send queue

# Logical queue name, declared in infra/resources.py QUEUES; the deployed queue is
# `<WXLESS_TABLE_PREFIX>-campaign-sends` (+ `-dlq`) and its URL arrives as QUEUE_URL_ENV.
QUEUE = CAMPAIGN_QUEUE
QUEUE_URL_ENV = "WXLESS_QUEUE_CAMPAIGN_SENDS_URL"
LOCAL_VISIBILITY_TIMEOUT = 360  # 6 x the sender's Lambda timeout, as infra/build.py derives it
LOCAL_MAX_RECEIVES = 5

_queue_urls: dict[tuple[str, str], str] = {}


def queue_name() -> str:
    return f"{config.get(config.TABLE_PREFIX)}-{QUEUE}"


def queue_url() -> str:
    configured = config.get(QUEUE_URL_ENV, "")
    if configured:
        return configured
    key = (os.environ.get("AWS_ENDPOINT_URL", ""), queue_name())
    found = _queue_urls.get(key)
    if found is None:
        found = _queue_urls[key] = client("sqs").get_queue_url(QueueName=key[1])["QueueUrl"]
    return found


@guarded
def ensure_queue() -> str:
    """Create the queue and its dead-letter queue (local runs and tests; deployed stages get
    them from infra/). Idempotent."""
    sqs = client("sqs")
    dlq = sqs.create_queue(QueueName=queue_name() + "-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": LOCAL_MAX_RECEIVES})
    url = sqs.create_queue(
        QueueName=queue_name(),
        Attributes={
            "VisibilityTimeout": str(LOCAL_VISIBILITY_TIMEOUT),
            "RedrivePolicy": redrive,
        },
    )["QueueUrl"]
    _queue_urls[(os.environ.get("AWS_ENDPOINT_URL", ""), queue_name())] = url
    return url


@guarded
def enqueue(bodies: Sequence[dict[str, Any]], delay: int = 0) -> None:
    """SendMessageBatch, 10 at a time; raises if SQS refused any (the stuck-chunk sweep then
    re-sends: a chunk is never lost, at worst late)."""
    sqs, url = client("sqs"), queue_url()
    for start in range(0, len(bodies), 10):
        entries = [
            {"Id": str(i), "MessageBody": dumps(body), "DelaySeconds": max(0, min(900, delay))}
            for i, body in enumerate(bodies[start : start + 10])
        ]
        resp = sqs.send_message_batch(QueueUrl=url, Entries=entries)
        if resp.get("Failed"):
            raise ClientError(
                {"Error": {"Code": "SendMessageBatchFailed", "Message": str(resp["Failed"])}},
                "SendMessageBatch",
            )


@guarded
def receive(max_messages: int = 10) -> list[dict[str, Any]]:
    resp = client("sqs").receive_message(
        QueueUrl=queue_url(),
        MaxNumberOfMessages=max_messages,
        WaitTimeSeconds=0,
        MessageSystemAttributeNames=["ApproximateReceiveCount"],
    )
    return list(resp.get("Messages", []))


@guarded
def hide_message(receipt_handle: str, seconds: int) -> None:
    """Keep a received message on the queue, invisible for `seconds` (SQS: at most 12 h after it
    was received); the consumer must then not delete it."""
    client("sqs").change_message_visibility(
        QueueUrl=queue_url(), ReceiptHandle=receipt_handle, VisibilityTimeout=int(seconds)
    )


@guarded
def delete_message(receipt_handle: str) -> None:
    client("sqs").delete_message(QueueUrl=queue_url(), ReceiptHandle=receipt_handle)


def reset_queue_cache() -> None:
    _queue_urls.clear()
