"""The agent desk's table (`desk`): one conversation item per follower who wrote (or clicked,
subscribed, scanned) lately and what agents sent them. (The customer-service send counters
are chalicelib.cs's, in `outbound`: shared with every other sender.)

    pk = "<account>#conv#<k>"      sk = "<openid>"        the conversation (k: openid hash % 16)
        last_message_at, last_event_at, window_until, event_window_until, last_text, last_kind,
        unread, status (open | closed), assigned_to, closed_at, ttl_at
    pk = "<account>#thread#<openid>"   sk = "<ms, 13 digits>#<id>"   one message an agent sent
        reply, by, kf_account, at, ttl_at

Conversation items are kept by the stream aggregator (one UpdateItem per follower per batch,
exactly once through the ledger's per-item watermark) and changed by agents (assign, close,
read). The listing reads the 16 partitions and keeps the open windows: its cost follows the
conversations of the last 48 hours, never the follower table. Conversations lag a message by
seconds; whether a reply may go out is decided from the follower's timeline (cs.quota).
"""

from __future__ import annotations

import secrets
import time
import zlib
from collections.abc import Sequence
from typing import Any

from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib import config
from chalicelib.errors import NotFound
from chalicelib.store import ddb, keys, messages
from chalicelib.store.guard import guarded
from chalicelib.store.models import register, table

SHARDS = 16
MESSAGE_WINDOW_SECONDS = 48 * 3600
EVENT_WINDOW_SECONDS = 60
KEEP_SECONDS = 30 * 86400  # a conversation (its assignment) outlives its window this long
THREAD_KEEP_SECONDS = 90 * 86400  # as long as the messages table keeps the follower's side
MAX_TEXT = 100


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


def conversation_key(openid: str) -> dict[str, Any]:
    return ddb.key(keys.scoped("conv", str(shard_of(openid))), openid)


def thread_pk(openid: str) -> str:
    return keys.scoped("thread", openid)


# -- the aggregator's update ---------------------------------------------------------------------


def conversation_update(
    messages: Sequence[tuple[int, str, str]],
    events: Sequence[int],
    unsubscribed_at: int | None,
) -> ddb.Update:
    """One follower's batch: `messages` (at, kind, content) in stream order, opening `events`
    (at), the last unsubscribe (it closes both windows unless something came after it)."""
    fields: dict[str, Any] = {}
    last_at = 0
    if messages:
        # the newest; among equal times the last in stream order (so a halved batch agrees)
        at, kind, content = max(reversed(messages), key=lambda m: m[0])
        last_at = at
        fields.update(
            last_message_at=at,
            window_until=at + MESSAGE_WINDOW_SECONDS,
            last_text=content[:MAX_TEXT],
            last_kind=kind,
        )
    if events:
        at = max(events)
        last_at = max(last_at, at)
        fields.update(last_event_at=at, event_window_until=at + EVENT_WINDOW_SECONDS)
    if unsubscribed_at is not None and unsubscribed_at >= last_at:
        fields.update(window_until=0, event_window_until=0, unsubscribed_at=unsubscribed_at)
        last_at = unsubscribed_at
    fields["ttl_at"] = last_at + MESSAGE_WINDOW_SECONDS + KEEP_SECONDS
    upd = ddb.Update().set_attrs(fields)
    if messages:
        upd.set(status="open")  # a message reopens a closed conversation
        upd.add(unread=len(messages))
        upd.remove("closed_at")
    else:
        upd.set_if_absent(status="open")
    return upd


# -- reads --------------------------------------------------------------------------------------


def _conversation(item: dict[str, Any]) -> dict[str, Any]:
    window_until = int(item.get("window_until") or 0)
    event_until = int(item.get("event_window_until") or 0)
    return {
        "openid": str(item["sk"]),
        "last_message_at": _int(item.get("last_message_at")),
        "last_event_at": _int(item.get("last_event_at")),
        "window_until": max(window_until, event_until) or None,
        "last_text": item.get("last_text") or "",
        "last_kind": item.get("last_kind"),
        "unread": int(item.get("unread") or 0),
        "status": item.get("status") or "open",
        "assigned_to": item.get("assigned_to"),
        "closed_at": _int(item.get("closed_at")),
    }


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


@guarded
def open_conversations(now: float | None = None) -> list[dict[str, Any]]:
    """Every conversation whose window is open, newest first (16 Queries)."""
    now = int(time.time() if now is None else now)
    found: list[dict[str, Any]] = []
    for shard in range(SHARDS):
        cond = ddb.Condition().where(
            "{window_until} > :now OR {event_window_until} > :now", now=now
        )
        request = {
            "TableName": table_name(),
            "KeyConditionExpression": "pk = :pk",
            "FilterExpression": cond.condition(),
            "ExpressionAttributeNames": cond.names,
            "ExpressionAttributeValues": {
                **cond.values,
                ":pk": ddb.ser(keys.scoped("conv", str(shard))),
            },
        }
        found.extend(_conversation(item) for item in ddb.query(request))
    found.sort(key=lambda c: (-(c["last_message_at"] or c["last_event_at"] or 0), c["openid"]))
    return found


@guarded
def get_conversation(openid: str) -> dict[str, Any] | None:
    item = ddb.get(table_name(), conversation_key(openid), consistent=True)
    return _conversation(item) if item else None


@guarded
def change(openid: str, **fields: Any) -> dict[str, Any]:
    """Set agent-side fields (status, assigned_to, unread, closed_at; None removes) on a
    conversation that exists; NotFound otherwise."""
    upd = ddb.Update().where("attribute_exists({pk})")
    for name, value in fields.items():
        if value is None:
            upd.remove(name)
        else:
            upd.set_attrs({name: value})
    ok, item = ddb.update(table_name(), conversation_key(openid), upd, returns="ALL_NEW")
    if not ok:
        raise NotFound(f"no conversation with {openid[:40]}")
    return _conversation(item or {})


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
