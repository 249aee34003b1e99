"""Exactly once under concurrency and crashes: two dispatchers at once, and a crash at every
write point (before it lands and after it lands) of a mass campaign and a template campaign,
each followed by recovery; calls are counted at the fake WeChat."""

# ruff: noqa: F811  (fixtures imported from test_campaigns are then named as parameters)

from __future__ import annotations

import threading
from collections import defaultdict

import pytest

from chalicelib import wiring
from chalicelib.campaigns import admin as services
from chalicelib.campaigns import mass, template
from chalicelib.campaigns import run as campaign_run
from chalicelib.jobs import campaigns
from chalicelib.store import campaign_items as items
from chalicelib.store import campaign_work as work
from chalicelib.store import campaigns as table
from chalicelib.store.aws import client as aws_client
from tests.functional.test_campaigns import (  # noqa: F401  (fixtures)
    SEND,
    SENDALL,
    _moto_for_module,
    aws,
    clock,
    dispatch,
    drain_queue,
    empty_tables,
    mass_body,
    openids,
    queue,
    template_body,
    wx,
)

TEMPLATE_SEND = "/cgi-bin/message/template/send"
WRITES = {
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "TransactWriteItems",
    "BatchWriteItem",
    "SendMessage",
    "SendMessageBatch",
    "DeleteMessage",
}


class Crash(BaseException):
    """The process dies: a BaseException, so no `except Exception` in the code swallows it."""


class CrashAt:
    """Kill the run at the n-th write (DynamoDB or SQS): `before` it reaches AWS, or `after`
    it landed (before the code sees the answer)."""

    def __init__(self, n: int, when: str) -> None:
        self.n, self.when = n, when
        self.seen = 0
        self.fired = False
        self.clients = [aws_client("dynamodb"), aws_client("sqs")]

    def _before(self, model, **_kw) -> None:
        if model.name not in WRITES:
            return
        self.seen += 1
        if self.when == "before" and self.seen == self.n and not self.fired:
            self.fired = True
            raise Crash(f"before write {self.n} ({model.name})")

    def _after(self, model, **_kw) -> None:
        if model.name in WRITES and self.when == "after" and self.seen == self.n and not self.fired:
            self.fired = True
            raise Crash(f"after write {self.n} ({model.name})")

    def __enter__(self) -> CrashAt:
        for c in self.clients:
            c.meta.events.register("before-call", self._before, unique_id=f"crash-b-{id(self)}")
            c.meta.events.register("after-call", self._after, unique_id=f"crash-a-{id(self)}")
        return self

    def __exit__(self, *exc) -> bool:
        for c in self.clients:
            c.meta.events.unregister("before-call", unique_id=f"crash-b-{id(self)}")
            c.meta.events.unregister("after-call", unique_id=f"crash-a-{id(self)}")
        return exc[0] is Crash  # the crash ends the run; anything else is a test failure


# --------------------------------------------------------------------------- concurrency


def test_fires_once_when_two_dispatchers_run_concurrently(wx, fake_wechat, clock, monkeypatch):
    for openid in openids(3):
        fake_wechat.add_follower(openid)
    created = services.create(mass_body({"type": "all"}, clock.t), now=clock.t)
    ddb = aws_client("dynamodb")
    # DynamoDB applies a conditional write atomically; moto in one process does not promise
    # that across threads, so calls are serialized (each one atomic, as in DynamoDB).
    lock = threading.RLock()
    real_call = ddb._make_api_call
    # Both runs read the due campaign before either tries to start it.
    barrier = threading.Barrier(2, timeout=10)
    local = threading.local()

    def atomic_call(operation, params):
        if operation == "UpdateItem" and not getattr(local, "met", False):
            local.met = True
            barrier.wait()
        with lock:
            return real_call(operation, params)

    monkeypatch.setattr(ddb, "_make_api_call", atomic_call)
    reports, errors = [], []

    def run():
        try:
            reports.append(dispatch(wx, clock))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert sorted(len(r["started"]) for r in reports) == [0, 1]  # one run started it
    assert fake_wechat.count(SENDALL) == 1
    assert len(fake_wechat.mass_jobs) == 1
    detail = services.detail(created["id"])
    assert detail["status"] == "completed" and detail["progress"]["batches_sent"] == 1


def test_a_dead_workers_lease_expires_and_its_batch_is_taken_over(wx, fake_wechat, clock):
    created = services.create(
        mass_body({"type": "openids", "openids": openids(4)}, clock.t), now=clock.t
    )
    # A worker started the campaign, claimed batch 1 and died before calling WeChat.
    table.transition(created["id"], table.SCHEDULED, table.RUNNING, started_at=clock.t)
    assert work.claim_batch(created["id"], items.batch_sk(1), "dead-worker", clock.t, 120)
    dispatch(wx, clock)
    assert fake_wechat.count(SEND) == 0  # the lease is still held
    clock.advance(mass.LEASE + 1)
    dispatch(wx, clock)
    assert fake_wechat.count(SEND) == 1
    batch = items.get_part(created["id"], items.batch_sk(1), fields=("state", "attempts"))
    assert batch == {"state": items.SENT, "attempts": 2}


# --------------------------------------------------------------------------- mass: every write


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(services, "MASS_BATCH", 4)  # 10 followers -> batches of 4, 3, 3


