"""Faults during campaign dispatch: DynamoDB and SQS failing at each write in turn (throttled,
or the write landed and its answer was lost), and WeChat failing mid-campaign (5xx, -1 busy,
40001, 45009, a timeout). The dispatcher never crashes the schedule for good, the next runs
resume, and once the fault clears every batch / every follower is sent exactly once.
(test_campaigns_recovery.py kills the process at the same points; here the code sees the
error and must handle it.)"""

# ruff: noqa: F811  (fixtures imported from test_campaigns are then named as parameters)

from __future__ import annotations

import contextlib
import time
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.campaigns import admin as services
from chalicelib.campaigns import mass, quota, template
from chalicelib.campaigns.queue import SendQueue
from tests.faults import LOST_ANSWER, RESENT, injected
from tests.functional.test_campaigns import (  # noqa: F401  (fixtures)
    SEND,
    _moto_for_module,
    aws,
    clock,
    dispatch,
    drain_queue,
    empty_tables,
    impatient,
    mass_body,
    openids,
    queue,
    template_body,
    wx,
)
from tests.functional.test_campaigns_recovery import (  # noqa: F401  (fixtures)
    TEMPLATE_SEND,
    check_template_once,
    send_all,
    small_batches,
    small_chunks,
)

# A throttled write (the code sees an error) and a write that landed but whose answer was lost
# (the code cannot know it happened): the two ways a fault can tempt code into applying twice.
STORE_FAULTS = ["ProvisionedThroughputExceededException", LOST_ANSWER]


def _attempt(step) -> None:
    """One scheduled invocation: a failure is what Lambda reports; EventBridge / SQS run it
    again later, which the test does explicitly."""
    with contextlib.suppress(Exception):
        step()


def _check_mass_once(created: dict, audience: list[str], fake_wechat, where: str) -> None:
    detail = services.detail(created["id"])
    assert detail["status"] == "completed", where
    jobs = [j for j in fake_wechat.mass_jobs.values() if j["path"] == SEND]
    assert len(jobs) == 3, where  # three batches, each accepted once by WeChat
    reached = sorted(o for j in jobs for o in j["audience"])
    assert reached == sorted(audience), where  # every follower exactly once
    progress = detail["progress"]
    assert (progress["batches_sent"], progress["sent"], progress["queued"]) == (3, 10, 0), where


# Also a write re-sent by botocore after a lost answer (it meets its own first attempt). The
# template path is left out: there a re-sent recipient claim looks like another worker's and
# waits out its lease, which moto's queue makes cost ~45 s of real time here.
@pytest.mark.parametrize("kind", [*STORE_FAULTS, RESENT])
def test_mass_store_fault_at_every_write_resumes_and_sends_each_batch_once(
    wx, fake_wechat, clock, small_batches, kind
):
    exercised = 0
    for n in range(1, 60):
        fake_wechat.reset()
        empty_tables(only_campaigns=True)
        audience = openids(10)
        created = services.create(
            mass_body({"type": "openids", "openids": audience}, clock.t), now=clock.t
        )
        with injected() as faults:
            faults.fail_nth(n, kind)
            _attempt(lambda: dispatch(wx, clock))
        if not faults.fired:
            break  # n is past the last write of a whole run
        exercised += 1
        for _ in range(4):  # the next scheduled runs, leases and back-offs expiring between
            if services.detail(created["id"])["status"] == "completed":
                break
            clock.advance(mass.LEASE + 61)
            dispatch(wx, clock)
        where = f"{kind} at write {n} ({faults.fired[0]})"
        _check_mass_once(created, audience, fake_wechat, where)
        assert fake_wechat.count(SEND) <= 4, where  # at most one resend, deduplicated (45065)
    assert exercised >= 11


@pytest.mark.parametrize("kind", STORE_FAULTS)
def test_template_store_and_sqs_fault_at_every_write_resumes_and_sends_once(
    wx, fake_wechat, clock, small_chunks, kind
):
    audience = openids(3, "o_t_")  # chunks of 2: two chunks, one of them partial
    exercised, fired_on = 0, set()
    for n in range(1, 80):
        fake_wechat.reset()
        empty_tables(only_campaigns=True)
        for openid in audience:
            fake_wechat.add_follower(openid, remark=openid[-2:])
        created = services.create(
            template_body({"type": "all"}, clock.t), now=clock.t, client=wiring.wechat()
        )
        with injected() as faults:
            faults.fail_nth(n, kind)
            _attempt(lambda: dispatch(wx, clock))  # plan, enqueue (SQS SendMessageBatch)
            _attempt(lambda: send_all(wx, clock))  # the SQS-triggered sender
            _attempt(lambda: dispatch(wx, clock))  # completion
        if not faults.fired:
            break
        exercised += 1
        fired_on.update(faults.fired)
        for wait in (template.LEASE + 1, template.STUCK_AFTER + 1, 120):
            if services.detail(created["id"])["status"] == "completed":
                break
            clock.advance(wait)  # leases expire; then the sweep re-sends lost chunks
            dispatch(wx, clock)
            send_all(wx, clock)
            dispatch(wx, clock)
        where = f"{kind} at write {n} ({faults.fired[0]})"
        check_template_once(created, audience, fake_wechat, where)
        assert fake_wechat.count(TEMPLATE_SEND) <= len(audience) + 1, where
    assert exercised >= 16
    assert {"SendMessageBatch", "DeleteMessage"} <= fired_on or "SendMessage" in fired_on


