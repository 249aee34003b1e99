"""Template campaigns: one template/send per follower, fanned out through SQS.

Dispatcher side: the audience is planned page by page into chunks (`q#`, ~125 openids each);
each page's chunks and the campaign's cursor are one transaction, then the chunks go onto the
queue (one message per chunk). A chunk whose message was lost (a crash between the transaction
and the send, a message moved to the dead-letter queue) is re-enqueued by `sweep` after
STUCK_AFTER, at most MAX_ENQUEUES times, then given up (FAILED, its unfinished recipients
counted `stuck`).

Sender side (`process_chunk`, from the SQS handler): per recipient, a conditional claim (the
recipient's own item: a redelivered message, or two workers on one chunk, cannot both send),
the call with `client_msg_id` (WeChat sends one message per openid + client_msg_id within
10 minutes), the msg_id pointer, the result. The chunk's counts go to the campaign once, with
the chunk's ENQUEUED -> DONE transition.

Errors: 43004 (unsubscribed), 45047 and the like are recorded on the recipient and counted per
code, never retried. 45011 (minute quota) puts the chunk back on the queue for a minute; -1 and
network failures release the recipient for a retry (the chunk comes back after RETRY_DELAY, at
most MAX_CHUNK_ATTEMPTS times, then its leftovers are FAILED `gave_up`). A retry after a
network failure is only made inside WeChat's 10-minute window; later it is recorded UNKNOWN
rather than risk a second message.

45009 (the account's daily template/send quota is spent) pauses template sending for the whole
account: one marker item says "paused until the next 00:00 Beijing time" (WeChat's daily quotas
reset then), written by whichever chunk meets the 45009 first. Every chunk reads it (one GetItem)
before any call; while it holds, the chunk makes no WeChat call and its SQS message stays on the
queue, invisible until just past the reset (`hold`). Without it, each of a million-recipient
campaign's 8,000 chunks would meet its own 45009 every 15 minutes until the reset.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.jobs import campaign_run
from chalicelib.jobs.campaign_audience import follower_profiles, next_page
from chalicelib.jobs.campaign_mass import fail_campaign
from chalicelib.jobs.campaign_run import Run
from chalicelib.jobs.campaign_spec import render_template_data, template_fields
from chalicelib.store import campaigns as store
from chalicelib.store.errors import NotFound, StoreUnavailable
from chalicelib.wechat.api import (
    RateLimitError,
    SystemBusyError,
    TransportError,
    WeChatAPIError,
)

log = logging.getLogger("wxless.campaigns")

LEASE = 60.0  # per recipient: one template/send plus two writes
DEDUP_WINDOW = 540.0  # WeChat dedups client_msg_id for 10 min; a minute's margin
RETRY_DELAY = 30  # seconds before a chunk with released recipients comes back
MAX_CHUNK_ATTEMPTS = 5
STUCK_AFTER = 1200.0  # an ENQUEUED chunk untouched for 20 min lost its message
MAX_ENQUEUES = 5
DAILY_QUOTA = 45009  # template/send's daily quota is spent: nothing goes out before the reset
MINUTE_QUOTA_DELAY = 60
BEIJING = 8 * 3600  # UTC+8 all year (no daylight saving since 1991)
RESUME_MARGIN = 60.0  # held chunks come back a minute after the reset: clocks differ a little
MAX_HOLD = 12 * 3600 - 300  # SQS: invisible <= 12 h from the receipt; margin for the time since
MAX_DELAY = 900  # SQS DelaySeconds, for a chunk that goes back as a new message
HOLD_MAX_RECEIVES = 3  # the queue's maxReceiveCount is 5: room for one failed invocation
# Errors about the campaign, not the recipient: the campaign fails at once.
FATAL = frozenset(
    {
        40013,  # invalid appid
        40036,  # invalid template_id size
        40037,  # invalid template_id
        40164,  # caller IP not whitelisted
        47001,  # data format error
        48001,  # API unauthorized
    }
)


def backoff(base: int) -> int:
    """`base` to 1.5 x `base` seconds. Chunks that met the same limit in the same second would
    otherwise all come back in the same second and meet it again."""
    return base + random.randint(0, base // 2) if base > 0 else 0


def quota_reset_after(now: float) -> float:
    """The next 00:00 Beijing time after `now`: when WeChat's daily API quotas reset."""
    day = 86400
    return (math.floor((now + BEIJING) / day) + 1) * day - BEIJING


def client_msg_id(campaign_id: str, openid: str) -> str:
    """The per-recipient idempotency key WeChat dedups on (<= 64 bytes)."""
    digest = hashlib.blake2b(openid.encode(), digest_size=12).hexdigest()
    return f"wxl-{campaign_id}-{digest}"


