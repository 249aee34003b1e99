"""The messages table: one item per message or event, which is the dedup record, the follower's
timeline and the source of everything the stream aggregator sums, all at once.

    pk = "<account>#<openid>"                          one partition per follower
    sk = "m:<MsgId's length, 2 digits><MsgId>"         a message: its MsgId alone
       | "e:<CreateTime, 10 digits>:<event>:<EventKey>" an event (and a message without MsgId)

A first delivery costs one conditional PutItem of about 300-700 bytes (1 write unit), on a key no
other follower shares. A WeChat retry repeats MsgId (events: CreateTime, Event, EventKey), so it
lands on the same key whatever else it carries, fails the condition, and the same call hands back
the stored item
(ReturnValuesOnConditionCheckFailure=ALL_OLD): the retry gets the first reply without a read.
Expired items linger until DynamoDB's lazy TTL sweep, so the condition treats an item whose
`exp` has passed as absent. A flow step rides along in a transaction with the follower's own
flow-state item, nothing else.

Attributes (short names: every byte is paid on every message):
    ct CreateTime   t kind (text, event.subscribe, ...)   c content summary   o outcome   r rule id
    y rendered reply XML ("" = success)   at received (ms)        exp TTL (s)
    k EventKey   s subscribe scene   f flow counters [[flow, node, name]...]   j job result
    n what an event about our own sending says (wechat/notices.py: consents, publish jobs)
The table's stream (NEW_IMAGE) feeds chalicelib/aggregate.
"""

from __future__ import annotations

import random
import time
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib import config
from chalicelib.engine.flows import FlowStep
from chalicelib.engine.pipeline import (
    LogEntry,
    WriteConflict,
    delivery_of_key,
    log_type,
    msg_id_of,
)
from chalicelib.store import ddb, keys
from chalicelib.store.aws import client
from chalicelib.store.errors import StoreUnavailable
from chalicelib.store.guard import guarded
from chalicelib.store.models import register, table
from chalicelib.wechat.notices import REPORTS

RETENTION_DAYS = 90
#: Entries read per kind at least: keys order messages by MsgId and one second's events by name,
#: not by arrival, so a short `limit` is cut from this many merged by arrival (the default listing).
TIMELINE_READ_AT_LEAST = 50
RETRY_WINDOW = 0.25  # s: retry only a fast failure; a slow one has used the answer's budget
MAX_CONTENT_CHARS = 1000
_RETRYABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionCanceledException",  # a conflict or throttling inside the transaction
}
# Item attribute -> LogEntry.facts name: what the aggregator needs beyond the log line.
FACT_ATTRS = (("k", "key"), ("s", "scene"), ("f", "flow"), ("j", "job"), ("n", "notice"))
# The put's condition, built once: the expression never changes, only `:now`.
_CONDITION = "attribute_not_exists(pk) OR #exp < :now"
_CONDITION_NAMES = {"#exp": "exp"}


@register
class MessageItem(Model):
    """Declares the table (keys, TTL, stream); items are written and read through store.ddb."""

    Meta = table("messages")
    Meta.stream_view_type = "NEW_IMAGE"  # type: ignore[attr-defined]
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    exp = NumberAttribute(null=True)


def table_name() -> str:
    return config.table_name("messages")


def follower_pk(openid: str) -> str:
    return keys.scoped(openid)


def openid_of(pk: str) -> str:
    return keys.natural(pk)


def raw_item(entry: LogEntry, now: float, pk: str) -> dict[str, Any]:
    """The message item in DynamoDB's wire format, built directly (this runs once per message:
    a Python item converted by ddb.to_raw costs a second dict and a call per attribute)."""
    seconds = int(now)
    item: dict[str, Any] = {
        "pk": {"S": pk},
        "sk": {"S": entry.key},
        "ct": {"N": str(int(entry.created_at))},
        "t": {"S": entry.kind},
        "c": {"S": entry.content[:MAX_CONTENT_CHARS]},
        "o": {"S": entry.outcome},
        "y": {"S": entry.reply},
        "at": {"N": str(int(now * 1000))},
        "exp": {"N": str(seconds + RETENTION_DAYS * 86400)},
    }
    if entry.rule_id:
        item["r"] = {"S": entry.rule_id}
    facts = entry.facts
    if facts:
        for attr, fact in FACT_ATTRS:
            if fact in facts:
                item[attr] = ddb.ser(facts[fact])
    return item


def to_item(entry: LogEntry, now: float) -> dict[str, Any]:
    """The message item as Python values (what the stream's NEW_IMAGE decodes to)."""
    return ddb.from_raw(raw_item(entry, now, follower_pk(entry.openid))) or {}


