"""Access token and jsapi_ticket: the scheduled refresher, the shared store, recovery from
40001/42001, no stampede, and the 24 h call budget (fake WeChat on loopback, DynamoDB on moto)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.functional.helpers import admin, body_json

STABLE = "/cgi-bin/stable_token"
TICKET = "/cgi-bin/ticket/getticket"


def scheduled_event(client) -> dict:
    return client.events.generate_cw_event(
        source="aws.events",
        detail_type="Scheduled Event",
        detail={},
        resources=["arn:aws:events:us-east-1:123456789012:rule/wxless-dev-token_refresh"],
    )


@pytest.fixture
def serial_dynamodb(monkeypatch):
    """DynamoDB applies a conditional write atomically; moto's in-memory backend does not lock
    across threads. Serialise its writes so concurrency tests test our logic, not moto's."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "get_item"):
        original = getattr(DynamoDBBackend, name)

        def locked(self, *args, __original=original, **kwargs):
            with lock:
                return __original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)


def stored(kind: str = "access"):
    from chalicelib.store import tokens

    return tokens.read(kind, consistent=True)


def make_provider(fake, **kw: Any):
    """A provider + client as another Lambda container would build them."""
    from chalicelib.store.tokens import DynamoTokenProvider
    from chalicelib.wechat.api import WeChatClient

    api = WeChatClient(fake.url)
    provider = DynamoTokenProvider(
        lambda: api.token.fetch_stable_token(fake.app_id, fake.app_secret), **kw
    )
    api.token_provider = provider
    return api, provider


# --------------------------------------------------------------------------- the schedule


def test_schedule_is_declared_for_chalice_package():
    from chalice.app import ScheduledEventConfig

    from app import app
    from chalicelib.jobs import token_refresh

    schedules = [s for s in app.event_sources if isinstance(s, ScheduledEventConfig)]
    assert [s.name for s in schedules if s.name == "token_refresh"] == ["token_refresh"]
    (schedule,) = [s for s in schedules if s.name == "token_refresh"]
    assert schedule.schedule_expression.to_string() == "rate(2 minutes)"
    assert token_refresh.RATE_SECONDS < 300  # a run always falls in WeChat's renewal window
    # Lambda only has app.py + chalicelib/: the schedule must not depend on scheduled/.
    assert "scheduled" not in schedule.handler_string


def test_scheduled_refresh_stores_token_and_ticket(client, fake_wechat):
    response = client.lambda_.invoke("token_refresh", scheduled_event(client))
    assert response.payload["access"]["outcome"] == "refreshed"
    assert response.payload["jsapi"]["outcome"] == "refreshed"
    assert fake_wechat.count(STABLE) == 1 and fake_wechat.count(TICKET) == 1
    # normal mode only, never force_refresh
    assert fake_wechat.calls_to(STABLE)[0].body["force_refresh"] is False

    token = stored("access")
    assert token.generation == 1 and token.remaining(token.refreshed_at) > 7000
    assert stored("jsapi").value

    # The next run finds both fresh: a DynamoDB read each, no WeChat call.
    again = client.lambda_.invoke("token_refresh", scheduled_event(client)).payload
    assert again["access"]["outcome"] == "fresh" and again["jsapi"]["outcome"] == "fresh"
    assert fake_wechat.count(STABLE) == 1 and fake_wechat.count(TICKET) == 1


def test_callers_read_the_stored_token(client, fake_wechat):
    client.lambda_.invoke("token_refresh", scheduled_event(client))
    token = stored("access").value
    response = admin(client, "GET", "/admin/tags")
    assert response.status_code == 200, response.body
    assert fake_wechat.calls_to("/cgi-bin/tags/get")[0].query["access_token"] == token
    assert fake_wechat.count(STABLE) == 1  # the admin route did not fetch its own


def test_first_caller_fetches_when_the_store_is_empty(client, fake_wechat):
    response = admin(client, "GET", "/admin/tags")
    assert response.status_code == 200, response.body
    assert fake_wechat.count(STABLE) == 1
    assert stored("access").generation == 1


def test_token_status_shows_expiry_never_the_token(client, fake_wechat):
    client.lambda_.invoke("token_refresh", scheduled_event(client))
    response = admin(client, "GET", "/admin/token")
    assert response.status_code == 200
    status = body_json(response)
    assert status["access"]["generation"] == 1
    assert 7000 < status["access"]["expires_in"] <= 7200
    assert status["access"]["refreshed_at"] and status["access"]["expires_at"]
    assert status["jsapi"]["present"] is True
    assert status["schedule"]["rate_seconds"] == 120
    body = response.body.decode()
    assert stored("access").value not in body and stored("jsapi").value not in body
    assert admin(client, "GET", "/admin/token", token=None).status_code == 401


