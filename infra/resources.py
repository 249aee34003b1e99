"""What the deployed stack holds beyond what the code describes by itself.

Tables come from the PynamoDB models (`chalicelib.store.models.all_models()`) and functions,
schedules and queue triggers from `app.py`; `infra/build.py` reads both. What the code cannot say
is declared here, in one place:

- QUEUES: every SQS queue. A handler `@app.on_sqs_message(queue="<name>")` must name a queue
  declared here (the build fails otherwise). Each queue gets a dead-letter queue `<name>-dlq`; its
  physical name is `wxless-<stage>-<name>` and its URL reaches every function as
  `WXLESS_QUEUE_<NAME>_URL` (see `queue_env_var`).
- STREAMS: every DynamoDB stream a handler reads. `@app.on_dynamodb_record(stream_arn=...)` names
  the table by a placeholder ARN (`.../table/<suffix>/stream/...`, see
  chalicelib/jobs/schedules.py) and the table must be declared here; the build gives the table
  its stream, points the event source mapping at its `StreamArn`, and gives the stream a
  dead-letter queue `<suffix>-stream-dlq` for the records the consumer could not take.
- the SSM parameters holding secrets and the media bucket's temporary-upload prefix.

After a change here (or a new model, schedule or queue handler): `make infra`, then commit the
regenerated `infra/template.json` and `.chalice/policy-*.json`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib import campaigns

APP_NAME = "wxless"
STAGES: tuple[str, ...] = ("dev", "prod")
# Stages whose tables refuse deletion (DeletionProtectionEnabled).
PROTECTED_STAGES: tuple[str, ...] = ("prod",)


@dataclass(frozen=True)
class Queue:
    name: str  # what app.py passes to @app.on_sqs_message(queue=...)
    # None: six times the consumer's Lambda timeout (AWS's advice for SQS triggers).
    visibility_timeout: int | None = None
    max_receive_count: int = 5  # deliveries before a message moves to the dead-letter queue
    retention_seconds: int = 4 * 24 * 3600


# Append new queues here, e.g. Queue("campaign-sends", max_receive_count=3).
QUEUES: tuple[Queue, ...] = (
    # Template campaigns: one message per chunk of ~125 recipients (chalicelib.campaigns.sender).
    Queue(campaigns.QUEUE, max_receive_count=5),
)


@dataclass(frozen=True)
class Stream:
    table: str  # the table's suffix (its model's Meta.suffix)
    view_type: str = "NEW_IMAGE"
    # A failing batch is halved until the poison record stands alone (~10 halvings for 1,000
    # records), then retried; past these limits its metadata (shard, sequence numbers: not the
    # records) goes to the dead-letter queue, while the stream still holds the records for the
    # rest of its 24 hours.
    max_retry_attempts: int = 20
    max_record_age_seconds: int = 6 * 3600
    # One concurrent batch per shard: the consumer relies on per-shard order.
    parallelization_factor: int = 1
    # A tumbling window puts the shard's id in every event (`shardId`), which the consumer keys
    # its exactly-once watermarks on; its state is unused. Long windows: each ends with one
    # extra, empty invocation.
    tumbling_window_seconds: int = 900


STREAMS: tuple[Stream, ...] = (
    # Counters, follower records and the cross-follower listing (chalicelib.jobs.aggregate).
    Stream("messages"),
)

# Settings read from SSM Parameter Store at run time: config name -> parameter under
# /wxless/<stage>/. Values are SecureString (the AppID may be a plain String); none is ever in the
# template or the repo.
SSM_PARAMETERS: dict[str, str] = {
    "WECHAT_TOKEN": "wechat-token",
    "WECHAT_APP_ID": "wechat-app-id",
    "WECHAT_APP_SECRET": "wechat-app-secret",
    "WECHAT_ENCODING_AES_KEY": "wechat-encoding-aes-key",
    # Optional (config.OPTIONAL): created only while an EncodingAESKey change is under way.
    "WECHAT_ENCODING_AES_KEY_PREVIOUS": "wechat-encoding-aes-key-previous",
    "ADMIN_TOKEN": "admin-token",
}

# Objects under this prefix of the media bucket are temporary uploads, expired by a lifecycle rule.
MEDIA_TEMP_PREFIX = "tmp/"
MEDIA_TEMP_DAYS = 1


def stage_prefix(stage: str) -> str:
    """WXLESS_TABLE_PREFIX of a deployed stage; tables are `<prefix>-<suffix>`."""
    return f"{APP_NAME}-{stage}"


def queue_env_var(name: str) -> str:
    return "WXLESS_QUEUE_" + re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper() + "_URL"


def ssm_path(stage: str) -> str:
    return f"/{APP_NAME}/{stage}/"
