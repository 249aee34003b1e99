"""Template recipients in `campaign-items`: one item per follower of a template campaign, in its
own partition (`<acct>#campaign#<id>#r#<openid>`), so thousands of senders never contend.

New | RETRY | CLAIMED with an expired lease -> CLAIMED (owner, lease) -> SENT | FAILED | UNKNOWN,
or back to RETRY; every step conditional on the state (and the owner), so a redelivered SQS
message or two workers on one chunk cannot both send.
"""

from __future__ import annotations

from typing import Any

from chalicelib.store import ddb
from chalicelib.store.campaign_items import (
    CLAIMED,
    FAILED_STATE,
    RETENTION_SECONDS,
    RETRY,
    recipient_key,
    table_name,
)
from chalicelib.store.guard import guarded


def _update(campaign_id: str, openid: str, update: ddb.Update) -> bool:
    done, _ = ddb.update(table_name(), recipient_key(campaign_id, openid), update)
    return done


@guarded
def claim_recipient(
    campaign_id: str, openid: str, chunk: str, owner: str, now: float, lease: float
) -> tuple[bool, dict[str, Any] | None]:
    """New, RETRY or CLAIMED-with-an-expired-lease -> CLAIMED by `owner`.

    Returns (claimed, the item as it was before): when not claimed, the old item says whether the
    recipient is final (count it) or held by a live worker (leave it)."""
    update = (
        ddb.Update()
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
    key = recipient_key(campaign_id, openid)
    return ddb.update(table_name(), key, update, returns="ALL_OLD")


@guarded
def finish_recipient(
    campaign_id: str, openid: str, owner: str, state: str, fields: dict[str, Any]
) -> bool:
    update = (
        ddb.Update()
        .set(state=state, **fields)
        .remove("owner", "lease_until")
        .where("{state} = :c AND {owner} = :o", c=CLAIMED, o=owner)
    )
    return _update(campaign_id, openid, update)


@guarded
def release_recipient(
    campaign_id: str, openid: str, owner: str, *, ambiguous: bool, error: str
) -> bool:
    update = (
        ddb.Update()
        .set(state=RETRY, last_error=error)
        .remove("owner", "lease_until")
        .where("{state} = :c AND {owner} = :o", c=CLAIMED, o=owner)
    )
    if ambiguous:
        update.set(ambiguous=True)
    return _update(campaign_id, openid, update)


@guarded
def give_up_recipient(campaign_id: str, openid: str, now: float, reason: str) -> bool:
    """RETRY -> FAILED (the chunk ran out of attempts): never retried forever."""
    update = (
        ddb.Update()
        .set(state=FAILED_STATE, errcode=reason, finished_at=now)
        .where("{state} = :r", r=RETRY)
    )
    return _update(campaign_id, openid, update)


@guarded
def get_recipient(campaign_id: str, openid: str) -> dict[str, Any] | None:
    return ddb.get(table_name(), recipient_key(campaign_id, openid), consistent=True)
