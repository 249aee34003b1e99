"""MASSSENDJOBFINISH / TEMPLATESENDJOBFINISH, from the stream: the batch's or recipient's result
and the campaign's counters (store/campaign_results.py says which report counts).

Per report: its pointer is read and claimed, its result written (a few requests, but these
events are rare next to followers' messages); the counters of all the batch's reports are then
summed per campaign counter shard and written once each through the ledger, so a redelivered
batch never adds twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.aggregate import notices
from chalicelib.aggregate.summaries import Logged
from chalicelib.store import campaign_items, ddb
from chalicelib.store import campaign_results as results
from chalicelib.store.ledger import Part, Target


def _sum(counts: Sequence[dict[str, int]]) -> ddb.Update:
    total: dict[str, int] = {}
    for tally in counts:
        for name, n in tally.items():
            total[name] = total.get(name, 0) + int(n)
    return ddb.Update().add_attrs(total)


def targets(records: Sequence[Logged]) -> list[Target[Any]]:
    """Claims the batch's reports and writes their results, then returns the campaign counter
    targets for the ledger."""
    shares: dict[tuple[str, int], list[Part[dict[str, int]]]] = {}
    for record in records:
        done = results.completion_of(record.event, record.facts.get("job"))
        if done is None:
            continue
        pointer = results.get_pointer(done.msg_id)
        if pointer is None:
            continue  # a job this app did not send
        if pointer.get("kind") == "notify":  # the notify API's: its own record (plain SETs)
            notices.notify_delivery(pointer, done.status, record.received_ms / 1000)
            continue
        at = record.received_ms / 1000
        report = f"{record.openid}#{record.created_at}#{record.delivery}"
        if not results.claim(done, report, at):
            continue  # another report of the same job counted it
        counts = results.record_result(done, pointer, at)
        if not counts:
            continue
        shard = campaign_items.shard_of(done.msg_id)
        shares.setdefault((pointer["campaign"], shard), []).append(Part(record.seq, counts))
    table = campaign_items.table_name()
    return [
        Target(table, campaign_items.item_key(cid, campaign_items.stat_sk(shard)), parts, _sum)
        for (cid, shard), parts in shares.items()
    ]