def test_failed_refresh_is_reported_and_backs_off(aws, fake_wechat):
    from chalicelib.jobs import token_refresh

    now = [1_000_000.0]
    api, _ = make_provider(fake_wechat, clock=lambda: now[0])

    def run() -> dict:
        return token_refresh.run(clock=lambda: now[0], wechat=api)

    fake_wechat.inject_error(STABLE, -1, "system busy", times=1)
    first = run()
    assert first["access"]["outcome"] == "failed" and "-1" in first["access"]["error"]
    assert first["jsapi"]["outcome"] == "skipped"  # no token to ask with
    assert stored("access").last_error and stored("access").value is None
    # Within the lease, nobody retries (one failing call per lease across the fleet).
    now[0] += 5
    assert run()["access"]["outcome"] == "busy"
    assert fake_wechat.count(STABLE) == 1
    now[0] += 10
    third = run()
    assert third["access"]["outcome"] == "refreshed" and third["jsapi"]["outcome"] == "refreshed"
    assert fake_wechat.count(STABLE) == 2 and stored("access").last_error is None


# --------------------------------------------------------------------------- 40001 / 42001


def test_40001_mid_call_rereads_refreshes_once_and_retries_once(client, fake_wechat):
    client.lambda_.invoke("token_refresh", scheduled_event(client))
    fake_wechat.revoke_tokens()  # e.g. a force refresh elsewhere: every token answers 40001
    before = stored("access")

    response = admin(client, "GET", "/admin/tags")
    assert response.status_code == 200, response.body
    assert fake_wechat.count("/cgi-bin/tags/get") == 2  # the failed call and one retry
    assert fake_wechat.count(STABLE) == 2  # the schedule's and ONE normal-mode refresh
    assert all(c.body["force_refresh"] is False for c in fake_wechat.calls_to(STABLE))
    after = stored("access")
    assert after.generation == before.generation + 1 and after.value != before.value


def test_40001_after_another_container_refreshed_costs_no_token_call(aws, fake_wechat):
    api_a, provider_a = make_provider(fake_wechat)
    api_b, provider_b = make_provider(fake_wechat)
    api_a.tags.list()  # container A caches T1
    api_b.tags.list()
    assert fake_wechat.count(STABLE) == 1
    fake_wechat.revoke_tokens()
    api_b.tags.list()  # container B hits 40001 first and refreshes
    assert fake_wechat.count(STABLE) == 2
    api_a.tags.list()  # A: 40001 -> re-read finds B's token -> retry; no WeChat token call
    assert fake_wechat.count(STABLE) == 2
    assert provider_a.fetches == 1 and provider_b.fetches == 1


def test_42001_expired_token_recovers(aws, fake_wechat):
    api, provider = make_provider(fake_wechat)
    api.tags.list()
    fake_wechat.expire_tokens()
    api.tags.list()
    assert fake_wechat.count(STABLE) == 2 and provider.fetches == 2


def test_persistent_40001_is_one_refresh_and_one_retry_then_an_error(aws, fake_wechat):
    from chalicelib.wechat.api import InvalidTokenError

    api, provider = make_provider(fake_wechat)
    api.tags.list()
    fake_wechat.inject_error("/cgi-bin/tags/get", 40001, "invalid credential", times=5)
    with pytest.raises(InvalidTokenError):
        api.tags.list()
    assert fake_wechat.count("/cgi-bin/tags/get") == 3  # 1 ok, then 1 failed + 1 retry
    assert provider.fetches == 2  # one refresh, no loop


# --------------------------------------------------------------------------- no stampede


def test_concurrent_40001s_make_one_token_call(aws, fake_wechat, serial_dynamodb):
    containers = [make_provider(fake_wechat) for _ in range(8)]
    for api, _ in containers:
        api.tags.list()  # every container caches T1 (the first fetched it)
    assert fake_wechat.count(STABLE) == 1
    generation = stored("access").generation
    fake_wechat.revoke_tokens()

    barrier = threading.Barrier(len(containers))
    errors: list[BaseException] = []

    def worker(api) -> None:
        barrier.wait()
        try:
            api.tags.list()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(api,)) for api, _ in containers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert fake_wechat.count(STABLE) == 2  # T1, then exactly one refresh for 8 containers
    assert sum(p.fetches for _, p in containers) == 2
    assert stored("access").generation == generation + 1


