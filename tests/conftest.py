from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests import stream, wxsim  # noqa: E402

# Fixtures of team access (a Cognito user pool in moto, people and keys of each role).
pytest_plugins = ["tests.team"]

# Never reach real AWS, whatever the machine's environment says.
for _name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
)


def _reset_process_state(clients: bool = False) -> None:
    """Forget per-container objects (chalicelib.wiring). `clients=False` keeps the botocore
    clients and PynamoDB connections: building them loads botocore's data files (~0.1 s each,
    ~15 of them), and they stay valid as long as the same moto is running."""
    from chalicelib import wiring

    wiring.reset(clients=clients)


def _reset_wechat_state() -> None:
    _reset_process_state()


@pytest.fixture
def settings(monkeypatch):
    monkeypatch.setenv("WECHAT_TOKEN", wxsim.TOKEN)
    monkeypatch.setenv("WECHAT_APP_ID", wxsim.APP_ID)
    monkeypatch.setenv("WECHAT_APP_SECRET", "test-secret")
    monkeypatch.setenv("WECHAT_ENCODING_AES_KEY", wxsim.AES_KEY)
    monkeypatch.setenv("ADMIN_TOKEN", wxsim.ADMIN)
    monkeypatch.setenv("WXLESS_TABLE_PREFIX", "wxtest")
    # moto's DynamoDB is not safe for concurrent writers: the aggregator writes one at a time.
    monkeypatch.setenv("WXLESS_AGGREGATE_WORKERS", "1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


def empty_store() -> None:
    """Delete every item of every table, every object of every bucket, every queue."""
    from chalicelib.store.aws import client as aws_client
    from chalicelib.store.models import all_models

    for model in all_models():
        key_attrs = [model._hash_key_attribute(), model._range_key_attribute()]
        keys = [attr.attr_name for attr in key_attrs if attr is not None]
        items = list(model.scan(attributes_to_get=keys))
        with model.batch_write() as batch:
            for item in items:
                batch.delete(item)
    s3 = aws_client("s3")
    for bucket in s3.list_buckets().get("Buckets", []):
        listed = s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", [])
        if listed:
            s3.delete_objects(
                Bucket=bucket["Name"],
                Delete={"Objects": [{"Key": o["Key"]} for o in listed]},
            )
    sqs = aws_client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)


@pytest.fixture(scope="session")
def _moto_session():
    """One moto and one set of tables for the whole run: creating ~15 tables costs ~2.5 s per
    test; emptying them costs milliseconds (see `aws`)."""
    from moto import mock_aws

    from chalicelib.store.tables import create_all

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WXLESS_TABLE_PREFIX", "wxtest")
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        with mock_aws():
            _reset_process_state(clients=True)  # clients built before moto started are not mocked
            stream.forget()
            create_all()
            yield
    stream.forget()
    _reset_process_state(clients=True)


@pytest.fixture
def aws(_moto_session, settings):
    from chalicelib.store.tables import create_all

    _reset_process_state(clients=False)
    create_all()  # no-op unless a test changed the prefix or dropped a table
    empty_store()
    stream.pump().skip_to_end()  # the emptying's own stream records are not this test's
    _reset_process_state(clients=False)
    yield
    _reset_process_state(clients=False)


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
