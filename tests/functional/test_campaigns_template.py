"""Template campaigns: fan-out through SQS into the handler declared in app.py (invoked with
chalice.test.Client), per-recipient errors, completion events, audiences, `make run`'s path."""

# ruff: noqa: F811  (fixtures imported from test_campaigns are then named as parameters)

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from chalice.local import LambdaContext

from chalicelib import wiring
from chalicelib.campaigns import admin as services
from chalicelib.campaigns import mass, template
from chalicelib.campaigns.queue import LOCAL_MAX_RECEIVES
from chalicelib.jobs import campaigns
from chalicelib.store import campaign_items as items
from chalicelib.store import campaign_recipients as recipients
from tests import wxsim
from tests.functional.helpers import admin, body_json, post_xml
from tests.functional.test_campaigns import (  # noqa: F401  (fixtures)
    SEND,
    _moto_for_module,
    aws,
    clock,
    dispatch,
    drain_queue,
    mass_body,
    openids,
    queue,
    sends,
    template_body,
    wx,
)

TEMPLATE_SEND = "/cgi-bin/message/template/send"


@pytest.fixture
def lambda_timeouts(monkeypatch):
    """chalice.test gives every function a 3 s context; give them their configured timeouts."""
    import functools

    import chalice.test

    monkeypatch.setattr(
        chalice.test, "LambdaContext", functools.partial(LambdaContext, max_runtime_ms=60_000)
    )


@pytest.fixture
def no_retry_delay(monkeypatch):
    # moto honours DelaySeconds in real time; the tests do not wait for it.
    monkeypatch.setattr(template, "RETRY_DELAY", 0)


def invoke_sender(client, bodies: list[str]) -> dict:
    """The SQS-triggered function as Lambda runs it; returns what the handler returned."""
    event = client.events.generate_sqs_event(message_bodies=bodies, queue_name=sends().name)
    return client.lambda_.invoke("send_campaign", event).payload


def template_finish(openid: str, msg_id: str, status: str, create_time: int) -> str:
    return wxsim.event(
        "TEMPLATESENDJOBFINISH", openid=openid, create_time=create_time, MsgID=msg_id, Status=status
    )


def test_template_fanout_through_the_sqs_handler(
    client, fake_wechat, queue, no_retry_delay, lambda_timeouts
):
    audience = openids(260, "o_tpl_")
    for i, openid in enumerate(audience):
        fake_wechat.add_follower(openid, remark=f"客户{i}")
    response = admin(
        client, "POST", "/admin/campaigns", template_body({"type": "all"}, time.time())
    )
    assert response.status_code == 201, response.body
    cid = body_json(response)["id"]
    fake_wechat.inject_error(TEMPLATE_SEND, 43004, "require subscribe", times=2)
    fake_wechat.inject_error(TEMPLATE_SEND, 45047, "out of response count limit")
    fake_wechat.inject_error(TEMPLATE_SEND, -1, "system error")  # retried later

    # EventBridge -> the dispatcher (the app.py wrapper): plans 3 chunks onto the queue
    cw = client.events.generate_cw_event("aws.events", "Scheduled Event", {}, [])
    client.lambda_.invoke("dispatch_campaigns", cw)
    assert body_json(admin(client, "GET", f"/admin/campaigns/{cid}"))["progress"]["chunks"] == 3
    # SQS -> the sender, one message per invocation (batch size 1), until the queue is empty
    outcomes = Counter()
    while messages := sends().receive(10):
        for message in messages:
            outcomes.update(invoke_sender(client, [message["Body"]]))
            sends().delete(message["ReceiptHandle"])
    # three chunks, one of them once more for its busy recipient
    assert outcomes == Counter({"done": 3, "requeued": 1})
    client.lambda_.invoke("dispatch_campaigns", cw)

    detail = body_json(admin(client, "GET", f"/admin/campaigns/{cid}"))
    assert detail["status"] == "completed"
    progress = detail["progress"]
    assert (progress["recipients"], progress["sent"], progress["failed"]) == (260, 257, 3)
    assert progress["errors"] == {"43004": 2, "45047": 1}
    assert progress["queued"] == 0 and progress["chunks_done"] == 3
    assert fake_wechat.count(TEMPLATE_SEND) == 261  # 260 + the one retry of the busy answer
    sent = fake_wechat.template_messages
    assert len({m["touser"] for m in sent}) == 257 == len(sent)
    first = next(m for m in sent if m["touser"] == "o_tpl_00259")
    assert first["data"]["first"] == {"value": "尊敬的客户259客户"}
    assert first["data"]["remark"] == {"value": "openid o_tpl_00259"}
    assert first["data"]["keyword2"] == {"value": "¥100.00"}
    assert first["url"] == "https://bank.example.com/bill"
    assert first["client_msg_id"] == template.client_msg_id(cid, "o_tpl_00259")
    unsubscribed = [
        r
        for r in (recipients.get_recipient(cid, o) for o in audience)
        if r["state"] == items.FAILED_STATE
    ]
    assert sorted(r["errcode"] for r in unsubscribed) == ["43004", "43004", "45047"]

    # TEMPLATESENDJOBFINISH, through the callback: per-recipient status and totals, once
    now = int(time.time())
    a, b = sent[0], sent[1]
    for xml in (
        template_finish(a["touser"], str(a["msgid"]), "success", now),
        template_finish(b["touser"], str(b["msgid"]), "failed:user block", now),
        template_finish(b["touser"], str(b["msgid"]), "failed:user block", now),  # a retry
    ):
        assert post_xml(client, xml).status_code == 200
    results = body_json(admin(client, "GET", f"/admin/campaigns/{cid}"))["results"]
    assert results == {"delivered": 1, "blocked": 1, "failed": 0}
    assert recipients.get_recipient(cid, b["touser"])["delivery"] == "failed:user block"


