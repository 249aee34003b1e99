"""The template sender's work (the SQS handler calls `handle_records`): one delivery after another,
each a chunk of a running campaign to send, hold for the daily-quota pause, or drop.

A held message stays on the queue, invisible until just past the quota reset, and comes back in
`batchItemFailures` (Lambda's partial batch response: the event source mapping reports batch item
failures, infra/build.py), so Lambda leaves it there instead of deleting it.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.campaigns import template
from chalicelib.campaigns.queue import MAX_DELAY
from chalicelib.campaigns.quota import RESUME_MARGIN, paused_until
from chalicelib.campaigns.run import Run
from chalicelib.errors import NotFound, Unavailable
from chalicelib.store import campaign_items as items
from chalicelib.store import campaign_work as work
from chalicelib.store import campaigns as table

log = logging.getLogger("wxless.campaigns")

MAX_HOLD = 12 * 3600 - 300  # SQS: invisible <= 12 h from the receipt; margin for the time since
HOLD_MAX_RECEIVES = 3  # the queue's maxReceiveCount is 5: room for one failed invocation


@dataclass
class Delivery:
    """One SQS message for the sender: its body and, from Lambda or a local drain, what it takes
    to keep the message on the queue (`hold`)."""

    body: Mapping[str, Any]
    message_id: str | None = None
    receipt_handle: str | None = None
    receives: int = 1


def hold(delivery: Delivery, cid: str, sk: str, until: float, run: Run) -> str:
    """Keep a chunk off WeChat until `until` (+ a margin). Returns `held` (the message stays on the
    queue, invisible: the caller reports it as a batch item failure so Lambda keeps it),
    `paused` (it went back as a new message, delayed), or `skipped` (nothing left to send)."""
    now = run.now()
    wait = max(1, math.ceil(min(until - now + RESUME_MARGIN, MAX_HOLD)))
    # The chunk is expected back at now + wait: the stuck-chunk sweep must not re-send it before.
    if not work.touch_chunk(cid, sk, now + wait, requeue=False):
        return "skipped"  # done or given up meanwhile
    run.count("template_chunks_paused")
    if delivery.receipt_handle and delivery.message_id and delivery.receives <= HOLD_MAX_RECEIVES:
        try:
            run.sends.hide(delivery.receipt_handle, wait)
            return "held"
        except Unavailable:
            log.warning("campaigns.hold_failed chunk=%s/%s: re-sent instead", cid, sk)
    # A body without its message (tests, the benchmark), or one SQS delivered often (near the
    # dead-letter queue's count), or a failed ChangeMessageVisibility: a fresh message, with
    # SQS's longest delay; it is held (or re-sent again) when it comes back.
    attempt = int(delivery.body.get("attempt") or 0)
    body = {"campaign": cid, "chunk": sk, "attempt": attempt}
    run.sends.enqueue([body], delay=min(wait, MAX_DELAY))
    return "paused"


def handle_records(records: Iterable[Mapping[str, Any] | Delivery], run: Run) -> dict[str, Any]:
    """The SQS handler's work: each body is {campaign, chunk, attempt?}. Messages of campaigns
    that are not running (cancelled, failed, unknown) are dropped. Returns the outcome counts
    and, when messages are held for the quota, `batchItemFailures` (Lambda's partial batch
    response: those stay on the queue, the others are deleted)."""
    campaigns: dict[str, dict[str, Any] | None] = {}
    outcomes: Counter[str] = Counter()
    held: list[str] = []
    for record in records:
        delivery = record if isinstance(record, Delivery) else Delivery(record)
        body = delivery.body
        cid, sk = str(body.get("campaign", "")), str(body.get("chunk", ""))
        if cid not in campaigns:
            try:
                campaigns[cid] = table.get_campaign(cid)
            except NotFound:
                campaigns[cid] = None
        campaign = campaigns[cid]
        if campaign is None or campaign.get("status") != table.RUNNING or not items.is_chunk(sk):
            outcomes["dropped"] += 1
            continue
        until = paused_until(run)
        if until:
            outcome = hold(delivery, cid, sk, until, run)
        else:
            outcome = template.process_chunk(campaign, sk, int(body.get("attempt") or 0), run)
            if outcome == "paused":  # this chunk met the 45009
                outcome = hold(delivery, cid, sk, run.template_paused_until, run)
        if outcome == "held":
            held.append(str(delivery.message_id))
            outcome = "paused"
        outcomes[outcome] += 1
        if outcome == "fatal":
            campaigns[cid] = None
    out: dict[str, Any] = dict(outcomes)
    if held:
        out["batchItemFailures"] = [{"itemIdentifier": message_id} for message_id in held]
    return out
