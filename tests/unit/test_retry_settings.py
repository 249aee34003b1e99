"""Retries are a deliberate choice everywhere, bounded, and jittered (RELIABILITY.md "Retries"):
botocore's standard mode (exponential backoff with full jitter) for every AWS client, a fail-fast
profile with one hand-made jittered retry on the callback's hot write, and a WeChat client that
never repeats a POST on its own."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from chalicelib.store import aws

ROOT = Path(__file__).resolve().parents[2]


def test_every_aws_client_profile_sets_its_retry_mode_and_bound():
    assert aws.FAST.retries == {"mode": "standard", "total_max_attempts": 1}
    assert aws.STANDARD.retries == {"mode": "standard", "total_max_attempts": 3}
    # the callback answers WeChat within 5 s: its calls give up well before that
    assert aws.FAST.connect_timeout + aws.FAST.read_timeout < 1.5


def test_pynamodb_models_use_standard_mode_with_a_bound():
    from chalicelib.store.models import all_models

    for model in all_models():
        config = model._get_connection().connection.client.meta.config
        assert config.retries == {"total_max_attempts": 3, "mode": "standard"}, model.__name__
        assert config.connect_timeout == 2 and config.read_timeout == 5, model.__name__


def test_standard_mode_backs_off_with_full_jitter():
    """What "standard" buys: the wait before attempt n is random in [0, scale * 2**(n-1)]
    (DynamoDB's scale for a 5xx: 25 ms), so a fleet of failing containers does not retry in
    lockstep."""
    from botocore.retries.standard import ExponentialBackoff

    draws = iter([0.0, 1.0, 0.5])
    backoff = ExponentialBackoff(random=lambda: next(draws), service_name="dynamodb")
    context = SimpleNamespace(attempt_number=3, http_response=None, get_retry_after=lambda: None)
    waits = [backoff.delay_amount(context) for _ in range(3)]
    assert waits == pytest.approx([0.0, 0.1, 0.05])


def test_no_aws_client_is_built_outside_the_deliberate_profiles():
    """A client built elsewhere would get botocore's legacy defaults: only aws.client() builds
    clients that call AWS; the S3 presigners only sign URLs (no request is ever sent)."""
    builders = {}
    for path in (ROOT / "chalicelib").rglob("*.py"):
        if "create_client(" in path.read_text():
            builders[path.relative_to(ROOT).as_posix()] = path.read_text()
    assert set(builders) <= {"chalicelib/store/aws.py", "chalicelib/store/objects.py"}
    # The presigner (built in store/objects.py, kept by wiring.presigner()) only signs.
    for path in (ROOT / "chalicelib").rglob("*.py"):
        uses = re.findall(r"\bpresigner\.(\w+)", path.read_text())
        assert set(uses) <= {"generate_presigned_url"}, (path, uses)


def test_the_callbacks_hand_retry_is_single_and_jittered(monkeypatch):
    from chalicelib.engine.pipeline import LogEntry
    from chalicelib.store import messages
    from chalicelib.store.errors import StoreUnavailable

    calls, sleeps = [], []

    class Throttled:
        def put_item(self, **_kw):
            calls.append(1)
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem"
            )

    monkeypatch.setattr(messages, "client", lambda *_a: Throttled())
    monkeypatch.setattr(messages.time, "sleep", sleeps.append)
    draws = iter([0.0, 1.0])
    monkeypatch.setattr(messages.random, "random", lambda: next(draws))
    entry = LogEntry("o1", 1, "m:1", "text", "[text]", "none", None, "")
    for expected in (0.02, 0.07):
        with pytest.raises(StoreUnavailable):
            messages.DynamoInbox().record(entry)
        assert sleeps[-1] == pytest.approx(expected)  # 20 ms + up to 50 ms of jitter
    assert len(calls) == 4  # two attempts per message, never more


def test_the_wechat_client_never_repeats_a_post_by_itself():
    """A POST that reached WeChat (a message, a mass send) must not be sent twice blindly; a GET
    is retried once, and only when the connection was never made."""
    from chalicelib.wechat.api import StaticTokenProvider, TransportError, WeChatClient
    from tests.wxsim import free_port

    class Recording:
        def __init__(self) -> None:
            self.retries: list[object] = []

        def request(self, method, url, **kw):
            self.retries.append((method, kw["retries"]))
            raise __import__("urllib3").exceptions.NewConnectionError(None, "refused")

    http = Recording()
    client = WeChatClient(
        f"http://127.0.0.1:{free_port()}", token_provider=StaticTokenProvider("t"), http=http
    )
    for call in (lambda: client.get("/cgi-bin/x"), lambda: client.post("/cgi-bin/y", {})):
        with pytest.raises(TransportError):
            call()
    (get_method, get_retry), (post_method, post_retry) = http.retries
    assert (get_method, post_method) == ("GET", "POST")
    assert post_retry is False
    assert (get_retry.total, get_retry.connect, get_retry.read, get_retry.status) == (1, 1, 0, 0)