def test_a_fatal_template_error_fails_the_campaign(wx, fake_wechat, clock, queue):
    for openid in openids(3):
        fake_wechat.add_follower(openid)
    body = template_body({"type": "all"}, clock.t)
    created = services.create(body, now=clock.t, client=wiring.wechat())
    # Deleted in WeChat between scheduling and sending (an unknown one is refused at creation).
    fake_wechat.delete_template("tmpl_txn_notice_0001")
    dispatch(wx, clock)
    drain_queue(lambda bodies: campaigns.handle_sqs(bodies, wx, clock=clock))
    detail = services.detail(created["id"])
    assert detail["status"] == "failed" and "40037" in detail["fail_reason"]
    assert fake_wechat.count(TEMPLATE_SEND) == 1  # stopped at the first answer


def test_busy_answers_are_not_retried_forever(wx, fake_wechat, clock, queue, no_retry_delay):
    for openid in openids(2):
        fake_wechat.add_follower(openid)
    fake_wechat.inject_error(TEMPLATE_SEND, -1, "system error", times=100)
    created = services.create(
        template_body({"type": "all"}, clock.t, template=simple_template()),
        now=clock.t,
        client=wiring.wechat(),
    )
    dispatch(wx, clock)
    for _ in range(10):
        clock.advance(60)
        drain_queue(lambda bodies: campaigns.handle_sqs(bodies, wx, clock=clock))
    dispatch(wx, clock)
    detail = services.detail(created["id"])
    assert detail["status"] == "completed"
    assert detail["progress"]["failed"] == 2 and detail["progress"]["errors"] == {"gave_up": 2}
    assert fake_wechat.count(TEMPLATE_SEND) == 2 * template.MAX_CHUNK_ATTEMPTS


def simple_template() -> dict:
    return {"template_id": "tmpl_txn_notice_0001", "data": {"first": "您好"}}


