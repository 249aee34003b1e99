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

45009 (the account's daily template quota) pauses the whole account: chalicelib.campaigns.quota.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections import Counter
from collections.abc import Mapping
from typing import Any

from chalicelib.campaigns import channel
from chalicelib.campaigns import run as settings
from chalicelib.campaigns.audience import follower_profiles, next_page
from chalicelib.campaigns.mass import fail_campaign
from chalicelib.campaigns.quota import DAILY_QUOTA, pause_account
from chalicelib.campaigns.run import Run
from chalicelib.campaigns.spec import render_template_data, stored_spec, template_fields
from chalicelib.store import campaign_items as items
from chalicelib.store import campaign_recipients as recipients
from chalicelib.store import campaign_results as results
from chalicelib.store import campaign_work as work
from chalicelib.store import campaigns as table
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
MINUTE_QUOTA_DELAY = 60
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
    size = settings.template_chunk()
    while run.has_time(5.0):
        page = next_page(campaign, spec["audience"], cursor, run.client, settings.PLAN_UNIT)
        now = run.now()
        children = []
        for start in range(0, len(page.openids), size):
            part = page.openids[start : start + size]
            seq += 1
            sk = items.chunk_sk(seq)
            fields = {
                "state": items.ENQUEUED,
                "openids": items.encode_openids(part),
                "count": len(part),
                "enqueued_at": now,
                "enqueues": 1,
                **items.open_attrs(cid, items.OPEN_ENQUEUED, now, sk),
            }
            children.append((sk, fields))
        counts = {"chunks": len(children), "recipients": len(page.openids)}
        finished = page.cursor is None
        if not table.plan_step(
            cid, cursor, page.cursor, children, finished=finished, counts=counts
        ):
            return False  # another dispatcher planned this unit
        cursor = page.cursor
        if children:
            # After the transaction: a crash in between leaves ENQUEUED chunks without a
            # message, which the sweep re-sends; the other order could lose a chunk.
            run.sends.enqueue([{"campaign": cid, "chunk": sk} for sk, _ in children])
            run.count("template_chunks_enqueued", len(children))
        if finished:
            return True
    return False


def sweep(cid: str, run: Run, limit: int = 100) -> None:
    """Re-enqueue chunks whose message went missing; give up on hopeless ones."""
    stale = items.open_work(cid, items.OPEN_ENQUEUED, before=run.now() - STUCK_AFTER, limit=limit)
    for sk in stale:
        chunk = items.get_part(cid, sk, fields=("state", "enqueues", "openids", "enqueued_at"))
        if not chunk or chunk.get("state") != items.ENQUEUED:
            continue
        if float(chunk.get("enqueued_at") or 0) > run.now() - STUCK_AFTER:
            continue  # touched since the index was read
        if int(chunk.get("enqueues") or 0) >= MAX_ENQUEUES:
            _give_up_chunk(cid, sk, items.decode_openids(chunk.get("openids")), run)
            continue
        if work.touch_chunk(cid, sk, run.now(), requeue=True):
            run.sends.enqueue([{"campaign": cid, "chunk": sk}])
            run.count("template_chunks_requeued")


def _give_up_chunk(cid: str, sk: str, openids: list[str], run: Run) -> None:
    tally: Counter[str] = Counter()
    for openid in openids:
        recipient = recipients.get_recipient(cid, openid)
        state = (recipient or {}).get("state")
        if state == items.RETRY:
            recipients.give_up_recipient(cid, openid, run.now(), "gave_up")
            recipient = recipients.get_recipient(cid, openid)
            state = (recipient or {}).get("state")
        if state in items.FINAL_STATES:
            _count_final(tally, recipient)
        else:
            tally["stuck"] += 1
    tally.update(["chunks_done", "chunks_failed"])
    work.finish_chunk(cid, sk, items.FAILED_STATE, dict(tally))
    run.count("template_chunks_given_up")


# --------------------------------------------------------------------------- sender side


def _count_final(tally: Counter[str], recipient: Mapping[str, Any] | None) -> None:
    state = (recipient or {}).get("state")
    if state == items.SENT:
        tally["sent"] += 1
    elif state == items.FAILED_STATE:
        tally["failed"] += 1
        tally[f"err_{recipient.get('errcode') or 'unknown'}"] += 1
    elif state == items.UNKNOWN:
        tally["unknown"] += 1


def process_chunk(campaign: Mapping[str, Any], sk: str, attempt: int, run: Run) -> str:
    """Send one chunk. Returns done | requeued | fatal | skipped | paused (it met the 45009:
    the caller holds it, see `hold`)."""
    cid = campaign["id"]
    chunk = items.get_part(cid, sk)
    if not chunk or chunk.get("state") != items.ENQUEUED:
        return "skipped"  # already done (a duplicate message) or given up
    spec = stored_spec(campaign)
    template = spec["template"]
    openids = items.decode_openids(chunk.get("openids"))
    fields = template_fields(template["data"]) - {"openid"}
    profiles: dict[str, dict[str, Any]] | None = None
    tally: Counter[str] = Counter()
    failures: dict[str, str] = {}
    retry: list[str] = []  # released for a retry, or held by a live claim elsewhere
    delay, count_attempt = 0, False
    pace = settings.template_pace()
    for index, openid in enumerate(openids):
        if not run.has_time(3.0):
            retry.extend(openids[index:])
            break
        now = run.now()
        claimed, old = recipients.claim_recipient(cid, openid, sk, run.owner, now, LEASE)
        if not claimed:
            if (old or {}).get("state") in items.FINAL_STATES:
                _count_final(tally, old)
            else:
                retry.append(openid)  # another worker holds a live claim on it
            continue
        ambiguous = (old or {}).get("state") == items.CLAIMED or bool((old or {}).get("ambiguous"))
        first = float((old or {}).get("first_attempt_at") or now)
        if ambiguous and (channel.is_subscribe(template) or now - first > DEDUP_WINDOW):
            reason = "no answer recorded within WeChat's 10-minute client_msg_id window"
            if channel.is_subscribe(template):
                reason = "no answer recorded; a subscribe notification is never sent twice"
            recipients.finish_recipient(
                cid, openid, run.owner, items.UNKNOWN, {"reason": reason, "finished_at": now}
            )
            tally["unknown"] += 1
            continue
        if profiles is None:
            profiles = follower_profiles(openids, fields, run.client)
        data = render_template_data(template["data"], profiles.get(openid, {"openid": openid}))
        if not channel.may_send(template, openid):  # a subscribe notification needs consent
            recipients.finish_recipient(
                cid, openid, run.owner, items.FAILED_STATE,
                {"errcode": channel.NO_CONSENT, "reason": "no consent", "finished_at": now},
            )  # fmt: skip
            tally["failed"] += 1
            tally[f"err_{channel.NO_CONSENT}"] += 1
            failures[openid] = channel.NO_CONSENT
            continue
        run.pace(pace)
        try:
            msgid = channel.send(run.client, template, openid, data, client_msg_id(cid, openid))
        except RateLimitError as exc:
            channel.unspent(template, openid, exc.errcode, now)
            recipients.release_recipient(cid, openid, run.owner, ambiguous=False, error=str(exc))
            run.count("template_rate_limited")
            if exc.errcode == DAILY_QUOTA:
                pause_account(cid, exc.errcode, run)
                return "paused"  # the caller holds the chunk's message until the reset
            retry.extend(openids[index:])
            delay = backoff(MINUTE_QUOTA_DELAY)
            break
        except (SystemBusyError, TransportError) as exc:
            if isinstance(exc, SystemBusyError):  # WeChat busy, nothing sent: consent back
                channel.unspent(template, openid, exc.errcode, now)
            recipients.release_recipient(
                cid, openid, run.owner, ambiguous=isinstance(exc, TransportError), error=str(exc)
            )
            retry.append(openid)
            delay, count_attempt = max(delay, backoff(RETRY_DELAY)), True
            continue
        except WeChatAPIError as exc:
            channel.unspent(template, openid, exc.errcode, now)
            if exc.errcode in FATAL:
                recipients.release_recipient(
                    cid, openid, run.owner, ambiguous=False, error=str(exc)
                )
                fail_campaign(cid, f"[{exc.errcode}] {exc.errmsg}", run)
                return "fatal"
            recipients.finish_recipient(
                cid,
                openid,
                run.owner,
                items.FAILED_STATE,
                {"errcode": str(exc.errcode), "reason": exc.errmsg[:200], "finished_at": now},
            )
            tally["failed"] += 1
            tally[f"err_{exc.errcode}"] += 1
            failures[openid] = str(exc.errcode)
            run.count("template_failed")
            continue
        if msgid:  # (bizsend may answer without one)
            results.put_pointer(
                {
                    "msg_id": str(msgid),
                    "campaign": cid,
                    "kind": "recipient",
                    "ref": openid,
                    "expires_at": int(now + items.RETENTION_SECONDS),
                }
            )
        if recipients.finish_recipient(
            cid, openid, run.owner, items.SENT, {"msgid": str(msgid or ""), "sent_at": run.now()}
        ):
            tally["sent"] += 1
            run.count("template_sent")
        else:
            retry.append(openid)  # our lease lapsed: whoever holds it now finishes it
    if not retry:
        tally["chunks_done"] += 1
        work.finish_chunk(cid, sk, items.DONE, dict(tally), failures or None)
        return "done"
    if count_attempt and attempt + 1 >= MAX_CHUNK_ATTEMPTS:
        for openid in retry:
            recipients.give_up_recipient(cid, openid, run.now(), "gave_up")
        count_attempt, delay = False, 0  # the next delivery counts them and closes the chunk
    next_attempt = attempt + 1 if count_attempt else attempt
    run.sends.enqueue([{"campaign": cid, "chunk": sk, "attempt": next_attempt}], delay=delay)
    work.touch_chunk(cid, sk, run.now(), requeue=False)
    run.count("template_chunks_requeued")
    return "requeued"
