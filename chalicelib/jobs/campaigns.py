"""Campaign entry points: the dispatcher's schedule and the template sender's SQS messages (app.py),
and their stand-ins for `make run` (scheduled/local.py). Each takes the container's WeChat client
and send queue from chalicelib.wiring and calls chalicelib.campaigns."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib import wiring
from chalicelib.campaigns import dispatcher
from chalicelib.campaigns import run as settings
from chalicelib.campaigns.run import Run, budget_from
from chalicelib.campaigns.sender import Delivery, handle_records

if TYPE_CHECKING:
    from chalicelib.campaigns.queue import SendQueue
    from chalicelib.wechat.api import WeChatClient

log = logging.getLogger("wxless.campaigns")

SENDER_BUDGET = 50.0  # the sender Lambda's timeout is 60 s (.chalice/config.json)
LOCAL_DISPATCH_BUDGET = 10.0


def dispatch(
    client: WeChatClient | None = None,
    *,
    budget: float | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    context: Any = None,
    queue: SendQueue | None = None,
) -> dict[str, Any]:
    """The scheduled dispatcher (EventBridge, every minute): see chalicelib.campaigns.dispatcher."""
    budget = budget_from(context, settings.dispatch_budget()) if budget is None else budget
    return dispatcher.dispatch(
        client or wiring.wechat(),
        queue or wiring.campaign_queue(),
        budget=budget,
        clock=clock,
        sleep=sleep,
    )


def _deliveries(event: Iterable[Any]) -> list[Delivery]:
    """Lambda's SQS records (chalice SQSRecord), messages as ReceiveMessage returns them (the
    local drain), or bare bodies (tests, the benchmark)."""
    out = []
    for record in event:
        if isinstance(record, Delivery):
            out.append(record)
            continue
        api = isinstance(record, Mapping) and "ReceiptHandle" in record  # ReceiveMessage's shape
        raw = record["Body"] if api else getattr(record, "body", record)
        try:
            body = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
        except ValueError:
            body = None
        if not isinstance(body, dict):
            log.error("campaigns.bad_message %r", str(raw)[:200])  # dropped, never retried
            continue
        if api:
            message_id, handle = record.get("MessageId"), record["ReceiptHandle"]
            attributes = record.get("Attributes") or {}
        else:
            meta = record.to_dict() if hasattr(record, "to_dict") else {}
            message_id, handle = meta.get("messageId"), getattr(record, "receipt_handle", None)
            attributes = meta.get("attributes") or {}
        try:
            receives = int(attributes.get("ApproximateReceiveCount") or 1)
        except ValueError:
            receives = 1
        out.append(Delivery(body, message_id, handle, receives))
    return out


def handle_sqs(
    event: Iterable[Any],
    client: WeChatClient | None = None,
    *,
    clock: Callable[[], float] = time.time,
    context: Any = None,
    budget: float | None = None,
    queue: SendQueue | None = None,
) -> dict[str, Any]:
    """The SQS-triggered template sender. An exception (storage down) fails the invocation and
    SQS redelivers after the visibility timeout; every step is idempotent. Messages held for the
    template quota come back in `batchItemFailures` (the event source mapping reports batch item
    failures, infra/build.py), so Lambda leaves them on the queue."""
    deliveries = _deliveries(event)
    if not deliveries:
        return {}
    budget = budget_from(context, SENDER_BUDGET) if budget is None else budget
    sends = queue or wiring.campaign_queue()
    run = Run(client or wiring.wechat(), sends, budget=budget, clock=clock)
    return handle_records(deliveries, run)


# --------------------------------------------------------------------------- make run


def dispatch_local() -> dict[str, Any] | None:
    """The dispatcher for `make run` (scheduled/local.py), with the queue created locally."""
    wiring.campaign_queue().ensure_once()
    result = dispatch(budget=LOCAL_DISPATCH_BUDGET)
    return result if result.get("started") or len(result) > 2 else None


def drain_local(max_messages: int = 200, budget: float = 10.0) -> dict[str, int] | None:
    """`chalice local` runs no SQS triggers: pull the queue (moto) and call the sender, deleting
    each message once handled, as Lambda's event source mapping does."""
    queue = wiring.campaign_queue()
    queue.ensure_once()
    deadline = time.monotonic() + budget
    outcomes: dict[str, int] = {}
    handled = 0
    while handled < max_messages and time.monotonic() < deadline:
        messages = queue.receive(10)
        if not messages:
            break
        for message in messages:
            try:
                result = handle_sqs([message], budget=max(1.0, deadline - time.monotonic()))
            except Exception:
                log.exception("campaigns.local_send_failed")  # redelivered after the timeout
                continue
            if not result.pop("batchItemFailures", None):  # held ones stay on the queue
                queue.delete(message["ReceiptHandle"])
            handled += 1
            for key, value in result.items():
                outcomes[key] = outcomes.get(key, 0) + value
    return outcomes or None
