"""Replay messages that a storage fault kept out of the message log.

When DynamoDB fails, the callback still answers the follower and logs one JSON line
`{"event": "callback.store_failed", "follower": "f:<hash>", "sealed": "v1...."}` carrying the
whole message sealed (chalicelib.logsafe: encrypted with a key derived from WECHAT_TOKEN, so run
the replay with the stage's settings). Lines of the older, clear `"entry": {...}` form are still
read. Feed those lines (e.g. a CloudWatch Logs export) to `replay()` once storage is back: each
message is recorded through the same conditional write as a live message (its follower record
and counters then follow from the stream, as for any message), so replaying twice, or replaying
a message that did get stored, changes nothing. Flow steps are not replayed: the follower has
moved on since.

    .venv/bin/python -m chalicelib.jobs.replay < store_failed.log
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

from chalicelib import logsafe
from chalicelib.engine.pipeline import Inbox, log_entry
from chalicelib.engine.replying import Decision
from chalicelib.store.messages import DynamoInbox
from chalicelib.wechat.messages import parse_message

MARK = "callback.store_failed"


def _entries(lines: Iterable[str]) -> Iterable[dict[str, Any]]:
    for line in lines:
        if MARK not in line:
            continue
        start = line.find("{")  # CloudWatch prefixes a timestamp and request id
        try:
            data = json.loads(line[start:])
        except ValueError:
            continue
        if not isinstance(data, dict) or data.get("event") != MARK:
            continue
        if "sealed" in data:
            try:
                entry = logsafe.unseal(data["sealed"])
            except ValueError:
                entry = None  # another key (WECHAT_TOKEN rotated since) or a damaged line
            yield entry if isinstance(entry, dict) else {}
        elif isinstance(data.get("entry"), dict):
            yield data["entry"]


def replay(lines: Iterable[str], inbox: Inbox | None = None) -> dict[str, int]:
    inbox = inbox or DynamoInbox()
    counts = {"replayed": 0, "already_logged": 0, "unreadable": 0}
    for item in _entries(lines):
        try:
            message = parse_message(item["raw"])
        except Exception:
            counts["unreadable"] += 1
            continue
        decision = Decision(None, str(item.get("outcome") or "none"), item.get("rule_id"))
        if inbox.record(log_entry(message, decision, "")) is None:
            counts["replayed"] += 1
        else:
            counts["already_logged"] += 1
    return counts


if __name__ == "__main__":
    print(json.dumps(replay(sys.stdin)))
