"""Notifications of the notify API, one item per `client_msg_id` (`outbound`,
`<a>#notify#<client_msg_id>` / `n`): the claim that makes a send happen at most once per id,
the answer that every repeat gets, and the recipient's delivery status.

States:
- `sending`: a request holds the id (`token`, `lease_until`). A holder that died (a crash
  between WeChat's answer and our record) loses it when the lease ends;
- `open`: the last attempt failed in a way worth retrying (released); `ambiguous` says WeChat
  may have received it, and `first_at` when the first attempt began (WeChat deduplicates a
  template message's client_msg_id for 10 minutes: the caller decides whether a resend is safe);
- `done`: the final answer (`answer_status`, `answer`: the JSON body), replayed for 24 hours.

`fp` is the fingerprint of the request that took the id: the same id with another notification
is told apart. Taking a free id is one conditional PutItem; a taken one answers with the item
as it is (ALL_OLD), so a repeat costs no extra read.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from chalicelib.store import ddb, keys, outbound
from chalicelib.store.guard import guarded

SENDING, OPEN, DONE = "sending", "open", "done"
LEASE_SECONDS = 60  # the API function runs at most 10 s; WeChat's call at most a few
REPLAY_SECONDS = 24 * 3600  # a repeat within this gets the same answer
KEEP_SECONDS = 7 * 86400  # the record (and its delivery status) stays this long (TTL)


def notify_key(client_msg_id: str) -> ddb.Raw:
    return ddb.key(keys.scoped("notify", client_msg_id), "n")


@dataclass(frozen=True, slots=True)
class Claim:
    """What `claim` found: our `token` (run the send), or the record as it is."""

    token: int | None
    record: dict[str, Any]


@guarded
def claim(client_msg_id: str, fingerprint: str, fields: dict[str, Any], now: float) -> Claim:
    """Take the id for a request, or say who has it. A free id (never used, expired, or done
    more than 24 h ago) is taken with a fresh record; an `open` one, or a `sending` one whose
    lease ended, is taken over keeping `first_at` and `ambiguous` (set when taking over from a
    holder that died: it may have reached WeChat)."""
    table = outbound.table_name()
    key = notify_key(client_msg_id)
    token = secrets.randbits(52) + 1
    item = {
        **fields,
        "state": SENDING,
        "fp": fingerprint,
        "token": token,
        "lease_until": now + LEASE_SECONDS,
        "first_at": now,
        "created_at": now,
        "attempts": 1,
        "expires_at": int(now) + KEEP_SECONDS,
    }
    free = ddb.Condition().where(
        "attribute_not_exists({pk}) OR {expires_at} < :now OR ({state} = :done AND "
        "{done_at} < :stale)",
        now=int(now),
        done=DONE,
        stale=now - REPLAY_SECONDS,
    )
    request = free.put_request(table, ddb.to_raw(item) | key)
    ok, old = ddb.put(request)
    if ok:
        return Claim(token, item)
    record = ddb.from_raw(old) or {}
    if record.get("fp") != fingerprint:
        return Claim(None, record)
    state = record.get("state")
    if state == OPEN or (state == SENDING and float(record.get("lease_until") or 0) < now):
        take = ddb.Update().set(state=SENDING, token=token, lease_until=now + LEASE_SECONDS)
        take.add(attempts=1)
        if state == SENDING:  # its holder died: it may have reached WeChat before that
            take.set(ambiguous=True)
        take.where(
            "{fp} = :fp AND ({state} = :open OR ({state} = :sending AND {lease_until} < :now))",
            fp=fingerprint,
            open=OPEN,
            sending=SENDING,
            now=now,
        )
        ok, current = ddb.update(table, key, take, returns="ALL_NEW")
        if ok:
            return Claim(token, current or {})
        record = current or record  # someone else took it first
    return Claim(None, record)


@guarded
def get(client_msg_id: str) -> dict[str, Any] | None:
    return ddb.get(outbound.table_name(), notify_key(client_msg_id), consistent=True)


@guarded
def finish(
    client_msg_id: str, token: int, status: int, answer: dict[str, Any], fields: dict[str, Any],
    now: float,
) -> bool:  # fmt: skip
    """Keep the final answer (and the record's outcome fields). False when our lease was lost
    (another request took over: its answer is kept instead)."""
    upd = ddb.Update().set(
        state=DONE,
        answer_status=status,
        answer=json.dumps(answer, ensure_ascii=False, separators=(",", ":")),
        done_at=now,
        **fields,
    )
    upd.remove("token", "lease_until")
    upd.where("{token} = :token", token=token)
    ok, _ = ddb.update(outbound.table_name(), notify_key(client_msg_id), upd)
    return ok


@guarded
def release(client_msg_id: str, token: int, *, ambiguous: bool, error: str) -> bool:
    """Free the id for a retry (the attempt failed in a way worth retrying). `ambiguous`: WeChat
    may have received it (no answer, or it failed): a retry must stay inside its dedup window."""
    upd = ddb.Update().set(state=OPEN, last_error=error[:300])
    if ambiguous:
        upd.set(ambiguous=True)
    upd.remove("token", "lease_until")
    upd.where("{token} = :token", token=token)
    ok, _ = ddb.update(outbound.table_name(), notify_key(client_msg_id), upd)
    return ok


@guarded
def record_delivery(client_msg_id: str, status: str, outcome: str, at: float) -> None:
    """WeChat's report on the recipient (TEMPLATESENDJOBFINISH, subscribe_msg_sent_event):
    plain SETs, so a redelivered report changes nothing."""
    upd = ddb.Update().set(delivery=outcome, delivery_status=status, delivered_at=at)
    upd.where("attribute_exists({pk})")
    ddb.update(outbound.table_name(), notify_key(client_msg_id), upd)
