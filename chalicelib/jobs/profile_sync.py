"""Follower profile sync: fill follower records from WeChat's user-info API.

Two sources of work, both resumable and bounded by a time budget (a Lambda has a timeout; what is
left is picked up by the next run):

- pending: records with `profile_sync = "pending"` (new followers, re-subscribers, anyone first
  seen through a message), found through the GSI `by_profile_sync`, 100 per
  `user/info/batchget` call. The 15-minute schedule keeps this queue short, so a new follower's
  profile arrives within ~15 minutes of subscribing; `POST /admin/followers/sync` runs it now.
- full resync: every follower in WeChat's list (`user/get`, 10,000 per page), again 100 per
  batchget, with the position (the last openid done) kept in the config table so the next run
  continues where this one stopped. Started weekly and on demand; continued by every scheduled run
  until the list is exhausted. It also creates records for followers we have never heard from.

An openid WeChat does not know (errcode 40003 fails the whole batch) is isolated by splitting the
batch and marked "invalid", so one bad id never blocks the queue. Any other WeChat error (token,
quota, network) stops the run; the work stays pending.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.errors import InvalidInput
from chalicelib.jobs import schedules
from chalicelib.store import follower_profiles as profiles
from chalicelib.store.errors import StoreUnavailable
from chalicelib.wechat.api import WeChatAPIError
from chalicelib.wechat.api.users import BATCH_INFO_MAX, chunked

if TYPE_CHECKING:
    from chalicelib.wechat.api import WeChatClient

log = logging.getLogger("wxless.jobs.profile_sync")

RATE_MINUTES = schedules.PROFILE_SYNC_RATE_MINUTES
RATE_SECONDS = RATE_MINUTES * 60
INVALID_OPENID = 40003
#: Seconds a run may spend when nobody tells it better (an admin request: the Lambda timeout is
#: 10 s); scheduled runs use the Lambda's remaining time minus SAFETY_MARGIN.
DEFAULT_BUDGET = 6.0
SAFETY_MARGIN = 3.0
WRITERS = 8  # concurrent record updates per batch


def default_client() -> WeChatClient:
    """The app's WeChat client (token from the shared token store). Tests patch this."""
    from chalicelib.jobs import wechat

    return wechat.client()


@dataclass
class SyncReport:
    mode: str
    batches: int = 0
    synced: int = 0
    unsubscribed: int = 0
    invalid: int = 0
    raced: int = 0  # a (un)subscribe landed after the fetch: left for the next run
    stopped_early: bool = False  # the budget ran out with work left
    error: str | None = None
    full_resync: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fetch(client: WeChatClient, openids: list[str]) -> list[tuple[str, dict[str, Any] | None]]:
    """(openid, user info) pairs; None for an openid WeChat refuses as invalid."""
    try:
        infos = client.users.batch_info(openids)
    except WeChatAPIError as exc:
        if exc.errcode != INVALID_OPENID:
            raise
        if len(openids) == 1:
            return [(openids[0], None)]
        middle = len(openids) // 2
        return _fetch(client, openids[:middle]) + _fetch(client, openids[middle:])
    by_openid = {i.get("openid"): i for i in infos if isinstance(i, dict)}
    return [(o, by_openid[o]) for o in openids if o in by_openid]


def _store(openid: str, info: dict[str, Any] | None, fetched_at: float) -> str:
    if info is None:
        profiles.mark_invalid(openid)
        return "invalid"
    return profiles.apply_profile(openid, info, fetched_at)


def sync_batch(client: WeChatClient, openids: list[str], report: SyncReport) -> None:
    fetched_at = time.time()  # before the call: an event after this point is newer than the answer
    answers = _fetch(client, openids)
    # 100 small independent UpdateItems: a few at a time, so a batch costs ~one WeChat call plus
    # a few DynamoDB round trips instead of a hundred. The first runs alone: it builds the
    # table's botocore client, which must not be created by several threads at once.
    outcomes = [_store(*pair, fetched_at) for pair in answers[:1]]
    if answers[1:]:
        with ThreadPoolExecutor(max_workers=WRITERS) as pool:
            outcomes += pool.map(lambda pair: _store(*pair, fetched_at), answers[1:])
    counts = Counter(outcomes)
    report.synced += counts["synced"]
    report.unsubscribed += counts["unsubscribed"]
    report.invalid += counts["invalid"]
    report.raced += counts["raced"]
    report.batches += 1


