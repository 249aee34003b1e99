"""Scheduled campaigns: mass sends and template-message campaigns that fire by themselves, once.

Entry points:
- admin (chalicelib.handlers.admin_campaigns): `create`, `cancel`, `preview`, `detail`, `listing`;
- the dispatcher, every minute (EventBridge; `scheduled/local.py` in `make run`): `dispatch`;
- the template sender, on SQS messages: `handle_sqs` (in `make run`: `drain_local`).

How "exactly once" holds (details in campaign_mass and campaign_template):
1. starting: scheduled -> running is one conditional write; of two dispatchers (EventBridge
   delivers at least once, runs may overlap) one wins. Running campaigns are then worked on by
   every dispatcher run, which is safe because
2. every unit of sending (a mass batch, a template recipient) is claimed with a conditional
   write and a lease, and the send carries WeChat's own idempotency key (`clientmsgid`,
   `client_msg_id`), so a crash between any two writes resumes without a second message; a
   dead worker's lease expires and its work is taken over;
3. counters are added in the same transaction as the state change they count.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.jobs import campaign_mass, campaign_run, campaign_template, schedules
from chalicelib.jobs.campaign_audience import follower_profiles, list_parts
from chalicelib.jobs.campaign_run import Run, budget_from
from chalicelib.jobs.campaign_spec import (
    MASS,
    MASS_BATCH,
    check_limits,
    mass_message,
    render_template_data,
    template_fields,
    validate_campaign,
)
from chalicelib.store import campaigns as store
from chalicelib.store.errors import Conflict, NotFound, StoreUnavailable
from chalicelib.wechat.api import WeChatAPIError

if TYPE_CHECKING:
    from chalicelib.wechat.api import WeChatClient

log = logging.getLogger("wxless.campaigns")

QUEUE = store.QUEUE  # the template sender's queue (declared in infra/resources.py)
MAX_PREVIEW = 5  # mass previews are paced by the shared limiter: ~1 s each
RECONCILE_DAYS = 3
SQS_BATCH_SIZE = schedules.CAMPAIGN_SQS_BATCH_SIZE  # chunks per sender invocation (app.py)
SENDER_BUDGET = 50.0  # the sender Lambda's timeout is 60 s (.chalice/config.json)
LOCAL_DISPATCH_BUDGET = 10.0
PREVIEW_BUDGET = 7.0  # inside the admin Lambda's 10 s


# --------------------------------------------------------------------------- admin


def _balanced(openids: list[str], limit: int) -> list[list[str]]:
    """Split into the fewest parts of <= limit, as even as possible (never a part of 1 when
    there are >= 2: message/mass/send needs 2..10,000)."""
    parts = max(1, -(-len(openids) // limit))
    size, extra = divmod(len(openids), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(openids[start:end])
        start = end
    return out


def create(body: Any, *, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    spec, openids = validate_campaign(body, now)
    campaign_id = uuid.uuid4().hex
    audience = spec["audience"]
    item: dict[str, Any] = {
        "id": campaign_id,
        "name": spec["name"],
        "type": spec["type"],
        "status": store.SCHEDULED,
        "send_at": float(spec["send_at"]),
        "created_at": now,
        "audience_type": audience["type"],
        "spec": store.dumps({k: spec[k] for k in ("audience", "content", "template") if k in spec}),
    }
    children: list[tuple[str, dict[str, Any]]] = []
    if openids:
        item["audience_size"] = len(openids)
    if spec["type"] == MASS:
        if audience["type"] in ("all", "tag"):
            children = [_batch(campaign_id, 1, sendall=True)]
        elif audience["type"] == "openids":
            children = [
                _batch(campaign_id, i + 1, openids=part)
                for i, part in enumerate(_balanced(openids, MASS_BATCH))
            ]
        if children:
            item.update(planned=True, batches=len(children), recipients=len(openids))
    elif openids:
        children = list_parts(openids)
        item["parts"] = len(children)
    for attempt in (0, 1):
        guard = check_limits(spec, openids, now)
        try:
            store.create_campaign(item, children if attempt == 0 else (), guard)
            break
        except Conflict:
            if attempt == 1:
                raise
            # Another campaign was scheduled for the same period meanwhile: check again.
    log.info(
        "campaigns.created id=%s type=%s send_at=%s", campaign_id, spec["type"], item["send_at"]
    )
    return detail(campaign_id, now=now)


def _batch(
    campaign_id: str, seq: int, *, sendall: bool = False, openids: list[str] | None = None
) -> tuple[str, dict[str, Any]]:
    sk = store.batch_sk(seq)
    fields: dict[str, Any] = {
        "state": store.PENDING,
        "count": len(openids or ()),
        "not_before": 0,
        **store.open_attrs(campaign_id, "P", 0, sk),
    }
    if sendall:
        fields["sendall"] = True
    else:
        fields["openids"] = store.encode_openids(openids or [])
    return sk, fields


def cancel(campaign_id: str, *, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    done, found = store.transition(campaign_id, store.SCHEDULED, store.CANCELLED, cancelled_at=now)
    if not done:
        if found is None:
            raise NotFound(f"campaign {campaign_id} not found")
        raise Conflict(
            f"campaign {campaign_id} is {found.get('status')}: only a scheduled campaign "
            "(not yet started) can be cancelled"
        )
    return detail(campaign_id, now=now)


def _spec(campaign: Mapping[str, Any]) -> dict[str, Any]:
    return campaign_template.store_spec(campaign)


def detail(campaign_id: str, *, now: float | None = None) -> dict[str, Any]:
    campaign = store.get_campaign(campaign_id)
    now = time.time() if now is None else now
    out = report(campaign, store.totals(campaign_id), now)
    if campaign.get("type") == MASS:
        out["batches"] = [_batch_view(b) for b in store.iter_parts(campaign_id, "b#", BATCH_FIELDS)]
    elif campaign.get("status") in (store.SCHEDULED, store.RUNNING):
        try:
            paused = quota_pause(now)
        except StoreUnavailable:  # a side note: not worth failing the answer (create's too)
            log.warning("campaigns.template_pause_unread id=%s", campaign_id)
            paused = None
        if paused:
            out["paused"] = paused
    return out


def quota_pause(now: float) -> dict[str, Any] | None:
    """The account's template/send pause (WeChat's daily quota is spent), while in force: no
    template campaign sends before `until` (the next 00:00 Beijing time)."""
    marker = store.template_pause() or {}
    until = float(marker.get("until") or 0)
    if until <= now:
        return None
    return {
        "reason": "template_daily_quota",
        "errcode": int(marker.get("errcode") or campaign_template.DAILY_QUOTA),
        "since": int(float(marker.get("paused_at") or 0)) or None,
        "until": int(until),
    }


BATCH_FIELDS = (
    "sk,state,count,sendall,attempts,msg_id,sent_at,duplicate,errcode,reason,finish_status,"
    "total_count,sent_count,error_count,filter_count,msg_status"
)


def _batch_view(batch: Mapping[str, Any]) -> dict[str, Any]:
    """One mass batch as the admin sees it (its openids stay in the store)."""
    out: dict[str, Any] = {
        "batch": int(batch["sk"].split("#")[1]),
        "state": batch.get("state"),
        "recipients": None if batch.get("sendall") else int(batch.get("count") or 0),
        "attempts": int(batch.get("attempts") or 0),
    }
    for key in ("msg_id", "errcode", "reason", "msg_status"):
        if batch.get(key) is not None:
            out[key] = str(batch[key])
    if batch.get("sent_at"):
        out["sent_at"] = int(batch["sent_at"])
        out["duplicate"] = bool(batch.get("duplicate"))
    if batch.get("finish_status"):
        out["result"] = {
            "status": batch["finish_status"],
            "total": int(batch.get("total_count") or 0),
            "sent": int(batch.get("sent_count") or 0),
            "error": int(batch.get("error_count") or 0),
            "filtered": int(batch.get("filter_count") or 0),
        }
    return out


def listing(status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    if status is not None and status not in store.STATUSES:
        raise ValueError(f"status: one of {', '.join(store.STATUSES)}")
    campaigns = [c for c in store.list_campaigns() if status is None or c["status"] == status]
    campaigns.sort(key=lambda c: (-float(c.get("created_at") or 0), c["id"]))
    now = time.time()
    return [report(c, store.totals(c["id"]), now) for c in campaigns[:limit]]


def _errors(totals: Mapping[str, int]) -> dict[str, int]:
    return {k[4:]: v for k, v in sorted(totals.items()) if k.startswith("err_") and v}


def report(campaign: Mapping[str, Any], totals: Mapping[str, int], now: float) -> dict[str, Any]:
    """What an admin sees: the campaign, its progress and its results."""
    spec = _spec(campaign)
    started, finished = campaign.get("started_at"), campaign.get("finished_at")
    out: dict[str, Any] = {
        "id": campaign["id"],
        "name": campaign.get("name", ""),
        "type": campaign.get("type"),
        "status": campaign.get("status"),
        "send_at": int(float(campaign["send_at"])),
        "created_at": int(float(campaign.get("created_at") or 0)),
        "started_at": int(started) if started else None,
        "finished_at": int(finished) if finished else None,
        "duration_s": round(float((finished or now) - started), 3) if started else None,
        "audience": spec.get("audience"),
    }
    if "content" in spec:
        out["content"] = spec["content"]
        if campaign.get("media_id"):
            # news by article ids: the draft made of them; video: media/uploadvideo's id
            key = "mass_media_id" if spec["content"]["type"] == "video" else "media_id"
            out["content"] = {**spec["content"], key: campaign["media_id"]}
    if "template" in spec:
        out["template"] = spec["template"]
    if campaign.get("fail_reason"):
        out["fail_reason"] = campaign["fail_reason"]
    g = totals.get
    recipients = campaign.get("recipients")
    planned = bool(campaign.get("planned"))
    if campaign.get("type") == MASS:
        processed = g("recipients_sent", 0) + g("recipients_failed", 0) + g("recipients_unknown", 0)
        out["progress"] = {
            "planned": planned,
            "batches": int(campaign.get("batches") or 0),
            "batches_sent": g("batches_sent", 0),
            "batches_failed": g("batches_failed", 0),
            "batches_unknown": g("batches_unknown", 0),
            "recipients": int(recipients) if recipients is not None else None,
            "queued": max(0, int(recipients) - processed) if recipients is not None else None,
            "sent": g("recipients_sent", 0),
            "failed": g("recipients_failed", 0),
            "unknown": g("recipients_unknown", 0),
            "errors": _errors(totals),
        }
        out["results"] = {
            "jobs_finished": g("jobs_finished", 0),
            "total": g("result_total", 0),
            "sent": g("result_sent", 0),
            "error": g("result_error", 0),
            "filtered": g("result_filtered", 0),
            "reconciled": {
                k[len("reconciled_") :]: v for k, v in totals.items() if k.startswith("reconciled_")
            },
        }
    else:
        processed = g("sent", 0) + g("failed", 0) + g("unknown", 0) + g("stuck", 0)
        if not planned and campaign.get("audience_size") is not None:
            recipients = campaign["audience_size"]  # an openid list, known before planning
        out["progress"] = {
            "planned": planned,
            "chunks": int(campaign.get("chunks") or 0),
            "chunks_done": g("chunks_done", 0),
            "recipients": int(recipients or 0),
            "queued": max(0, int(recipients or 0) - processed),
            "sent": g("sent", 0),
            "failed": g("failed", 0),
            "unknown": g("unknown", 0),
            "stuck": g("stuck", 0),
            "errors": _errors(totals),
        }
        out["results"] = {
            "delivered": g("delivery_delivered", 0),
            "blocked": g("delivery_blocked", 0),
            "failed": g("delivery_failed", 0),
        }
    return out


def preview(campaign_id: str, body: Any, client: WeChatClient | None = None) -> dict[str, Any]:
    """Send the campaign's message now to a few listed openids (any status; not counted)."""
    if not isinstance(body, Mapping):
        raise ValueError("body must be a JSON object with openids")
    openids = body.get("openids")
    if not isinstance(openids, list) or not 1 <= len(openids) <= MAX_PREVIEW:
        raise ValueError(f"openids: a list of 1..{MAX_PREVIEW} openids")
    if not all(isinstance(o, str) and o.strip() for o in openids):
        raise ValueError("openids: strings")
    openids = list(dict.fromkeys(o.strip() for o in openids))
    campaign = store.get_campaign(campaign_id)
    spec = _spec(campaign)
    run = Run(client or campaign_run.default_client(), budget=PREVIEW_BUDGET)
    results = []
    if campaign["type"] == MASS:
        media_id = campaign_mass.prepared_media_id(campaign, spec, run)
        msgtype, payload = mass_message(spec["content"], media_id)
        for openid in openids:
            # Previews share the mass-send rate limit with the campaigns.
            if not campaign_mass._take_slot(run):
                results.append({"openid": openid, "ok": False, "error": "rate limited; retry"})
                continue
            results.append(
                _attempt(
                    openid,
                    lambda o=openid: run.client.messages.mass_preview(msgtype, payload, openid=o),
                )
            )
    else:
        template = spec["template"]
        fields = template_fields(template["data"]) - {"openid"}
        profiles = follower_profiles(openids, fields, run.client)
        for openid in openids:
            data = render_template_data(template["data"], profiles.get(openid, {"openid": openid}))
            results.append(
                _attempt(
                    openid,
                    lambda o=openid, d=data: run.client.messages.send_template(
                        o,
                        template["template_id"],
                        d,
                        url=template.get("url"),
                        miniprogram=template.get("miniprogram"),
                    ),
                )
            )
    return {"id": campaign_id, "results": results}


