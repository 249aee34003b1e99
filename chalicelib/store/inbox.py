"""The message log, which is also the dedup record: one conditional PutItem per message.

A first delivery costs exactly one write. A retry (same dedup key) fails the condition and the
same call hands back the stored item (ReturnValuesOnConditionCheckFailure=ALL_OLD), so the retry
gets the first reply without a read. Expired items linger until DynamoDB's lazy TTL sweep, so the
condition also treats an item whose `expires_at` has passed as absent.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib import config
from chalicelib.store.aws import client
from chalicelib.store.errors import StoreUnavailable
from chalicelib.store.guard import guarded
from chalicelib.store.models import MessageItem

RETENTION_DAYS = 90
RETRY_WINDOW = 0.25  # s: retry only a fast failure; a slow one has used the answer's budget
_RETRYABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
}


@dataclass(slots=True)
class InboxEntry:
    msg_id: str
    openid: str
    msg_type: str
    content: str
    created_at: int
    rule_id: str | None
    outcome: str  # rule | default | subscribe | none | ...
    reply: str  # the rendered plaintext reply XML, "" for `success`
    raw: dict[str, Any] = field(default_factory=dict)
    received_at: int = 0  # ms

    def to_item(self, now: float) -> dict[str, Any]:
        received = self.received_at or int(now * 1000)
        item: dict[str, Any] = {
            "msg_id": {"S": self.msg_id},
            "openid": {"S": self.openid},
            "msg_type": {"S": self.msg_type},
            "content": {"S": self.content},
            "created_at": {"N": str(self.created_at)},
            "received_at": {"N": str(received)},
            "day": {"S": time.strftime("%Y-%m-%d", time.gmtime(received / 1000))},
            "outcome": {"S": self.outcome},
            "reply": {"S": self.reply},
            "raw": {"S": json.dumps(self.raw, ensure_ascii=False, separators=(",", ":"))},
            "expires_at": {"N": str(int(now) + RETENTION_DAYS * 86400)},
        }
        if self.rule_id:
            item["rule_id"] = {"S": self.rule_id}
        return item


class WriteConflict(Exception):
    """A side-effect write's own condition failed (e.g. a flow step raced): nothing was written."""

    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        super().__init__(", ".join(r.get("Code", "?") for r in reasons))
        self.reasons = reasons


class Inbox(Protocol):
    def record(self, entry: InboxEntry, extra_writes: Sequence[dict[str, Any]] = ()) -> str | None:
        """Store a first delivery (and its side-effect writes, atomically) and return None, or
        return the stored reply of a retry (and write nothing)."""


class DynamoInbox:
    def record(self, entry: InboxEntry, extra_writes: Sequence[dict[str, Any]] = ()) -> str | None:
        """`extra_writes` are TransactWriteItems entries (`{"Update": {...}}`, `{"Put": ...}`)
        that must happen exactly once with this message: they ride in the same request, so a
        retry, which fails the inbox condition, cancels them too."""
        now = time.time()
        put = {
            "TableName": config.table_name("messages"),
            "Item": entry.to_item(now),
            "ConditionExpression": "attribute_not_exists(msg_id) OR expires_at < :now",
            "ExpressionAttributeValues": {":now": {"N": str(int(now))}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        ddb = client("dynamodb", "fast")
        started = time.monotonic()
        for attempt in (0, 1):
            try:
                if extra_writes:
                    ddb.transact_write_items(TransactItems=[{"Put": put}, *extra_writes])
                else:
                    ddb.put_item(**put)
                return None
            except ClientError as exc:
                error = exc.response.get("Error", {})
                if error.get("Code") == "ConditionalCheckFailedException":
                    old = exc.response.get("Item") or {}
                    return old.get("reply", {}).get("S", "")
                if error.get("Code") == "TransactionCanceledException":
                    reasons = exc.response.get("CancellationReasons") or []
                    first = reasons[0] if reasons else {}
                    if first.get("Code") == "ConditionalCheckFailed":
                        return (first.get("Item") or {}).get("reply", {}).get("S", "")
                    if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                        raise WriteConflict(reasons) from exc
                # TransactionConflict / throttling inside the transaction, or on the put
                retryable = error.get("Code") in _RETRYABLE | {"TransactionCanceledException"}
                failure: Exception = exc
                reason = str(error.get("Code"))
            except BotoCoreError as exc:  # connection refused, timeout, ...
                retryable, failure, reason = True, exc, type(exc).__name__
            # One short, jittered retry, and only while the callback's budget allows it.
            if attempt == 0 and retryable and time.monotonic() - started < RETRY_WINDOW:
                time.sleep(0.02 + random.random() * 0.05)
                continue
            raise StoreUnavailable(f"messages put failed: {reason}") from failure
        raise AssertionError("unreachable")


class MemoryInbox:
    """Same contract in memory: for the benchmark and unit tests."""

    def __init__(self) -> None:
        self.items: dict[str, InboxEntry] = {}

    def record(self, entry: InboxEntry, extra_writes: Sequence[dict[str, Any]] = ()) -> str | None:
        old = self.items.get(entry.msg_id)
        if old is not None:
            return old.reply
        self.items[entry.msg_id] = entry
        return None


def _to_log(item: MessageItem) -> dict[str, Any]:
    return {
        "msg_id": item.msg_id,
        "openid": item.openid,
        "msg_type": item.msg_type,
        "content": item.content or "",
        "created_at": int(item.created_at),
        "received_at": int(item.received_at),
        "rule_id": item.rule_id,
        "outcome": item.outcome,
    }


@guarded
def list_messages(openid: str | None = None, limit: int = 50, days: int = 31) -> list[dict]:
    """Newest first, by follower (GSI by_openid) or across followers (GSI by_day, day by day)."""
    if openid:
        query = MessageItem.by_openid.query(openid, scan_index_forward=False, limit=limit)
        return [_to_log(item) for item in query]
    out: list[dict] = []
    now = time.time()
    for back in range(days):
        day = time.strftime("%Y-%m-%d", time.gmtime(now - back * 86400))
        remaining = limit - len(out)
        query = MessageItem.by_day.query(day, scan_index_forward=False, limit=remaining)
        out.extend(_to_log(item) for item in query)
        if len(out) >= limit:
            break
    return out