def is_message_key(sk: str) -> bool:
    """A timeline entry (not another kind of item a follower's partition may hold later)."""
    return sk.startswith(("m:", "e:"))


def to_log(item: dict[str, Any]) -> dict[str, Any]:
    """An item (decoded) as the admin API shows it."""
    openid = openid_of(item["pk"])
    created_at, delivery = int(item["ct"]), delivery_of_key(item["sk"])
    return {
        "msg_id": msg_id_of(openid, created_at, delivery),
        "openid": openid,
        **log_type(str(item.get("t", ""))),
        "content": item.get("c", ""),
        "created_at": created_at,
        "received_at": int(item.get("at", 0)),
        "rule_id": item.get("r"),
        "outcome": item.get("o"),
    }


class DynamoInbox:
    """The callback's Inbox port (engine.pipeline.Inbox) on DynamoDB.

    Built once per container by the composition root (wiring.callback(), which rebuilds it when
    the table prefix or the account changes): the table, the account's key prefix and, from the
    first message on, the client are resolved once, not per message."""

    def __init__(self, step_update: Any = None) -> None:
        # store.flows.step_update(openid, step, now) -> an Update request: the flow step that
        # may ride along. Passed in, so this module knows nothing of flows' tables.
        self.step_update = step_update
        self.table = table_name()
        self.pk_prefix = keys.prefix()  # "<account>#": follower_pk without a call per message
        self._client: Any = None

    def record(self, entry: LogEntry, flow: FlowStep | None = None) -> str | None:
        now = time.time()
        put = {
            "TableName": self.table,
            "Item": raw_item(entry, now, self.pk_prefix + entry.openid),
            "ConditionExpression": _CONDITION,
            "ExpressionAttributeNames": _CONDITION_NAMES,
            "ExpressionAttributeValues": {":now": {"N": str(int(now))}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        extra = None
        if flow is not None and self.step_update is not None:
            extra = self.step_update(entry.openid, flow, now)
        ddb_client = self._client
        if ddb_client is None:
            ddb_client = self._client = client("dynamodb", "fast")
        started = time.monotonic()
        for attempt in (0, 1):
            try:
                if extra is not None:
                    ddb_client.transact_write_items(TransactItems=[{"Put": put}, {"Update": extra}])
                else:
                    ddb_client.put_item(**put)
                return None
            except ClientError as exc:
                reasons = ddb.cancel_reasons(exc)
                if reasons is None and ddb.condition_failed(exc):
                    return _stored_reply(ddb.old_item(exc))
                if reasons:
                    if reasons[0].get("Code") == "ConditionalCheckFailed":  # a retry
                        return _stored_reply(reasons[0].get("Item"))
                    if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                        raise WriteConflict(", ".join(r.get("Code", "?") for r in reasons)) from exc
                code = ddb.error_code(exc)
                retryable, failure, reason = code in _RETRYABLE, exc, str(code)
            except BotoCoreError as exc:  # connection refused, timeout, ...
                retryable, failure, reason = True, exc, type(exc).__name__
            # One short, jittered retry, and only while the callback's budget allows it.
            if attempt == 0 and retryable and time.monotonic() - started < RETRY_WINDOW:
                time.sleep(0.02 + random.random() * 0.05)
                continue
            raise StoreUnavailable(f"messages put failed: {reason}") from failure
        raise AssertionError("unreachable")


def _stored_reply(raw: dict[str, Any] | None) -> str:
    return ((raw or {}).get("y") or {}).get("S", "")


@guarded
def timeline(openid: str, limit: int = 50, *, replies: bool = False) -> list[dict[str, Any]]:
    """A follower's messages and events, newest first (strongly consistent: a message is here by
    the time its reply was returned). Two Queries on their partition, messages (by MsgId, which
    WeChat issues in time order) and events (by CreateTime), merged by arrival. `replies`: each
    entry also carries `reply_xml`, what the account answered (the agent desk's thread)."""
    entries = []
    read = max(limit, TIMELINE_READ_AT_LEAST)
    for kind in ("m:", "e:"):
        request = {
            "TableName": table_name(),
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :kind)",
            "ExpressionAttributeValues": {
                ":pk": ddb.ser(follower_pk(openid)),
                ":kind": ddb.ser(kind),
            },
            "ScanIndexForward": False,
            "ConsistentRead": True,
            "Limit": read,
        }
        for item in ddb.query(request, max_items=read):
            entry = to_log(item)
            if replies:
                entry["reply_xml"] = item.get("y") or ""
            entries.append(entry)
    entries.sort(key=lambda e: (e["received_at"], e["created_at"]), reverse=True)
    return entries[:limit]


# -- what a follower's own partition says about them (chalicelib/followers/activity.py) --------

EVENT_PAGE, EVENT_PAGES = 100, 3  # a follower's events read for their activity, at most
# Reports about the account's own sends: in the follower's partition, but nothing they did.
_REPORTS = tuple(sorted(f"event.{name}" for name in REPORTS))
_ACTIVITY_PROJECTION = {
    "ProjectionExpression": "sk, #ct, #t, #at",
    "ExpressionAttributeNames": {"#ct": "ct", "#t": "t", "#at": "at"},
}


def _brief(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": item["sk"],
        "created_at": int(item.get("ct") or 0),
        "kind": str(item.get("t") or ""),
        "received_ms": int(item.get("at") or 0),
    }


@guarded
def newest_interactions(openid: str, events: int = 20) -> list[dict[str, Any]]:
    """The follower's newest message and up to `events` newest events (not reports about our
    own sends), as {id, created_at, kind, received_ms}: what their last interaction and their
    customer-service windows are read from. A Query of one item, and one of the events that
    filters reports out and stops after EVENT_PAGES pages (a follower sent many template
    messages since they last did something shows that something only if it is in them)."""
    pk = ddb.ser(follower_pk(openid))
    found: list[dict[str, Any]] = []
    message = {
        "TableName": table_name(),
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :m)",
        "ExpressionAttributeValues": {":pk": pk, ":m": ddb.ser("m:")},
        "ScanIndexForward": False,
        "Limit": 1,
        **_ACTIVITY_PROJECTION,
    }
    found.extend(_brief(item) for item in ddb.query(message, max_items=1))
    skip = {f":x{i}": ddb.ser(kind) for i, kind in enumerate(_REPORTS)}
    event = {
        "TableName": table_name(),
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :e)",
        "FilterExpression": f"NOT #t IN ({', '.join(skip)})",
        "ExpressionAttributeValues": {":pk": pk, ":e": ddb.ser("e:"), **skip},
        "ScanIndexForward": False,
        "Limit": EVENT_PAGE,
        **_ACTIVITY_PROJECTION,
    }
    query = client("dynamodb").query
    for _ in range(EVENT_PAGES):
        page = query(**event)
        found.extend(_brief(ddb.from_raw(raw) or {}) for raw in page.get("Items", [])[:events])
        events -= min(events, len(page.get("Items", [])))
        last = page.get("LastEvaluatedKey")
        if not last or not events:
            break
        event["ExclusiveStartKey"] = last
    return found