def test_openid_list_and_follower_query_audiences(wx, fake_wechat, clock, queue):
    from chalicelib.store import followers

    listed = openids(3, "o_list_")
    created = services.create(
        template_body({"type": "openids", "openids": [*listed, listed[0]]}, clock.t),
        now=clock.t,
        client=wiring.wechat(),
    )
    assert created["progress"]["recipients"] == 3 and not created["progress"]["planned"]
    for i, openid in enumerate(openids(4, "o_rec_")):
        followers.item(
            openid,
            subscribed=i != 3,
            region="中国 广东 深圳" if i % 2 == 0 else "中国 北京 北京",
            remark=f"r{i}",
        ).save()
    queried = services.create(
        template_body({"type": "query", "query": {"region": "深圳"}}, clock.t),
        now=clock.t,
        client=wiring.wechat(),
    )
    dispatch(wx, clock)
    drain_queue(lambda bodies: campaigns.handle_sqs(bodies, wx, clock=clock))
    dispatch(wx, clock)
    got = Counter(m["touser"] for m in fake_wechat.template_messages)
    assert got == Counter({*listed, "o_rec_00000", "o_rec_00002"})  # subscribed, in 深圳
    by_openid = {m["touser"]: m for m in fake_wechat.template_messages}
    assert by_openid["o_rec_00002"]["data"]["first"]["value"] == "尊敬的r2客户"
    for cid, n in ((created["id"], 3), (queried["id"], 2)):
        detail = services.detail(cid)
        assert detail["status"] == "completed" and detail["progress"]["sent"] == n


def test_mass_send_to_a_follower_query(wx, fake_wechat, clock):
    from chalicelib.store import followers

    for i in range(5):
        followers.item(f"o_q_{i}", subscribed=True, tags={"vip"} if i < 3 else None).save()
    created = services.create(
        mass_body({"type": "query", "query": {"tag": "vip"}}, clock.t), now=clock.t
    )
    dispatch(wx, clock)
    (call,) = fake_wechat.calls_to(SEND)
    assert sorted(call.body["touser"]) == ["o_q_0", "o_q_1", "o_q_2"]
    detail = services.detail(created["id"])
    assert detail["status"] == "completed" and detail["progress"]["sent"] == 3


@pytest.mark.parametrize("followers", [5, 8, 9])
def test_a_query_audience_never_leaves_one_follower_alone_in_a_batch(
    wx, fake_wechat, clock, monkeypatch, followers
):
    """Pages of 4 (10,000 in production): 5 followers would be pages of 4 + 1, and mass/send
    refuses a single openid; the planner carries two openids over to the next batch."""
    from chalicelib.store import followers as store_followers

    monkeypatch.setattr(mass, "QUERY_PAGE", 4)
    audience = [f"o_q_{i}" for i in range(followers)]
    for openid in audience:
        store_followers.item(openid, subscribed=True, tags={"vip"}).save()
    created = services.create(
        mass_body({"type": "query", "query": {"tag": "vip"}}, clock.t), now=clock.t
    )
    dispatch(wx, clock)
    calls = fake_wechat.calls_to(SEND)
    assert all(2 <= len(c.body["touser"]) <= 4 for c in calls)
    assert sorted(o for c in calls for o in c.body["touser"]) == sorted(audience)
    detail = services.detail(created["id"])
    assert detail["status"] == "completed"
    assert detail["progress"]["sent"] == followers and detail["progress"]["failed"] == 0


def test_every_follower_gets_exactly_one_message(wx, fake_wechat, clock, queue):
    """The quick, correctness-only version of bench/campaigns_bench.py (moto's update
    expressions cost ~10 ms each, so the template side stays small here)."""
    audience = openids(400, "o_k_")
    for openid in audience:
        fake_wechat.add_follower(openid)
    template = services.create(
        template_body({"type": "all"}, clock.t, template=simple_template()),
        now=clock.t,
        client=wiring.wechat(),
    )
    mass = services.create(
        mass_body({"type": "openids", "openids": openids(25_000)}, clock.t), now=clock.t
    )
    dispatch(wx, clock)
    drain_queue(lambda bodies: campaigns.handle_sqs(bodies, wx, clock=clock))
    dispatch(wx, clock)
    assert Counter(m["touser"] for m in fake_wechat.template_messages) == Counter(audience)
    assert sorted(o for c in fake_wechat.calls_to(SEND) for o in c.body["touser"]) == openids(
        25_000
    )
    assert services.detail(template["id"])["progress"]["sent"] == 400
    assert services.detail(mass["id"])["progress"]["sent"] == 25_000


def test_make_run_path_fires_by_itself(fake_wechat, queue):
    """What `make run` does: the local scheduler calls dispatch_local and drain_local."""
    for openid in openids(3):
        fake_wechat.add_follower(openid)
    created = services.create(template_body({"type": "all"}, time.time()), client=wiring.wechat())
    campaigns.dispatch_local()
    campaigns.drain_local()
    campaigns.dispatch_local()
    detail = services.detail(created["id"])
    assert detail["status"] == "completed" and detail["progress"]["sent"] == 3
    assert detail["duration_s"] is not None


