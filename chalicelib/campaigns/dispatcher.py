"""The dispatcher (every minute; EventBridge delivers at least once, runs may overlap): start
due campaigns, work on running ones (mass batches; template planning and the stuck-chunk sweep),
complete them, and reconcile recent mass campaigns whose completion events never came."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.campaigns import mass, template
from chalicelib.campaigns.run import Run
from chalicelib.campaigns.spec import MASS, stored_spec
from chalicelib.errors import NotFound
from chalicelib.store import campaign_items as items
from chalicelib.store import campaigns as table
from chalicelib.wechat.api import WeChatAPIError

if TYPE_CHECKING:
    from chalicelib.campaigns.queue import SendQueue
    from chalicelib.wechat.api import WeChatClient

log = logging.getLogger("wxless.campaigns")

RECONCILE_DAYS = 3  # completed mass campaigns are reconciled for this long after their send time


def dispatch(
    client: WeChatClient,
    queue: SendQueue,
    *,
    budget: float,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """One scheduled run: start due campaigns, work on running ones, reconcile finished ones.
    Safe to run any number of times, concurrently: every step is a conditional write."""
    now = clock()
    started = []
    for due in table.campaigns_by_status(table.SCHEDULED, send_at_max=now):
        done, _ = table.transition(due["id"], table.SCHEDULED, table.RUNNING, started_at=now)
        if done:
            started.append(due["id"])
            log.info("campaigns.started id=%s", due["id"])
    # The index may not show a campaign started a moment ago yet: those first.
    running = list(
        dict.fromkeys([*started, *(c["id"] for c in table.campaigns_by_status(table.RUNNING))])
    )
    recent = [
        c["id"]
        for c in table.campaigns_by_status(
            table.COMPLETED, send_at_min=now - RECONCILE_DAYS * 86400
        )
        if c.get("type") == MASS
        and not c.get("results_settled")
        and float(c.get("finished_at") or now) <= now - mass.RECONCILE_AFTER
    ]
    report: dict[str, Any] = {"started": started, "running": len(running)}
    if not running and not recent:
        return report
    run = Run(client, queue, budget=budget, clock=clock, sleep=sleep)
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
    campaign = table.get_campaign(cid)
    if campaign.get("status") != table.RUNNING:
        return
    spec = stored_spec(campaign)
    try:
        if campaign["type"] == MASS:
            mass.run(campaign, spec, run)
        else:
            template.run(campaign, spec, run)
    except WeChatAPIError as exc:
        if exc.retryable:
            raise  # busy, quota, network: the next run tries again
        # e.g. the audience's tag was deleted (40050) or a CMS article is gone
        mass.fail_campaign(cid, f"[{exc.errcode}] {exc.errmsg}", run)
        return
    except NotFound as exc:  # a news campaign's CMS article was deleted
        mass.fail_campaign(cid, str(exc), run)
        return
    _maybe_complete(cid, run)


def _maybe_complete(cid: str, run: Run) -> bool:
    campaign = table.get_campaign(cid)
    if campaign.get("status") != table.RUNNING or not campaign.get("planned"):
        return False
    totals = items.totals(cid)
    if campaign["type"] == MASS:
        finished = totals.get("batches_done", 0) >= int(campaign.get("batches") or 0)
    else:
        finished = totals.get("chunks_done", 0) >= int(campaign.get("chunks") or 0)
    if not finished:
        return False
    done, _ = table.transition(cid, table.RUNNING, table.COMPLETED, finished_at=run.now())
    if done:
        log.info("campaigns.completed id=%s totals=%s", cid, json.dumps(totals))
        run.count("completed")
    return done


def _reconcile(cid: str, run: Run) -> None:
    """A completed mass campaign: ask mass/get about batches whose result never came; once
    every sent batch has a result, mark the campaign settled (never looked at again)."""
    totals = items.totals(cid)
    reconciled = sum(v for k, v in totals.items() if k.startswith("reconciled_"))
    if totals.get("batches_sent", 0) > totals.get("jobs_finished", 0) + reconciled:
        run.count("reconciled", mass.reconcile(cid, run))
    else:
        table.set_campaign_fields(cid, status=table.COMPLETED, results_settled=True)