def _attempt(openid: str, call: Callable[[], Any]) -> dict[str, Any]:
    try:
        msg_id = call()
    except WeChatAPIError as exc:
        return {"openid": openid, "ok": False, "errcode": exc.errcode, "error": exc.errmsg}
    out: dict[str, Any] = {"openid": openid, "ok": True}
    if msg_id is not None:
        out["msg_id"] = str(msg_id)
    return out


# --------------------------------------------------------------------------- the dispatcher


def dispatch(
    client: WeChatClient | None = None,
    *,
    budget: float | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    context: Any = None,
) -> dict[str, Any]:
    """One scheduled run: start due campaigns, work on running ones, reconcile finished ones.
    Safe to run any number of times, concurrently: every step is a conditional write."""
    budget = budget_from(context, campaign_run.dispatch_budget()) if budget is None else budget
    now = clock()
    started = []
    for due in store.campaigns_by_status(store.SCHEDULED, send_at_max=now):
        done, _ = store.transition(due["id"], store.SCHEDULED, store.RUNNING, started_at=now)
        if done:
            started.append(due["id"])
            log.info("campaigns.started id=%s", due["id"])
    # The index may not show a campaign started a moment ago yet: those first.
    running = list(
        dict.fromkeys([*started, *(c["id"] for c in store.campaigns_by_status(store.RUNNING))])
    )
    recent = [
        c["id"]
        for c in store.campaigns_by_status(
            store.COMPLETED, send_at_min=now - RECONCILE_DAYS * 86400
        )
        if c.get("type") == MASS
        and not c.get("results_settled")
        and float(c.get("finished_at") or now) <= now - campaign_mass.RECONCILE_AFTER
    ]
    report: dict[str, Any] = {"started": started, "running": len(running)}
    if not running and not recent:
        return report
    run = Run(client or campaign_run.default_client(), budget=budget, clock=clock, sleep=sleep)
    for cid in running:
        if not run.has_time(2.0):
            break
        try:
            _work_on(cid, run)
        except Exception:  # one campaign's trouble must not stall the others
            log.exception("campaigns.dispatch_failed id=%s", cid)
            run.count("errors")
    for cid in recent:
        if not run.has_time(5.0):
            break
        try:
            _reconcile(cid, run)
        except Exception:
            log.exception("campaigns.reconcile_failed id=%s", cid)
            run.count("errors")
    report.update(run.report)
    return report


