"""Faults on the follower profile sync job: DynamoDB failing at each write of a run (throttled,
or landed with its answer lost) and WeChat failing (5xx, -1 busy, 40001, 45009, garbage). The run
reports the failure and never marks work done that was not; the next run finishes it, and each
follower ends with exactly WeChat's profile."""

# ruff: noqa: F811  (fixtures imported from test_followers are then named as parameters)

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from tests.conftest import _reset_process_state, empty_store
from tests.faults import LOST_ANSWER, injected
from tests.functional.test_followers import fake, wechat  # noqa: F401  (fixtures)

BATCHGET = "/cgi-bin/user/info/batchget"
OPENIDS = [f"o_sync_{i:02d}" for i in range(5)]


def _pending(fake_server) -> None:
    from chalicelib.store.followers import FollowerItem, follower_key, pending_flag

    with FollowerItem.batch_write() as batch:  # what five first messages leave behind
        for i, openid in enumerate(OPENIDS):
            fake_server.add_follower(openid, nickname=f"客户{i}", city="广州", province="广东")
            key = follower_key(openid)
            batch.save(FollowerItem(key, subscribed=True, profile_sync=pending_flag(openid)))


def _profiles() -> dict[str, Any]:
    from chalicelib.store import followers

    out = {}
    for openid in OPENIDS:
        record = followers.get_follower(openid)
        out[openid] = (record["profile_synced"], record["nickname"], record["city"])
    return out


EXPECTED = {openid: (True, f"客户{i}", "广州") for i, openid in enumerate(OPENIDS)}


def _run(api) -> Any:
    from chalicelib.jobs import profile_sync

    return profile_sync.run(api, budget=60)


@pytest.mark.parametrize("kind", ["ProvisionedThroughputExceededException", LOST_ANSWER])
def test_a_store_fault_at_each_write_of_a_sync_is_finished_by_the_next_run(
    client, fake, wechat, kind
):
    _pending(fake)
    with injected() as counting:
        assert _run(wechat).synced == len(OPENIDS)
    writes = sum(n for op, n in counting.calls.items() if op in ("PutItem", "UpdateItem"))
    writes += counting.calls.get("TransactWriteItems", 0) + counting.calls.get("BatchWriteItem", 0)
    assert writes >= len(OPENIDS)
    for n in range(1, writes + 1):
        empty_store()
        _reset_process_state()
        _pending(fake)
        with injected() as faults:
            faults.fail_nth(n, kind)
            # The run reports the error (or a lost answer goes unnoticed); one that raised is a
            # failed scheduled invocation, which EventBridge runs again.
            with contextlib.suppress(Exception):
                _run(wechat)
        assert faults.fired, n
        report = _run(wechat)
        where = f"{kind} at write {n} ({faults.fired})"
        assert report.error is None, where
        assert _profiles() == EXPECTED, where


# name -> FakeWeChat.inject_error arguments
WECHAT_FAULTS: dict[str, dict[str, Any]] = {
    "http-503": {"errcode": None, "status": 503},
    "busy-1": {"errcode": -1, "errmsg": "system error"},
    "40001": {"errcode": 40001, "errmsg": "invalid credential"},
    "45009": {"errcode": 45009, "errmsg": "reach max api daily quota limit"},
    "html-200": {"errcode": None, "body": b"<html>bad gateway</html>"},
}


@pytest.mark.parametrize("fault", sorted(WECHAT_FAULTS))
def test_a_wechat_fault_keeps_the_work_pending_for_the_next_run(client, fake, wechat, fault):
    _pending(fake)
    times = 2 if fault == "40001" else 1  # 40001: the call and the client's one retry
    fake.inject_error(BATCHGET, times=times, **WECHAT_FAULTS[fault])
    report = _run(wechat)
    assert report.error and report.synced == 0
    assert all(not synced for synced, _, _ in _profiles().values())  # nothing marked done
    again = _run(wechat)
    assert again.error is None and again.synced == len(OPENIDS)
    assert _profiles() == EXPECTED
    assert _run(wechat).batches == 0  # and nothing is left to do