@guarded
def count_messages(openid: str) -> int:
    """How many messages (not events) the follower's timeline holds: RETENTION_DAYS of them.
    A Query that counts (it reads the items, ~0.5 read unit per 8 KB, and returns none)."""
    request: dict[str, Any] = {
        "TableName": table_name(),
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :m)",
        "ExpressionAttributeValues": {":pk": ddb.ser(follower_pk(openid)), ":m": ddb.ser("m:")},
        "Select": "COUNT",
    }
    query = client("dynamodb").query
    total = 0
    while True:
        page = query(**request)
        total += int(page.get("Count") or 0)
        last = page.get("LastEvaluatedKey")
        if not last:
            return total
        request["ExclusiveStartKey"] = last


@guarded
def texts_before(openid: str, key: str, n: int = 5) -> list[dict[str, Any]]:
    """Of the follower's `n` messages just before the one keyed `key` (a message's key: by
    MsgId, which WeChat issues in time order), the texts, newest first, as {created_at,
    received_ms, outcome, rule_id}. None before an event's key."""
    if not key.startswith("m:"):
        return []
    request = {
        "TableName": table_name(),
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {
            ":pk": ddb.ser(follower_pk(openid)),
            ":lo": ddb.ser("m:"),
            ":hi": ddb.ser(key),
        },
        "ProjectionExpression": "sk, #ct, #t, #at, #o, #r",
        "ExpressionAttributeNames": {"#ct": "ct", "#t": "t", "#at": "at", "#o": "o", "#r": "r"},
        "ScanIndexForward": False,
        "Limit": n + 1,
    }
    return [
        {
            "created_at": int(item.get("ct") or 0),
            "received_ms": int(item.get("at") or 0),
            "outcome": str(item.get("o") or ""),
            "rule_id": item.get("r"),
        }
        for item in ddb.query(request, max_items=n + 1)
        if item["sk"] != key and item.get("t") == "text"
    ]