def _work_on(cid: str, run: Run) -> None:
    campaign = store.get_campaign(cid)
    if campaign.get("status") != store.RUNNING:
        return
    spec = _spec(campaign)
    try:
        if campaign["type"] == MASS:
            campaign_mass.run(campaign, spec, run)
        else:
            campaign_template.run(campaign, spec, run)
    except WeChatAPIError as exc:
        if exc.retryable:
            raise  # busy, quota, network: the next run tries again
        # e.g. the audience's tag was deleted (40050) or a CMS article is gone
        campaign_mass.fail_campaign(cid, f"[{exc.errcode}] {exc.errmsg}", run)
        return
    except NotFound as exc:  # a news campaign's CMS article was deleted
        campaign_mass.fail_campaign(cid, str(exc), run)
        return
    _maybe_complete(cid, run)


def _maybe_complete(cid: str, run: Run) -> bool:
    campaign = store.get_campaign(cid)
    if campaign.get("status") != store.RUNNING or not campaign.get("planned"):
        return False
    totals = store.totals(cid)
    if campaign["type"] == MASS:
        finished = totals.get("batches_done", 0) >= int(campaign.get("batches") or 0)
    else:
        finished = totals.get("chunks_done", 0) >= int(campaign.get("chunks") or 0)
    if not finished:
        return False
    done, _ = store.transition(cid, store.RUNNING, store.COMPLETED, finished_at=run.now())
    if done:
        log.info("campaigns.completed id=%s totals=%s", cid, json.dumps(totals))
        run.count("completed")
    return done


