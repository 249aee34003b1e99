"""Faults on the token refresh path: WeChat failing in every way it does (5xx, timeout, -1
busy, 40001, 45009, a 200 carrying garbage) and DynamoDB failing at each read and write of the
refresh. In every case the job reports the failure and the next run recovers; the stored token
is never lost nor replaced by garbage, callers keep using the still-valid token meanwhile, and a
fault never turns into a stampede of token calls."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib.jobs import token_refresh
from chalicelib.store import tokens
from chalicelib.wechat.api import WeChatClient
from infra.fake_wechat import FakeWeChat
from tests import wxsim
from tests.faults import KINDS, LOST_ANSWER, injected
from tests.functional.helpers import admin, body_json
from tests.functional.test_tokens import serial_dynamodb  # noqa: F401  (fixture)

STABLE = "/cgi-bin/stable_token"
SECRET = "test-secret"

# name -> FakeWeChat.inject_error arguments
WECHAT_FAULTS: dict[str, dict[str, Any]] = {
    "http-503": {"errcode": None, "status": 503},
    "timeout": {"errcode": None, "delay": 1.5},  # the job's client gives up after 1 s
    "busy-1": {"errcode": -1, "errmsg": "system error"},
    "40001": {"errcode": 40001, "errmsg": "invalid credential"},
    "45009": {"errcode": 45009, "errmsg": "reach max api daily quota limit"},
    "html-200": {"errcode": None, "body": b"<html>bad gateway</html>"},
    "no-token-200": {"errcode": None, "body": b'{"expires_in": 7200}'},
    "empty-token-200": {"errcode": None, "body": b'{"access_token": "", "expires_in": 7200}'},
    "expired-token-200": {"errcode": None, "body": b'{"access_token": "GARBAGE", "expires_in": 0}'},
}


class SimClock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def sim(aws):
    """A fake WeChat and a job client sharing one simulated clock (the token's lifetime passes
    in a test), the client impatient (1 s) so a timeout costs little."""
    clock = SimClock()
    with FakeWeChat(app_id=wxsim.APP_ID, app_secret=SECRET, clock=clock) as fake:
        api = WeChatClient(fake.url, timeout=1.0)
        provider = tokens.DynamoTokenProvider(
            lambda: api.token.fetch_stable_token(wxsim.APP_ID, SECRET),
            clock=clock,
            sleep=clock.sleep,
        )
        api.token_provider = provider
        yield clock, fake, api


def run(clock: SimClock, api: WeChatClient) -> dict:
    return token_refresh.run(clock=clock, wechat=api)


def stored(kind: str = tokens.ACCESS) -> tokens.StoredToken:
    found = tokens.read(kind, consistent=True)
    assert found is not None
    return found


@pytest.fixture
def renewing(sim):
    """After a first refresh, at the point where the token has 200 s left: WeChat renews it
    now, and callers (60 s margin) still use it."""
    clock, fake, api = sim
    assert run(clock, api)["access"]["outcome"] == "refreshed"
    first = stored()
    clock.now = first.expires_at - 200
    return clock, fake, api, first


def _unchanged(first: tokens.StoredToken) -> None:
    now = stored()
    assert (now.value, now.generation, now.expires_at) == (
        first.value,
        first.generation,
        first.expires_at,
    )


@pytest.mark.parametrize("fault", sorted(WECHAT_FAULTS))
def test_wechat_fault_during_refresh_keeps_the_token_and_the_next_run_recovers(renewing, fault):
    clock, fake, api, first = renewing
    fake.inject_error(STABLE, **WECHAT_FAULTS[fault])
    result = run(clock, api)
    assert result["access"]["outcome"] == "failed"
    _unchanged(first)  # not lost, not replaced by whatever came back
    assert stored().last_error  # the operator sees why (GET /admin/token)
    # Callers keep working on the still-valid token meanwhile (200 s left, margin 60 s).
    assert api.tags.list() is not None
    assert fake.count(STABLE) == 2
    # Inside the lease the fleet does not hammer WeChat.
    clock.now += 5
    assert run(clock, api)["access"]["outcome"] == "busy"
    assert fake.count(STABLE) == 2
    clock.now += tokens.LEASE_SECONDS
    recovered = run(clock, api)
    assert recovered["access"]["outcome"] == "refreshed"
    after = stored()
    assert after.value != first.value and after.generation == first.generation + 1
    assert after.last_error is None and after.remaining(clock()) > 7000
    assert fake.count(STABLE) == 3  # one failed call, one successful retry
    api.token_provider.forget()  # as the job does for its own container
    assert api.tags.list() is not None
    assert fake.calls_to("/cgi-bin/tags/get")[-1].query["access_token"] == after.value


# (operation, n-th call of it during a refresh, is WeChat called before it)
STORE_POINTS = [
    ("GetItem", 1, False),  # reading the stored token
    ("UpdateItem", 1, False),  # taking the lease
    ("UpdateItem", 2, True),  # storing WeChat's answer
]


@pytest.mark.parametrize("kind", [*KINDS, LOST_ANSWER])
@pytest.mark.parametrize(("operation", "nth", "after_wechat"), STORE_POINTS)
def test_dynamodb_fault_while_refreshing_loses_nothing(
    renewing, kind, operation, nth, after_wechat
):
    clock, fake, api, first = renewing
    with injected() as faults:
        faults.fail_nth(nth, kind, frozenset({operation}))
        result = run(clock, api)
    assert faults.fired == [operation]
    assert fake.count(STABLE) == (2 if after_wechat else 1)
    assert result["access"]["outcome"] == "failed"
    landed = kind == LOST_ANSWER and after_wechat
    if landed:
        # The new token was stored; only the job did not hear it: no harm, nothing to redo.
        assert stored().generation == first.generation + 1 and stored().value != first.value
    else:
        _unchanged(first)
    assert api.tags.list() is not None  # callers keep a valid token throughout
    for _ in range(3):  # the next runs, leases expiring between them
        clock.now += tokens.LEASE_SECONDS + 1
        run(clock, api)
    after = stored()
    assert after.generation == first.generation + 1 and after.value != first.value
    assert after.remaining(clock()) > 7000 and after.last_error is None
    # WeChat issued exactly one new token: a retry after a lost save got the same one back
    # (normal mode), so no container is left holding a token that was never stored.
    issued = set(fake._tokens)  # every access_token the fake ever issued
    assert issued == {first.value, after.value}


@pytest.mark.usefixtures("serial_dynamodb")
def test_a_wechat_outage_makes_one_call_per_lease_not_a_stampede(aws):
    """Eight containers find no usable token while WeChat is busy: one calls, the others wait
    for it and get a retryable error; after the outage one call serves all eight."""
    with FakeWeChat(app_id=wxsim.APP_ID, app_secret=SECRET) as fake:
        containers = []
        for _ in range(8):
            api = WeChatClient(fake.url, timeout=1.0)
            provider = tokens.DynamoTokenProvider(
                lambda api=api: api.token.fetch_stable_token(wxsim.APP_ID, SECRET),
                lease_seconds=2.0,  # longer than the storm takes, even on a busy machine
                wait_seconds=0.3,  # the waiters give up soon during the outage
                poll_seconds=0.05,
            )
            api.token_provider = provider
            containers.append(api)

        def storm() -> list[BaseException | None]:
            """Every container calls WeChat at the same instant; what each one got."""
            barrier = threading.Barrier(len(containers))

            def worker(api: WeChatClient) -> BaseException | None:
                barrier.wait()
                try:
                    api.tags.list()
                except BaseException as exc:
                    return exc
                return None

            with ThreadPoolExecutor(len(containers)) as pool:
                return list(pool.map(worker, containers))

        fake.inject_error(STABLE, -1, "system error", times=100)
        failed = storm()
        assert fake.count(STABLE) == 1  # one caller asked WeChat; seven waited for it
        assert len(failed) == 8 and all(exc is not None for exc in failed)
        assert all(
            getattr(exc, "retryable", False) or isinstance(exc, tokens.TokenUnavailable)
            for exc in failed
        )
        assert tokens.read(tokens.ACCESS, consistent=True).value is None  # nothing made up
        fake.reset()  # the outage ends (injections dropped)
        time.sleep(2.1)  # the failed caller's lease runs out
        for api in containers:  # now the waiters wait as long as a refresh may take
            api.token_provider._wait_seconds = 5.0
        assert storm() == [None] * 8
        assert fake.count(STABLE) == 1  # one new call for all eight containers
        assert stored().generation == 1


def test_admin_sees_a_retryable_answer_while_wechat_cannot_issue_a_token(client, fake_wechat):
    fake_wechat.inject_error(STABLE, -1, "system error")
    response = admin(client, "GET", "/admin/tags")
    assert response.status_code == 502
    assert body_json(response)["retryable"] is True
    assert response.headers["Retry-After"] == "5"
    assert tokens.read(tokens.ACCESS, consistent=True).value is None
    # The store's lease is still held by the failed caller: a retry right away waits for it,
    # then answers 503 (retryable) instead of calling WeChat again.
    again = admin(client, "GET", "/admin/tags")
    assert again.status_code in (502, 503) and body_json(again)["retryable"] is True
    assert fake_wechat.count(STABLE) == 1


def test_admin_sees_503_when_the_token_store_is_down(client, fake_wechat):
    with injected() as faults:
        faults.fail("GetItem", "InternalServerError")
        response = admin(client, "GET", "/admin/tags")
    assert response.status_code == 503
    assert body_json(response)["retryable"] is True and response.headers["Retry-After"] == "2"
    assert fake_wechat.count(STABLE) == 0  # no store, no token call (no stampede)
    assert admin(client, "GET", "/admin/tags").status_code == 200