def test_crash_after_batch_k_of_n_resumes_and_sends_each_batch_once(
    wx, fake_wechat, clock, small_batches
):
    audience = openids(10)
    created = services.create(
        mass_body({"type": "openids", "openids": audience}, clock.t), now=clock.t
    )
    sent_writes = 0

    def die_after_second_batch(model, **_kw):
        nonlocal sent_writes
        if model.name == "TransactWriteItems":
            sent_writes += 1
            if sent_writes == 2:
                raise Crash("after batch 2 of 3 was recorded")

    ddb = aws_client("dynamodb")
    ddb.meta.events.register("after-call", die_after_second_batch, unique_id="die")
    try:
        with pytest.raises(Crash):
            dispatch(wx, clock)
    finally:
        ddb.meta.events.unregister("after-call", unique_id="die")
    assert fake_wechat.count(SEND) == 2
    dispatch(wx, clock)
    assert fake_wechat.count(SEND) == 3
    reached = sorted(o for j in fake_wechat.mass_jobs.values() for o in j["audience"])
    assert reached == sorted(audience)
    assert services.detail(created["id"])["progress"]["sent"] == 10


@pytest.mark.parametrize("when", ["before", "after"])
def test_mass_crash_at_every_write_point_recovers_exactly_once(
    wx, fake_wechat, clock, small_batches, when
):
    exercised = 0
    for n in range(1, 60):
        fake_wechat.reset()  # calls and mass jobs of this round only (tokens stay valid)
        empty_tables(only_campaigns=True)  # moto copies every table in each transaction
        audience = openids(10)
        created = services.create(
            mass_body({"type": "openids", "openids": audience}, clock.t), now=clock.t
        )
        with CrashAt(n, when) as crash:
            dispatch(wx, clock)
        if not crash.fired:
            break  # n is past the last write of a whole run
        exercised += 1
        for _ in range(3):  # the next runs, after the dead run's leases expired
            if services.detail(created["id"])["status"] == "completed":
                break
            clock.advance(mass.LEASE + 1)
            dispatch(wx, clock)
        detail = services.detail(created["id"])
        where = f"crash {when} write {n}"
        assert detail["status"] == "completed", where
        jobs = [j for j in fake_wechat.mass_jobs.values() if j["path"] == SEND]
        assert len(jobs) == 3, where  # three batches, each accepted once by WeChat
        reached = sorted(o for j in jobs for o in j["audience"])
        assert reached == sorted(audience), where  # every follower exactly once
        assert fake_wechat.count(SEND) <= 4, where  # at most one resend, deduplicated (45065)
        progress = detail["progress"]
        assert (progress["batches_sent"], progress["sent"], progress["queued"]) == (3, 10, 0), where
    # start, 3 x (rate slot, claim, sent + counters + pointer), completion
    assert exercised >= 11


# --------------------------------------------------------------------------- template: every write


@pytest.fixture
def small_chunks(monkeypatch, queue):
    monkeypatch.setattr(campaign_run, "MIN_CHUNK", 1)
    monkeypatch.setenv("WXLESS_TEMPLATE_CHUNK", "2")
    # A message whose handler died is visible again at once (as after the visibility timeout).
    aws_client("sqs").set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "0"})


def send_all(wx, clock) -> None:
    drain_queue(lambda bodies: campaigns.handle_sqs(bodies, wx, clock=clock, budget=30))


def check_template_once(created: dict, audience: list[str], fake_wechat, where: str) -> None:
    """The campaign completed and every follower got it once: a repeat (a crash or fault between
    WeChat's answer and our write) carries the same client_msg_id, which WeChat delivers once."""
    detail = services.detail(created["id"])
    assert detail["status"] == "completed", where
    by_follower = defaultdict(set)
    for message in fake_wechat.template_messages:
        by_follower[message["touser"]].add(message["client_msg_id"])
    assert sorted(by_follower) == sorted(audience), where
    for openid, keys in by_follower.items():
        assert keys == {template.client_msg_id(created["id"], openid)}, where
    progress = detail["progress"]
    assert (progress["sent"], progress["failed"], progress["unknown"]) == (3, 0, 0), where
    assert progress["chunks_done"] == progress["chunks"] == 2, where


@pytest.mark.parametrize("when", ["before", "after"])
def test_template_crash_at_every_write_point_recovers_exactly_once(
    wx, fake_wechat, clock, small_chunks, when
):
    audience = openids(3, "o_t_")  # chunks of 2: two chunks, one of them partial
    exercised = 0
    for n in range(1, 80):
        fake_wechat.reset()
        empty_tables(only_campaigns=True)
        for openid in audience:
            fake_wechat.add_follower(openid, remark=openid[-2:])
        created = services.create(
            template_body({"type": "all"}, clock.t), now=clock.t, client=wiring.wechat()
        )
        with CrashAt(n, when) as crash:
            dispatch(wx, clock)  # plan, enqueue
            send_all(wx, clock)  # the SQS-triggered sender
            dispatch(wx, clock)  # completion
        if not crash.fired:
            break
        exercised += 1
        for wait in (template.LEASE + 1, template.STUCK_AFTER + 1):
            if services.detail(created["id"])["status"] == "completed":
                break
            clock.advance(wait)  # leases expire; then the sweep re-sends lost chunks
            dispatch(wx, clock)
            send_all(wx, clock)
            dispatch(wx, clock)
        where = f"crash {when} write {n}"
        check_template_once(created, audience, fake_wechat, where)
        assert fake_wechat.count(TEMPLATE_SEND) <= len(audience) + 1, where
    # start, plan, enqueue, 3 x (claim, pointer, sent), 2 x (chunk done, ack), completion
    assert exercised >= 16
