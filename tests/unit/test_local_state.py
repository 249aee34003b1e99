"""What `make run` saves and restores (infra/local_state.py), against a moto server as the local
runner has it: every kind of attribute and media object comes back, a corrupt or partly
unreadable snapshot never stops the start, and nothing is written when nothing changed."""

from __future__ import annotations

import json

import pytest

from infra import moto_patches
from infra.local_state import LocalState
from tests import wxsim

PREFIX = "wxstate"


@pytest.fixture(scope="module")
def moto_server():
    from moto.server import ThreadedMotoServer

    moto_patches.apply()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=wxsim.free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def store(moto_server, monkeypatch):
    from chalicelib import wiring
    from chalicelib.store.tables import create_all

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("WXLESS_TABLE_PREFIX", PREFIX)
    monkeypatch.delenv("WXLESS_MEDIA_BUCKET", raising=False)
    wiring.reset(clients=True)
    create_all()
    _empty()
    yield
    _empty()
    wiring.reset(clients=True)


def _clients():
    from infra.local_state import _client

    return _client("dynamodb"), _client("s3")


def _empty() -> None:
    from chalicelib import config
    from chalicelib.store.models import all_models

    ddb, s3 = _clients()
    for model in all_models():
        keys = [
            a.attr_name for a in (model._hash_key_attribute(), model._range_key_attribute()) if a
        ]
        for item in ddb.scan(TableName=model.Meta.table_name)["Items"]:
            ddb.delete_item(TableName=model.Meta.table_name, Key={k: item[k] for k in keys})
    for obj in s3.list_objects_v2(Bucket=config.media_bucket()).get("Contents", []):
        s3.delete_object(Bucket=config.media_bucket(), Key=obj["Key"])


def _two_models():
    from chalicelib.store.models import all_models

    models = sorted(all_models(), key=lambda m: m.Meta.suffix)
    return models[0], models[-1]


def _item(model, key: str, **attributes) -> dict:
    item = {model._hash_key_attribute().attr_name: {"S": key}}
    if model._range_key_attribute() is not None:
        item[model._range_key_attribute().attr_name] = {"S": f"{key}#range"}
    return item | attributes


def _sets_sorted(item: dict) -> dict:
    """Sets come back in any order."""
    return {
        name: {kind: sorted(v) if kind in ("SS", "NS", "BS") else v for kind, v in value.items()}
        for name, value in item.items()
    }


def test_items_and_media_objects_come_back_as_they_were(store, tmp_path):
    from chalicelib import config

    ddb, s3 = _clients()
    first, last = _two_models()
    rich = _item(
        first,
        "k1",
        blob={"B": bytes(range(256))},
        blobs={"BS": [b"\x00", b"\xff"]},
        numbers={"NS": ["1", "2.5"]},
        nested={"M": {"list": {"L": [{"N": "1"}, {"B": b"x"}, {"NULL": True}, {"BOOL": False}]}}},
        text={"S": "余额"},
    )
    plain = _item(last, "k2", text={"S": "plain"})
    ddb.put_item(TableName=first.Meta.table_name, Item=rich)
    ddb.put_item(TableName=last.Meta.table_name, Item=plain)
    bucket = config.media_bucket()
    s3.put_object(
        Bucket=bucket,
        Key="default/media/封面.jpg",
        Body=b"\xff\xd8jpeg",
        ContentType="image/jpeg",
        Metadata={"sha256": "abc"},
    )
    saved = LocalState(tmp_path / "state")
    assert saved.save() is True
    assert saved.save() is False  # nothing changed since

    _empty()
    restored = LocalState(tmp_path / "state").restore()
    assert (restored.items, restored.objects, restored.skipped) == (2, 1, [])
    (again,) = ddb.scan(TableName=first.Meta.table_name)["Items"]
    assert _sets_sorted(again) == _sets_sorted(rich)
    assert ddb.scan(TableName=last.Meta.table_name)["Items"] == [plain]
    got = s3.get_object(Bucket=bucket, Key="default/media/封面.jpg")
    assert got["Body"].read() == b"\xff\xd8jpeg"
    assert (got["ContentType"], got["Metadata"]) == ("image/jpeg", {"sha256": "abc"})


def test_a_corrupt_snapshot_is_set_aside_and_the_run_starts_empty(store, tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "snapshot.json").write_text('{"format": 1, "tables": {"rul')  # cut short
    restored = LocalState(state).restore()
    assert (restored.items, restored.objects) == (0, 0)
    assert not (state / "snapshot.json").exists()
    (kept,) = state.glob("snapshot.json.corrupt-*")
    assert kept.read_text().startswith('{"format": 1')


def test_what_cannot_be_restored_is_skipped_and_its_snapshot_kept(store, tmp_path):
    ddb, _s3 = _clients()
    first, _last = _two_models()
    good = _item(first, "good", text={"S": "kept"})
    keyless = {"text": {"S": "no key attributes: the table's keys changed"}}
    state = tmp_path / "state"
    state.mkdir()
    snapshot = {
        "format": 1,
        "tables": {first.Meta.suffix: [good, keyless], "gone": [good]},
        "objects": [{"key": "default/x.png", "blob": "0" * 64, "content_type": "image/png"}],
    }
    (state / "snapshot.json").write_text(json.dumps(snapshot))
    restored = LocalState(state).restore()
    assert restored.items == 1 and restored.objects == 0
    assert len(restored.skipped) == 3  # the keyless item, the unknown table, the missing blob
    assert ddb.scan(TableName=first.Meta.table_name)["Items"] == [good]
    (kept,) = state.glob("snapshot.json.unrestored-*")
    assert json.loads(kept.read_text()) == snapshot