def _reconcile(cid: str, run: Run) -> None:
    """A completed mass campaign: ask mass/get about batches whose result never came; once
    every sent batch has a result, mark the campaign settled (never looked at again)."""
    totals = store.totals(cid)
    reconciled = sum(v for k, v in totals.items() if k.startswith("reconciled_"))
    if totals.get("batches_sent", 0) > totals.get("jobs_finished", 0) + reconciled:
        run.count("reconciled", campaign_mass.reconcile(cid, run))
    else:
        store.set_campaign_fields(cid, status=store.COMPLETED, results_settled=True)


# --------------------------------------------------------------------------- the sender


def _deliveries(event: Iterable[Any]) -> list[campaign_template.Delivery]:
    """Lambda's SQS records (chalice SQSRecord), messages as ReceiveMessage returns them (the
    local drain), or bare bodies (tests, the benchmark)."""
    out = []
    for record in event:
        if isinstance(record, campaign_template.Delivery):
            out.append(record)
            continue
        api = isinstance(record, Mapping) and "ReceiptHandle" in record  # ReceiveMessage's shape
        raw = record["Body"] if api else getattr(record, "body", record)
        try:
            body = json.loads(raw) if isinstance(raw, (str, bytes)) else raw
        except ValueError:
            body = None
        if not isinstance(body, dict):
            log.error("campaigns.bad_message %r", str(raw)[:200])  # dropped, never retried
            continue
        if api:
            message_id, handle = record.get("MessageId"), record["ReceiptHandle"]
            attributes = record.get("Attributes") or {}
        else:
            meta = record.to_dict() if hasattr(record, "to_dict") else {}
            message_id, handle = meta.get("messageId"), getattr(record, "receipt_handle", None)
            attributes = meta.get("attributes") or {}
        try:
            receives = int(attributes.get("ApproximateReceiveCount") or 1)
        except ValueError:
            receives = 1
        out.append(campaign_template.Delivery(body, message_id, handle, receives))
    return out


