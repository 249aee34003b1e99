"""Mass sends: `sendall` (all followers or a tag) or `send` in openid batches of <= 10,000.

Each batch: PENDING -> CLAIMED (lease) -> SENT (msg_id kept) | FAILED | UNKNOWN, one conditional
write per step. The call carries a deterministic `clientmsgid` (`wxl-<campaign>-<batch>`), so a
batch re-sent after a crash (a claim whose lease expired: the worker died before recording the
answer) is deduplicated by WeChat for 24 h, and its 45065 answer carries the original msg_id,
which counts as sent. Past 23 h from the first attempt an unanswered batch is not re-sent:
WeChat no longer dedups, so it is recorded UNKNOWN; SENT batches whose MASSSENDJOBFINISH never
came are reconciled with `mass/get`.

Every call first takes a slot from the shared GCRA limiter (60 calls/min across every Lambda).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from chalicelib.campaigns import run as settings
from chalicelib.campaigns.audience import next_page
from chalicelib.campaigns.run import Run
from chalicelib.campaigns.spec import mass_message
from chalicelib.store import campaign_items as items
from chalicelib.store import campaign_limits as limits
from chalicelib.store import campaign_work as work
from chalicelib.store import campaigns as table
from chalicelib.wechat.api import (
    RateLimitError,
    SystemBusyError,
    TransportError,
    WeChatAPIError,
)

log = logging.getLogger("wxless.campaigns")

LEASE = 120.0  # seconds; longer than one mass call, short enough for a quick takeover
RESEND_WINDOW = 23 * 3600.0  # WeChat dedups clientmsgid for 24 h; keep an hour's margin
RETRY_AFTER = 30.0
RATE_LIMITED_FOR = 60.0
MAX_ATTEMPTS = 8
RECONCILE_AFTER = 3600.0  # a SENT batch with no MASSSENDJOBFINISH after this: ask mass/get
MAX_SLOT_WAIT = 5.0
# Errors that no batch of this campaign can overcome: the campaign fails at once.
FATAL = frozenset(
    {
        40007,  # invalid media_id
        40008,  # invalid message type
        40013,  # invalid appid
        40050,  # invalid tag id
        40164,  # caller IP not whitelisted
        45028,  # no mass-send quota left
        45159,  # invalid tag
        47001,  # data format error
        48001,  # API unauthorized (account lacks the permission)
    }
)


def clientmsgid(campaign_id: str, sk: str) -> str:
    return f"wxl-{campaign_id}-{sk.split('#')[1]}"  # <= 64 bytes (id is 32 hex)


def run(campaign: dict[str, Any], spec: Mapping[str, Any], run: Run) -> None:
    cid = campaign["id"]
    media_id = prepared_media_id(campaign, spec, run)
    if not campaign.get("planned") and not _plan(campaign, spec, run):
        return
    msgtype, payload = mass_message(spec["content"], media_id)
    while run.has_time():
        now = run.now()
        due = items.open_work(cid, items.OPEN_PENDING, before=now, limit=20)
        due += items.open_work(cid, items.OPEN_CLAIMED, before=now, limit=20)
        if not due:
            return
        progressed = False
        for sk in due:
            if not take_slot(run):
                run.count("mass_slot_waits")
                return
            outcome = _send_batch(cid, sk, spec, msgtype, payload, run)
            if outcome in ("fatal", "throttled"):
                return
            progressed = progressed or outcome != "busy"
        if not progressed:
            return  # only stale index entries or batches others hold: next run


def take_slot(run: Run) -> bool:
    """One call slot of the shared mass-send limiter (waits up to MAX_SLOT_WAIT for it)."""
    interval = settings.mass_interval()
    if interval <= 0:
        return True
    while True:
        wait = limits.acquire_mass_slot(run.now(), interval)
        if wait <= 0:
            return True
        if wait > MAX_SLOT_WAIT or not run.has_time(wait + 1.0):
            return False
        run.sleep(wait)


def _send_batch(
    cid: str, sk: str, spec: Mapping[str, Any], msgtype: str, payload: dict, run: Run
) -> str:
    now = run.now()
    old = work.claim_batch(cid, sk, run.owner, now, LEASE)
    if old is None:
        return "busy"  # someone else holds it, or it is already final
    count = int(old.get("count") or 0)
    sendall = bool(old.get("sendall"))
    # The previous attempt may have reached WeChat: its claim expired (the worker died between
    # the call and the write) or the call timed out.
    ambiguous = old.get("state") == items.CLAIMED or bool(old.get("ambiguous"))
    first = float(old.get("first_attempt_at") or now)
    attempts = int(old.get("attempts") or 0) + 1
    if ambiguous and now - first > RESEND_WINDOW:
        reason = "no answer recorded within WeChat's 24 h clientmsgid window: not re-sent"
        return _finish(cid, sk, run, items.UNKNOWN, count, reason)
    if attempts > MAX_ATTEMPTS:
        state = items.UNKNOWN if ambiguous else items.FAILED_STATE
        return _finish(cid, sk, run, state, count, f"gave up after {MAX_ATTEMPTS} attempts")
    openids = items.decode_openids(old.get("openids"))
    if not sendall and len(openids) < 2:
        return _finish(
            cid, sk, run, items.FAILED_STATE, count, "a mass send needs >= 2 openids", "40130"
        )
    messages = run.client.messages
    ignore_reprint = int(bool(spec["content"].get("send_ignore_reprint")))
    try:
        if sendall:
            audience = spec["audience"]
            result = messages.mass_send_all(
                msgtype,
                payload,
                tag_id=int(audience["tag_id"]) if audience["type"] == "tag" else None,
                is_to_all=audience["type"] == "all",
                clientmsgid=clientmsgid(cid, sk),
                send_ignore_reprint=ignore_reprint,
            )
        else:
            result = messages.mass_send(
                openids,
                msgtype,
                payload,
                clientmsgid=clientmsgid(cid, sk),
                send_ignore_reprint=ignore_reprint,
            )
    except RateLimitError as exc:
        work.release_batch(
            cid, sk, run.owner, not_before=now + RATE_LIMITED_FOR, ambiguous=False, error=str(exc)
        )
        run.count("mass_rate_limited")
        return "throttled"
    except SystemBusyError as exc:
        work.release_batch(
            cid, sk, run.owner, not_before=now + RETRY_AFTER, ambiguous=False, error=str(exc)
        )
        return "retry"
    except TransportError as exc:
        # Maybe sent: the retry, inside 24 h and with the same clientmsgid, is deduplicated.
        work.release_batch(
            cid, sk, run.owner, not_before=now + RETRY_AFTER, ambiguous=True, error=str(exc)
        )
        return "retry"
    except WeChatAPIError as exc:
        code = str(exc.errcode)
        _finish(cid, sk, run, items.FAILED_STATE, count, exc.errmsg, code)
        if exc.errcode in FATAL:
            fail_campaign(cid, f"[{exc.errcode}] {exc.errmsg}", run)
            return "fatal"
        return "failed"
    fields = {
        "msg_id": str(result.msg_id),
        "sent_at": run.now(),
        "duplicate": bool(result.duplicate),
    }
    if result.msg_data_id is not None:
        fields["msg_data_id"] = str(result.msg_data_id)
    pointer = {
        "msg_id": str(result.msg_id),
        "campaign": cid,
        "kind": "batch",
        "ref": sk,
        "expires_at": int(now + items.RETENTION_SECONDS),
    }
    counts = {"batches_done": 1, "batches_sent": 1, "recipients_sent": count}
    if work.finish_batch(cid, sk, run.owner, items.SENT, fields, counts, pointer):
        run.count("mass_batches_sent")
        run.count("mass_duplicates", int(result.duplicate))
        return "sent"
    return "lost"  # our lease lapsed and another worker recorded it (same msg_id, via 45065)


def _finish(
    cid: str, sk: str, run: Run, state: str, count: int, reason: str, code: str | None = None
) -> str:
    tag = {"UNKNOWN": "unknown", "FAILED": "failed"}[state]
    counts = {"batches_done": 1, f"batches_{tag}": 1, f"recipients_{tag}": count}
    if code:
        counts[f"err_{code}"] = count or 1
    fields: dict[str, Any] = {"reason": reason, "finished_at": run.now()}
    if code:
        fields["errcode"] = code
    work.finish_batch(cid, sk, run.owner, state, fields, counts)
    run.count(f"mass_batches_{tag}")
    return tag


def fail_campaign(cid: str, reason: str, run: Run) -> None:
    done, _ = table.transition(
        cid, table.RUNNING, table.FAILED, fail_reason=reason, finished_at=run.now()
    )
    if done:
        log.warning("campaigns.failed id=%s reason=%s", cid, reason)
        run.count("campaigns_failed")


# --------------------------------------------------------------------------- planning


QUERY_PAGE = 10_000  # followers read per planning step (message/mass/send takes <= 10,000)
CARRY = 2  # openids held back for the next batch: the last batch never has just one


def _plan(campaign: dict[str, Any], spec: Mapping[str, Any], run: Run) -> bool:
    """Query audiences, one batch per page of followers; True when fully planned.

    mass/send needs 2..10,000 openids and a batch, once written, may be sent at once, so the
    last CARRY openids of each page wait (in the plan cursor) for the next batch: however the
    pages fall, the last batch has >= 2 (only an audience of one is one)."""
    cid = campaign["id"]
    state = campaign.get("plan_cursor")
    cursor, carry = _unpack(state)
    seq = int(campaign.get("batches") or 0)
    while run.has_time(5.0):
        page = next_page(campaign, spec["audience"], cursor, run.client, QUERY_PAGE - len(carry))
        batch = carry + page.openids
        finished = page.cursor is None
        if finished:
            openids, carry = batch, []
        elif len(batch) >= CARRY + 2:
            openids, carry = batch[:-CARRY], batch[-CARRY:]
        else:
            openids, carry = [], batch  # a short page: wait for more
        children = []
        counts = {}
        if openids:
            seq += 1
            sk = items.batch_sk(seq)
            fields = {
                "state": items.PENDING,
                "openids": items.encode_openids(openids),
                "count": len(openids),
                "not_before": 0,
                **items.open_attrs(cid, items.OPEN_PENDING, 0, sk),
            }
            children.append((sk, fields))
            counts = {"batches": 1, "recipients": len(openids)}
        new_state = None if finished else _pack(page.cursor, carry)
        if not table.plan_step(cid, state, new_state, children, finished=finished, counts=counts):
            return False  # another dispatcher planned this unit; it carries on
        state, cursor = new_state, page.cursor
        run.count("mass_batches_planned", len(children))
        if finished:
            return True
    return False


def _pack(cursor: str | None, carry: list[str]) -> str:
    return json.dumps({"cursor": cursor, "carry": carry}, separators=(",", ":"))


def _unpack(state: str | None) -> tuple[str | None, list[str]]:
    if not state:
        return None, []
    if not state.startswith("{"):
        return state, []  # a bare cursor (planned before openids were carried)
    data = json.loads(state)
    return data.get("cursor"), list(data.get("carry") or [])


def needs_preparing(content: Mapping[str, Any]) -> bool:
    """News by article ids and videos are made into a mass-send media_id when the campaign
    starts (or is previewed), once."""
    return content["type"] == "video" or (content["type"] == "news" and not content.get("media_id"))


def prepared_media_id(campaign: dict[str, Any], spec: Mapping[str, Any], run: Run) -> str | None:
    """The campaign's mass-send media_id: made once and kept on the campaign. Two workers
    racing here may each make one (an unused draft or video, never a second message); the
    conditional write keeps the first."""
    if campaign.get("media_id") or not needs_preparing(spec["content"]):
        return campaign.get("media_id")
    content = spec["content"]
    if content["type"] == "video":
        media_id = run.client.media.upload_video(
            content["media_id"],
            content.get("title") or campaign.get("name") or "",
            content.get("description") or "",
        )
    else:
        media_id = news_draft(content, run)
    if table.set_campaign_fields(
        campaign["id"], status=None, if_absent="media_id", media_id=media_id
    ):
        return media_id
    return table.get_campaign(campaign["id"]).get("media_id")


def news_draft(content: Mapping[str, Any], run: Run) -> str:
    """News by article ids: the articles, as they are now, become one draft (draft/add), whose
    media_id the mass send uses."""
    from chalicelib.cms.links import base_url_from_request
    from chalicelib.publishing.drafts import draft_articles

    base = base_url_from_request(None)  # a job serves no request: WXLESS_PUBLIC_BASE_URL or ""
    drafts = draft_articles(content["article_ids"], content["thumb_media_id"], base)
    return str(run.client.draft.add(drafts))


# --------------------------------------------------------------------------- reconciliation


def reconcile(campaign_id: str, run: Run, max_calls: int = 20) -> int:
    """SENT batches whose completion event never came: ask mass/get and record msg_status."""
    calls = 0
    for batch in work.batches_awaiting_results(campaign_id):
        if calls >= max_calls or not run.has_time(2.0):
            break
        if run.now() - float(batch.get("sent_at") or 0) < RECONCILE_AFTER:
            continue
        try:
            answer = run.client.messages.mass_get(int(batch["msg_id"]))
        except WeChatAPIError as exc:
            if exc.errcode != 40097:  # 40097: WeChat does not know the msg_id (any more)
                log.warning("campaigns.reconcile_failed id=%s %s", campaign_id, exc)
                break
            answer = {"msg_status": "UNKNOWN_MSG_ID"}
        calls += 1
        status = str(answer.get("msg_status") or "UNKNOWN")
        work.record_reconciled(campaign_id, batch["sk"], status, run.now())
    return calls
