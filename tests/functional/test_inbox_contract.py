"""One contract, two inboxes: the DynamoDB one (on moto) and the in-memory one the benchmark and
the fuzzers use must behave alike, so a test passing on one says something about the other."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from chalicelib.engine.flows import NO_STATE, FlowState, FlowStep
from chalicelib.engine.memory_inbox import MemoryInbox
from chalicelib.engine.pipeline import LogEntry, WriteConflict

Clock = list[float]


class DynamoUnderTest:
    """The DynamoDB inbox with the flow-state reader beside it, on a settable clock."""

    def __init__(self, clock: Clock) -> None:
        from chalicelib.store import flows
        from chalicelib.store.messages import DynamoInbox

        self.inbox = DynamoInbox(flows.step_update)
        self.read_state = flows.read_state
        self.clock = clock

    def record(self, entry: LogEntry, flow: FlowStep | None = None) -> str | None:
        import time

        real = time.time
        time.time = lambda: self.clock[0]  # the item's TTL and the condition's `now`
        try:
            return self.inbox.record(entry, flow)
        finally:
            time.time = real


class MemoryUnderTest:
    def __init__(self, clock: Clock) -> None:
        self.inbox = MemoryInbox(clock=lambda: clock[0])
        self.read_state = self.inbox.read_state

    def record(self, entry: LogEntry, flow: FlowStep | None = None) -> str | None:
        return self.inbox.record(entry, flow)


@pytest.fixture(params=["memory", "dynamodb"])
def inbox(request) -> Iterator[tuple[object, Clock]]:
    clock: Clock = [1_795_000_000.0]
    if request.param == "dynamodb":
        request.getfixturevalue("aws")
        yield DynamoUnderTest(clock), clock
    else:
        yield MemoryUnderTest(clock), clock


def entry(delivery: str = "m:1", reply: str = "<xml>a</xml>", openid: str = "o_c") -> LogEntry:
    return LogEntry(openid, 1_795_000_000, delivery, "text", "hi", "rule", "r1", reply)


def step(expect: int | None, node: str | None = "n1") -> FlowStep:
    state = None if node is None else FlowState(flow_id="f1", node_id=node)
    return FlowStep(expect, state, (("f1", node, "reached"),))


def test_a_first_delivery_is_stored_and_a_retry_gets_its_reply(inbox):
    under, _ = inbox
    assert under.record(entry()) is None
    assert under.record(entry(reply="<xml>other</xml>")) == "<xml>a</xml>"
    assert under.record(entry(delivery="m:2")) is None  # another message
    assert under.record(entry(openid="o_other")) is None  # another follower's timeline


def test_a_success_answer_is_stored_as_empty(inbox):
    under, _ = inbox
    assert under.record(entry(reply="")) is None
    assert under.record(entry(reply="<xml>late</xml>")) == ""


def test_an_expired_entry_counts_as_absent(inbox):
    under, clock = inbox
    assert under.record(entry()) is None
    clock[0] += 91 * 86400  # past the 90-day retention; DynamoDB may not have deleted it yet
    assert under.record(entry(reply="<xml>new</xml>")) is None
    assert under.record(entry()) == "<xml>new</xml>"


def test_a_flow_step_is_conditional_on_the_step_read(inbox):
    under, _ = inbox
    read: Callable[[str], FlowState] = under.read_state
    assert read("o_c") == NO_STATE
    assert under.record(entry("m:1"), step(0)) is None  # first state: none may exist
    assert read("o_c").step == 1 and read("o_c").node_id == "n1"
    with pytest.raises(WriteConflict):
        under.record(entry("m:2"), step(0))  # it exists now
    assert under.record(entry("m:2", reply="<xml>b</xml>")) is None  # nothing was stored for m:2
    with pytest.raises(WriteConflict):
        under.record(entry("m:3"), step(5))  # another message moved the flow meanwhile
    assert under.record(entry("m:4"), step(1, "n2")) is None
    assert read("o_c").step == 2 and read("o_c").node_id == "n2"
    assert under.record(entry("m:5"), step(None, None)) is None  # out of the flow, unread
    state = read("o_c")
    assert state.step == 3 and not state.active


def test_a_retry_of_a_flow_step_changes_no_state(inbox):
    under, _ = inbox
    assert under.record(entry("m:1"), step(0)) is None
    assert under.record(entry("m:1", reply="<xml>x</xml>"), step(1, "n2")) == "<xml>a</xml>"
    assert under.read_state("o_c").step == 1 and under.read_state("o_c").node_id == "n1"
