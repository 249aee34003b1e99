"""DynamoDB streams and their consumers: the table's StreamSpecification, the event source mapping
(bisect on error, partial batch failures, bounded retries and record age, one batch per shard at a
time) pointed at the table's StreamArn, and a dead-letter queue for what the consumer gave up on.

A handler names its table by a placeholder ARN (`.../table/<suffix>/stream/...`, see
chalicelib/jobs/schedules.py): Chalice copies it into the template as a string, and the deep merge
replaces that string with `Fn::GetAtt [<Table>, StreamArn]`, which also makes the mapping wait
for the table.
"""

from __future__ import annotations

import re
from typing import Any

from infra import resources
from infra.cfn.common import cfn_name, declared_once
from infra.cfn.functions import FunctionSpec, event_override
from infra.cfn.queues import dead_letter_queue
from infra.cfn.tables import TableSpec
from infra.resources import Stream

_PLACEHOLDER = re.compile(r"arn:aws:dynamodb:[^:]*:[^:]*:table/(?P<table>[^/]+)/stream/.+")


def streams_by_table() -> dict[str, Stream]:
    return declared_once(resources.STREAMS, lambda s: s.table, "stream of table")


def dead_letters_logical_id(stream: Stream) -> str:
    return cfn_name(stream.table) + "StreamDeadLetters"


def dead_letters_name(stream: Stream) -> str:
    return f"{stream.table}-stream-dlq"


def consumed_table(function: FunctionSpec, streams: dict[str, Stream]) -> str:
    """The table suffix a stream handler's placeholder ARN names; it must declare its stream."""
    match = _PLACEHOLDER.fullmatch(function.stream_arn or "")
    if not match:
        raise SystemExit(
            f"{function.handler}: stream_arn={function.stream_arn!r} is not a placeholder "
            "'arn:aws:dynamodb:<any>:<any>:table/<table suffix>/stream/<any>'"
        )
    table = match.group("table")
    if table not in streams:
        raise SystemExit(
            f"{function.handler} reads the stream of table {table!r}, which infra/resources.py "
            f"STREAMS does not declare: add Stream({table!r}) there and run `make infra`"
        )
    return table


def with_streams(tables: list[TableSpec]) -> list[TableSpec]:
    """The table specs, each declared stream's table with its stream view type."""
    by_suffix = {t.suffix: t for t in tables}
    for table, stream in streams_by_table().items():
        spec = by_suffix.get(table)
        if spec is None:
            raise SystemExit(f"infra/resources.py declares a stream of {table!r}: no such table")
        if spec.stream_view_type not in (None, stream.view_type):
            raise SystemExit(
                f"{spec.model}.Meta.stream_view_type is {spec.stream_view_type!r}, "
                f"infra/resources.py says {stream.view_type!r}"
            )
        spec.stream_view_type = stream.view_type
    return tables


def stream_resources(functions: list[FunctionSpec], tables: list[TableSpec]) -> dict[str, Any]:
    """The consumers' event source overrides and each stream's dead-letter queue."""
    streams = streams_by_table()
    by_suffix = {t.suffix: t for t in tables}
    out: dict[str, Any] = {}
    for table, stream in sorted(streams.items()):
        out |= dead_letter_queue(
            dead_letters_logical_id(stream),
            dead_letters_name(stream),
            f"Stream records of table {table} the consumer gave up on (re-read them from the "
            "stream within 24 h: the message holds their shard and sequence numbers)",
        )
    for function in functions:
        if function.trigger != "dynamodb":
            continue
        stream = streams[consumed_table(function, streams)]
        table_id = by_suffix[stream.table].logical_id
        out[function.logical_id] = event_override(
            function,
            {
                "Stream": {"Fn::GetAtt": [table_id, "StreamArn"]},
                "BisectBatchOnFunctionError": True,
                # The consumer returns `batchItemFailures`: Lambda retries from the first one.
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
                "MaximumRetryAttempts": stream.max_retry_attempts,
                "MaximumRecordAgeInSeconds": stream.max_record_age_seconds,
                "ParallelizationFactor": stream.parallelization_factor,
                "DestinationConfig": {
                    "OnFailure": {
                        "Type": "SQS",
                        "Destination": {"Fn::GetAtt": [dead_letters_logical_id(stream), "Arn"]},
                    }
                },
            },
        )
    return out
