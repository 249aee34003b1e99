"""Drive the stream aggregator from moto's DynamoDB stream, as Lambda's event source mapping does
in AWS: read each shard in order, hand the records to the consumer as a Lambda stream event
(with the shardId a tumbling window adds), and move on only when it reports no failure.

Used by the local runner (a background thread, `run_forever`) and by the tests (`drain()`
after the messages they send). moto keeps one shard per stream.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger("wxless.stream_pump")

Consumer = Callable[[dict[str, Any]], dict[str, Any] | None]
BATCH = 1000


class StreamPump:
    def __init__(self, table_name: Callable[[], str], consumer: Consumer) -> None:
        self.table_name = table_name
        self.consumer = consumer
        self.positions: dict[tuple[str, str], str | None] = {}  # (arn, shard) -> last seq read
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._arns: dict[str, str | None] = {}  # table -> stream ARN (new when re-created)
        self.batches = 0
        self.failures = 0

    def _arn(self) -> str | None:
        from chalicelib.store import stream

        name = self.table_name()
        if name not in self._arns:
            self._arns[name] = stream.stream_arn(name)
        return self._arns[name]

    def forget_tables(self) -> None:
        """Tables were dropped or re-created: look their streams up again."""
        self._arns.clear()

    def skip_to_end(self) -> None:
        """Start after everything the stream holds now (a restored store is counted already)."""
        from chalicelib.store import stream

        with self._lock:
            arn = self._arn()
            if not arn:
                return
            for shard in stream.shards(arn):
                last = self.positions.get((arn, shard))
                while True:
                    records, last_read = stream.read_shard(arn, shard, last, BATCH)
                    if not records:
                        break
                    last = last_read
                self.positions[(arn, shard)] = last

    def drain(self, max_rounds: int = 1000) -> int:
        """Deliver every record not yet delivered; the number of records handed over. A batch
        the consumer fails is delivered again (as Lambda would), up to `max_rounds` calls."""
        from chalicelib.store import stream

        delivered = 0
        with self._lock:
            arn = self._arn()
            if not arn:
                return 0
            for shard in stream.shards(arn):
                for _ in range(max_rounds):
                    after = self.positions.get((arn, shard))
                    records, _last = stream.read_shard(arn, shard, after, BATCH)
                    if not records:
                        break
                    event = {"Records": records, "shardId": shard, "eventSourceARN": arn}
                    answer = self.consumer(event) or {}
                    self.batches += 1
                    failures = answer.get("batchItemFailures") or []
                    done = _delivered_up_to(records, failures)
                    if done is not None:
                        self.positions[(arn, shard)] = done
                        delivered += sum(
                            1 for r in records if int(r["dynamodb"]["SequenceNumber"]) <= int(done)
                        )
                    if failures:
                        self.failures += 1
                        break  # retried on the next drain, from the failed record
        return delivered

    def run_forever(self, interval: float = 0.1) -> None:
        """Poll until `stop()`: the local runner's stand-in for the event source mapping. Every
        0.1 s (three small moto requests when idle), so what is derived from the stream (the
        listing across followers, the desk's conversations, counters) trails a reply by ~0.1 s."""
        while not self._stop.is_set():
            try:
                self.drain()
            except Exception:
                log.warning("stream_pump.failed", exc_info=True)
                self.forget_tables()
            self._stop.wait(interval)

    def stop(self) -> None:
        self._stop.set()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run_forever, name="stream-pump", daemon=True)
        thread.start()
        return thread


def _delivered_up_to(records: list[dict[str, Any]], failures: list[dict[str, Any]]) -> str | None:
    """The last sequence number the consumer is done with: all of them, or the one before the
    first failure it reported (None: not even the first record)."""
    if not failures:
        return records[-1]["dynamodb"]["SequenceNumber"]
    failed = min(int(f["itemIdentifier"]) for f in failures)
    done = None
    for record in records:
        seq = record["dynamodb"]["SequenceNumber"]
        if int(seq) >= failed:
            break
        done = seq
    return done
