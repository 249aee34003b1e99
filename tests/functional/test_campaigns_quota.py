"""Template campaigns and WeChat's daily template/send quota (45009): the first chunk that meets
it pauses template sending for the whole account until the quota resets (00:00 Beijing time),
with one marker item; every other chunk reads the marker and makes no WeChat call, its SQS
message held on the queue (invisible until just past the reset, as Lambda's partial batch
response keeps it); afterwards every recipient gets exactly one message."""

# ruff: noqa: F811  (fixtures imported from test_campaigns are then named as parameters)

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections import Counter
from typing import Any

import botocore.client
import pytest
from botocore.exceptions import ClientError

from chalicelib import wiring
from chalicelib.campaigns import admin as services
from chalicelib.campaigns import quota, template
from chalicelib.campaigns import run as campaign_run
from chalicelib.campaigns import sender as sending
from chalicelib.campaigns.queue import SendQueue
from chalicelib.campaigns.sender import Delivery
from chalicelib.jobs import campaigns
from chalicelib.store import campaign_items as items
from chalicelib.store import campaign_limits as limits
from chalicelib.store import campaign_work as work
from chalicelib.store import ddb, keys
from chalicelib.store.aws import client as aws_client
from chalicelib.store.errors import StoreUnavailable
from tests.functional.helpers import admin, body_json
from tests.functional.test_campaigns import (  # noqa: F401  (fixtures)
    FakeClock,
    _moto_for_module,
    aws,
    dispatch,
    openids,
    queue,
    sends,
    template_body,
    wx,
)
from tests.functional.test_campaigns_template import lambda_timeouts  # noqa: F401

TEMPLATE_SEND = "/cgi-bin/message/template/send"
QUOTA = {"errcode": 45009, "errmsg": "reach max api daily quota limit"}


@pytest.fixture
def chunks_of_two(monkeypatch, queue):
    monkeypatch.setattr(campaign_run, "MIN_CHUNK", 1)
    monkeypatch.setenv("WXLESS_TEMPLATE_CHUNK", "2")


@pytest.fixture
def holds(monkeypatch) -> list[int]:
    """The visibility timeouts the sender asked SQS for (the call itself still goes to moto)."""
    seen: list[int] = []
    real = SendQueue.hide

    def hide(self: SendQueue, receipt_handle: str, seconds: int) -> None:
        seen.append(seconds)
        real(self, receipt_handle, seconds)

    monkeypatch.setattr(SendQueue, "hide", hide)
    return seen


class LambdaQueue:
    """Lambda's SQS event source mapping with ReportBatchItemFailures, one message per
    invocation (the configured batch size): a message in the handler's `batchItemFailures`
    stays on the queue, the others are deleted. `time_passes` makes held messages visible, as
    SQS does when their visibility timeout runs out."""

    def __init__(self) -> None:
        self.held: dict[str, str] = {}  # message id -> latest receipt handle
        self.results: list[dict[str, Any]] = []

    def drain(self, handler) -> Counter:
        outcomes: Counter = Counter()
        while messages := sends().receive(10):
            for message in messages:
                result = dict(handler(message))
                self.results.append(dict(result))
                kept = {f["itemIdentifier"] for f in result.pop("batchItemFailures", [])}
                if message["MessageId"] in kept:
                    self.held[message["MessageId"]] = message["ReceiptHandle"]
                else:
                    self.held.pop(message["MessageId"], None)
                    sends().delete(message["ReceiptHandle"])
                outcomes.update(result)
        return outcomes

    def time_passes(self) -> None:
        sqs = aws_client("sqs")
        for handle in self.held.values():
            sqs.change_message_visibility(
                QueueUrl=sends().url(), ReceiptHandle=handle, VisibilityTimeout=0
            )


@contextlib.contextmanager
def aws_calls():
    """Counts the AWS requests made inside the block, by operation."""
    calls: Counter = Counter()
    real = botocore.client.BaseClient._make_api_call

    def call(self, operation, params):
        calls[operation] += 1
        return real(self, operation, params)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(botocore.client.BaseClient, "_make_api_call", call)
        yield calls


def sender(wx, clock):
    return lambda message: campaigns.handle_sqs([message], wx, clock=clock, budget=30)


