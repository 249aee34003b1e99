"""POST /admin/notify (CONTRACT section 6): one template message now; a repeat with the same
client_msg_id gets the same answer and sends nothing more, also under concurrent repeats and
after a crash between WeChat's answer and our record; rate limit, daily quota, delivery status.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests import wxsim
from tests.functional.helpers import admin, body_json, post_xml

NOTIFY = "/admin/notify"
SEND = "/cgi-bin/message/template/send"
TEMPLATE = "tmpl_card_txn_0002"


@pytest.fixture
def notify(client, fake_wechat):
    fake_wechat.add_template(
        TEMPLATE,
        "交易提醒",
        "交易时间：{{time1.DATA}}\n交易金额：{{amount2.DATA}}\n商户：{{thing3.DATA}}",
    )
    fake_wechat.add_follower("o_n_1")
    return client


def _body(client_msg_id: str = "txn-0001", openid: str = "o_n_1", **extra) -> dict:
    return {
        "client_msg_id": client_msg_id,
        "openid": openid,
        "template_id": TEMPLATE,
        "data": {
            "time1": {"value": "2026-01-05 12:30"},
            "amount2": {"value": "¥128.00"},
            "thing3": "星巴克（国贸店）",
        },
        "url": "https://bank.example/txn/1",
        **extra,
    }


def _request(client_msg_id: str = "txn-0001"):
    from chalicelib.notify.request import parse

    return parse(_body(client_msg_id))


def test_sends_once_and_a_repeat_gets_the_same_answer(notify, fake_wechat):
    first = admin(notify, "POST", NOTIFY, _body())
    assert first.status_code == 200, first.body
    answer = body_json(first)
    assert answer["status"] == "sent" and answer["client_msg_id"] == "txn-0001"
    assert answer["openid"] == "o_n_1" and answer["channel"] == "template"
    (sent,) = fake_wechat.template_messages
    assert str(sent["msgid"]) == answer["msgid"]
    assert sent["data"]["thing3"] == {"value": "星巴克（国贸店）"} and sent["url"].endswith("/1")
    assert sent["client_msg_id"].startswith("wxl-n-")  # WeChat's own 10-minute dedup key
    for _ in range(2):
        again = admin(notify, "POST", NOTIFY, _body())
        assert again.status_code == 200 and again.body == first.body
        assert again.headers["Idempotent-Replayed"] == "true"
    assert fake_wechat.count(SEND) == 1
    # The same id with another body is a repeat too (CONTRACT section 6; WeChat's client_msg_id
    # sends one message per id): the first answer, nothing sent.
    other = admin(notify, "POST", NOTIFY, {**_body(), "openid": "o_n_2"})
    assert other.status_code == 200 and other.body == first.body
    assert other.headers["Idempotent-Replayed"] == "true"
    assert fake_wechat.count(SEND) == 1


def test_a_repeat_is_answered_after_its_template_is_gone(notify, fake_wechat):
    first = admin(notify, "POST", NOTIFY, _body())
    assert first.status_code == 200, first.body
    gone = admin(notify, "DELETE", f"/admin/templates/{TEMPLATE}")
    assert gone.status_code == 204, gone.body
    # The repeat gets the answer it was given, not a 400 about a template that has gone since.
    again = admin(notify, "POST", NOTIFY, _body())
    assert again.status_code == 200 and again.body == first.body
    assert again.headers["Idempotent-Replayed"] == "true"
    # A new notification, or this id with other data, is checked as before.
    fresh = admin(notify, "POST", NOTIFY, _body("txn-0002"))
    assert fresh.status_code == 400 and "template_id" in body_json(fresh)["error"]
    changed = admin(notify, "POST", NOTIFY, {**_body(), "url": "https://bank.example/txn/2"})
    assert changed.status_code == 400  # another body: checked, and its template has gone
    assert fake_wechat.count(SEND) == 1


BAD = [
    ({"client_msg_id": None}, "client_msg_id"),
    ({"client_msg_id": "has space"}, "client_msg_id"),
    ({"openid": "bad openid"}, "openid"),
    ({"template_id": ""}, "template_id"),
    ({"template_id": "tmpl_not_at_wechat"}, "template_id"),  # not synced, nor at WeChat
    ({"data": {}}, "data"),
    ({"data": {"thing3": {"value": "x" * 21}}}, "data.thing3"),
    ({"data": {"thing3": {"value": "ok", "color": "#FF0000"}}}, "data.thing3.color"),
    ({"data": {"first": "您好", "thing3": "ok"}}, "data.first"),
    ({"data": {"amount2": "一百元"}}, "data.amount2"),
    ({"data": {"thing3": "two\nlines"}}, "data.thing3"),
    ({"data": {"keyword1": "2026-01-05"}}, "data.keyword1"),  # not a field of this template
    ({"url": "javascript:alert(1)"}, "url"),
    ({"channel": "sms"}, "channel"),
    ({"extra": 1}, "unknown"),
]


def test_bad_requests_are_400_naming_the_field_and_send_nothing(notify, fake_wechat):
    for change, words in BAD:
        body = {k: v for k, v in {**_body(), **change}.items() if v is not None}
        response = admin(notify, "POST", NOTIFY, body)
        assert response.status_code == 400, (change, response.body)
        assert words in body_json(response)["error"], (change, response.body)
    assert fake_wechat.count(SEND) == 0
    # Bad input changes nothing: no notification was claimed under the id.
    assert admin(notify, "GET", f"{NOTIFY}/txn-0001").status_code == 404
    # An old-style (industry) template keeps first/remark: WeChat ignores them now.
    legacy = {"first": "您好", "keyword1": "2026-01-05", "remark": "谢谢"}
    body = {**_body("legacy-1"), "template_id": "tmpl_txn_notice_0001", "data": legacy}
    response = admin(notify, "POST", NOTIFY, body)
    assert response.status_code == 200, response.body


def test_concurrent_repeats_send_one_message(notify, fake_wechat):
    from chalicelib import wiring
    from chalicelib.notify import service
    from infra import moto_patches

    moto_patches.apply()
    fake_wechat.inject_error(SEND, None, delay=1.0)  # the first send takes a second
    req = _request()
    api = wiring.wechat()
    answers, errors = [], []
    start = threading.Barrier(6)

    def repeat() -> None:
        start.wait()
        try:
            answers.append(service.notify(req, "caller-a", api))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=repeat) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert fake_wechat.count(SEND) == 1
    assert len({json.dumps(a.body, sort_keys=True) for a in answers}) == 1
    assert sorted(a.replayed for a in answers) == [False] + [True] * 5


def test_a_crash_between_wechats_answer_and_our_record(notify, fake_wechat, monkeypatch):
    from chalicelib import wiring
    from chalicelib.notify import service
    from chalicelib.store import notify as store

    real_finish = store.finish

    def crash(*args, **kwargs):
        raise RuntimeError("the container died here")

    monkeypatch.setattr(store, "finish", crash)
    response = admin(notify, "POST", NOTIFY, _body("crash-1"))
    assert response.status_code == 500
    (sent,) = fake_wechat.template_messages  # WeChat did send it
    monkeypatch.setattr(store, "finish", real_finish)
    # A repeat while the dead request's lease still runs: ask again shortly.
    response = admin(notify, "POST", NOTIFY, _body("crash-1"))
    assert response.status_code == 409 and body_json(response)["retryable"] is True
    # After the lease: taken over and sent again with the same WeChat client_msg_id, which
    # WeChat deduplicates: no second message, and this time the answer is kept.
    later = time.time() + store.LEASE_SECONDS + 1
    answer = service.notify(_request("crash-1"), "caller-a", wiring.wechat(), now=later)
    assert answer.status == 200 and answer.body["msgid"] == str(sent["msgid"])
    assert len(fake_wechat.template_messages) == 1 and fake_wechat.count(SEND) == 2
    replay = admin(notify, "POST", NOTIFY, _body("crash-1"))
    assert body_json(replay) == answer.body and fake_wechat.count(SEND) == 2
    record = body_json(admin(notify, "GET", f"{NOTIFY}/crash-1"))
    assert record["status"] == "sent" and record["attempts"] == 2


def test_no_resend_past_wechats_dedup_window(notify, fake_wechat, monkeypatch):
    from chalicelib import wiring
    from chalicelib.notify import service
    from chalicelib.store import notify as store

    real_finish = store.finish

    def crash(*args, **kwargs):
        raise RuntimeError("the container died here")

    monkeypatch.setattr(store, "finish", crash)
    assert admin(notify, "POST", NOTIFY, _body("crash-2")).status_code == 500
    monkeypatch.setattr(store, "finish", real_finish)
    # WeChat got it but our record did not; 11 minutes later a resend could be a second message.
    later = time.time() + 660
    fake_wechat.inject_error(SEND, -1)  # (would fail loudly if called)
    answer = service.notify(_request("crash-2"), "caller-a", wiring.wechat(), now=later)
    assert answer.status == 409 and answer.body["status"] == "unknown"
    assert answer.body["retryable"] is False
    assert fake_wechat.count(SEND) == 1
    fake_wechat.reset()
    replay = admin(notify, "POST", NOTIFY, _body("crash-2"))
    assert replay.status_code == 409 and body_json(replay) == answer.body


def test_no_answer_from_wechat_is_retried_with_the_same_key(notify, fake_wechat):
    fake_wechat.inject_error(SEND, None, status=500)
    response = admin(notify, "POST", NOTIFY, _body("flaky-1"))
    assert response.status_code == 502 and body_json(response)["retryable"] is True
    record = body_json(admin(notify, "GET", f"{NOTIFY}/flaky-1"))
    assert record["status"] == "retry" and "500" in record["last_error"]
    response = admin(notify, "POST", NOTIFY, _body("flaky-1"))
    assert response.status_code == 200, response.body
    assert len(fake_wechat.template_messages) == 1
    keys = {c.body["client_msg_id"] for c in fake_wechat.calls_to(SEND)}
    assert len(keys) == 1  # both attempts under one WeChat key


def test_a_refusal_is_final_and_replayed(notify, fake_wechat):
    fake_wechat.remove_follower("o_n_1")
    response = admin(notify, "POST", NOTIFY, _body("gone-1"))
    assert response.status_code == 409, response.body
    answer = body_json(response)
    assert answer["errcode"] == 43004 and answer["status"] == "failed"
    again = admin(notify, "POST", NOTIFY, _body("gone-1"))
    assert again.status_code == 409 and again.body == response.body
    assert fake_wechat.count(SEND) == 1
    record = body_json(admin(notify, "GET", f"{NOTIFY}/gone-1"))
    assert record["status"] == "failed" and record["errcode"] == 43004


def test_rate_limit_per_caller(notify, fake_wechat, monkeypatch):
    from chalicelib.store import notify_limits

    monkeypatch.setenv("WXLESS_NOTIFY_RATE_PER_MINUTE", "1")
    for _ in range(3):  # two requests in one minute (again if a minute turned in between)
        minute = int(time.time() // 60)
        first = admin(notify, "POST", NOTIFY, _body("rate-1"))
        second = admin(notify, "POST", NOTIFY, _body("rate-2"))
        if int(time.time() // 60) == minute:
            break
    assert first.status_code == 200
    assert second.status_code == 429 and body_json(second)["retry_after"] >= 1
    assert fake_wechat.count(SEND) == 1
    # Another credential has its own budget.
    now = time.time()
    assert notify_limits.take_request("other-caller", now, 1)
    assert not notify_limits.take_request("other-caller", now, 1)
    assert notify_limits.take_request("other-caller", now + 60, 1)


def test_daily_template_quota(notify, fake_wechat, monkeypatch):
    monkeypatch.setenv("WXLESS_NOTIFY_DAILY_QUOTA", "1")
    assert admin(notify, "POST", NOTIFY, _body("day-1")).status_code == 200
    response = admin(notify, "POST", NOTIFY, _body("day-2"))
    assert response.status_code == 429 and "daily" in body_json(response)["error"]
    assert response.headers["Retry-After"]
    assert admin(notify, "POST", NOTIFY, _body("day-1")).status_code == 200  # a repeat: replayed
    assert fake_wechat.count(SEND) == 1
    # WeChat's own 45009: the account pauses until the reset, the next is refused here.
    monkeypatch.setenv("WXLESS_NOTIFY_DAILY_QUOTA", "100")
    fake_wechat.inject_error(SEND, 45009, "reach max api daily quota limit")
    assert admin(notify, "POST", NOTIFY, _body("day-3")).status_code == 429
    response = admin(notify, "POST", NOTIFY, _body("day-3"))
    assert response.status_code == 429 and "45009" in body_json(response)["error"]
    assert fake_wechat.count(SEND) == 2


def test_delivery_status_from_templatesendjobfinish(notify, fake_wechat):
    answer = body_json(admin(notify, "POST", NOTIFY, _body("dlv-1")))
    event = wxsim.event(
        "TEMPLATESENDJOBFINISH", openid="o_n_1", MsgID=answer["msgid"], Status="success"
    )
    assert post_xml(notify, event).status_code == 200
    record = body_json(admin(notify, "GET", f"{NOTIFY}/dlv-1"))
    assert record["delivery"] == "delivered" and record["delivery_status"] == "success"
    assert record["msgid"] == answer["msgid"] and record["status"] == "sent"
    assert admin(notify, "GET", f"{NOTIFY}/no-such-id").status_code == 404
