"""Faults on the media upload path (admin -> S3 -> WeChat -> DynamoDB): the admin gets a clear
retryable answer (503/502/429 with Retry-After), nothing half-made is kept (no S3 object, no
item, no permanent material at WeChat), and the same request succeeds once the fault clears,
leaving exactly one item."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pytest
import urllib3

from tests.faults import KINDS, RESENT, injected
from tests.functional.helpers import admin, body_json
from tests.functional.test_media import PNG, upload

UPLOAD = "/cgi-bin/media/upload"
MATERIAL = "/cgi-bin/material/add_material"

WECHAT_FAULTS: dict[str, tuple[dict[str, Any], int]] = {
    # name -> (FakeWeChat.inject_error arguments, the admin's status)
    "http-503": ({"errcode": None, "status": 503}, 502),
    "timeout": ({"errcode": None, "delay": 0.6}, 502),
    "busy-1": ({"errcode": -1, "errmsg": "system error"}, 502),
    "45009": ({"errcode": 45009, "errmsg": "reach max api daily quota limit"}, 429),
    "html-200": ({"errcode": None, "body": b"<html>bad gateway</html>"}, 502),
}


def _bucket_keys() -> list[str]:
    from chalicelib import config
    from chalicelib.store.aws import client

    listing = client("s3").list_objects_v2(Bucket=config.media_bucket())
    return sorted(o["Key"] for o in listing.get("Contents", []))


def _bucket_key(key: str) -> str:
    """Where an object the API names by its key inside the account lies in the bucket."""
    from chalicelib.store.objects import bucket_key

    return bucket_key(key)


def _items(client) -> list[dict]:
    return body_json(admin(client, "GET", "/admin/media"))["items"]


def _nothing_kept(client) -> None:
    assert _items(client) == []
    assert _bucket_keys() == []


def _retry_succeeds_once(client, fake_wechat, permanent: bool) -> None:
    _kept_once(client, upload(client, "image", PNG, permanent=permanent), fake_wechat, permanent)


def _kept_once(client, response, fake_wechat, permanent: bool) -> None:
    """The upload succeeded and everything it made is kept, once."""
    assert response.status_code == 201, response.body
    item = body_json(response)
    assert [i["id"] for i in _items(client)] == [item["id"]]
    assert _bucket_keys() == [_bucket_key(item["s3_key"])]
    if permanent:
        # WeChat holds exactly the one material the item names: nothing orphaned on the way.
        assert list(fake_wechat._materials) == [item["media_id"]]


@pytest.fixture
def impatient(fake_wechat):
    """Makes the app's shared WeChat client give up after 0.3 s (the injected delay stays
    short) while the faulty request runs; patient again for the retry."""
    from chalicelib.wiring import wechat as client

    @contextlib.contextmanager
    def short_timeout():
        patient = client().timeout
        client().timeout = urllib3.Timeout(connect=0.3, read=0.3)
        try:
            yield
        finally:
            client().timeout = patient

    return short_timeout


@pytest.mark.parametrize("kind", KINDS)
def test_s3_put_fault_is_503_and_keeps_nothing(client, fake_wechat, kind):
    with injected() as faults:
        faults.fail("PutObject", kind)
        response = upload(client, "image", PNG)
    assert response.status_code == 503
    assert body_json(response)["retryable"] is True and response.headers["Retry-After"] == "2"
    assert fake_wechat.count(UPLOAD) == 0  # WeChat is not asked before the file is safe
    _nothing_kept(client)
    _retry_succeeds_once(client, fake_wechat, permanent=False)


@pytest.mark.parametrize("permanent", [False, True], ids=["temporary", "permanent"])
@pytest.mark.parametrize("fault", sorted(WECHAT_FAULTS))
def test_wechat_upload_fault_is_retryable_and_keeps_nothing(
    client, fake_wechat, impatient, fault, permanent
):
    args, status = WECHAT_FAULTS[fault]
    fake_wechat.inject_error(MATERIAL if permanent else UPLOAD, **args)
    with impatient():
        response = upload(client, "image", PNG, permanent=permanent)
    assert response.status_code == status, response.body
    answer = body_json(response)
    assert answer["retryable"] is True and int(response.headers["Retry-After"]) > 0
    _nothing_kept(client)
    if fault == "timeout":
        time.sleep(0.4)  # the fake finishes the request whose answer was lost
    if fault == "timeout" and permanent:
        # WeChat may have stored the material before the answer was lost: an orphan the app
        # cannot know about (it never learned the media_id). Drop it so the check below holds.
        fake_wechat._materials.clear()
    _retry_succeeds_once(client, fake_wechat, permanent)


@pytest.mark.parametrize("permanent", [False, True], ids=["temporary", "permanent"])
@pytest.mark.parametrize("kind", KINDS)
def test_record_fault_after_wechat_accepted_keeps_nothing(client, fake_wechat, kind, permanent):
    with injected() as faults:
        faults.fail("PutItem", kind, after=1)  # the audit entry is written first
        response = upload(client, "image", PNG, permanent=permanent)
    assert response.status_code == 503, response.body
    assert body_json(response)["retryable"] is True
    assert fake_wechat.count(MATERIAL if permanent else UPLOAD) == 1
    _nothing_kept(client)
    if permanent:
        # The material WeChat stored for the failed attempt was deleted again.
        assert fake_wechat._materials == {}
    _retry_succeeds_once(client, fake_wechat, permanent)


@pytest.mark.parametrize("kind", KINDS)
def test_s3_read_fault_on_a_presigned_upload_keeps_the_source(client, fake_wechat, kind):
    from chalicelib import config
    from chalicelib.store.aws import client as aws_client

    presigned = body_json(admin(client, "POST", "/admin/media/upload-url", {"kind": "image"}))
    source = _bucket_key(presigned["s3_key"])
    aws_client("s3").put_object(Bucket=config.media_bucket(), Key=source, Body=PNG)
    body = {"kind": "image", "s3_key": presigned["s3_key"]}
    with injected() as faults:
        faults.fail("GetObject", kind)
        response = admin(client, "POST", "/admin/media", body)
    assert response.status_code == 503 and body_json(response)["retryable"] is True
    assert _items(client) == [] and _bucket_keys() == [source]  # kept for the retry
    assert fake_wechat.count(UPLOAD) == 0
    again = admin(client, "POST", "/admin/media", body)
    assert again.status_code == 201, again.body
    item = body_json(again)
    assert _bucket_keys() == [_bucket_key(item["s3_key"])]  # the tmp/ source moved into the item
    assert [i["id"] for i in _items(client)] == [item["id"]]


@pytest.mark.parametrize("permanent", [False, True], ids=["temporary", "permanent"])
def test_a_resent_record_write_is_success_and_keeps_everything(client, fake_wechat, permanent):
    """The record's put landed, its answer was lost and botocore sent it again: the second put
    meets the first. The upload succeeded; nothing may be cleaned up as if it had failed."""
    with injected() as faults:
        faults.fail("PutItem", RESENT, times=1)
        response = upload(client, "image", PNG, permanent=permanent)
    _kept_once(client, response, fake_wechat, permanent)