# --------------------------------------------------------------------------- dispatcher side


def run(campaign: dict[str, Any], spec: Mapping[str, Any], run: Run) -> None:
    if not campaign.get("planned"):
        _plan(campaign, spec, run)
    sweep(campaign["id"], run)


def _plan(campaign: dict[str, Any], spec: Mapping[str, Any], run: Run) -> bool:
    cid = campaign["id"]
    cursor = campaign.get("plan_cursor")
    seq = int(campaign.get("chunks") or 0)
    size = campaign_run.template_chunk()
    while run.has_time(5.0):
        page = next_page(campaign, spec["audience"], cursor, run.client, campaign_run.PLAN_UNIT)
        now = run.now()
        children = []
        for start in range(0, len(page.openids), size):
            part = page.openids[start : start + size]
            seq += 1
            sk = store.chunk_sk(seq)
            fields = {
                "state": store.ENQUEUED,
                "openids": store.encode_openids(part),
                "count": len(part),
                "enqueued_at": now,
                "enqueues": 1,
                **store.open_attrs(cid, "E", now, sk),
            }
            children.append((sk, fields))
        counts = {"chunks": len(children), "recipients": len(page.openids)}
        finished = page.cursor is None
        if not store.plan_step(
            cid, cursor, page.cursor, children, finished=finished, counts=counts
        ):
            return False  # another dispatcher planned this unit
        cursor = page.cursor
        if children:
            # After the transaction: a crash in between leaves ENQUEUED chunks without a
            # message, which the sweep re-sends; the other order could lose a chunk.
            store.enqueue([{"campaign": cid, "chunk": sk} for sk, _ in children])
            run.count("template_chunks_enqueued", len(children))
        if finished:
            return True
    return False


def sweep(cid: str, run: Run, limit: int = 100) -> None:
    """Re-enqueue chunks whose message went missing; give up on hopeless ones."""
    stale = store.open_work(cid, "E", before=run.now() - STUCK_AFTER, limit=limit)
    for sk in stale:
        chunk = store.get_part(cid, sk, projection="state,enqueues,openids,enqueued_at")
        if not chunk or chunk.get("state") != store.ENQUEUED:
            continue
        if float(chunk.get("enqueued_at") or 0) > run.now() - STUCK_AFTER:
            continue  # touched since the index was read
        if int(chunk.get("enqueues") or 0) >= MAX_ENQUEUES:
            _give_up_chunk(cid, sk, store.decode_openids(chunk.get("openids")), run)
            continue
        if store.touch_chunk(cid, sk, run.now(), requeue=True):
            store.enqueue([{"campaign": cid, "chunk": sk}])
            run.count("template_chunks_requeued")


def _give_up_chunk(cid: str, sk: str, openids: list[str], run: Run) -> None:
    tally: Counter[str] = Counter()
    for openid in openids:
        recipient = store.get_recipient(cid, openid)
        state = (recipient or {}).get("state")
        if state == store.RETRY:
            store.give_up_recipient(cid, openid, run.now(), "gave_up")
            recipient = store.get_recipient(cid, openid)
            state = (recipient or {}).get("state")
        if state in store.FINAL_STATES:
            _count_final(tally, recipient)
        else:
            tally["stuck"] += 1
    tally.update(["chunks_done", "chunks_failed"])
    store.finish_chunk(cid, sk, store.FAILED_STATE, dict(tally))
    run.count("template_chunks_given_up")


# --------------------------------------------------------------------------- sender side


def _count_final(tally: Counter[str], recipient: Mapping[str, Any] | None) -> None:
    state = (recipient or {}).get("state")
    if state == store.SENT:
        tally["sent"] += 1
    elif state == store.FAILED_STATE:
        tally["failed"] += 1
        tally[f"err_{recipient.get('errcode') or 'unknown'}"] += 1
    elif state == store.UNKNOWN:
        tally["unknown"] += 1


