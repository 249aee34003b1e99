"""The `campaign-items` table: everything a campaign fans out into, every key under the account.

Every partition key starts with the account (`<a>`, store/keys.py); sort keys are local to
their partition:

| pk                             | sk         | what                                            |
| ------------------------------ | ---------- | ----------------------------------------------- |
| `<a>#campaign#<id>`            | `b#00001`  | a mass-send batch (sendall, or <= 10,000 openids) |
| `<a>#campaign#<id>`            | `l#0001`   | a part of an openid-list audience (template)    |
| `<a>#campaign#<id>`            | `q#000001` | a template chunk (~125 openids, one SQS message) |
| `<a>#campaign#<id>`            | `stat#07`  | one of 32 counter shards                        |
| `<a>#campaign#<id>#r#<openid>` | `r`        | a template recipient (campaign_recipients)      |
| `<a>#msg#<msg_id>`             | `m`        | msg_id -> batch/recipient (campaign_results)    |
| `<a>#limit#mass`               | `gcra`     | the mass-send rate limiter (campaign_limits)    |
| `<a>#limit#template`           | `quota`    | template/send paused (campaign_limits)          |
| `<a>#quota#<period>`           | `v`        | version of a quota period (campaign_limits)     |

Batches and chunks that still need work carry `open_pk`/`open_sk` (GSI `open`, sparse, keys
only): `open_pk` is the campaign's partition key (so the index is account-scoped too), `open_sk`
`P#<not_before>#<sk>` pending, `C#<lease_until>#<sk>` claimed, `E#<enqueued_at>#<sk>` enqueued.
The attributes are removed when the item reaches a final state, so the index holds only open
work.

Counters are ADDed to one of 32 shards (by batch/chunk/msg) in the same transaction as the state
change they count, so they count exactly once, and many workers and completion events touching one
campaign never contend on one item (a transaction on a busy item fails with TransactionConflict).
A campaign's totals are one Query of <= 32 items.

Times are epoch seconds (floats). Nothing here decides *what* to do (chalicelib.campaigns does);
the store only makes the writes safe.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib import config
from chalicelib.store import ddb, keys
from chalicelib.store.aws import client
from chalicelib.store.guard import guarded
from chalicelib.store.models import register, table

# Batch / chunk / recipient states.
PENDING, CLAIMED, SENT, UNKNOWN = "PENDING", "CLAIMED", "SENT", "UNKNOWN"
ENQUEUED, DONE, RETRY, FAILED_STATE = "ENQUEUED", "DONE", "RETRY", "FAILED"
FINAL_STATES = frozenset({SENT, FAILED_STATE, UNKNOWN, DONE})
# Kinds of item under a campaign's partition (the sort key's first part after the account).
BATCH, PART, CHUNK, STAT = "b", "l", "q", "stat"
# Open-work kinds in the `open` index.
OPEN_PENDING, OPEN_CLAIMED, OPEN_ENQUEUED = "P", "C", "E"

SHARDS = 32
RETENTION_SECONDS = 180 * 86400  # recipients and msg pointers expire (TTL) after this


class OpenWork(GlobalSecondaryIndex):
    class Meta:
        index_name = "open"
        projection = KeysOnlyProjection()

    open_pk = UnicodeAttribute(hash_key=True)
    open_sk = UnicodeAttribute(range_key=True)


@register
class CampaignPart(Model):
    """Declares the table (keys and index only); items are read and written with store.ddb."""

    Meta = table("campaign-items")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    open_pk = UnicodeAttribute(null=True)
    open_sk = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    open = OpenWork()


def table_name() -> str:
    return config.table_name("campaign-items")


# --------------------------------------------------------------------------- keys


def campaign_pk(campaign_id: str) -> str:
    return keys.scoped("campaign", campaign_id)


def batch_sk(seq: int) -> str:
    return f"{BATCH}#{seq:05d}"


def part_sk(seq: int) -> str:
    return f"{PART}#{seq:04d}"


def chunk_sk(seq: int) -> str:
    return f"{CHUNK}#{seq:06d}"


def stat_sk(shard: int) -> str:
    return f"{STAT}#{shard:02d}"


def seq_of(sk: str) -> int:
    """A batch's, part's or chunk's number: `b#00007` -> 7."""
    return int(sk.split("#")[1])


def is_chunk(sk: str) -> bool:
    return sk.startswith(f"{CHUNK}#")


def item_key(campaign_id: str, sk: str) -> ddb.Raw:
    """The key of an item in the campaign's own partition (batch, part, chunk, stat shard)."""
    return ddb.key(campaign_pk(campaign_id), sk)


