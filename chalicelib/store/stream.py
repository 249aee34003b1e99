"""DynamoDB Streams records, as Lambda delivers them, decoded.

Lambda invokes the aggregator with `{"Records": [...], "shardId": ..., ...}`: `shardId` is
there because the event source mapping uses a tumbling window (infra/), which is what puts it
in the event. Every record of one invocation comes from that shard, in order. Locally the same
events are built from moto's stream (`read_shard`), so the aggregator runs the same code.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from chalicelib.store import ddb
from chalicelib.store.aws import client

SEQ_DIGITS = 40  # DynamoDB Streams sequence numbers have 21..40 digits: padded, they sort as text


@dataclass(frozen=True, slots=True)
class StreamRecord:
    seq: str  # zero-padded to SEQ_DIGITS: compares as text in DynamoDB conditions too
    event: str  # INSERT | MODIFY | REMOVE
    item: dict[str, Any] | None  # the new image, decoded (None for REMOVE)
    approx_ms: int  # ApproximateCreationDateTime
    raw: dict[str, Any]  # the record as delivered (for the dead-letter queue)

    @property
    def sequence_number(self) -> str:
        """As Lambda wants it back in batchItemFailures."""
        return self.seq.lstrip("0") or "0"


@dataclass(frozen=True, slots=True)
class StreamBatch:
    shard: str
    records: list[StreamRecord]

    @property
    def shard_tag(self) -> str:
        """A short, stable name of the shard for attribute names and keys."""
        return f"{zlib.crc32(self.shard.encode()):08x}"


def pad(sequence_number: str) -> str:
    return sequence_number.rjust(SEQ_DIGITS, "0")


def _approx_ms(value: Any) -> int:
    if isinstance(value, dt.datetime):  # botocore (moto's stream) parses it
        return int(value.timestamp() * 1000)
    try:
        return int(float(value) * 1000)  # Lambda: epoch seconds
    except (TypeError, ValueError):
        return 0


def decode_record(record: dict[str, Any]) -> StreamRecord:
    body = record.get("dynamodb") or {}
    image = body.get("NewImage")
    return StreamRecord(
        seq=pad(str(body["SequenceNumber"])),
        event=str(record.get("eventName", "")),
        item=ddb.from_raw(image) if image else None,
        approx_ms=_approx_ms(body.get("ApproximateCreationDateTime")),
        raw=record,
    )


def decode(event: dict[str, Any]) -> tuple[StreamBatch, list[dict[str, Any]]]:
    """The batch, and the records that could not be decoded at all (poison)."""
    records: list[StreamRecord] = []
    poison: list[dict[str, Any]] = []
    for record in event.get("Records") or []:
        try:
            records.append(decode_record(record))
        except Exception:
            poison.append(record)
    return StreamBatch(str(event.get("shardId") or "unknown"), records), poison


def dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, default=str, ensure_ascii=False, separators=(",", ":"))


# -- reading a stream directly (the local runner and tests: moto has no event source mapping) --


def stream_arn(table_name: str) -> str | None:
    table = client("dynamodb").describe_table(TableName=table_name)["Table"]
    return table.get("LatestStreamArn")


def read_shard(
    arn: str, shard_id: str, after: str | None, limit: int = 1000
) -> tuple[list[dict[str, Any]], str | None]:
    """Records of one shard after sequence number `after` (from the start when None), as
    Lambda would deliver them; and the last sequence number read."""
    streams = client("dynamodbstreams")
    if after:
        iterator = streams.get_shard_iterator(
            StreamArn=arn,
            ShardId=shard_id,
            ShardIteratorType="AFTER_SEQUENCE_NUMBER",
            SequenceNumber=after,
        )["ShardIterator"]
    else:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator, Limit=limit).get("Records", [])
    for record in records:
        record["eventSourceARN"] = arn
    last = records[-1]["dynamodb"]["SequenceNumber"] if records else after
    return records, last


def shards(arn: str) -> Iterator[str]:
    description = client("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]
    for shard in description.get("Shards", []):
        yield shard["ShardId"]