def invisible_messages() -> int:
    attrs = aws_client("sqs").get_queue_attributes(
        QueueUrl=sends().url(), AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessagesNotVisible"])


def start_campaign(fake_wechat, clock, n: int) -> tuple[str, list[str]]:
    audience = openids(n, "o_q_")
    for openid in audience:
        fake_wechat.add_follower(openid, remark=openid[-2:])
    created = services.create(
        template_body({"type": "all"}, clock.t), now=clock.t, client=wiring.wechat()
    )
    return created["id"], audience


def assert_each_got_one(fake_wechat, cid: str, audience: list[str]) -> None:
    sent = fake_wechat.template_messages
    assert Counter(m["touser"] for m in sent) == Counter(audience)
    assert {m["client_msg_id"] for m in sent} == {template.client_msg_id(cid, o) for o in audience}
    detail = services.detail(cid)
    assert detail["status"] == "completed"
    assert (detail["progress"]["sent"], detail["progress"]["failed"]) == (len(audience), 0)
    assert "paused" not in detail


def test_the_reset_is_the_next_midnight_in_beijing():
    utc = dt.UTC

    def at(*args: int) -> float:
        return dt.datetime(*args, tzinfo=utc).timestamp()

    reset = at(2026, 11, 23, 16, 0, 0)  # 2026-11-24 00:00 Beijing
    assert quota.quota_reset_after(at(2026, 11, 23, 15, 59, 59)) == reset
    assert quota.quota_reset_after(at(2026, 11, 23, 0, 0, 0)) == reset  # 08:00 BJT
    assert quota.quota_reset_after(at(2026, 11, 22, 16, 0, 0)) == reset  # 00:00 BJT
    assert quota.quota_reset_after(reset) == reset + 86400


@pytest.mark.parametrize("before_reset", [3600, 20 * 3600], ids=["1h-before", "20h-before"])
def test_a_45009_pauses_every_chunk_until_the_reset_then_each_recipient_gets_one(
    wx, fake_wechat, chunks_of_two, holds, before_reset
):
    reset = quota.quota_reset_after(FakeClock().t)
    clock = FakeClock(reset - before_reset)
    cid, audience = start_campaign(fake_wechat, clock, 10)  # 5 chunks of 2
    fake_wechat.inject_error(TEMPLATE_SEND, times=1, **QUOTA)
    dispatch(wx, clock)
    lam = LambdaQueue()

    outcomes = lam.drain(sender(wx, clock))
    # the first chunk met the 45009 and wrote the marker; the other four called nothing
    assert fake_wechat.count(TEMPLATE_SEND) == 1
    assert outcomes == Counter({"paused": 5})
    assert all(len(r["batchItemFailures"]) == 1 for r in lam.results)
    marker = limits.template_pause()
    assert marker["until"] == reset and marker["errcode"] == 45009 and marker["campaign"] == cid
    # each message held on the queue past the reset (+ a minute), or SQS's 12 h at most
    expected = min(before_reset + quota.RESUME_MARGIN, sending.MAX_HOLD)
    assert holds == [expected] * 5 and expected <= 12 * 3600
    assert len(lam.held) == 5 and invisible_messages() == 5
    detail = services.detail(cid, now=clock.t)
    assert detail["status"] == "running"
    assert detail["paused"] == {
        "reason": "template_daily_quota",
        "errcode": 45009,
        "since": int(clock.t),
        "until": int(reset),
    }
    assert detail["progress"]["queued"] == 10 and detail["progress"]["sent"] == 0

    # the dispatcher's stuck-chunk sweep leaves held chunks alone (they are expected back)
    clock.advance(template.STUCK_AFTER + 60)
    dispatch(wx, clock)
    assert sends().receive(10) == []

    if before_reset > sending.MAX_HOLD:
        # SQS returns a message after 12 h at most: still paused, it is held again, no call
        clock.advance(sending.MAX_HOLD - template.STUCK_AFTER - 60)
        lam.time_passes()
        with aws_calls() as calls:
            assert lam.drain(sender(wx, clock)) == Counter({"paused": 5})
        # per held chunk: the campaign, the marker, the chunk's enqueued_at, the visibility
        per_chunk = Counter({k: v // 5 for k, v in calls.items() if k != "ReceiveMessage"})
        assert per_chunk == Counter(GetItem=2, UpdateItem=1, ChangeMessageVisibility=1)
        assert fake_wechat.count(TEMPLATE_SEND) == 1
        assert holds[5:] == [int(reset - clock.t + quota.RESUME_MARGIN)] * 5

    clock.t = reset + quota.RESUME_MARGIN  # the quota has reset
    lam.time_passes()
    assert lam.drain(sender(wx, clock)) == Counter({"done": 5})
    dispatch(wx, clock)
    assert_each_got_one(fake_wechat, cid, audience)
    assert fake_wechat.count(TEMPLATE_SEND) == len(audience) + 1  # + the refused one
    assert invisible_messages() == 0


def test_a_45009_just_after_midnight_is_yesterdays_and_holds_a_minute_not_a_day(
    wx, fake_wechat, chunks_of_two, holds
):
    """Our clock a few seconds ahead of WeChat's: its 45009 still belongs to the old day."""
    midnight = quota.quota_reset_after(FakeClock().t)
    clock = FakeClock(midnight + 5)
    cid, audience = start_campaign(fake_wechat, clock, 2)
    fake_wechat.inject_error(TEMPLATE_SEND, times=1, **QUOTA)
    dispatch(wx, clock)
    lam = LambdaQueue()
    assert lam.drain(sender(wx, clock)) == Counter({"paused": 1})
    assert holds == [55]  # back a minute after the reset, not the next midnight
    assert limits.template_pause()["until"] == midnight
    assert "paused" not in services.detail(cid, now=clock.t)
    clock.advance(55)
    lam.time_passes()
    assert lam.drain(sender(wx, clock)) == Counter({"done": 1})
    dispatch(wx, clock)
    assert_each_got_one(fake_wechat, cid, audience)


def test_the_app_sqs_handler_reports_held_messages_and_the_detail_shows_the_pause(
    client, fake_wechat, queue, chunks_of_two, lambda_timeouts
):
    """Through app.py's handler (chalice.test Client) and the admin API, on the real clock; the
    marker is then moved into the past, as if the reset had come."""
    audience = openids(6, "o_h_")
    for openid in audience:
        fake_wechat.add_follower(openid)
    body = template_body({"type": "all"}, time.time())
    response = admin(client, "POST", "/admin/campaigns", body)
    assert response.status_code == 201, response.body
    cid = body_json(response)["id"]
    fake_wechat.inject_error(TEMPLATE_SEND, times=1, **QUOTA)
    cw = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
    client.lambda_.invoke("dispatch_campaigns", cw)

    def lambda_invoke(message: dict) -> dict:
        event = client.events.generate_sqs_event([message["Body"]], sends().name)
        record = event["Records"][0]
        record.update(messageId=message["MessageId"], receiptHandle=message["ReceiptHandle"])
        return client.lambda_.invoke("send_campaign", event).payload

    lam = LambdaQueue()
    assert lam.drain(lambda_invoke) == Counter({"paused": 3})
    assert fake_wechat.count(TEMPLATE_SEND) == 1
    assert [r["batchItemFailures"] for r in lam.results] == [
        [{"itemIdentifier": m}] for m in lam.held
    ]
    detail = body_json(admin(client, "GET", f"/admin/campaigns/{cid}"))
    until = quota.quota_reset_after(detail["paused"]["since"])
    assert detail["paused"]["until"] == until and detail["paused"]["errcode"] == 45009

    past = ddb.Update().set(until=until - 86400)  # the reset has come
    ddb.update(items.table_name(), limits.template_pause_key(), past)
    lam.time_passes()
    assert lam.drain(lambda_invoke) == Counter({"done": 3})
    client.lambda_.invoke("dispatch_campaigns", cw)
    assert "paused" not in body_json(admin(client, "GET", f"/admin/campaigns/{cid}"))
    assert_each_got_one(fake_wechat, cid, audience)


@pytest.fixture
def marker_unreadable(monkeypatch) -> dict[str, int]:
    """DynamoDB fails every read of the pause marker (and nothing else)."""
    state = {"on": True, "failed": 0}
    real = botocore.client.BaseClient._make_api_call

    def call(self, operation, params):
        key = (params.get("Key") or {}).get("pk", {}).get("S")
        if state["on"] and operation == "GetItem" and key == keys.scoped("limit", "template"):
            state["failed"] += 1
            error = {"Error": {"Code": "InternalServerError", "Message": "injected"}}
            raise ClientError(error, operation)
        return real(self, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", call)
    return state


def test_an_unreadable_marker_falls_back_to_wechat_and_loses_or_repeats_nothing(
    wx, fake_wechat, chunks_of_two, marker_unreadable
):
    clock = FakeClock()
    reset = quota.quota_reset_after(clock.t)
    cid, audience = start_campaign(fake_wechat, clock, 6)  # 3 chunks
    assert marker_unreadable["failed"] == 1  # create's answer (the detail) left the pause out
    marker_unreadable["failed"] = 0
    fake_wechat.inject_error(TEMPLATE_SEND, times=2, **QUOTA)
    dispatch(wx, clock)
    lam = LambdaQueue()
    # no chunk can read the marker: each asks WeChat. Two meet the 45009 (the first writes the
    # marker, the second's write changes nothing) and are held; the third finds the quota back.
    assert lam.drain(sender(wx, clock)) == Counter({"paused": 2, "done": 1})
    assert marker_unreadable["failed"] == 3
    assert fake_wechat.count(TEMPLATE_SEND) == 2 + 2
    marker_unreadable["on"] = False
    assert limits.template_pause()["until"] == reset

    clock.t = reset + quota.RESUME_MARGIN
    lam.time_passes()
    assert lam.drain(sender(wx, clock)) == Counter({"done": 2})
    dispatch(wx, clock)
    assert_each_got_one(fake_wechat, cid, audience)
    assert fake_wechat.count(TEMPLATE_SEND) == len(audience) + 2


def test_an_unwritten_marker_holds_the_chunk_and_the_next_one_writes_it(
    wx, fake_wechat, chunks_of_two, monkeypatch
):
    clock = FakeClock()
    cid, audience = start_campaign(fake_wechat, clock, 4)  # 2 chunks
    fake_wechat.inject_error(TEMPLATE_SEND, times=2, **QUOTA)
    dispatch(wx, clock)
    real = limits.pause_template_sends
    writes = {"n": 0}

    def flaky(*args, **kwargs):
        writes["n"] += 1
        if writes["n"] == 1:
            raise StoreUnavailable("storage error: injected")
        return real(*args, **kwargs)

    monkeypatch.setattr(limits, "pause_template_sends", flaky)
    lam = LambdaQueue()
    assert lam.drain(sender(wx, clock)) == Counter({"paused": 2})
    assert writes["n"] == 2 and fake_wechat.count(TEMPLATE_SEND) == 2
    assert limits.template_pause()["until"] == quota.quota_reset_after(clock.t)
    clock.t = limits.template_pause()["until"] + quota.RESUME_MARGIN
    lam.time_passes()
    assert lam.drain(sender(wx, clock)) == Counter({"done": 2})
    dispatch(wx, clock)
    assert_each_got_one(fake_wechat, cid, audience)


def test_a_message_near_the_dead_letter_count_or_without_a_handle_goes_back_as_a_new_one(
    wx, fake_wechat, chunks_of_two, monkeypatch
):
    """SQS counts each delivery of a held message; past HOLD_MAX_RECEIVES the chunk goes back
    as a fresh message (SQS's longest delay, 15 min) instead, so the DLQ never takes it. A
    bare body (no message to hold) does the same; a chunk already done is just dropped."""
    # at Beijing noon (tomorrow's, so still ahead of the routes' own clock): the pause then
    # lasts longer than SQS's longest delay whatever the hour the test runs at
    day = 86400
    clock = FakeClock((time.time() + 8 * 3600) // day * day + day + 4 * 3600)
    cid, _ = start_campaign(fake_wechat, clock, 2)
    limits.pause_template_sends(
        quota.quota_reset_after(clock.t), clock.t, errcode=45009, campaign_id=cid
    )
    dispatch(wx, clock)
    (message,) = sends().receive(10)
    sends().delete(message["ReceiptHandle"])
    sent: list[tuple[list, int]] = []
    monkeypatch.setattr(
        SendQueue, "enqueue", lambda _, bodies, delay=0: sent.append((bodies, delay))
    )
    chunk = items.chunk_sk(1)
    body = {"campaign": cid, "chunk": chunk, "attempt": 2}
    run = campaign_run.Run(wx, sends(), clock=clock)
    near_dlq = Delivery(body, "m-1", "handle-1", receives=sending.HOLD_MAX_RECEIVES + 1)
    assert sending.handle_records([near_dlq], run) == {"paused": 1}
    assert campaigns.handle_sqs([body], wx, clock=clock) == {"paused": 1}
    assert sent == [([body], sending.MAX_DELAY)] * 2
    assert fake_wechat.count(TEMPLATE_SEND) == 0
    # the sweep waits for it until past the pause (12 h at most)
    wait = min(limits.template_pause()["until"] - clock.t + 60, sending.MAX_HOLD)
    assert items.get_part(cid, chunk)["enqueued_at"] == clock.t + wait

    work.finish_chunk(cid, chunk, items.DONE, {})  # e.g. done by an earlier message
    assert campaigns.handle_sqs([body], wx, clock=clock) == {"skipped": 1}
    assert len(sent) == 2


def test_a_stale_marker_is_overwritten_and_never_moves_back(aws):
    now = FakeClock().t
    reset = quota.quota_reset_after(now)
    assert limits.pause_template_sends(reset - 86400, now - 86400, errcode=45009, campaign_id="a")
    assert limits.pause_template_sends(reset, now, errcode=45009, campaign_id="b")
    assert not limits.pause_template_sends(reset, now + 5, errcode=45009, campaign_id="c")
    assert not limits.pause_template_sends(reset - 86400, now, errcode=45009, campaign_id="d")
    marker = limits.template_pause()
    assert (marker["until"], marker["campaign"], marker["paused_at"]) == (reset, "b", now)
    assert quota.quota_pause(reset) is None  # in force until the reset, not after
    assert quota.quota_pause(reset - 1)["until"] == reset
