"""The send queue: SQS messages of {campaign, chunk, attempt?}, one per template chunk.

One `SendQueue` per container (built by chalicelib.wiring), which finds the queue's URL once.
Deployed stages get the queue and its dead-letter queue from infra/ and the URL in the
environment; local runs and tests create them (`ensure`). Every failure of SQS surfaces as
`Unavailable`: the callers' answers to it (re-send later, hold differently) are theirs.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.errors import Unavailable
from chalicelib.store.aws import client

QUEUE_URL_ENV = "WXLESS_QUEUE_CAMPAIGN_SENDS_URL"  # infra/resources.py queue_env_var(QUEUE)
LOCAL_VISIBILITY_TIMEOUT = 360  # 6 x the sender's Lambda timeout, as infra/build.py derives it
LOCAL_MAX_RECEIVES = 5
MAX_DELAY = 900  # SQS DelaySeconds

F = TypeVar("F", bound=Callable[..., Any])


def _sqs_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            raise Unavailable(f"queue error: {type(exc).__name__}") from exc

    return wrapper  # type: ignore[return-value]


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class SendQueue:
    """The queue `name`, at `url` when the environment gives it (else looked up once)."""

    def __init__(self, name: str, url: str = "") -> None:
        self.name = name
        self._url = url
        self._ensured = False

    def url(self) -> str:
        if not self._url:
            self._url = _lookup(self.name)
        return self._url

    @_sqs_errors
    def ensure(self) -> str:
        """Create the queue and its dead-letter queue (local runs and tests; deployed stages get
        them from infra/). Idempotent."""
        sqs = client("sqs")
        dlq = sqs.create_queue(QueueName=self.name + "-dlq")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": LOCAL_MAX_RECEIVES})
        self._url = sqs.create_queue(
            QueueName=self.name,
            Attributes={
                "VisibilityTimeout": str(LOCAL_VISIBILITY_TIMEOUT),
                "RedrivePolicy": redrive,
            },
        )["QueueUrl"]
        self._ensured = True
        return self._url

    def ensure_once(self) -> None:
        """`ensure`, once per container (`make run` calls it before each local job)."""
        if not self._ensured:
            self.ensure()

    @_sqs_errors
    def enqueue(self, bodies: Sequence[dict[str, Any]], delay: int = 0) -> None:
        """SendMessageBatch, 10 at a time; raises if SQS refused any (the stuck-chunk sweep then
        re-sends: a chunk is never lost, at worst late)."""
        sqs, url = client("sqs"), self.url()
        for start in range(0, len(bodies), 10):
            entries = [
                {
                    "Id": str(i),
                    "MessageBody": dumps(body),
                    "DelaySeconds": max(0, min(MAX_DELAY, delay)),
                }
                for i, body in enumerate(bodies[start : start + 10])
            ]
            resp = sqs.send_message_batch(QueueUrl=url, Entries=entries)
            if resp.get("Failed"):
                raise Unavailable(f"queue refused {len(resp['Failed'])} message(s)")

    @_sqs_errors
    def receive(self, max_messages: int = 10) -> list[dict[str, Any]]:
        resp = client("sqs").receive_message(
            QueueUrl=self.url(),
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=0,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        )
        return list(resp.get("Messages", []))

    @_sqs_errors
    def hide(self, receipt_handle: str, seconds: int) -> None:
        """Keep a received message on the queue, invisible for `seconds` (SQS: at most 12 h after
        it was received); the consumer must then not delete it."""
        client("sqs").change_message_visibility(
            QueueUrl=self.url(), ReceiptHandle=receipt_handle, VisibilityTimeout=int(seconds)
        )

    @_sqs_errors
    def delete(self, receipt_handle: str) -> None:
        client("sqs").delete_message(QueueUrl=self.url(), ReceiptHandle=receipt_handle)


@_sqs_errors
def _lookup(name: str) -> str:
    return client("sqs").get_queue_url(QueueName=name)["QueueUrl"]
