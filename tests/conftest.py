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


@pytest.fixture
def client(aws):
    from chalice.test import Client

    from app import app

    with Client(app) as test_client:
        yield test_client
