"""The local stand-in for EventBridge: `chalice local` does not run `@app.schedule` functions.

`make run` (infra/local_run.py) starts a `LocalScheduler` once the app is healthy and stops it on
shutdown. It runs in the runner process with the same environment as the app (AWS_ENDPOINT_URL
points at the embedded moto, WECHAT_API_BASE at the fake WeChat), so the jobs read and write the
same tables the app serves from.

Adding a job is one line in `default_jobs()`: (name, interval in seconds, callable). Each job runs
once at start and then every interval; jobs run one after another on one daemon thread, and an
exception is logged and never stops the thread.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("wxless.scheduler")


@dataclass
class Job:
    name: str
    interval: float
    func: Callable[[], Any]
    next_run: float = 0.0
    runs: int = 0  # finished runs, failed ones included
    failures: int = 0
    last_result: Any = field(default=None, repr=False)


def default_jobs() -> list[tuple[str, float, Callable[[], Any]]]:
    """The app's schedules, mirroring the `@app.schedule` declarations in app.py."""
    from chalicelib.jobs import campaigns, profile_sync, token_refresh, wechat_stats

    return [
        ("token_refresh", token_refresh.RATE_SECONDS, token_refresh.run),
        # Every 15 s locally (every minute on AWS); then the SQS sender, which chalice local lacks.
        ("campaigns_dispatch", 15, campaigns.dispatch_local),
        ("campaigns_send", 2, campaigns.drain_local),
        ("profile_sync", 60, profile_sync.scheduled_local),  # 15 min on AWS
        ("wechat_stats", 86400, wechat_stats.run),  # daily, as on AWS: once at start
    ]


class LocalScheduler:
    def __init__(
        self,
        jobs: Sequence[tuple[str, float, Callable[[], Any]]] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        specs = default_jobs() if jobs is None else list(jobs)
        for name, interval, _ in specs:
            if interval <= 0:
                raise ValueError(f"job {name}: interval must be positive")
        self.jobs = [Job(name, float(interval), func) for name, interval, func in specs]
        self._clock = clock
        self._stop = threading.Event()
        # Set by stop() and trigger(): ends the loop's wait at once instead of at the next due job.
        self._wake = threading.Event()
        self._triggered: set[str] = set()
        self._trigger_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        _ensure_log_handler()

    def start(self) -> LocalScheduler:
        if self._thread is not None:
            return self
        self._stop.clear()
        now = self._clock()
        for job in self.jobs:
            job.next_run = now  # every job runs once right away
        self._thread = threading.Thread(target=self._loop, name="local-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def __enter__(self) -> LocalScheduler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def job(self, name: str) -> Job:
        for job in self.jobs:
            if job.name == name:
                return job
        raise KeyError(f"no job {name!r}")

    def trigger(self, name: str) -> None:
        """Make `name` due now (like running an EventBridge rule by hand); the running loop
        picks it up at once. Its next regular run is counted from this one."""
        self.job(name)
        with self._trigger_lock:
            self._triggered.add(name)
        self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_due(self) -> float:
        """Run every due job once; return seconds until the next one is due."""
        for job in self.jobs:
            if self._stop.is_set():
                break
            with self._trigger_lock:
                triggered = job.name in self._triggered
                self._triggered.discard(job.name)
            if triggered or self._clock() >= job.next_run:
                self._run(job)
                # Scheduled from the end of the run: a slow job never piles up behind itself.
                job.next_run = self._clock() + job.interval
        if not self.jobs:
            return 3600.0
        return max(0.0, min(job.next_run for job in self.jobs) - self._clock())

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.run_due()
            except BaseException:  # never let the thread die; keep ticking
                log.exception("scheduler.loop_error")
                wait = 1.0
            self._wake.wait(min(wait, 60.0))
            self._wake.clear()

    def _run(self, job: Job) -> None:
        try:
            job.last_result = job.func()
        except Exception:
            job.failures += 1
            log.exception("scheduler.job_failed job=%s", job.name)
            return
        finally:
            job.runs += 1  # counted once finished, so a watcher sees last_result with it
        if _worth_logging(job.last_result):
            log.info("scheduler.job job=%s result=%s", job.name, job.last_result)


def _worth_logging(result: Any) -> bool:
    # Token refresh answers {"access": {"outcome": ...}, ...}; stay quiet when nothing happened.
    if isinstance(result, dict):
        outcomes = [v.get("outcome") for v in result.values() if isinstance(v, dict)]
        if outcomes:
            return any(o not in ("fresh", "busy") for o in outcomes)
    return result is not None


def _ensure_log_handler() -> None:
    # The runner configures no logging; without a handler INFO lines would vanish.
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
