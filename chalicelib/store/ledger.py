"""Exactly-once keyed writes for the stream aggregator, keyed on stream sequence numbers.

Lambda delivers a stream at least once: a failed batch comes again (whole, or halved by
bisect-on-error), and every record of a shard comes in order. The aggregator sums a batch per
target item and writes each target once. To make a redelivery change nothing, the write carries
a watermark, the sequence number of the newest record it applied, and is conditional on it:

- `shard` watermarks (items many shards write: hourly counters, text counters, flow and campaign
  statistics): one attribute per stream shard, `w_<shard tag>`, condition "absent, or older than
  the first record I bring".
- `own` watermarks (an item only one follower's records touch: the follower record): every record
  of one item's partition key comes through one shard lineage, in order, so one watermark pair
  (`ws` shard, `wq` sequence) suffices: a follower's item does not grow a watermark per shard.

A failed condition returns the item as it is (ALL_OLD, no extra read): the records it already
holds are dropped and the rest are written, conditional on exactly that watermark. Each write is
one UpdateItem: it applies all of a batch's records for its item, or none.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from chalicelib.store import ddb

T = TypeVar("T")


class LedgerConflict(Exception):
    """The watermark moved between our two attempts (another invocation writes this shard):
    the batch must be retried."""


@dataclass(frozen=True, slots=True)
class Part(Generic[T]):
    seq: str  # padded sequence number of the record this part comes from
    value: T


@dataclass(slots=True)
class Target(Generic[T]):
    """One item to write: its table and key, the records' parts in stream order, and how a
    list of parts becomes an Update (without the watermark, which `apply` adds)."""

    table: str
    key: dict[str, Any]
    parts: list[Part[T]]
    build: Callable[[Sequence[T]], ddb.Update]
    own: bool = False  # one watermark pair instead of one per shard


def _watermark_attr(target: Target[Any], shard: str) -> str:
    return "wq" if target.own else f"w_{shard}"


def _write(
    target: Target[Any], parts: list[Part[Any]], shard: str, held: str | None, profile: str
) -> tuple[bool, dict[str, Any] | None]:
    """One conditional UpdateItem: the parts, and the watermark moved to the last of them.
    `held` None: the item holds none of them ("absent or older than the first"); else the item
    must still hold exactly `held`."""
    upd = target.build([p.value for p in parts])
    mark = upd.name(_watermark_attr(target, shard))
    upd.sets.append(f"{mark} = {upd.value(parts[-1].seq)}")
    if target.own:
        tag = upd.name("ws")
        upd.sets.append(f"{tag} = {upd.value(shard)}")
        if held is None:
            first = upd.value(parts[0].seq)
            upd.conditions.append(
                f"(attribute_not_exists({mark}) OR {tag} <> {upd.value(shard)} OR {mark} < {first})"
            )
        else:
            upd.conditions.append(f"({tag} = {upd.value(shard)} AND {mark} = {upd.value(held)})")
    elif held is None:
        upd.conditions.append(
            f"(attribute_not_exists({mark}) OR {mark} < {upd.value(parts[0].seq)})"
        )
    else:
        upd.conditions.append(f"({mark} = {upd.value(held)})")
    return ddb.update(target.table, target.key, upd, profile=profile)


def apply(target: Target[Any], shard: str, *, profile: str = "bulk") -> int:
    """Write the target's parts that its item does not hold yet; the number of parts written."""
    parts = sorted(target.parts, key=lambda p: p.seq)
    if not parts:
        return 0
    ok, old = _write(target, parts, shard, None, profile)
    if ok:
        return len(parts)
    old = old or {}
    held = str(old.get(_watermark_attr(target, shard), ""))
    if target.own and old.get("ws") != shard:
        held = ""  # cannot happen unless the condition raced: retry with what we saw
    rest = [p for p in parts if p.seq > held]
    if not rest:
        return 0  # a redelivery: this item has every part already
    ok, _ = _write(target, rest, shard, held, profile)
    if not ok:
        raise LedgerConflict(f"watermark moved on {target.table} {target.key}")
    return len(rest)
