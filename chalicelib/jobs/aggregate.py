"""Entry point of the messages stream's consumer (app.py `aggregate_messages`): the batch's
counters and records (chalicelib.aggregate), then, once they are written, the tags of the
channel QR codes it came through (chalicelib.channels.tagging: WeChat calls, which never fail
the batch)."""

from __future__ import annotations

from typing import Any

from chalicelib import config, wiring
from chalicelib.aggregate import deadletter, run
from chalicelib.channels import tagging


def handle(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    workers = int(config.get(config.AGGREGATE_WORKERS))
    result = run.handle(event, dead_letter=deadletter.send, workers=workers)
    if not result["batchItemFailures"]:
        tagging.after_event(event, wiring.wechat)
    return result