def test_tag_audience_pages_through_the_tags_followers(wx, fake_wechat, clock, queue):
    for openid in openids(6, "o_tag_"):
        fake_wechat.add_follower(openid)
    tagged = openids(6, "o_tag_")[::2]
    wx.tags.tag_users(2, tagged)
    created = services.create(
        template_body({"type": "tag", "tag_id": 2}, clock.t, template=simple_template()),
        now=clock.t,
        client=wiring.wechat(),
    )
    dispatch(wx, clock)
    drain_queue(lambda bodies: campaigns.handle_sqs(bodies, wx, clock=clock))
    dispatch(wx, clock)
    assert sorted(m["touser"] for m in fake_wechat.template_messages) == tagged
    detail = services.detail(created["id"])
    assert detail["status"] == "completed" and detail["progress"]["sent"] == 3


def test_a_poison_message_goes_to_the_dead_letter_queue_and_its_chunk_is_resent(
    wx, fake_wechat, clock, queue, monkeypatch
):
    """The sender fails on a chunk every time (a bug, a storage outage): after the queue's
    maxReceiveCount SQS moves the message to the DLQ; the chunk stays open, and the
    dispatcher's sweep puts it back once the trouble is over. Nothing is sent twice."""
    from chalicelib.store.aws import client as aws_client

    sqs = aws_client("sqs")
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "0"})
    for openid in openids(3):
        fake_wechat.add_follower(openid)
    created = services.create(
        template_body({"type": "all"}, clock.t, template=simple_template()),
        now=clock.t,
        client=wiring.wechat(),
    )
    dispatch(wx, clock)
    real = template.process_chunk
    broken = {"on": True}

    def process(*args, **kwargs):
        if broken["on"]:
            raise RuntimeError("storage outage")
        return real(*args, **kwargs)

    monkeypatch.setattr(template, "process_chunk", process)
    failures = 0
    while messages := sends().receive(10):  # Lambda's event source mapping, without deleting
        for message in messages:
            with pytest.raises(RuntimeError):
                campaigns.handle_sqs([message["Body"]], wx, clock=clock)
            failures += 1
    assert failures == LOCAL_MAX_RECEIVES  # then SQS gave up on it
    dlq = sqs.get_queue_url(QueueName=sends().name + "-dlq")["QueueUrl"]
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["campaign"] for m in dead] == [created["id"]]
    assert fake_wechat.count(TEMPLATE_SEND) == 0

    broken["on"] = False
    dispatch(wx, clock)  # too early for the sweep: the chunk may still be on its way
    assert sends().receive(10) == []
    clock.advance(template.STUCK_AFTER + 1)
    dispatch(wx, clock)  # the sweep re-enqueues the chunk whose message was lost
    drain_queue(lambda bodies: campaigns.handle_sqs(bodies, wx, clock=clock))
    dispatch(wx, clock)
    detail = services.detail(created["id"])
    assert detail["status"] == "completed" and detail["progress"]["sent"] == 3
    assert sorted(m["touser"] for m in fake_wechat.template_messages) == openids(3)


def test_unknown_openids_do_not_strip_the_others_template_data(wx, fake_wechat):
    """user/info/batchget fails whole (40003) on one openid WeChat does not know: the batch is
    split until the unknown ones are alone, the others keep their profile."""
    from chalicelib.campaigns.audience import follower_profiles

    known = openids(20, "o_known_")
    for i, openid in enumerate(known):
        fake_wechat.add_follower(openid, remark=f"r{i}")
    audience = [*known[:7], "o_gone_1", *known[7:15], "o_gone_2", *known[15:]]
    profiles = follower_profiles(audience, {"remark"}, wx)
    assert {o: profiles[o].get("remark") for o in known} == {
        o: f"r{i}" for i, o in enumerate(known)
    }
    assert profiles["o_gone_1"] == {"openid": "o_gone_1"}
    batch_calls = fake_wechat.count("/cgi-bin/user/info/batchget")
    assert batch_calls < len(audience) / 2  # a split, not one call per openid
