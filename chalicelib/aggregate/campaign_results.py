"""MASSSENDJOBFINISH / TEMPLATESENDJOBFINISH, from the stream: the batch's or recipient's result
and the campaign's counters.

A job is reported once per event, and WeChat may report one job twice (another CreateTime: a
different message item). The msg_id pointer (store.campaigns) decides which report counts: the
first one to mark it `finished`, conditionally, records `finished_by` (its message item's key),
so the same report coming again with a redelivered batch still counts, and another report of the
same job does not. The results are plain SETs (the same values again change nothing); the
counters go through the ledger (one conditional ADD per campaign counter shard per batch), so a
redelivered batch never adds twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.aggregate.summaries import Logged
from chalicelib.store import campaigns as store
from chalicelib.store import ddb
from chalicelib.store.ledger import Part, Target

FINISH_EVENTS = ("masssendjobfinish", "templatesendjobfinish")


def _claim(pointer_key: dict[str, Any], me: str, at: float) -> bool:
    """Mark the job finished by this report; False when another report got there first."""
    upd = ddb.Update().set(finished=True, finished_at=at, finished_by=me)
    upd.where("attribute_not_exists({finished}) OR {finished_by} = :me", me=me)
    ok, _ = ddb.update(store.items_table(), pointer_key, upd, profile="bulk")
    return ok


def _counts(record: Logged, pointer: dict[str, Any], job: dict[str, Any]) -> dict[str, int] | None:
    """Write the job's result where it belongs and return what it adds to the campaign."""
    campaign_id = pointer["campaign"]
    at = record.received_ms / 1000
    if record.event == "masssendjobfinish" and pointer.get("kind") == "batch":
        fields = {
            "finish_status": str(job.get("status", "")),
            "total_count": int(job.get("total_count", 0)),
            "filter_count": int(job.get("filter_count", 0)),
            "sent_count": int(job.get("sent_count", 0)),
            "error_count": int(job.get("error_count", 0)),
            "finished_at": at,
        }
        key = ddb.key(store.cpk(campaign_id), pointer["ref"])
        ddb.update(store.items_table(), key, ddb.Update().set(**fields), profile="bulk")
        return {
            "jobs_finished": 1,
            "result_total": fields["total_count"],
            "result_filtered": fields["filter_count"],
            "result_sent": fields["sent_count"],
            "result_error": fields["error_count"],
        }
    if record.event == "templatesendjobfinish" and pointer.get("kind") == "recipient":
        status = str(job.get("status", ""))
        key = ddb.key(store.recipient_pk(campaign_id, pointer["ref"]), "r")
        upd = ddb.Update().set(delivery=status, delivered_at=at)
        ddb.update(store.items_table(), key, upd, profile="bulk")
        return {f"delivery_{store.delivery_outcome(status)}": 1}
    return None


def _sum(counts: Sequence[dict[str, int]]) -> ddb.Update:
    total: dict[str, int] = {}
    for tally in counts:
        for name, n in tally.items():
            total[name] = total.get(name, 0) + n
    return ddb.Update().add_attrs(total)


def targets(records: Sequence[Logged]) -> list[Target[Any]]:
    """Claims the batch's reports and writes their results (a few requests per report: these
    events are rare), then returns the campaign counter targets for the ledger."""
    reports = [r for r in records if r.event in FINISH_EVENTS and r.facts.get("job")]
    shares: dict[tuple[str, int], list[Part[dict[str, int]]]] = {}
    for record in reports:
        job = record.facts["job"]
        pointer = store.get_pointer(job["id"])
        if pointer is None:
            continue
        me = f"{record.openid}#{record.created_at}#{record.delivery}"
        if not _claim(ddb.key(store.msg_pk(job["id"]), "m"), me, record.received_ms / 1000):
            continue
        counts = _counts(record, pointer, job)
        if counts:
            shard = store.shard_of(str(job["id"]))
            shares.setdefault((pointer["campaign"], shard), []).append(Part(record.seq, counts))
    table = store.items_table()
    return [
        Target(table, ddb.key(store.cpk(cid), f"stat#{shard:02d}"), parts, _sum)
        for (cid, shard), parts in shares.items()
    ]
