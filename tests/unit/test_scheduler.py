"""The local stand-in for EventBridge (scheduled/local.py)."""

from __future__ import annotations

import threading
import time

import pytest

from scheduled.local import LocalScheduler, default_jobs


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_jobs_run_at_start_then_on_their_interval():
    clock = Clock()
    runs: list[str] = []
    scheduler = LocalScheduler(
        [("fast", 10, lambda: runs.append("fast")), ("slow", 60, lambda: runs.append("slow"))],
        clock=clock,
    )
    for job in scheduler.jobs:
        job.next_run = clock.now  # what start() does
    assert scheduler.run_due() == 10
    assert runs == ["fast", "slow"]
    clock.now += 9
    scheduler.run_due()
    assert runs == ["fast", "slow"]
    clock.now += 1
    assert scheduler.run_due() == 10
    assert runs == ["fast", "slow", "fast"]
    clock.now += 50
    scheduler.run_due()
    assert runs == ["fast", "slow", "fast", "fast", "slow"]


def test_a_failing_job_is_logged_and_the_others_keep_running(caplog):
    clock = Clock()
    runs: list[str] = []

    def broken() -> None:
        raise RuntimeError("boom")

    scheduler = LocalScheduler(
        [("broken", 5, broken), ("ok", 5, lambda: runs.append("ok"))], clock=clock
    )
    for job in scheduler.jobs:
        job.next_run = clock.now
    scheduler.run_due()
    clock.now += 5
    scheduler.run_due()
    assert runs == ["ok", "ok"]
    broken_job = scheduler.jobs[0]
    assert broken_job.runs == 2 and broken_job.failures == 2


def test_thread_survives_exceptions_and_stops():
    done = threading.Event()
    calls = {"broken": 0, "ok": 0}

    def broken() -> None:
        calls["broken"] += 1
        raise ValueError("always")

    def ok() -> None:
        calls["ok"] += 1
        if calls["ok"] >= 3:
            done.set()

    scheduler = LocalScheduler([("broken", 0.01, broken), ("ok", 0.01, ok)])
    scheduler.start()
    try:
        assert done.wait(10), calls
        assert scheduler.running
    finally:
        scheduler.stop()
    assert not scheduler.running
    assert calls["broken"] >= 3  # it kept being retried, it did not stop the thread


def test_stop_before_start_and_twice_is_harmless():
    scheduler = LocalScheduler([("noop", 60, lambda: None)])
    scheduler.stop()
    with scheduler:
        pass
    scheduler.stop()


def test_default_jobs_mirror_the_app_schedules():
    from chalicelib.jobs import token_refresh

    jobs = {name: (interval, func) for name, interval, func in default_jobs()}
    assert jobs["token_refresh"] == (token_refresh.RATE_SECONDS, token_refresh.run)


def test_interval_must_be_positive():
    with pytest.raises(ValueError):
        LocalScheduler([("bad", 0, lambda: None)])


def _wait_runs(scheduler: LocalScheduler, name: str, runs: int) -> None:
    deadline = time.monotonic() + 10
    while scheduler.job(name).runs < runs:
        assert time.monotonic() < deadline, scheduler.job(name)
        time.sleep(0.01)


def test_trigger_runs_a_job_now_and_counts_its_interval_from_there():
    with LocalScheduler([("hourly", 3600, lambda: None)]) as scheduler:
        _wait_runs(scheduler, "hourly", 1)  # the run at start
        scheduler.trigger("hourly")  # wakes the sleeping loop: no hour-long wait
        _wait_runs(scheduler, "hourly", 2)
        assert scheduler.job("hourly").next_run > time.monotonic() + 3500
    assert scheduler.job("hourly").runs == 2
    with pytest.raises(KeyError):
        scheduler.trigger("nope")


def test_runs_counts_finished_runs():
    clock = Clock()
    seen: list[int] = []
    scheduler = LocalScheduler(
        [("j", 5, lambda: seen.append(scheduler.job("j").runs))], clock=clock
    )
    scheduler.job("j").next_run = clock.now
    scheduler.run_due()
    assert seen == [0] and scheduler.job("j").runs == 1