def process_chunk(campaign: Mapping[str, Any], sk: str, attempt: int, run: Run) -> str:
    """Send one chunk. Returns done | requeued | fatal | skipped | paused (it met the 45009:
    the caller holds it, see `hold`)."""
    cid = campaign["id"]
    chunk = store.get_part(cid, sk)
    if not chunk or chunk.get("state") != store.ENQUEUED:
        return "skipped"  # already done (a duplicate message) or given up
    spec = store_spec(campaign)
    template = spec["template"]
    openids = store.decode_openids(chunk.get("openids"))
    fields = template_fields(template["data"]) - {"openid"}
    profiles: dict[str, dict[str, Any]] | None = None
    tally: Counter[str] = Counter()
    failures: dict[str, str] = {}
    retry: list[str] = []  # released for a retry, or held by a live claim elsewhere
    delay, count_attempt = 0, False
    pace = campaign_run.template_pace()
    for index, openid in enumerate(openids):
        if not run.has_time(3.0):
            retry.extend(openids[index:])
            break
        now = run.now()
        claimed, old = store.claim_recipient(cid, openid, sk, run.owner, now, LEASE)
        if not claimed:
            if (old or {}).get("state") in store.FINAL_STATES:
                _count_final(tally, old)
            else:
                retry.append(openid)  # another worker holds a live claim on it
            continue
        ambiguous = (old or {}).get("state") == store.CLAIMED or bool((old or {}).get("ambiguous"))
        first = float((old or {}).get("first_attempt_at") or now)
        if ambiguous and now - first > DEDUP_WINDOW:
            reason = "no answer recorded within WeChat's 10-minute client_msg_id window"
            store.finish_recipient(
                cid, openid, run.owner, store.UNKNOWN, {"reason": reason, "finished_at": now}
            )
            tally["unknown"] += 1
            continue
        if profiles is None:
            profiles = follower_profiles(openids, fields, run.client)
        data = render_template_data(template["data"], profiles.get(openid, {"openid": openid}))
        run.pace(pace)
        try:
            msgid = run.client.messages.send_template(
                openid,
                template["template_id"],
                data,
                url=template.get("url"),
                miniprogram=template.get("miniprogram"),
                client_msg_id=client_msg_id(cid, openid),
            )
        except RateLimitError as exc:
            store.release_recipient(cid, openid, run.owner, ambiguous=False, error=str(exc))
            run.count("template_rate_limited")
            if exc.errcode == DAILY_QUOTA:
                _pause_account(cid, exc.errcode, run)
                return "paused"  # the caller holds the chunk's message until the reset
            retry.extend(openids[index:])
            delay = backoff(MINUTE_QUOTA_DELAY)
            break
        except (SystemBusyError, TransportError) as exc:
            store.release_recipient(
                cid, openid, run.owner, ambiguous=isinstance(exc, TransportError), error=str(exc)
            )
            retry.append(openid)
            delay, count_attempt = max(delay, backoff(RETRY_DELAY)), True
            continue
        except WeChatAPIError as exc:
            if exc.errcode in FATAL:
                store.release_recipient(cid, openid, run.owner, ambiguous=False, error=str(exc))
                fail_campaign(cid, f"[{exc.errcode}] {exc.errmsg}", run)
                return "fatal"
            store.finish_recipient(
                cid,
                openid,
                run.owner,
                store.FAILED_STATE,
                {"errcode": str(exc.errcode), "reason": exc.errmsg[:200], "finished_at": now},
            )
            tally["failed"] += 1
            tally[f"err_{exc.errcode}"] += 1
            failures[openid] = str(exc.errcode)
            run.count("template_failed")
            continue
        store.put_pointer(
            {
                "msg_id": str(msgid),
                "campaign": cid,
                "kind": "recipient",
                "ref": openid,
                "expires_at": int(now + store.RETENTION_SECONDS),
            }
        )
        if store.finish_recipient(
            cid, openid, run.owner, store.SENT, {"msgid": str(msgid), "sent_at": run.now()}
        ):
            tally["sent"] += 1
            run.count("template_sent")
        else:
            retry.append(openid)  # our lease lapsed: whoever holds it now finishes it
    if not retry:
        tally["chunks_done"] += 1
        store.finish_chunk(cid, sk, store.DONE, dict(tally), failures or None)
        return "done"
    if count_attempt and attempt + 1 >= MAX_CHUNK_ATTEMPTS:
        for openid in retry:
            store.give_up_recipient(cid, openid, run.now(), "gave_up")
        count_attempt, delay = False, 0  # the next delivery counts them and closes the chunk
    next_attempt = attempt + 1 if count_attempt else attempt
    store.enqueue([{"campaign": cid, "chunk": sk, "attempt": next_attempt}], delay=delay)
    store.touch_chunk(cid, sk, run.now(), requeue=False)
    run.count("template_chunks_requeued")
    return "requeued"


def _pause_account(cid: str, errcode: int, run: Run) -> None:
    now = run.now()
    # A 45009 within a minute after midnight is taken for yesterday's (our clock a little ahead
    # of WeChat's): a pause until the reset just past, not for a whole day.
    until = quota_reset_after(now - RESUME_MARGIN)
    run.template_paused_until = max(run.template_paused_until, until)
    try:
        if store.pause_template_sends(until, now, errcode=errcode, campaign_id=cid):
            log.warning("campaigns.template_quota_paused until=%d campaign=%s", until, cid)
    except StoreUnavailable:
        # Not written: the other chunks find out at WeChat, one refused call each, and write it.
        log.exception("campaigns.template_pause_unwritten campaign=%s", cid)


