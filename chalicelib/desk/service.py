"""The agent desk's service: conversations with their windows and remaining quota, the thread
both ways, replies counted against the quota before WeChat is called, assignment, closing,
transfer to WeChat's own customer service.

The quota is `chalicelib.cs.quota`, the one every customer-service sender counts against: a
reply here and a POST /admin/messages/custom to the same follower share one window's count.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from chalicelib.cs import quota
from chalicelib.desk import conversations as derived
from chalicelib.errors import InvalidInput, NotFound
from chalicelib.store import desk as store
from chalicelib.store.errors import StoreUnavailable

if TYPE_CHECKING:
    from chalicelib.desk.walk import ListingWalk
    from chalicelib.wechat.api import WeChatClient

MAX_AGENT_CHARS = 64
ALLOWANCE_WORKERS = 8
STATUSES = ("open", "closed", "transferred")
REPLY_TYPES = ("text", "image", "voice", "video", "music", "news")
log = logging.getLogger("wxless.desk")


# -- conversations ------------------------------------------------------------------------------


def conversations(
    walk: ListingWalk,
    *,
    limit: int = 50,
    status: str | None = None,
    assigned_to: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """Followers whose window is open, newest first, each with what may still be sent (`walk`:
    the container's walk of the listing)."""
    now = time.time() if now is None else now
    shown, total = derived.open_conversations(
        walk.open_trails(now), limit=limit, status=status, assigned_to=assigned_to
    )
    allowances = _allowances([c["openid"] for c in shown], now)
    items = []
    for conversation in shown:
        left = allowances[conversation["openid"]]
        items.append(
            {
                **conversation,
                "remaining": left.remaining,
                # the timeline's word (exact now) over the listing's (seconds behind)
                "window_until": left.window_until or conversation["window_until"],
            }
        )
    return {"items": items, "total": total}


def _allowances(openids: list[str], now: float) -> dict[str, Any]:
    if not openids:
        return {}
    with ThreadPoolExecutor(max_workers=min(ALLOWANCE_WORKERS, len(openids))) as pool:
        found = pool.map(lambda openid: quota.allowance(openid, now), openids)
        return dict(zip(openids, found, strict=True))


# -- the thread -----------------------------------------------------------------------------------

_CDATA = r"<!\[CDATA\[(.*?)\]\]>"
_SECTIONS = r"((?:<!\[CDATA\[.*?\]\]>)+)"


def _fields(xml: str, name: str) -> list[str]:
    return [
        "".join(re.findall(_CDATA, found, re.S))  # "]]>" is split across two sections
        for found in re.findall(rf"<{name}>{_SECTIONS}</{name}>", xml, re.S)
    ]


def _field(xml: str, name: str) -> str | None:
    found = _fields(xml, name)
    return found[0] if found else None


def auto_reply(reply_xml: str) -> dict[str, Any] | None:
    """What the account answered automatically, from the rendered reply: its type and text
    (the content of a text, the first title of news)."""
    if not reply_xml:
        return None
    kind = _field(reply_xml, "MsgType") or "unknown"
    out: dict[str, Any] = {"type": kind}
    if kind == "text":
        out["content"] = _field(reply_xml, "Content") or ""
    elif kind == "news":
        out["articles"] = [{"title": title} for title in _fields(reply_xml, "Title")]
    return out


def thread(openid: str, *, limit: int = 50, mark_read: bool = False) -> dict[str, Any]:
    """The conversation both ways, oldest first: the follower's messages, the automatic
    answers, what agents sent."""
    now = time.time()
    timeline = store.follower_timeline(openid, max(limit, derived.TIMELINE_ENTRIES))
    trail = derived.trail_of(openid, timeline)
    state = store.state(openid)
    conversation = trail.conversation(state) if derived.exists(trail, state, now) else None
    if conversation is None and not timeline:
        raise NotFound(f"no conversation with {openid[:40]}")
    items: list[dict[str, Any]] = []
    for entry in timeline[:limit]:
        received_ms = entry["received_at"] or entry["created_at"] * 1000
        items.append(
            {
                "direction": "in",
                "at": entry["created_at"],
                "at_ms": received_ms,
                "msg_id": entry["msg_id"],
                **{name: entry[name] for name in ("msg_type", "event") if name in entry},
                "content": entry["content"],
            }
        )
        answered = auto_reply(entry["reply_xml"])
        if answered is not None:
            items.append(
                {
                    "direction": "out",
                    "by": "auto",
                    "at": entry["created_at"],
                    "at_ms": received_ms + 1,  # answered as it arrived
                    "outcome": entry["outcome"],
                    "rule_id": entry["rule_id"],
                    "reply": answered,
                }
            )
    for sent in store.agent_messages(openid, limit):
        items.append(
            {
                "direction": "out",
                "by": sent["by"],
                "at": sent["at"] // 1000,
                "at_ms": sent["at"],
                "reply": sent["reply"],
                "kf_account": sent["kf_account"],
            }
        )
    # in the order they happened, on our clock (a message, then its automatic answer)
    items.sort(key=lambda i: i["at_ms"])
    if mark_read and conversation is not None and conversation["unread"]:
        # read up to their newest message: one that comes meanwhile stays unread
        state = store.set_state(openid, now, read_ms=max(trail.message_ms))
        conversation = trail.conversation(state)
    left = quota.allowance(openid, now)
    return {
        "openid": openid,
        "conversation": conversation,
        "remaining": left.remaining,
        "window_until": left.window_until,
        "items": items[-limit:] if limit else items,
    }


# -- replies and the rest ----------------------------------------------------------------------


def check_reply(body: dict[str, Any]) -> tuple[dict[str, Any], str, str | None]:
    """(reply, agent, kf_account) of a POST .../reply body; the reply itself is validated by
    the sender (media resolved, articles expanded)."""
    unknown = set(body) - {"reply", "agent", "kf_account"}
    if unknown:
        raise InvalidInput(f"unknown fields: {', '.join(sorted(unknown))}")
    reply = body.get("reply")
    if not isinstance(reply, dict):
        raise InvalidInput("reply must be a Reply object")
    if reply.get("type") not in REPLY_TYPES:
        raise InvalidInput(f"reply.type must be one of {', '.join(REPLY_TYPES)}")
    agent = body.get("agent", "owner")
    if not isinstance(agent, str) or not agent.strip() or len(agent) > MAX_AGENT_CHARS:
        raise InvalidInput(f"agent must be a name of 1..{MAX_AGENT_CHARS} characters")
    kf_account = body.get("kf_account")
    if kf_account is not None and (not isinstance(kf_account, str) or not kf_account):
        raise InvalidInput("kf_account must be a non-empty string")
    return reply, agent.strip(), kf_account


def reply(
    openid: str,
    message: dict[str, Any],
    send: Callable[[], Any],
    *,
    agent: str,
    kf_account: str | None = None,
) -> dict[str, Any]:
    """Count the send against the quota (409 when closed or spent: WeChat is not called), send
    it, keep it in the thread, mark the conversation read."""
    _, left = quota.send(openid, send)
    now = time.time()
    keep_sent(openid, message, agent, kf_account, now)
    try:
        store.set_state(openid, now, read_ms=int(now * 1000))  # who answers has read
    except StoreUnavailable:  # the reply went out: a 503 would have the agent send it again
        log.warning("desk.read_marker_not_set", exc_info=True)
    return {"sent": True, "remaining": left.remaining, "window_until": left.window_until}


def keep_sent(
    openid: str,
    message: dict[str, Any],
    by: str,
    kf_account: str | None,
    now: float | None = None,
) -> None:
    """Keep a customer-service message that went out (a desk reply, POST /admin/messages/custom)
    in the thread: a store fault costs the thread its line, never an error that would have the
    caller send it again."""
    try:
        store.add_agent_message(openid, message, by, kf_account, now)
    except StoreUnavailable:
        log.warning("desk.sent_message_not_kept", exc_info=True)


def assign(openid: str, agent: Any) -> dict[str, Any]:
    if agent is not None and (
        not isinstance(agent, str) or not agent.strip() or len(agent) > MAX_AGENT_CHARS
    ):
        raise InvalidInput(f"agent must be a name of 1..{MAX_AGENT_CHARS} characters, or null")
    return derived.change(openid, assigned_to=agent.strip() if agent else None)


def close(openid: str, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    return derived.change(
        openid, now, status="closed", status_ms=int(now * 1000), closed_at=int(now)
    )


def reopen(openid: str, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    return derived.change(openid, now, status="open", status_ms=int(now * 1000), closed_at=None)


def transfer(openid: str, kf_account: Any, wechat: WeChatClient) -> dict[str, Any]:
    """Hand the follower to an account of WeChat's own customer service (kfsession/create:
    the account must be bound and online); the conversation says so."""
    from chalicelib.wechat.api.kf import check_account

    account = check_account(kf_account)
    if derived.conversation(openid) is None:
        raise NotFound(f"no conversation with {openid[:40]}")
    wechat.kf.create_session(account, openid)
    now = time.time()
    return derived.change(
        openid, now, status="transferred", status_ms=int(now * 1000), assigned_to=account
    )
