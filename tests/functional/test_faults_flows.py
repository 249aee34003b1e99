"""Crash points of a flow step: the container dies just before, or just after, the one write a
message makes (the message log put, the flow-state step and the stats counters ride in one
TransactWriteItems). WeChat then retries the message, as it does when no answer came. For a
crash at every message of a scripted walk, the follower ends up with the same replies, the
same flow state, the same message log and the same flow statistics as in a run without the
crash: the step is applied exactly once. Storage errors (throttling, lost answers) on the same
write are covered the same way, with the replay job restoring what the callback logged."""

from __future__ import annotations

import logging

import pytest

from chalicelib.jobs.replay import replay
from infra.seed_flows import DEMO_FLOW
from tests import wxsim
from tests.conftest import _reset_process_state, empty_store
from tests.faults import CRASH_AFTER, CRASH_BEFORE, LOST_ANSWER, Crash, injected
from tests.functional.helpers import admin, body_json, messages, post_xml, refresh_rules

OPENID = "o_walker"
# A walk through the demo flow: enter, choose by number, back, choose by keyword, complete,
# then a message outside the flow.
SCRIPT = ("办卡", "2", "返回", "借记卡", "所需材料", "1")
MESSAGE_WRITES = frozenset({"PutItem", "TransactWriteItems"})


def _answer(response) -> str | None:
    assert response.status_code == 200
    return None if response.body == b"success" else wxsim.parse(response.body.decode())["Content"]


def _send(client, index: int) -> str | None:
    xml = wxsim.text(SCRIPT[index], openid=OPENID, msg_id=9000 + index)
    return _answer(post_xml(client, xml))


def _fresh(client) -> str:
    empty_store()
    _reset_process_state()
    response = admin(client, "POST", "/admin/flows", DEMO_FLOW)
    assert response.status_code == 201, response.body
    admin(client, "PUT", "/admin/replies/default", {"type": "text", "content": "默认"})
    refresh_rules()
    return body_json(response)["id"]


def _outcome(client, flow_id: str, replies: list) -> dict:
    from chalicelib.store import flows as flows_store

    state = flows_store.read_state(OPENID)
    logged = messages(client, OPENID)
    stats = body_json(admin(client, "GET", f"/admin/flows/{flow_id}/stats"))
    return {
        "replies": replies,
        "state": (state.flow_id, state.node_id, list(state.path or ())),
        "log": sorted((m["msg_id"], m["outcome"]) for m in logged),
        "stats": {"totals": stats["totals"], "nodes": stats["nodes"]},
    }


@pytest.fixture
def reference(client) -> dict:
    flow_id = _fresh(client)
    replies = [_send(client, i) for i in range(len(SCRIPT))]
    assert replies[0] and replies[-1] == "默认"
    return _outcome(client, flow_id, replies)


@pytest.mark.parametrize("when", [CRASH_BEFORE, CRASH_AFTER])
def test_a_crash_at_each_step_write_is_recovered_exactly_once(client, reference, when):
    for crash_at in range(len(SCRIPT)):
        flow_id = _fresh(client)
        replies = []
        for i in range(len(SCRIPT)):
            if i != crash_at:
                replies.append(_send(client, i))
                continue
            with injected() as faults:
                faults.fail_nth(1, when, MESSAGE_WRITES)
                with pytest.raises(Crash):
                    _send(client, i)  # the container died: WeChat got no answer
            assert faults.fired, f"message {i} made no write"
            _reset_process_state()  # the retry lands on a fresh container
            refresh_rules()
            replies.append(_send(client, i))  # WeChat's retry of the same message
        where = f"{when} at message {crash_at} ({SCRIPT[crash_at]})"
        assert _outcome(client, flow_id, replies) == reference, where


@pytest.mark.parametrize("kind", ["ProvisionedThroughputExceededException", LOST_ANSWER])
def test_a_storage_fault_at_each_step_write_answers_and_loses_nothing(
    client, reference, caplog, kind
):
    """The write fails for good (both attempts): the follower still gets the step's reply and
    the message is logged for replay, so no message is lost. The step itself rode in the failed
    transaction: it is not applied (not half-applied either), and the replay does not apply it
    later, since the follower has moved on (RELIABILITY.md). When only the answer was lost the
    write did land: state, log and statistics are exactly those of a run without the fault."""
    for fault_at in range(len(SCRIPT)):
        flow_id = _fresh(client)
        caplog.clear()
        replies = []
        for i in range(len(SCRIPT)):
            if i != fault_at:
                replies.append(_send(client, i))
                continue
            with injected() as faults, caplog.at_level(logging.ERROR, logger="wxless.callback"):
                faults.fail("PutItem", kind, times=2)
                faults.fail("TransactWriteItems", kind, times=2)
                replies.append(_send(client, i))
        where = f"{kind} at message {fault_at} ({SCRIPT[fault_at]})"
        # The follower got the right answer to the faulted message, and to all before it.
        assert replies[: fault_at + 1] == reference["replies"][: fault_at + 1], where
        lines = [r.getMessage() for r in caplog.records if "store_failed" in r.getMessage()]
        replay(lines)
        got = _outcome(client, flow_id, replies)
        # Nothing lost: every message is in the log once (the replayed one too), and the
        # replayed one with the outcome the follower was answered with.
        assert [m for m, _ in got["log"]] == [m for m, _ in reference["log"]], where
        assert got["log"][fault_at] == reference["log"][fault_at], where
        if kind == LOST_ANSWER:
            assert got == reference, where  # the step landed once: state and stats exact
