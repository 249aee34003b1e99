"""Entry point of the messages stream's consumer (app.py `aggregate_messages`)."""

from __future__ import annotations

from typing import Any

from chalicelib import config
from chalicelib.aggregate import deadletter, run


def handle(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    workers = int(config.get(config.AGGREGATE_WORKERS))
    return run.handle(event, dead_letter=deadletter.send, workers=workers)
