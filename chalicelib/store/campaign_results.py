"""WeChat's completion events for campaigns (MASSSENDJOBFINISH, TEMPLATESENDJOBFINISH): the msg_id
pointer they are matched by, and the writes one event makes.

When a batch or a recipient is sent, a pointer `<acct>#msg#<msg_id>` / `m` (in
`campaign-items`, TTL `expires_at`) records {campaign, kind: batch | recipient, ref: the batch's
sort key | the openid}. The completion event names the msg_id; its writes are

1. the pointer marked `finished` (the same job reported twice under another CreateTime then adds
   nothing: the next event finds it finished);
2. the batch's result (status and WeChat's counts) or the recipient's delivery status;
3. the campaign's counters (jobs_finished, result_*; or delivery_delivered|blocked|failed), ADDed
   to the counter shard picked by the msg_id.

`finish_writes` builds them from the event and the pointer (pure). `finish_effects` is the effect
provider (chalicelib.store.effects) the callback runs for every inbound message: one GetItem (the
pointer) for these two events only, every other message returns [] before any I/O; its writes
ride in the inbox transaction, so a WeChat retry of the event (same dedup key) changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from chalicelib.store import ddb, effects, keys
from chalicelib.store.campaign_items import (
    item_key,
    recipient_key,
    shard_of,
    stat_update,
    table_name,
)
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


def completion_of(message: Any) -> Completion | None:
    """The completion event in an inbound message, or None for every other message."""
    event = getattr(message, "event", None)
    if event not in (MASS_FINISH, TEMPLATE_FINISH):
        return None
    msg_id = getattr(message, "msg_id", None)
    if not msg_id:
        return None
    return Completion(
        event=event,
        msg_id=str(msg_id),
        status=str(getattr(message, "status", "") or ""),
        total_count=int(getattr(message, "total_count", 0) or 0),
        filter_count=int(getattr(message, "filter_count", 0) or 0),
        sent_count=int(getattr(message, "sent_count", 0) or 0),
        error_count=int(getattr(message, "error_count", 0) or 0),
    )


def delivery_outcome(status: str) -> str:
    """TEMPLATESENDJOBFINISH Status -> delivered | blocked | failed."""
    text = status.strip().lower()
    if text == "success":
        return "delivered"
    if "block" in text:
        return "blocked"
    return "failed"


def finish_writes(done: Completion, pointer: dict[str, Any], now: float) -> list[ddb.Raw]:
    """The TransactWriteItems entries for one completion event whose pointer is `pointer`
    (not finished yet); [] when the pointer is of the other kind (nothing to record)."""
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
        result = {
            "Update": ddb.Update()
            .set(**fields)
            .request(table_name(), item_key(campaign_id, pointer["ref"]))
        }
        counts = {
            "jobs_finished": 1,
            "result_total": done.total_count,
            "result_filtered": done.filter_count,
            "result_sent": done.sent_count,
            "result_error": done.error_count,
        }
    elif done.event == TEMPLATE_FINISH and pointer.get("kind") == "recipient":
        delivery = ddb.Update().set(delivery=done.status, delivered_at=now)
        key = recipient_key(campaign_id, pointer["ref"])
        result = {"Update": delivery.request(table_name(), key)}
        counts = {f"delivery_{delivery_outcome(done.status)}": 1}
    else:
        return []
    mark = ddb.Update().set(finished=True, finished_at=now)
    writes = [{"Update": mark.request(table_name(), pointer_key(done.msg_id))}, result]
    stat = stat_update(campaign_id, shard_of(done.msg_id), counts)
    if stat:
        writes.append(stat)
    return writes


def finish_effects(message: Any, decision: Any, now: float) -> list[ddb.Raw]:
    """The effect provider: a completion event's writes, or [] (any other message, an unknown
    msg_id, a job already counted)."""
    done = completion_of(message)
    if done is None:
        return []
    pointer = get_pointer(done.msg_id, fast=True)
    if pointer is None:
        log.info("campaigns.finish_unmatched msg_id=%s event=%s", done.msg_id, done.event)
        return []
    if pointer.get("finished"):
        return []
    return finish_writes(done, pointer, now)


effects.register(finish_effects)
