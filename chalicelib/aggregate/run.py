"""The stream aggregator: sums one batch of the messages table's stream and writes each target
item once (summaries.SUMMARIES, store.ledger), plus the batch's listing pages and the shard's
progress.

Exactly once: every counter write is conditional on its item's watermark, so a batch that comes
again (Lambda retries a failed batch, whole or halved) changes nothing; the listing's pages are
rewritten with the same keys. A record that cannot be read is a poison record: it goes to the
dead-letter queue, whole, and is logged; the batch goes on without it. Anything else that fails
(throttling beyond retries, a conflict) fails the whole batch (batchItemFailures names its first
record), and the retry redoes only what is missing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib.aggregate import article_views, campaign_results, consents, notices, summaries
from chalicelib.store import ledger, listing, page_views, progress, stream

log = logging.getLogger("wxless.aggregate")

DeadLetter = Callable[[list[dict[str, Any]]], None]


def handle(event: dict[str, Any], *, dead_letter: DeadLetter, workers: int = 16) -> dict[str, Any]:
    """Lambda's answer for one invocation: `{"batchItemFailures": [...], "state": {}}` (the
    state is the tumbling window's, unused: the window is there for the event's shardId)."""
    started = time.monotonic()
    batch, poison = stream.decode(event)
    records: list[summaries.Logged] = []
    views: list[page_views.View] = []
    for record in batch.records:
        try:
            found = summaries.logged(record)
            view = page_views.decode(record) if found is None else None
        except Exception:
            poison.append(record.raw)
            continue
        if found is not None:
            records.append(found)
        elif view is not None:
            views.append(view)
    first = _first_sequence(batch, event)
    if poison:
        log.error(json.dumps({"event": "aggregate.poison", "records": len(poison)}))
        try:
            dead_letter(poison)
        except Exception:
            log.exception("aggregate.dead_letter_failed")
            return _failed(first)
    try:
        written = _write(batch, records, views, workers)
    except Exception:
        log.exception("aggregate.batch_failed shard=%s records=%d", batch.shard, len(records))
        return _failed(first)
    log.info(
        json.dumps(
            {
                "event": "aggregate.batch",
                "records": len(batch.records),
                "messages": len(records),
                "views": len(views),
                "writes": written,
                "poison": len(poison),
                "ms": round((time.monotonic() - started) * 1000),
            }
        )
    )
    return {"batchItemFailures": [], "state": {}}


def _failed(first: str | None) -> dict[str, Any]:
    failures = [{"itemIdentifier": first}] if first else []
    return {"batchItemFailures": failures, "state": {}}


def _first_sequence(batch: stream.StreamBatch, event: dict[str, Any]) -> str | None:
    if batch.records:
        return batch.records[0].sequence_number
    for record in event.get("Records") or []:  # only undecodable ones
        seq = (record.get("dynamodb") or {}).get("SequenceNumber")
        if seq:
            return str(seq)
    return None


def _write(
    batch: stream.StreamBatch,
    records: list[summaries.Logged],
    views: list[page_views.View],
    workers: int,
) -> int:
    """Every target and page of the batch; raises if any write failed (after the client's own
    retries). The number of writes."""
    if not records and not views:
        return 0
    shard = batch.shard_tag
    targets = [t for summary in summaries.SUMMARIES for t in summary(records)]
    targets += consents.targets(records)
    targets += campaign_results.targets(records)  # claims job reports first (rare events)
    targets += article_views.targets(views)  # claims each new reader first
    notices.record(records)  # what WeChat reported on our own sends (plain SETs, rare events)
    pages = summaries.listing_pages(shard, records)
    jobs: list[Callable[[], Any]] = [lambda t=t: ledger.apply(t, shard) for t in targets]
    jobs += [lambda p=p: listing.put_page(p) for p in pages]
    if workers <= 1:
        for job in jobs:
            job()
    else:
        with ThreadPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            for future in [pool.submit(job) for job in jobs]:
                future.result()  # re-raises the first failure
    newest = max([r.received_ms for r in records] + [v.at * 1000 for v in views])
    last = max([r.seq for r in records] + [v.seq for v in views])
    try:
        progress.record(shard, newest, last)
    except Exception:  # a hint for readers: the counters are written, the batch is done
        log.warning("aggregate.progress_not_recorded shard=%s", batch.shard, exc_info=True)
    return len(jobs) + 1