def test_overlapping_scheduled_runs_make_one_call(aws, fake_wechat, serial_dynamodb):
    from chalicelib.jobs import token_refresh

    barrier = threading.Barrier(6)
    results: list[dict] = []

    def run() -> None:
        barrier.wait()
        results.append(token_refresh.run())

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 6
    assert fake_wechat.count(STABLE) == 1 and fake_wechat.count(TICKET) == 1
    outcomes = sorted(r["access"]["outcome"] for r in results)
    assert outcomes.count("refreshed") == 1
    assert set(outcomes) <= {"refreshed", "busy", "fresh"}


# --------------------------------------------------------------------------- jsapi_ticket


def test_jsapi_ticket_on_request_path_after_40001_refreshes_the_token_once(aws, fake_wechat):
    """The ticket the same way: from the store; if missing, ONE guarded getticket, whose own
    40001 recovers like any call (re-read, one normal-mode refresh, one retry)."""
    from chalicelib.jobs import wechat

    wechat.client().tags.list()  # the access token is in the store; no ticket yet
    fake_wechat.revoke_tokens()
    ticket = wechat.jsapi_ticket()
    assert ticket == stored("jsapi").value and stored("jsapi").generation == 1
    assert fake_wechat.count(TICKET) == 2  # 40001, then one retry on the renewed token
    assert fake_wechat.count(STABLE) == 2  # the first token and ONE refresh
    assert all(c.body["force_refresh"] is False for c in fake_wechat.calls_to(STABLE))
    assert wechat.jsapi_ticket() == ticket and fake_wechat.count(TICKET) == 2  # cached


def test_concurrent_jsapi_ticket_requests_make_one_call(aws, fake_wechat, serial_dynamodb):
    from chalicelib.store.tokens import JSAPI, DynamoTokenProvider

    containers = [make_provider(fake_wechat)[0] for _ in range(6)]
    containers[0].tags.list()  # the access token is stored once for all
    tickets = [
        DynamoTokenProvider(lambda api=api: api.token.get_ticket("jsapi"), kind=JSAPI)
        for api in containers
    ]
    barrier = threading.Barrier(len(tickets))
    got: list[str] = []
    errors: list[BaseException] = []

    def worker(provider) -> None:
        barrier.wait()
        try:
            got.append(provider.get())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(t,)) for t in tickets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == [] and len(got) == 6 and len(set(got)) == 1
    assert fake_wechat.count(TICKET) == 1 and sum(t.fetches for t in tickets) == 1
    assert fake_wechat.count(STABLE) == 1
    assert stored("jsapi").generation == 1 and stored("jsapi").value == got[0]


# --------------------------------------------------------------------------- 24 h budget