def handle_sqs(
    event: Iterable[Any],
    client: WeChatClient | None = None,
    *,
    clock: Callable[[], float] = time.time,
    context: Any = None,
    budget: float | None = None,
) -> dict[str, Any]:
    """The SQS-triggered template sender. An exception (storage down) fails the invocation and
    SQS redelivers after the visibility timeout; every step is idempotent. Messages held for the
    template quota come back in `batchItemFailures` (the event source mapping reports batch item
    failures, infra/build.py), so Lambda leaves them on the queue."""
    deliveries = _deliveries(event)
    if not deliveries:
        return {}
    budget = budget_from(context, SENDER_BUDGET) if budget is None else budget
    run = Run(client or campaign_run.default_client(), budget=budget, clock=clock)
    return campaign_template.handle_records(deliveries, run)


# --------------------------------------------------------------------------- make run

_queues_ready: set[tuple[str, str]] = set()


def _ensure_local_queue() -> None:
    key = (os.environ.get("AWS_ENDPOINT_URL", ""), store.queue_name())
    if key not in _queues_ready:
        store.ensure_queue()
        _queues_ready.add(key)


def dispatch_local() -> dict[str, Any] | None:
    """The dispatcher for `make run` (scheduled/local.py), with the queue created locally."""
    _ensure_local_queue()
    result = dispatch(budget=LOCAL_DISPATCH_BUDGET)
    return result if result.get("started") or len(result) > 2 else None


def drain_local(max_messages: int = 200, budget: float = 10.0) -> dict[str, int] | None:
    """`chalice local` runs no SQS triggers: pull the queue (moto) and call the sender, deleting
    each message once handled, as Lambda's event source mapping does."""
    _ensure_local_queue()
    deadline = time.monotonic() + budget
    outcomes: dict[str, int] = {}
    handled = 0
    while handled < max_messages and time.monotonic() < deadline:
        messages = store.receive(10)
        if not messages:
            break
        for message in messages:
            try:
                result = handle_sqs([message], budget=max(1.0, deadline - time.monotonic()))
            except Exception:
                log.exception("campaigns.local_send_failed")  # redelivered after the timeout
                continue
            if not result.pop("batchItemFailures", None):  # held ones stay on the queue
                store.delete_message(message["ReceiptHandle"])
            handled += 1
            for key, value in result.items():
                outcomes[key] = outcomes.get(key, 0) + value
    return outcomes or None


def reset() -> None:
    """Forget process caches (tests)."""
    _queues_ready.clear()
    store.reset_queue_cache()
