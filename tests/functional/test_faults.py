"""Faults on the callback and admin paths: the follower still gets an answer within 1 s, the admin
gets a clear retryable error, and once the fault clears nothing is lost or applied twice."""

from __future__ import annotations

import logging
import time

import pytest

from chalicelib.jobs.replay import replay
from tests import wxsim
from tests.faults import KINDS, injected
from tests.functional.helpers import admin, body_json, make_rule, messages, post_xml, text_rule

WRITES = ("PutItem", "TransactWriteItems")


def _content(response) -> str | None:
    return None if response.body == b"success" else wxsim.parse(response.body.decode())["Content"]


@pytest.mark.parametrize("kind", KINDS)
def test_callback_answers_through_a_dead_store_and_replay_restores_the_log(client, caplog, kind):
    make_rule(client, text_rule("余额", "规则回复"))
    admin(client, "PUT", "/admin/replies/default", {"type": "text", "content": "默认回复"})
    post_xml(client, wxsim.text("warm the cache", msg_id=1))
    with injected() as faults, caplog.at_level(logging.ERROR, logger="wxless.callback"):
        for op in WRITES:
            faults.fail(op, kind)
        answers, took = [], []
        for msg_id, words in ((2, "余额"), (3, "不认识")):
            started = time.monotonic()
            answers.append(post_xml(client, wxsim.text(words, openid="o_fault", msg_id=msg_id)))
            took.append(time.monotonic() - started)
        hit, miss = answers
        attempts = sum(faults.injected.get(op, 0) for op in WRITES)
    assert max(took) < 1.0  # each answered within 1 s, the fault notwithstanding
    assert (hit.status_code, miss.status_code) == (200, 200)
    assert _content(hit) == "规则回复" and _content(miss) == "默认回复"
    assert attempts <= 4  # bounded work: at most one retry of each message's write
    assert messages(client, "o_fault") == []

    lines = [r.getMessage() for r in caplog.records if "callback.store_failed" in r.getMessage()]
    assert len(lines) == 2
    assert replay(lines) == {"replayed": 2, "already_logged": 0, "unreadable": 0}
    assert replay(lines) == {"replayed": 0, "already_logged": 2, "unreadable": 0}
    logged = messages(client, "o_fault")
    assert sorted(m["msg_id"] for m in logged) == ["2", "3"]
    assert {m["msg_id"]: m["outcome"] for m in logged} == {"2": "rule", "3": "default"}


def test_one_throttled_write_is_retried_and_stored_once(client, caplog):
    make_rule(client, text_rule("余额", "规则回复"))
    with injected() as faults, caplog.at_level(logging.ERROR, logger="wxless.callback"):
        for op in WRITES:
            faults.fail(op, "ProvisionedThroughputExceededException", times=1)
        response = post_xml(client, wxsim.text("余额", openid="o_once", msg_id=10))
    assert _content(response) == "规则回复"
    assert not [r for r in caplog.records if "store_failed" in r.getMessage()]
    assert [m["msg_id"] for m in messages(client, "o_once")] == ["10"]


def test_retry_after_the_fault_clears_is_logged_once(client):
    make_rule(client, text_rule("余额", "规则回复"))
    xml = wxsim.text("余额", openid="o_after", msg_id=20)
    with injected() as faults:
        for op in WRITES:
            faults.fail(op, "InternalServerError")
        assert _content(post_xml(client, xml)) == "规则回复"
    # WeChat's own retry arrives after the fault cleared: stored now, once
    assert _content(post_xml(client, xml)) == "规则回复"
    assert _content(post_xml(client, xml)) == "规则回复"
    assert [m["msg_id"] for m in messages(client, "o_after")] == ["20"]


def test_rules_unreadable_with_a_warm_cache_still_answers(client):
    make_rule(client, text_rule("余额", "规则回复"))
    post_xml(client, wxsim.text("warm", msg_id=30))
    from chalicelib import wiring

    wiring.callback().book.invalidate()  # force a version read on the next message
    with injected() as faults:
        for op in ("GetItem", "Scan", "Query"):
            faults.fail(op, "connection")
        response = post_xml(client, wxsim.text("余额", msg_id=31))
    assert _content(response) == "规则回复"