class SimClock:
    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def simulate_day(*, with_schedule: bool) -> dict[str, int]:
    """24 h of operation on a simulated clock shared by the fake WeChat, the scheduled job and
    two 'containers' serving traffic every 4 minutes; returns what it cost."""
    from chalicelib.jobs import token_refresh
    from chalicelib.store.tokens import DynamoTokenProvider
    from chalicelib.wechat.api import WeChatClient
    from infra.fake_wechat import FakeWeChat

    clock = SimClock()
    invalidations = []
    with FakeWeChat(app_id="wxsim", app_secret="s", clock=clock) as fake:
        job_client = WeChatClient(fake.url)
        containers = []
        for _ in range(2):
            api = WeChatClient(fake.url)
            provider = DynamoTokenProvider(
                lambda api=api: api.token.fetch_stable_token("wxsim", "s"),
                clock=clock,
                sleep=clock.sleep,
            )
            original = provider.invalidate

            def counting(bad, original=original):
                invalidations.append(bad)
                return original(bad)

            provider.invalidate = counting
            api.token_provider = provider
            containers.append(api)
        job_client.token_provider = containers[0].token_provider

        start, step = clock.now, token_refresh.RATE_SECONDS
        tick = 0
        while clock.now < start + 86400:
            if with_schedule:
                token_refresh.run(clock=clock, wechat=job_client)
            if tick % (300 // step or 1) == 0:
                for api in containers:
                    api.tags.list()  # traffic: must never meet an expired token
            clock.now += step
            tick += 1
        return {
            "token_calls": fake.count(STABLE),
            "ticket_calls": fake.count(TICKET),
            "invalidations": len(invalidations),
        }


def test_24h_of_operation_costs_about_13_token_calls(aws, monkeypatch):
    monkeypatch.setenv("WECHAT_APP_ID", "wxsim")
    monkeypatch.setenv("WECHAT_APP_SECRET", "s")
    cost = simulate_day(with_schedule=True)
    print(f"24h with the schedule: {cost}")
    # One call per token lifetime (WeChat renews only in the last 5 minutes): 86400 / ~6950.
    assert 12 <= cost["token_calls"] <= 14, cost
    assert cost["token_calls"] <= 30
    assert cost["ticket_calls"] <= 14, cost
    assert cost["invalidations"] == 0, cost  # no caller ever held a dead token


def test_24h_without_the_schedule_readers_stay_within_budget(aws, monkeypatch):
    monkeypatch.setenv("WECHAT_APP_ID", "wxsim")
    monkeypatch.setenv("WECHAT_APP_SECRET", "s")
    cost = simulate_day(with_schedule=False)
    print(f"24h without the schedule: {cost}")
    # The scheduler is down: containers refresh (guarded, normal mode) in the last minute.
    assert cost["token_calls"] <= 15, cost
    assert cost["invalidations"] == 0, cost


# --------------------------------------------------------------------------- make run


def wait_for(condition, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def age_stored(kind: str, seconds: float) -> None:
    """The stored credential has `seconds` less to live (time passing, without waiting)."""
    from chalicelib.store import tokens

    item = tokens.TokenItem.get(tokens.item_key(kind), consistent_read=True)
    item.update(actions=[tokens.TokenItem.expires_at.set(int(item.expires_at) - int(seconds))])


@pytest.fixture
def runner_scheduler(aws, fake_wechat):
    """The scheduler exactly as `make run` starts it (infra/local_run.py), in this process,
    against moto and the fake WeChat; stopped with the runner's own stop()."""
    from infra.local_run import LocalStack

    stack = LocalStack()
    scheduler = stack.start_scheduler()
    assert stack.scheduler is scheduler and scheduler.running
    yield scheduler
    stack.stop()
    assert not scheduler.running


def test_local_scheduler_keeps_the_token_in_the_store(runner_scheduler):
    """`make run`: the runner's own scheduler runs the refresh at start, nobody asking."""
    job = runner_scheduler.job("token_refresh")
    wait_for(lambda: job.runs >= 1)
    assert job.last_result["access"]["outcome"] == "refreshed", job.last_result
    assert stored("access").generation == 1 and stored("jsapi").value


def test_local_scheduler_renews_the_token_before_it_expires(runner_scheduler, client, fake_wechat):
    """Two hours in a few seconds: the token is aged (at the fake and in the store) to 250 s
    left, inside WeChat's renewal window; the runner's next tick renews it, and the old token
    dying afterwards goes unnoticed by callers."""
    job = runner_scheduler.job("token_refresh")
    wait_for(lambda: job.runs >= 1)
    first = stored("access")
    assert job.interval == 120  # the Rate(2 minutes) of app.py

    fake_wechat.age_tokens(6950)
    age_stored("access", 6950)
    runs = job.runs
    runner_scheduler.trigger("token_refresh")  # the next 2-minute tick, now
    wait_for(lambda: job.runs > runs)
    assert job.last_result["access"]["outcome"] == "refreshed", job.last_result
    second = stored("access")
    assert second.generation == first.generation + 1 and second.value != first.value
    assert second.remaining(second.refreshed_at) > 7000
    assert fake_wechat.count(STABLE) == 2
    assert all(c.body["force_refresh"] is False for c in fake_wechat.calls_to(STABLE))

    fake_wechat.age_tokens(300)  # the old token has now expired at WeChat
    response = admin(client, "GET", "/admin/tags")  # the app, on the renewed token
    assert response.status_code == 200, response.body
    api, provider = make_provider(fake_wechat)  # another container, starting now
    api.tags.list()
    assert fake_wechat.count("/cgi-bin/tags/get") == 2  # no 42001, no retry
    assert fake_wechat.count(STABLE) == 2 and provider.fetches == 0

    # A tick with nothing to do costs no WeChat call.
    runs = job.runs
    runner_scheduler.trigger("token_refresh")
    wait_for(lambda: job.runs > runs)
    assert job.last_result["access"]["outcome"] == "fresh"
    assert fake_wechat.count(STABLE) == 2
