"""The aggregator's dead-letter queue: poison records go here whole, so an operator can read
them (`make dlq`-style tools, the console's health figures) and replay them once fixed.

Deployed, the queue is declared in the template (its URL arrives as DEAD_LETTER_URL_ENV; the
event source mapping also sends what it gives up on there). Locally and in tests it is created
on first use, by name.
"""

from __future__ import annotations

import os
from typing import Any

from chalicelib import config
from chalicelib.store.aws import client
from chalicelib.store.stream import dumps

# The messages stream's dead-letter queue (infra/cfn/streams.py): Lambda also sends there what it
# gives up on after its retries.
QUEUE = "messages-stream-dlq"
DEAD_LETTER_URL_ENV = "WXLESS_QUEUE_MESSAGES_STREAM_DLQ_URL"
_MAX_BODY = 250_000  # SQS takes 256 KiB per message


def queue_url() -> str:
    url = os.environ.get(DEAD_LETTER_URL_ENV)
    if url:
        return url
    name = f"{config.get(config.TABLE_PREFIX)}-{QUEUE}"
    return client("sqs").create_queue(QueueName=name)["QueueUrl"]  # idempotent by name


def send(records: list[dict[str, Any]]) -> None:
    sqs = client("sqs")
    url = queue_url()
    for record in records:
        body = dumps({"source": "aggregate", "record": record})
        if len(body.encode()) > _MAX_BODY:
            body = dumps({"source": "aggregate", "truncated": True, "record": body[:_MAX_BODY]})
        sqs.send_message(QueueUrl=url, MessageBody=body)


def depth() -> int:
    """Messages waiting in the queue (approximate, as SQS counts)."""
    attrs = client("sqs").get_queue_attributes(
        QueueUrl=queue_url(), AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attrs.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))
