"""The agent desk's table (`desk`): what agents did, never what followers sent. (The
conversations themselves are derived from the message listing and the follower's timeline, in
chalicelib.desk.conversations; the customer-service send counters are chalicelib.cs's, in
`outbound`: shared with every other sender.)

    pk = "<account>#conv#<k>"   sk = "<openid>"   a conversation's state (k: openid hash % 64)
        status (open | closed | transferred), status_ms (when an agent set it), assigned_to,
        closed_at, read_ms (when an agent last read or answered: the unread baseline), ttl_at
    pk = "<account>#thread#<openid>"   sk = "<ms, 13 digits>#<id>"   one message an agent sent
        reply, by, kf_account, at, ttl_at

Only agent actions write here (assign, close, reopen, read, transfer, reply): nothing per
follower message. A state item lives KEEP_SECONDS past its window after the last action. Items
written before the desk stopped taking the aggregator's writes still carry its fields
(last_message_at, unread, ...): they are ignored.
"""

from __future__ import annotations

import secrets
import time
import zlib
from collections.abc import Iterable
from typing import Any

from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib import config
from chalicelib.store import ddb, keys, messages
from chalicelib.store.guard import guarded
from chalicelib.store.models import register, table

# Agent writes are rare; the 64 partitions stay so that items written before keep their keys.
SHARDS = 64
MESSAGE_WINDOW_SECONDS = 48 * 3600
KEEP_SECONDS = 30 * 86400  # a conversation's state (its assignment) outlives its window this long
THREAD_KEEP_SECONDS = 90 * 86400  # as long as the messages table keeps the follower's side
STATE_FIELDS = ("status", "status_ms", "assigned_to", "closed_at", "read_ms")


@register
class DeskItem(Model):
    """Declares the table; items are read and written through store.ddb."""

    Meta = table("desk")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    ttl_at = TTLAttribute(null=True)


def table_name() -> str:
    return config.table_name("desk")


def shard_of(openid: str) -> int:
    return zlib.crc32(openid.encode()) % SHARDS


def state_key(openid: str) -> dict[str, Any]:
    return ddb.key(keys.scoped("conv", str(shard_of(openid))), openid)


def thread_pk(openid: str) -> str:
    return keys.scoped("thread", openid)


# -- conversation states ---------------------------------------------------------------------------


def _state(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item.get(name) for name in STATE_FIELDS}


@guarded
def state(openid: str) -> dict[str, Any] | None:
    """What agents set on the conversation with `openid`; None if they never touched it."""
    item = ddb.get(table_name(), state_key(openid), consistent=True)
    return _state(item) if item else None


@guarded
def states(openids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The states of those of `openids` that have one (BatchGetItem, strongly consistent: an
    agent's close shows in the next listing)."""
    wanted = list(dict.fromkeys(openids))
    found = ddb.batch_get(table_name(), [state_key(o) for o in wanted], consistent=True)
    return {str(item["sk"]): _state(item) for item in found}


@guarded
def set_state(openid: str, now: float | None = None, **fields: Any) -> dict[str, Any]:
    """Set agent-side fields (STATE_FIELDS; None removes), creating the state if need be; the
    state after."""
    unknown = set(fields) - set(STATE_FIELDS)
    if unknown:
        raise TypeError(f"not a conversation state field: {', '.join(sorted(unknown))}")
    now = time.time() if now is None else now
    upd = ddb.Update().set(ttl_at=int(now) + MESSAGE_WINDOW_SECONDS + KEEP_SECONDS)
    for name, value in fields.items():
        if value is None:
            upd.remove(name)
        else:
            upd.set_attrs({name: value})
    _, item = ddb.update(table_name(), state_key(openid), upd, returns="ALL_NEW")
    return _state(item or {})


# -- what agents sent ------------------------------------------------------------------------------


@guarded
def add_agent_message(
    openid: str, reply: dict[str, Any], by: str, kf_account: str | None, now: float | None = None
) -> dict[str, Any]:
    now = time.time() if now is None else now
    ms = int(now * 1000)
    item = {
        "pk": thread_pk(openid),
        "sk": f"{ms:013d}#{secrets.token_hex(4)}",
        "reply": reply,
        "by": by,
        "kf_account": kf_account,
        "at": ms,
        "ttl_at": int(now) + THREAD_KEEP_SECONDS,
    }
    ddb.put({"TableName": table_name(), "Item": ddb.to_raw(item)})
    return _agent_message(item)


def _agent_message(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(item["sk"]).split("#", 1)[1],
        "at": int(item["at"]),
        "reply": item.get("reply"),
        "by": item.get("by"),
        "kf_account": item.get("kf_account"),
    }


@guarded
def agent_messages(openid: str, limit: int = 100) -> list[dict[str, Any]]:
    """What agents sent the follower, newest first."""
    request = {
        "TableName": table_name(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": ddb.ser(thread_pk(openid))},
        "ScanIndexForward": False,
        "ConsistentRead": True,
        "Limit": limit,
    }
    return [_agent_message(item) for item in ddb.query(request, max_items=limit)]


def follower_timeline(openid: str, limit: int = 50) -> list[dict[str, Any]]:
    """The follower's side of the thread, newest first, each with what the account answered
    automatically (the rendered reply each message item keeps)."""
    return messages.timeline(openid, limit, replies=True)