def recipient_key(campaign_id: str, openid: str) -> ddb.Raw:
    """A template recipient's own item (its own partition: claims never contend)."""
    return ddb.key(keys.scoped("campaign", campaign_id, "r", openid), "r")


def shard_of(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=2).digest(), "big") % SHARDS


def encode_openids(openids: Sequence[str]) -> str:
    # One string, not a List: ~30 bytes per openid keeps a 10,000-openid batch near 300 KB.
    return "\n".join(openids)


def decode_openids(text: str | None) -> list[str]:
    return [o for o in (text or "").split("\n") if o]


# --------------------------------------------------------------------------- writes


def child_put(campaign_id: str, sk: str, fields: dict[str, Any]) -> ddb.Raw:
    """A Put of a new batch / part / chunk (in a transaction or alone): never overwrites."""
    item = ddb.to_raw(fields)
    item.update(item_key(campaign_id, sk))
    return ddb.Condition().where("attribute_not_exists({pk})").put_request(table_name(), item)


def stat_update(campaign_id: str, shard: int, counts: dict[str, int]) -> ddb.Raw | None:
    """A transaction entry that ADDs `counts` to one counter shard (None: nothing to add)."""
    counts = {k: int(v) for k, v in counts.items() if v}
    if not counts:
        return None
    update = ddb.Update().add_attrs(counts)
    return {"Update": update.request(table_name(), item_key(campaign_id, stat_sk(shard)))}


# --------------------------------------------------------------------------- open work (GSI)


def _stamp(t: float) -> str:
    """Sortable time for `open_sk`: zero-padded milliseconds."""
    return f"{max(0, int(t * 1000)):015d}"


def open_attrs(campaign_id: str, kind: str, at: float, sk: str) -> dict[str, Any]:
    """The `open` index attributes of a batch/chunk open as `kind` (P, C, E) since/until `at`."""
    return {"open_pk": campaign_pk(campaign_id), "open_sk": f"{kind}#{_stamp(at)}#{sk}"}


@guarded
def open_work(
    campaign_id: str, kind: str, before: float | None = None, limit: int = 100
) -> list[str]:
    """Sort keys of open batches/chunks of `kind` whose time is <= `before`, oldest first. The
    index is eventually consistent: callers re-check with a conditional write, so a stale entry
    costs one failed condition, never a double send."""
    lo = f"{kind}#"
    hi = f"{lo}{_stamp(before)}~" if before is not None else f"{lo}~"
    request = {
        "TableName": table_name(),
        "IndexName": "open",
        "KeyConditionExpression": "open_pk = :p AND open_sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {
            ":p": ddb.ser(campaign_pk(campaign_id)),
            ":lo": ddb.ser(lo),
            ":hi": ddb.ser(hi),
        },
        "Limit": limit,
    }
    return [item["sk"] for item in ddb.query(request)]


# --------------------------------------------------------------------------- reads


def _project(request: dict[str, Any], fields: Sequence[str] | None) -> dict[str, Any]:
    if fields:
        names = {f"#p{i}": attr for i, attr in enumerate(fields)}
        request["ProjectionExpression"] = ", ".join(names)
        request["ExpressionAttributeNames"] = names
    return request


@guarded
def get_part(
    campaign_id: str, sk: str, *, fields: Sequence[str] | None = None
) -> dict[str, Any] | None:
    """One item of the campaign's partition (consistent), optionally only `fields`."""
    request = {"TableName": table_name(), "Key": item_key(campaign_id, sk), "ConsistentRead": True}
    resp = client("dynamodb").get_item(**_project(request, fields))
    return ddb.from_raw(resp.get("Item"))


@guarded
def parts(campaign_id: str, kind: str, fields: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Every item of `kind` (b, l, q, stat) under the campaign, in key order (a list: a storage
    failure surfaces here, as Unavailable, not halfway through the caller's loop)."""
    request = {
        "TableName": table_name(),
        "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
        "ExpressionAttributeValues": {
            ":p": ddb.ser(campaign_pk(campaign_id)),
            ":s": ddb.ser(f"{kind}#"),
        },
    }
    return list(ddb.query(_project(request, fields)))


@guarded
def totals(campaign_id: str) -> dict[str, int]:
    """The sum of the campaign's counter shards."""
    sums: dict[str, int] = {}
    for shard in parts(campaign_id, STAT):
        for name, value in shard.items():
            if (
                name in ("pk", "sk")
                or isinstance(value, bool)
                or not isinstance(value, int | float)
            ):
                continue
            sums[name] = sums.get(name, 0) + int(value)
    return sums