@pytest.mark.parametrize("kind", KINDS)
def test_admin_write_fault_is_a_clear_retryable_error_and_writes_nothing(client, kind):
    with injected() as faults:
        faults.fail("PutItem", kind, after=1)  # the audit entry is written first
        faults.fail("UpdateItem", kind)
        response = admin(client, "POST", "/admin/rules", text_rule("余额", "x"))
    assert response.status_code == 503
    assert body_json(response) == {
        "error": "storage is unavailable, retry later",
        "retryable": True,
        "retry_after": 2,
    }
    assert response.headers["Retry-After"] == "2"
    assert body_json(admin(client, "GET", "/admin/rules"))["items"] == []
    assert admin(client, "POST", "/admin/rules", text_rule("余额", "x")).status_code == 201
    assert len(body_json(admin(client, "GET", "/admin/rules"))["items"]) == 1


def test_a_lost_version_bump_does_not_fail_the_admin_or_duplicate_the_rule(client, monkeypatch):
    from chalicelib.store import rules as rules_store
    from chalicelib.store import versions

    real = versions.add

    def counter(key: str) -> int:
        if key == rules_store.version_key():
            raise ConnectionError("version bump lost")
        return real(key)

    monkeypatch.setattr(versions, "add", counter)
    response = admin(client, "POST", "/admin/rules", text_rule("余额", "x"))
    assert response.status_code == 201
    assert len(body_json(admin(client, "GET", "/admin/rules"))["items"]) == 1


def test_admin_read_fault_is_503(client):
    with injected() as faults:
        faults.fail("Query", "connection")
        response = admin(client, "GET", "/admin/rules")
    assert response.status_code == 503 and body_json(response)["retryable"] is True


@pytest.mark.parametrize("message", ["rule", "flow", "location"])
def test_callback_answers_inside_wechats_deadline_while_dynamodb_hangs(client, message):
    """DynamoDB accepts connections and never answers. Every read and write on the callback's
    path then costs its client's full timeout budget (read timeout x attempts): the sum must
    stay well inside WeChat's 5 s, so the follower still gets the reply from the warm cache."""
    from chalicelib import wiring
    from infra.seed_flows import DEMO_FLOW
    from tests.faults import HANG

    make_rule(client, text_rule("余额", "规则回复"))
    admin(client, "POST", "/admin/flows", DEMO_FLOW)
    admin(client, "POST", "/admin/points", {"name": "天河支行", "lat": 23.13, "lng": 113.32})
    xml = {
        "rule": wxsim.text("余额", msg_id=41),
        "flow": wxsim.text("办卡", msg_id=42),
        "location": wxsim.message_xml(
            {
                "ToUserName": wxsim.ACCOUNT,
                "FromUserName": "o_hang",
                "CreateTime": 1,
                "MsgType": "location",
                "Location_X": 23.13,
                "Location_Y": 113.32,
                "Scale": 15,
                "Label": "x",
                "MsgId": 43,
            }
        ),
    }[message]
    post_xml(client, wxsim.text("warm", msg_id=40))
    post_xml(client, xml.replace("<MsgId>4", "<MsgId>9"))  # warms the points snapshot too
    wiring.callback().book.invalidate()  # a version check is due on the next message
    with injected() as faults:
        for op in ("GetItem", "Query", "Scan", "PutItem", "UpdateItem", "TransactWriteItems"):
            faults.fail(op, HANG)
        started = time.monotonic()
        response = post_xml(client, xml)
        spent = time.monotonic() - started + faults.hung_seconds
    assert response.status_code == 200 and response.body != b"success"
    assert spent < 4.5, f"{spent:.1f} s ({faults.injected})"  # WeChat waits 5 s
