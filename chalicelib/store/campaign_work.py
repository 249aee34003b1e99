"""Units of sending in `campaign-items`, one conditional write (or transaction) per step:

- mass batches: PENDING -> CLAIMED (owner + lease) -> SENT | FAILED | UNKNOWN, back to PENDING on a
  retryable failure; a SENT batch's msg_id pointer and counters ride in its transaction;
- template chunks: ENQUEUED (re-touched when re-enqueued or held) -> DONE | FAILED, with the
  chunk's recipient counts added once, in the same transaction.

Layout and keys: store.campaign_items.
"""

from __future__ import annotations

from typing import Any

from chalicelib.store import ddb
from chalicelib.store.campaign_items import (
    BATCH,
    CLAIMED,
    ENQUEUED,
    OPEN_CLAIMED,
    OPEN_ENQUEUED,
    OPEN_PENDING,
    PENDING,
    SENT,
    SHARDS,
    item_key,
    open_attrs,
    parts,
    seq_of,
    stat_sk,
    stat_update,
    table_name,
)
from chalicelib.store.campaign_results import pointer_put
from chalicelib.store.guard import guarded


def _update(campaign_id: str, sk: str, update: ddb.Update, returns: str = "NONE") -> Any:
    return ddb.update(table_name(), item_key(campaign_id, sk), update, returns=returns)


def _with_counts(
    campaign_id: str, sk: str, update: ddb.Update, counts: dict[str, int]
) -> list[ddb.Raw]:
    """The item's update and its counts (on the shard its number picks), for one transaction."""
    entries = [{"Update": update.request(table_name(), item_key(campaign_id, sk))}]
    stat = stat_update(campaign_id, seq_of(sk) % SHARDS, counts)
    if stat:
        entries.append(stat)
    return entries


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
        ddb.Update()
        .set(state=CLAIMED, owner=owner, lease_until=until, claimed_at=now)
        .set(**open_attrs(campaign_id, OPEN_CLAIMED, until, sk))
        .set_if_absent(first_attempt_at=now)
        .add(attempts=1)
        .where(
            "({state} = :p AND {not_before} <= :now) OR ({state} = :c AND {lease_until} < :now)",
            p=PENDING,
            c=CLAIMED,
            now=now,
        )
    )
    done, old = _update(campaign_id, sk, update, returns="ALL_OLD")
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
        ddb.Update()
        .set(state=PENDING, not_before=not_before)
        .set(**open_attrs(campaign_id, OPEN_PENDING, not_before, sk))
        .remove("owner", "lease_until")
        .where("{state} = :c AND {owner} = :o", c=CLAIMED, o=owner)
    )
    if ambiguous:
        update.set(ambiguous=True)
    if error:
        update.set(last_error=error)
    done, _ = _update(campaign_id, sk, update)
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
    update = (
        ddb.Update()
        .set(state=state, **fields)
        .remove("open_pk", "open_sk", "owner", "lease_until")
        .where("{state} = :c AND {owner} = :o", c=CLAIMED, o=owner)
    )
    entries = _with_counts(campaign_id, sk, update, counts)
    if pointer is not None:
        entries.append({"Put": pointer_put(pointer)})
    return ddb.transact(entries)


@guarded
def batches_awaiting_results(campaign_id: str) -> list[dict[str, Any]]:
    """SENT batches that have no completion result yet (small items: openids not read)."""
    fields = ("sk", "state", "msg_id", "sent_at", "finish_status", "msg_status", "reconciled_at")
    return [
        b
        for b in parts(campaign_id, BATCH, fields)
        if b.get("state") == SENT and not b.get("finish_status") and not b.get("reconciled_at")
    ]


@guarded
def record_reconciled(campaign_id: str, sk: str, msg_status: str, now: float) -> bool:
    """A SENT batch's status from mass/get (its completion event never came), counted once."""
    update = (
        ddb.Update()
        .set(msg_status=msg_status, reconciled_at=now)
        .where("attribute_not_exists({reconciled_at}) AND attribute_not_exists({finish_status})")
    )
    done, _ = _update(campaign_id, sk, update)
    if done:  # counted after the mark: a crash in between loses one count, never adds two
        shard = item_key(campaign_id, stat_sk(seq_of(sk) % SHARDS))
        ddb.update(table_name(), shard, ddb.Update().add_attrs({f"reconciled_{msg_status}": 1}))
    return done


# --------------------------------------------------------------------------- template chunks


@guarded
def touch_chunk(campaign_id: str, sk: str, now: float, *, requeue: bool) -> bool:
    """Record that the chunk went (back) onto the queue: new `enqueued_at`, and for a requeue by
    the stuck-chunk sweep one more `enqueues`."""
    update = (
        ddb.Update()
        .set(enqueued_at=now)
        .set(**open_attrs(campaign_id, OPEN_ENQUEUED, now, sk))
        .where("{state} = :e", e=ENQUEUED)
    )
    if requeue:
        update.add(enqueues=1)
    done, _ = _update(campaign_id, sk, update)
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
    update = (
        ddb.Update().set(state=state).remove("open_pk", "open_sk").where("{state} = :e", e=ENQUEUED)
    )
    if failures:
        update.set(failures=failures)
    return ddb.transact(_with_counts(campaign_id, sk, update, counts))