# name -> FakeWeChat.inject_error arguments, for the second batch's send
WECHAT_FAULTS: dict[str, dict[str, Any]] = {
    "http-503": {"errcode": None, "status": 503},
    "busy-1": {"errcode": -1, "errmsg": "system error"},
    "40001": {"errcode": 40001, "errmsg": "invalid credential"},
    "45009": {"errcode": 45009, "errmsg": "reach max api daily quota limit"},
    "timeout": {"errcode": None, "delay": 0.6},
}


@pytest.mark.parametrize("fault", sorted(WECHAT_FAULTS))
def test_mass_wechat_fault_mid_campaign_resumes_and_sends_each_batch_once(
    wx, fake_wechat, clock, small_batches, fault
):
    audience = openids(10)
    created = services.create(
        mass_body({"type": "openids", "openids": audience}, clock.t), now=clock.t
    )
    fake_wechat.inject_error(SEND, times=1, **WECHAT_FAULTS[fault])
    runner = impatient(wx) if fault == "timeout" else wx
    dispatch(runner, clock)  # batch 1 meets the fault
    detail = services.detail(created["id"])
    if fault == "40001":  # the client re-read the token and retried that one call at once
        assert detail["status"] == "completed"
    else:  # the batch waits for a later run
        assert detail["status"] == "running" and detail["progress"]["batches_sent"] < 3
    if fault == "timeout":
        time.sleep(0.7)  # the fake finishes the request whose answer was lost
    for _ in range(4):
        if services.detail(created["id"])["status"] == "completed":
            break
        clock.advance(mass.LEASE + 61)
        dispatch(wx, clock)
    _check_mass_once(created, audience, fake_wechat, fault)
    if fault != "timeout":  # (a busy machine may time out another call: deduplicated, 45065)
        assert fake_wechat.count(SEND) == 4  # the failed call, then one call per batch


@pytest.fixture
def no_queue_delay(monkeypatch):
    """moto honours SQS DelaySeconds in real time; the back-off itself is not under test here."""
    real = SendQueue.enqueue
    monkeypatch.setattr(SendQueue, "enqueue", lambda self, bodies, delay=0: real(self, bodies))


@pytest.mark.parametrize("fault", sorted(WECHAT_FAULTS))
def test_template_wechat_fault_mid_fanout_resumes_and_sends_once(
    wx, fake_wechat, clock, small_chunks, no_queue_delay, fault
):
    audience = openids(3, "o_t_")
    for openid in audience:
        fake_wechat.add_follower(openid, remark=openid[-2:])
    created = services.create(
        template_body({"type": "all"}, clock.t), now=clock.t, client=wiring.wechat()
    )
    fake_wechat.inject_error(TEMPLATE_SEND, times=1, **WECHAT_FAULTS[fault])
    runner = impatient(wx) if fault == "timeout" else wx
    dispatch(wx, clock)
    _attempt(lambda: send_all(runner, clock))
    if fault == "timeout":
        time.sleep(0.7)  # the fake finishes the request whose answer was lost
    if fault == "45009":  # template sending is paused until the daily quota resets
        assert fake_wechat.count(TEMPLATE_SEND) == 1
        clock.t = quota.quota_reset_after(clock.t) + quota.RESUME_MARGIN
    for _ in range(4):  # later deliveries, well inside WeChat's 10-minute dedup window
        dispatch(wx, clock)
        if services.detail(created["id"])["status"] == "completed":
            break
        clock.advance(template.LEASE + 1)
        send_all(wx, clock)
    check_template_once(created, audience, fake_wechat, fault)
    # the failed call and one call per follower (40001: the client's own retry of that call)
    if fault != "timeout":  # (a busy machine may time out another call: same client_msg_id)
        assert fake_wechat.count(TEMPLATE_SEND) == len(audience) + 1


def test_template_minute_quota_backs_off_with_jitter_and_sends_once(
    wx, fake_wechat, clock, small_chunks, monkeypatch
):
    delays: list[int] = []
    real = SendQueue.enqueue

    def recording(self, bodies, delay=0):
        delays.append(delay)
        real(self, bodies)  # moto honours DelaySeconds in real time: record it, do not wait

    monkeypatch.setattr(SendQueue, "enqueue", recording)
    audience = openids(3, "o_q_")
    for openid in audience:
        fake_wechat.add_follower(openid, remark=openid[-2:])
    created = services.create(
        template_body({"type": "all"}, clock.t), now=clock.t, client=wiring.wechat()
    )
    fake_wechat.inject_error(TEMPLATE_SEND, times=1, errcode=45011, errmsg="api minute-quota")
    dispatch(wx, clock)
    send_all(wx, clock)
    backoffs = [d for d in delays if d]
    assert backoffs, delays  # the rate-limited chunk went back, delayed
    base = template.MINUTE_QUOTA_DELAY
    assert all(base <= d <= base * 3 // 2 for d in backoffs), backoffs
    for _ in range(4):
        if services.detail(created["id"])["status"] == "completed":
            break
        clock.advance(template.LEASE + 1)
        dispatch(wx, clock)
        send_all(wx, clock)
    check_template_once(created, audience, fake_wechat, "45011")


def test_backoff_spreads_and_keeps_zero():
    values = {template.backoff(60) for _ in range(200)}
    assert min(values) >= 60 and max(values) <= 90 and len(values) > 5
    assert template.backoff(0) == 0
