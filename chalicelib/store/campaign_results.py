"""WeChat's completion events for campaigns (MASSSENDJOBFINISH, TEMPLATESENDJOBFINISH): the msg_id
pointer they are matched by, and the writes one event makes.

When a batch or a recipient is sent, a pointer `<acct>#msg#<msg_id>` / `m` (in
`campaign-items`, TTL `expires_at`) records {campaign, kind: batch | recipient, ref: the batch's
sort key | the openid}. The stream aggregator (chalicelib/aggregate/campaign_results.py) reads
the events from the messages table's stream and, per event:

1. claims the pointer (`claim`): marked `finished` by this report, conditionally, so the same
   job reported twice under another CreateTime adds nothing, while the same report coming again
   with a redelivered batch still counts once;
2. writes the batch's result (status and WeChat's counts) or the recipient's delivery status
   (`result_write`, plain SETs: writing them again changes nothing);
3. adds to the campaign's counters (`counts` of the result), summed per counter shard per batch
   and written exactly once by the ledger.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from chalicelib.store import ddb, keys
from chalicelib.store.campaign_items import item_key, recipient_key, table_name
from chalicelib.store.guard import guarded

log = logging.getLogger("wxless.campaigns")

MASS_FINISH, TEMPLATE_FINISH = "masssendjobfinish", "templatesendjobfinish"


def pointer_key(msg_id: Any) -> ddb.Raw:
    return ddb.key(keys.scoped("msg", str(msg_id)), "m")


def pointer_put(pointer: dict[str, Any]) -> ddb.Raw:
    """A Put of the pointer {msg_id, campaign, kind, ref, expires_at} (alone or in a
    transaction)."""
    fields = dict(pointer)
    msg_id = fields.pop("msg_id")
    item = ddb.to_raw(fields)
    item.update(pointer_key(msg_id))
    return {"TableName": table_name(), "Item": item}


@guarded
def put_pointer(pointer: dict[str, Any]) -> None:
    ddb.put(pointer_put(pointer))


@guarded
def get_pointer(msg_id: Any, *, fast: bool = False) -> dict[str, Any] | None:
    """The pointer (consistent). `fast`: the callback's fail-fast client."""
    profile = "fast" if fast else "standard"
    return ddb.get(table_name(), pointer_key(msg_id), consistent=True, profile=profile)


@dataclass(frozen=True)
class Completion:
    """What a completion event says (WeChat's field names, lower-cased)."""

    event: str  # masssendjobfinish | templatesendjobfinish
    msg_id: str
    status: str = ""
    total_count: int = 0
    filter_count: int = 0
    sent_count: int = 0
    error_count: int = 0


def completion_of(event: str | None, job: dict[str, Any] | None) -> Completion | None:
    """The completion event a logged message carries (its event name and the job facts the
    callback kept), or None for every other message."""
    if event not in (MASS_FINISH, TEMPLATE_FINISH) or not job or not job.get("id"):
        return None
    return Completion(
        event=event,
        msg_id=str(job["id"]),
        status=str(job.get("status") or ""),
        total_count=int(job.get("total_count") or 0),
        filter_count=int(job.get("filter_count") or 0),
        sent_count=int(job.get("sent_count") or 0),
        error_count=int(job.get("error_count") or 0),
    )


def delivery_outcome(status: str) -> str:
    """TEMPLATESENDJOBFINISH Status -> delivered | blocked | failed."""
    text = status.strip().lower()
    if text == "success":
        return "delivered"
    if "block" in text:
        return "blocked"
    return "failed"


def claim(done: Completion, report: str, now: float, *, profile: str = "bulk") -> bool:
    """Mark the job finished by `report` (the reporting message's key); False when another
    report of the same job got there first."""
    upd = ddb.Update().set(finished=True, finished_at=now, finished_by=report)
    upd.where("attribute_not_exists({finished}) OR {finished_by} = :me", me=report)
    ok, _ = ddb.update(table_name(), pointer_key(done.msg_id), upd, profile=profile)
    return ok


def record_result(
    done: Completion, pointer: dict[str, Any], now: float, *, profile: str = "bulk"
) -> dict[str, int] | None:
    """Record one event's result where its pointer says (plain SETs: again changes nothing)
    and return what it adds to the campaign's counters; None when the pointer is of the other
    kind (nothing recorded)."""
    campaign_id = pointer["campaign"]
    if done.event == MASS_FINISH and pointer.get("kind") == "batch":
        fields = {
            "finish_status": done.status,
            "total_count": done.total_count,
            "filter_count": done.filter_count,
            "sent_count": done.sent_count,
            "error_count": done.error_count,
            "finished_at": now,
        }
        key = item_key(campaign_id, pointer["ref"])
        counts = {
            "jobs_finished": 1,
            "result_total": done.total_count,
            "result_filtered": done.filter_count,
            "result_sent": done.sent_count,
            "result_error": done.error_count,
        }
        ddb.update(table_name(), key, ddb.Update().set(**fields), profile=profile)
        return counts
    if done.event == TEMPLATE_FINISH and pointer.get("kind") == "recipient":
        delivery = ddb.Update().set(delivery=done.status, delivered_at=now)
        ddb.update(table_name(), recipient_key(campaign_id, pointer["ref"]), delivery,
                   profile=profile)  # fmt: skip
        return {f"delivery_{delivery_outcome(done.status)}": 1}
    return None