def paused_until(run: Run) -> float:
    """0.0, or until when template/send is paused for the daily quota: one GetItem per chunk
    (none once this invocation knows of a pause). A failed read is no pause: at worst the chunk
    meets WeChat's 45009 itself; it never skips or repeats a recipient."""
    now = run.now()
    if run.template_paused_until > now:
        return run.template_paused_until
    try:
        marker = store.template_pause()
    except StoreUnavailable:
        log.warning("campaigns.template_pause_unread: trying WeChat")
        run.count("template_pause_unread")
        return 0.0
    until = float((marker or {}).get("until") or 0)
    if until <= now:
        return 0.0
    run.template_paused_until = until
    return until


@dataclass
class Delivery:
    """One SQS message for the sender: its body and, from Lambda or a local drain, what it takes
    to keep the message on the queue (`hold`)."""

    body: Mapping[str, Any]
    message_id: str | None = None
    receipt_handle: str | None = None
    receives: int = 1


def hold(delivery: Delivery, cid: str, sk: str, until: float, run: Run) -> str:
    """Keep a chunk off WeChat until `until` (+ a margin). Returns `held` (the message stays on the
    queue, invisible: the caller reports it as a batch item failure so Lambda keeps it),
    `paused` (it went back as a new message, delayed), or `skipped` (nothing left to send)."""
    now = run.now()
    wait = max(1, math.ceil(min(until - now + RESUME_MARGIN, MAX_HOLD)))
    # The chunk is expected back at now + wait: the stuck-chunk sweep must not re-send it before.
    if not store.touch_chunk(cid, sk, now + wait, requeue=False):
        return "skipped"  # done or given up meanwhile
    run.count("template_chunks_paused")
    if delivery.receipt_handle and delivery.message_id and delivery.receives <= HOLD_MAX_RECEIVES:
        try:
            store.hide_message(delivery.receipt_handle, wait)
            return "held"
        except StoreUnavailable:
            log.warning("campaigns.hold_failed chunk=%s/%s: re-sent instead", cid, sk)
    # A body without its message (tests, the benchmark), or one SQS delivered often (near the
    # dead-letter queue's count), or a failed ChangeMessageVisibility: a fresh message, with
    # SQS's longest delay; it is held (or re-sent again) when it comes back.
    attempt = int(delivery.body.get("attempt") or 0)
    body = {"campaign": cid, "chunk": sk, "attempt": attempt}
    store.enqueue([body], delay=min(wait, MAX_DELAY))
    return "paused"


def store_spec(campaign: Mapping[str, Any]) -> dict[str, Any]:
    """The campaign's audience/content/template, stored as one JSON string."""
    spec = campaign.get("spec")
    return json.loads(spec) if isinstance(spec, str) else dict(spec or {})


def handle_records(records: Iterable[Mapping[str, Any] | Delivery], run: Run) -> dict[str, Any]:
    """The SQS handler's work: each body is {campaign, chunk, attempt?}. Messages of campaigns
    that are not running (cancelled, failed, unknown) are dropped. Returns the outcome counts
    and, when messages are held for the quota, `batchItemFailures` (Lambda's partial batch
    response: those stay on the queue, the others are deleted)."""
    campaigns: dict[str, dict[str, Any] | None] = {}
    outcomes: Counter[str] = Counter()
    held: list[str] = []
    for record in records:
        delivery = record if isinstance(record, Delivery) else Delivery(record)
        body = delivery.body
        cid, sk = str(body.get("campaign", "")), str(body.get("chunk", ""))
        if cid not in campaigns:
            try:
                campaigns[cid] = store.get_campaign(cid)
            except NotFound:
                campaigns[cid] = None
        campaign = campaigns[cid]
        if campaign is None or campaign.get("status") != store.RUNNING or not sk.startswith("q#"):
            outcomes["dropped"] += 1
            continue
        until = paused_until(run)
        if until:
            outcome = hold(delivery, cid, sk, until, run)
        else:
            outcome = process_chunk(campaign, sk, int(body.get("attempt") or 0), run)
            if outcome == "paused":  # this chunk met the 45009
                outcome = hold(delivery, cid, sk, run.template_paused_until, run)
        if outcome == "held":
            held.append(str(delivery.message_id))
            outcome = "paused"
        outcomes[outcome] += 1
        if outcome == "fatal":
            campaigns[cid] = None
    out: dict[str, Any] = dict(outcomes)
    if held:
        out["batchItemFailures"] = [{"itemIdentifier": message_id} for message_id in held]
    return out
