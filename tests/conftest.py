from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import wxsim  # noqa: E402

# Never reach real AWS, whatever the machine's environment says.
for _name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
)


def _reset_process_state() -> None:
    from chalicelib.handlers import callback
    from chalicelib.store import aws, tables, throttle

    aws.reset()
    throttle.reset()
    tables.reset_connections()
    callback.reset()
    _reset_wechat_state()
    _reset_cms_state()
    from chalicelib.jobs import campaigns  # queue URL cache (a new moto per test)

    campaigns.reset()


def _reset_cms_state() -> None:
    # Per-container caches of articles (admin index, published snapshot) watch a version counter
    # that starts again in every new moto.
    from chalicelib.store import articles

    articles.reset_caches()


def _reset_wechat_state() -> None:
    # The shared WeChat client (per-container token cache) and the token items' PynamoDB view.
    from chalicelib.jobs import wechat
    from chalicelib.store import tokens

    wechat.reset()
    tokens.reset()


@pytest.fixture
def settings(monkeypatch):
    monkeypatch.setenv("WECHAT_TOKEN", wxsim.TOKEN)
    monkeypatch.setenv("WECHAT_APP_ID", wxsim.APP_ID)
    monkeypatch.setenv("WECHAT_APP_SECRET", "test-secret")
    monkeypatch.setenv("WECHAT_ENCODING_AES_KEY", wxsim.AES_KEY)
    monkeypatch.setenv("ADMIN_TOKEN", wxsim.ADMIN)
    monkeypatch.setenv("WXLESS_TABLE_PREFIX", "wxtest")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def aws(settings):
    from moto import mock_aws

    with mock_aws():
        _reset_process_state()
        from chalicelib.store.tables import create_all

        create_all()
        yield
    _reset_process_state()


@pytest.fixture(scope="session")
def _fake_wechat_server():
    from infra.fake_wechat import FakeWeChat

    fake = FakeWeChat(app_id=wxsim.APP_ID, app_secret="test-secret").start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_wechat(_fake_wechat_server, settings, monkeypatch):
    """The fake WeChat API on loopback (one server per session, state reset per test);
    WECHAT_API_BASE points at it, so `chalicelib.jobs.wechat.client()` talks to it."""
    fake = _fake_wechat_server
    fake.reset(tokens=True)
    monkeypatch.setenv("WECHAT_API_BASE", fake.url)
    _reset_wechat_state()
    yield fake
    _reset_wechat_state()


@pytest.fixture
def client(aws):
    from chalice.test import Client

    from app import app

    with Client(app) as test_client:
        yield test_client