def _sync_all(
    client: WeChatClient,
    openids: Iterable[str],
    report: SyncReport,
    out_of_time: Callable[[], bool],
    after_batch: Callable[[list[str]], None] | None = None,
) -> bool:
    """Sync in batches until `openids` ends (True) or time runs out (False)."""
    for batch in chunked(openids, BATCH_INFO_MAX):
        if out_of_time():
            report.stopped_early = True
            return False
        sync_batch(client, batch, report)
        if after_batch is not None:
            after_batch(batch)
    return True


def start_full_resync(now: float | None = None) -> dict[str, Any]:
    """Begin a full resync unless one is running (then it just continues)."""
    state = profiles.resync_state()
    if not state.get("running"):
        state = {
            "running": True,
            "cursor": "",
            "started_at": int(now or time.time()),
            "processed": 0,
            "completed_at": state.get("completed_at"),
        }
        profiles.save_resync_state(state)
    return state


def _continue_full_resync(
    client: WeChatClient, report: SyncReport, out_of_time: Callable[[], bool]
) -> None:
    state = profiles.resync_state()
    if state.get("running"):

        def remember(batch: list[str]) -> None:
            # `next_openid` lists the followers after the given one, so the last openid done
            # is the position to resume from.
            state["cursor"] = batch[-1]
            state["processed"] = int(state.get("processed") or 0) + len(batch)
            profiles.save_resync_state(state)

        listing = client.users.iter_followers(state.get("cursor") or None)
        if _sync_all(client, listing, report, out_of_time, remember):
            state.update(running=False, cursor="", completed_at=int(time.time()))
            profiles.save_resync_state(state)
    report.full_resync = {k: v for k, v in state.items() if k != "cursor"}


def run(
    client: WeChatClient | None = None,
    *,
    mode: str = "pending",
    budget: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> SyncReport:
    """`pending`: the pending queue. `full`: start a full resync (unless one runs), then the
    pending queue, then continue the resync. `scheduled`: the pending queue, then continue a
    running resync. Never raises for WeChat or storage trouble: it is in `error`."""
    if mode not in ("pending", "full", "scheduled"):
        raise InvalidInput("mode must be pending or full")
    deadline = clock() + (DEFAULT_BUDGET if budget is None else budget)
    report = SyncReport(mode)
    try:
        api = client or default_client()
        if mode == "full":
            start_full_resync()
        _sync_all(
            api, profiles.pending_openids(BATCH_INFO_MAX), report, lambda: clock() >= deadline
        )
        if mode != "pending" and not report.stopped_early:
            _continue_full_resync(api, report, lambda: clock() >= deadline)
    except (WeChatAPIError, StoreUnavailable) as exc:
        report.error = f"{type(exc).__name__}: {exc}"
        log.warning("profile_sync.stopped: %s", report.error)
    if report.batches or report.error:
        log.info("profile_sync %s", report.as_dict())
    return report


def _budget_of(event: Any) -> float:
    context = getattr(event, "context", None)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return DEFAULT_BUDGET
    return max(1.0, remaining() / 1000 - SAFETY_MARGIN)


def scheduled(event: Any = None) -> dict[str, Any]:
    """EventBridge, every RATE_MINUTES."""
    return run(mode="scheduled", budget=_budget_of(event)).as_dict()


def weekly_full_resync(event: Any = None) -> dict[str, Any]:
    """EventBridge, weekly: start a full resync; the 15-minute runs carry it on."""
    return run(mode="full", budget=_budget_of(event)).as_dict()


def scheduled_local() -> dict[str, Any] | None:
    """The local runner's stand-in for the schedule (scheduled/local.py): quiet when idle."""
    report = run(mode="scheduled")
    return report.as_dict() if report.batches or report.error else None
