"""The stream aggregator on moto, exactly once: the same stream records delivered the ways Lambda
may deliver them (again, halved by bisect-on-error, longer after a failure, with a poison record,
with throttled or crashing writes at every write point) leave exactly the counters, follower
records, listing and flow and campaign statistics of one clean delivery."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from infra.seed_flows import DEMO_FLOW
from tests import stream, wxsim
from tests.faults import CRASH_AFTER, CRASH_BEFORE, LOST_ANSWER, Crash, injected
from tests.functional.helpers import admin, body_json, make_rule, post_xml, refresh_rules, text_rule

FOLLOWERS = [f"o_agg_{i}" for i in range(6)]
AGGREGATE_WRITES = frozenset({"UpdateItem", "PutItem"})


def _traffic(client) -> str:
    """A small campaign-day mix through the real callback; the flow's id."""
    make_rule(client, text_rule("余额", "余额是 100 元"))
    admin(client, "PUT", "/admin/replies/default", {"type": "text", "content": "默认"})
    flow = body_json(admin(client, "POST", "/admin/flows", DEMO_FLOW))
    refresh_rules()
    for i, openid in enumerate(FOLLOWERS):
        post_xml(client, wxsim.event("subscribe", f"qrscene_poster{i % 2}", openid=openid))
        post_xml(client, wxsim.text("余额", openid=openid))
        post_xml(client, wxsim.text("余额？" if i % 2 else "信用卡年费", openid=openid))
        post_xml(client, wxsim.event("CLICK", "MENU_X", openid=openid))
    post_xml(client, wxsim.text("办卡", openid=FOLLOWERS[0]))
    post_xml(client, wxsim.text("1", openid=FOLLOWERS[0]))
    post_xml(client, wxsim.event("unsubscribe", openid=FOLLOWERS[5]))
    return flow["id"]


def _records() -> list[dict[str, Any]]:
    """Every stream record since the test began, as Lambda would deliver them (not delivered)."""
    from chalicelib.store import stream as stream_store
    from chalicelib.store.messages import table_name

    pump = stream.pump()
    arn = stream_store.stream_arn(table_name())
    (shard,) = list(stream_store.shards(arn))
    records, _ = stream_store.read_shard(arn, shard, pump.positions.get((arn, shard)), 10_000)
    return [r for r in records if r["eventName"] == "INSERT"]


