"""Contract section 5 against `make run` over HTTP: the demo knowledge base answers followers'
own words ("我想办卡"), an admin's new entry answers within 5 s, rules keep precedence, a close
call asks back and its "1" answers, chatter gets the default reply."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from infra.seed_faq import DEMO_FAQ
from tests import wxsim
from tests.stack import start as start_stack

pytestmark = pytest.mark.e2e
AUTH = {"Authorization": f"Bearer {wxsim.ADMIN}", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def base():
    stack = start_stack()
    yield stack.base
    stack.stop()


def _call(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}{path}", data=data, method=method, headers=AUTH)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _say(base: str, text: str, openid: str) -> str:
    request = urllib.request.Request(
        f"{base}/wechat?{wxsim.qs(wxsim.signed_query())}",
        data=wxsim.text(text, openid=openid).encode(),
        method="POST",
        headers={"Content-Type": "text/xml"},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert resp.status == 200
        reply = wxsim.parse(resp.read().decode())
    assert reply["MsgType"] == "text", reply
    return reply["Content"]


def _log(base: str, openid: str) -> list[dict]:
    status, body = _call(base, "GET", f"/admin/messages?openid={openid}")
    assert status == 200
    return body["items"]


def test_the_demo_knowledge_base_answers_i_want_a_card(base):
    status, body = _call(base, "GET", "/admin/faq")
    assert status == 200 and len(body["items"]) >= len(DEMO_FAQ)
    opening = next(e for e in body["items"] if e["question"] == "怎么办理借记卡")
    assert _say(base, "我想办卡", "o_e2e_card") == opening["answer"]["content"]
    logged = _log(base, "o_e2e_card")[0]
    assert logged["outcome"] == "faq" and logged["rule_id"] == opening["id"]
    # The demo rules keep precedence: "余额" is an exact rule.
    assert _say(base, "余额", "o_e2e_card").startswith("查询余额请点击菜单")
    # Chatter: the demo default reply.
    assert _say(base, "今天天气怎么样", "o_e2e_card").startswith("抱歉，没有找到相关答案")


def test_a_new_entry_answers_within_5_seconds_and_crud_holds(base):
    entry = {
        "question": "大额存单怎么买",
        "alternatives": ["大额存单起存金额"],
        "answer": {"type": "text", "content": "大额存单：个人 20 万元起存，手机银行可购买。"},
    }
    status, created = _call(base, "POST", "/admin/faq", entry)
    assert status == 201 and created["id"] and created["question"] == entry["question"]
    deadline = time.monotonic() + 5
    answered = False
    n = 0
    while time.monotonic() < deadline and not answered:
        n += 1
        answered = _say(base, "大额存单多少钱起存", f"o_e2e_cd{n}") == entry["answer"]["content"]
        if not answered:
            time.sleep(0.3)
    assert answered, "the new entry did not answer within 5 s"
    assert _call(base, "GET", f"/admin/faq/{created['id']}") == (200, created)
    status, updated = _call(base, "PUT", f"/admin/faq/{created['id']}", {"enabled": False})
    assert status == 200 and updated["enabled"] is False
    assert _call(base, "DELETE", f"/admin/faq/{created['id']}")[0] == 204
    assert _call(base, "GET", f"/admin/faq/{created['id']}")[0] == 404
    status, body = _call(base, "POST", "/admin/faq", {"question": "x"})
    assert status == 400 and body["error"]


def test_a_close_call_asks_back_and_one_answers(base):
    question = _say(base, "卡丢了", "o_e2e_pick")
    assert question.startswith("您想问：") or question.startswith("您是想问：")
    first = question.splitlines()[1].removeprefix("1. ")
    _status, body = _call(base, "GET", "/admin/faq")
    chosen = next(e for e in body["items"] if e["question"] == first)
    assert _say(base, "1", "o_e2e_pick") == chosen["answer"]["content"]
    outcomes = [m["outcome"] for m in _log(base, "o_e2e_pick")[:2]]
    assert outcomes == ["faq", "faq_clarify"]


def test_try_it_over_http(base):
    status, tried = _call(base, "POST", "/admin/faq/try", {"text": "我的储蓄卡找不到了"})
    assert status == 200 and tried["verdict"] == "answer"
    assert tried["candidates"][0]["question"] == "银行卡丢了怎么挂失"
