"""The customer-service quota (CONTRACT section 6): 5 messages per 48 h window after a
follower's message, 3 within a minute after a click, subscribe or scan; refused with 409 before
WeChat is called, counted exactly even by concurrent senders."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests import wxsim
from tests.functional.helpers import admin, body_json, post_xml

CUSTOM = "/admin/messages/custom"
SEND = "/cgi-bin/message/custom/send"


@pytest.fixture
def cs(client, fake_wechat):
    return client


def _text(client, openid: str, content: str = "hi", create_time: int | None = None) -> None:
    message = wxsim.text(content, openid, create_time=create_time)
    assert post_xml(client, message).status_code == 200


def _send(client, openid: str, content: str = "您好") -> object:
    body = {"openid": openid, "message": {"type": "text", "content": content}}
    return admin(client, "POST", CUSTOM, body)


def _refusal(response) -> dict:
    assert response.status_code == 409, response.body
    answer = body_json(response)
    assert set(answer) >= {"error", "retryable", "remaining", "window_until"}, answer
    assert answer["retryable"] is False and answer["remaining"] == 0
    return answer


def test_no_interaction_no_message_and_wechat_is_not_called(cs, fake_wechat):
    answer = _refusal(_send(cs, "o_silent"))
    assert answer["window_until"] is None and "closed" in answer["error"]
    assert fake_wechat.count(SEND) == 0


def test_five_per_message_window_then_409_with_the_window_end(cs, fake_wechat):
    created = int(time.time()) - 30
    _text(cs, "o_cs_1", create_time=created)
    for left in (4, 3, 2, 1, 0):
        response = _send(cs, "o_cs_1")
        assert response.status_code == 200, response.body
        answer = body_json(response)
        assert answer["sent"] is True and answer["remaining"] == left
        assert answer["window_until"] == created + 48 * 3600
    answer = _refusal(_send(cs, "o_cs_1"))
    assert answer["window_until"] == created + 48 * 3600 and "spent" in answer["error"]
    assert fake_wechat.count(SEND) == 5
    # A new message opens a new window with a fresh count.
    _text(cs, "o_cs_1", "again")
    assert _send(cs, "o_cs_1").status_code == 200
    allowance = body_json(admin(cs, "GET", f"{CUSTOM}/allowance?openid=o_cs_1"))
    assert allowance["remaining"] == 4 and allowance["windows"][0]["used"] == 1


def test_three_within_a_minute_after_a_click(cs, fake_wechat):
    event = wxsim.event("CLICK", "MENU_X", openid="o_cs_click")
    assert post_xml(cs, event).status_code == 200
    for _ in range(3):
        assert _send(cs, "o_cs_click").status_code == 200
    answer = _refusal(_send(cs, "o_cs_click"))
    assert answer["window_until"] <= time.time() + 60
    assert fake_wechat.count(SEND) == 3


def test_closed_windows(cs, fake_wechat):
    now = int(time.time())
    # A message of 48 hours and 2 minutes ago: its window closed 2 minutes ago.
    _text(cs, "o_cs_old", create_time=now - 48 * 3600 - 120)
    assert _refusal(_send(cs, "o_cs_old"))["window_until"] == now - 120
    # A message of 49 hours ago: its window closed an hour ago.
    _text(cs, "o_cs_older", create_time=now - 49 * 3600)
    assert _refusal(_send(cs, "o_cs_older"))["window_until"] == now - 3600
    # A click two minutes ago: its minute is over.
    click = wxsim.event("CLICK", "K", openid="o_cs_late", create_time=now - 120)
    assert post_xml(cs, click).status_code == 200
    assert _refusal(_send(cs, "o_cs_late"))["window_until"] == now - 60
    # An unsubscribe after the message closes the window.
    _text(cs, "o_cs_gone", create_time=now - 10)
    bye = wxsim.event("unsubscribe", openid="o_cs_gone", create_time=now - 5)
    assert post_xml(cs, bye).status_code == 200
    _refusal(_send(cs, "o_cs_gone"))
    # Views, locations and job reports open nothing.
    view = wxsim.event("VIEW", "https://bank.example", openid="o_cs_view")
    assert post_xml(cs, view).status_code == 200
    _refusal(_send(cs, "o_cs_view"))
    assert fake_wechat.count(SEND) == 0


def test_the_window_is_read_from_the_timeline_not_the_lagging_record(cs, fake_wechat):
    from chalicelib.store import followers

    _text(cs, "o_cs_fresh")
    # The stream has not been aggregated: the follower record does not exist yet.
    with pytest.raises(followers.NotFound):
        followers.get_follower("o_cs_fresh")
    body = {"openid": "o_cs_fresh", "message": {"type": "text", "content": "马上回复"}}
    headers = {"Authorization": f"Bearer {wxsim.ADMIN}", "Content-Type": "application/json"}
    response = cs.http.post(CUSTOM, headers=headers, body=json.dumps(body))
    assert response.status_code == 200, response.body
    assert json.loads(response.body)["remaining"] == 4


def test_wechat_45047_spends_the_window_45015_too(cs, fake_wechat):
    _text(cs, "o_cs_w")
    fake_wechat.inject_error(SEND, 45047, "out of limit")
    response = _send(cs, "o_cs_w")
    assert response.status_code == 409 and body_json(response)["errcode"] == 45047
    _refusal(_send(cs, "o_cs_w"))  # refused here now, without a call
    assert fake_wechat.count(SEND) == 1
    _text(cs, "o_cs_w2")
    fake_wechat.inject_error(SEND, 45015, "response out of time limit")
    assert body_json(_send(cs, "o_cs_w2"))["errcode"] == 45015
    _refusal(_send(cs, "o_cs_w2"))


def test_a_message_wechat_refused_is_given_back(cs, fake_wechat):
    _text(cs, "o_cs_back")
    fake_wechat.inject_error(SEND, 40008, "invalid message type")
    assert _send(cs, "o_cs_back").status_code == 422
    allowance = body_json(admin(cs, "GET", f"{CUSTOM}/allowance?openid=o_cs_back"))
    assert allowance["remaining"] == 5
    # No answer at all: it may have gone out, so it stays counted.
    fake_wechat.inject_error(SEND, None, status=500)
    assert _send(cs, "o_cs_back").status_code == 502
    assert body_json(admin(cs, "GET", f"{CUSTOM}/allowance?openid=o_cs_back"))["remaining"] == 4


def test_a_bad_message_is_400_and_counts_nothing(cs, fake_wechat):
    _text(cs, "o_cs_bad")
    body = {"openid": "o_cs_bad", "message": {"type": "text", "content": ""}}
    assert admin(cs, "POST", CUSTOM, body).status_code == 400
    assert body_json(admin(cs, "GET", f"{CUSTOM}/allowance?openid=o_cs_bad"))["remaining"] == 5
    assert admin(cs, "GET", f"{CUSTOM}/allowance?openid=bad!").status_code == 400


def test_concurrent_senders_never_exceed_the_quota(cs, fake_wechat):
    from chalicelib.cs import quota
    from infra import moto_patches

    moto_patches.apply()  # one write at a time, as DynamoDB applies each item write atomically
    _text(cs, "o_cs_race")
    event = wxsim.event("subscribe", openid="o_cs_race")
    assert post_xml(cs, event).status_code == 200
    taken, refused = [], []
    start = threading.Barrier(16)

    def sender() -> None:
        start.wait()
        try:
            taken.append(quota.take("o_cs_race"))
        except quota.QuotaRefused:
            refused.append(1)

    threads = [threading.Thread(target=sender) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 5 in the message window, 3 in the subscribe's minute: 8, never more.
    assert len(taken) == 8 and len(refused) == 8
    kinds = sorted(t.window.kind for t in taken)
    assert kinds == ["e"] * 3 + ["m"] * 5
    assert sorted(t.used for t in taken if t.window.kind == "m") == [1, 2, 3, 4, 5]
    assert quota.allowance("o_cs_race").remaining == 0