def _event(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Records": records, "shardId": "shardId-test-1", "eventSourceARN": "arn:test"}


def _deliver(records: list[dict[str, Any]]) -> dict[str, Any]:
    from chalicelib.jobs import aggregate

    return aggregate.handle(_event(records))


def _forget_aggregates() -> None:
    """Empty what the aggregator writes (the messages themselves stay)."""
    from chalicelib.store import analytics, followers
    from chalicelib.store import flows as flows_store

    for model in (analytics.AnalyticsItem, followers.FollowerItem, flows_store.FlowStatsItem):
        with model.batch_write() as batch:
            for item in list(model.scan()):
                batch.delete(item)


def _snapshot(flow_id: str) -> dict[str, Any]:
    from chalicelib.desk import conversations
    from chalicelib.desk.walk import ListingWalk
    from chalicelib.store import analytics, channel_stats, followers, listing
    from chalicelib.store import flows as flows_store

    today = analytics.today()
    first, last = today - dt.timedelta(days=1), today + dt.timedelta(days=1)
    people = {}
    for openid in FOLLOWERS:
        record = followers.get_follower(openid)
        record.pop("updated_at")  # the same value; kept out only to show what matters
        people[openid] = record
    texts = sorted(analytics.text_stats(first, last), key=lambda r: r["text"])
    return {
        "messages": analytics.message_stats(first, last)["totals"],
        "rules": analytics.rule_hits(first, last),
        "growth": analytics.follower_growth(first, last)["totals"],
        "texts": texts,
        "followers": people,
        "listing": sorted(m["msg_id"] for m in listing.recent(500)),
        "flow": flows_store.stats(flow_id, first, last)["totals"],
        "channels": channel_stats.totals(["poster0", "poster1"]),
        "channel_days": [channel_stats.daily(f"poster{i}", first, last) for i in (0, 1)],
        # the desk's list, derived from the listing (an hour on: only the 48-hour windows)
        "conversations": {
            c["openid"]: c
            for c in conversations.open_conversations(
                ListingWalk().open_trails(time.time() + 3600), limit=200
            )[0]
        },
    }


@pytest.fixture
def recorded(client):
    flow_id = _traffic(client)
    records = _records()
    assert len(records) == 6 * 4 + 3
    assert _deliver(records)["batchItemFailures"] == []
    reference = _snapshot(flow_id)
    assert reference["messages"]["total"] == len(records)
    assert reference["growth"] == {"new": 6, "lost": 1, "net": 5}
    assert reference["followers"][FOLLOWERS[5]]["subscribed"] is False
    assert reference["followers"][FOLLOWERS[1]]["scene"] == "poster1"
    assert len(reference["listing"]) == len(records)
    assert reference["flow"]["entered"] == 1
    assert reference["channels"]["poster0"] == {"scans": 3, "subscribes": 3}
    opened = reference["conversations"]
    assert opened[FOLLOWERS[0]]["unread"] == 4  # 余额, 信用卡年费, 办卡, 1
    assert sorted(opened) == sorted(FOLLOWERS[:5])  # the sixth left
    return flow_id, records, reference


def test_the_aggregator_writes_nothing_for_the_desk(recorded):
    """The desk's list is derived from the listing: a batch leaves the desk table empty."""
    from chalicelib.store import desk

    assert list(desk.DeskItem.scan()) == []


def test_a_redelivered_batch_changes_nothing(recorded):
    flow_id, records, reference = recorded
    assert _deliver(records)["batchItemFailures"] == []
    assert _deliver(records[:10])["batchItemFailures"] == []
    assert _snapshot(flow_id) == reference


@pytest.mark.parametrize("split", [1, 6, 12])
def test_a_batch_halved_or_lengthened_after_a_failure_counts_each_record_once(recorded, split):
    """Lambda retries a failed batch whole, halved (bisect-on-error) or, after new records came,
    longer: whatever part of it had landed is not counted again."""
    flow_id, records, reference = recorded
    _forget_aggregates()
    with injected() as faults:
        faults.fail_nth(split, CRASH_AFTER, AGGREGATE_WRITES)
        with pytest.raises(Crash):
            _deliver(records)
    half = len(records) // 2
    assert _deliver(records[:half])["batchItemFailures"] == []  # bisect: the first half
    assert _deliver(records[: half + 3])["batchItemFailures"] == []  # longer, overlapping
    assert _deliver(records[half:])["batchItemFailures"] == []
    assert _snapshot(flow_id) == reference


@pytest.mark.parametrize("when", [CRASH_BEFORE, CRASH_AFTER, LOST_ANSWER])
def test_a_fault_at_every_write_of_a_batch_is_recovered_exactly_once(recorded, when):
    flow_id, records, reference = recorded
    _forget_aggregates()
    with injected() as counting:
        _deliver(records)
    writes = sum(n for op, n in counting.calls.items() if op in AGGREGATE_WRITES)
    # 6 followers, 1 hour, 4 texts, 1 flow day, 2 channels (their day and all time),
    # 1 listing page, the progress item: nothing for the desk
    assert writes == 18, counting.calls
    for n in range(1, writes + 1):
        _forget_aggregates()
        with injected() as faults:
            faults.fail_nth(n, when, AGGREGATE_WRITES)
            try:
                answer = _deliver(records)
            except Crash:
                answer = None  # the invocation died: Lambda delivers the batch again
        assert faults.fired, n
        if when == LOST_ANSWER:  # the write landed; botocore saw an error and retried it
            assert answer is not None
        while answer is None or answer["batchItemFailures"]:
            answer = _deliver(records)
        assert _snapshot(flow_id) == reference, f"{when} at write {n}"


def test_throttled_writes_fail_the_batch_and_its_retry_completes_it(recorded):
    flow_id, records, reference = recorded
    _forget_aggregates()
    with injected() as faults:
        faults.fail("UpdateItem", "ProvisionedThroughputExceededException", times=5)
        answer = _deliver(records)
    first = records[0]["dynamodb"]["SequenceNumber"]
    assert answer["batchItemFailures"] == [{"itemIdentifier": first}]  # retry it all
    assert _deliver(records)["batchItemFailures"] == []
    assert _snapshot(flow_id) == reference


def test_a_poison_record_goes_to_the_dead_letter_queue_and_the_rest_is_counted(recorded):
    from chalicelib.aggregate import deadletter

    flow_id, records, reference = recorded
    _forget_aggregates()
    broken = {**records[3], "dynamodb": {**records[3]["dynamodb"]}}
    broken["dynamodb"]["NewImage"] = {**broken["dynamodb"]["NewImage"]}
    del broken["dynamodb"]["NewImage"]["t"]  # a message item the aggregator cannot read
    broken["dynamodb"]["SequenceNumber"] = str(int(records[3]["dynamodb"]["SequenceNumber"]) + 1)
    undecodable = {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "x", "NewImage": 5}}
    before = deadletter.depth()
    batch = [*records[:4], broken, undecodable, *records[4:]]
    assert _deliver(batch)["batchItemFailures"] == []
    assert deadletter.depth() == before + 2
    assert _snapshot(flow_id) == reference  # the poison adds nothing, the rest is all there


def test_the_pump_drives_the_same_consumer_and_stats_say_as_of(client):
    post_xml(client, wxsim.text("你好", openid="o_asof"))
    response = admin(client, "GET", "/admin/stats/messages")  # the admin helper drains
    body = body_json(response)
    assert body["totals"]["total"] == 1 and body["as_of"] > 0
    listing = body_json(admin(client, "GET", "/admin/messages"))
    assert [m["openid"] for m in listing["items"]] == ["o_asof"] and listing["as_of"] > 0
