"""SQS queues declared in infra/resources.py, each with its dead-letter queue and an alarm on it.

A queue's visibility timeout is decided by its consumers: at least six times the longest
consumer's Lambda timeout (AWS's advice for SQS triggers)."""

from __future__ import annotations

from typing import Any

from infra import resources
from infra.cfn.common import (
    alarm,
    cfn_name,
    declared_once,
    lambda_timeout,
    queue_depth_metric,
    sub,
)
from infra.resources import APP_NAME, Queue

DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600


def queues_by_name() -> dict[str, Queue]:
    return declared_once(resources.QUEUES, lambda q: q.name, "queue")


def queue_logical_id(queue: Queue) -> str:
    return cfn_name(queue.name) + "Queue"


def dead_letter_queue(logical_id: str, name: str, description: str) -> dict[str, Any]:
    """A dead-letter queue kept 14 days (SQS's longest), encrypted, alarmed when not empty."""
    return {
        logical_id: {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": sub(f"{APP_NAME}-${{Stage}}-{name}"),
                "MessageRetentionPeriod": DEAD_LETTER_RETENTION_SECONDS,
                "SqsManagedSseEnabled": True,
            },
        },
        logical_id + "Alarm": alarm(description, queue_depth_metric(logical_id), 1),
    }


def queue_resources(
    queues: dict[str, Queue], consumer_functions: dict[str, list[str]]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every declared queue and its dead-letter queue; and the environment variables holding
    their URLs. `consumer_functions` maps a queue name to the Chalice functions reading it."""
    res: dict[str, Any] = {}
    env: dict[str, Any] = {}
    for name in sorted(queues):
        queue = queues[name]
        logical = queue_logical_id(queue)
        timeouts = [lambda_timeout(f) for f in consumer_functions.get(name, [])] or [30]
        res |= dead_letter_queue(
            logical + "DeadLetters",
            f"{name}-dlq",
            f"Messages of queue {name} landed in its dead-letter queue",
        )
        res[logical] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": sub(f"{APP_NAME}-${{Stage}}-{name}"),
                "VisibilityTimeout": queue.visibility_timeout or 6 * max(timeouts),
                "MessageRetentionPeriod": queue.retention_seconds,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [logical + "DeadLetters", "Arn"]},
                    "maxReceiveCount": queue.max_receive_count,
                },
            },
        }
        env[resources.queue_env_var(name)] = {"Ref": logical}
    return res, env
