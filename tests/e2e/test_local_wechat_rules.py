"""CONTRACT.md §6 against `make run` over HTTP: the previous EncodingAESKey, the account's
templates and the template check, one send to all per Beijing day, the blacklist, WeChat's own
statistics (synced once at start)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from tests import wxsim
from tests.stack import start as start_stack

pytestmark = pytest.mark.e2e
AUTH = {"Authorization": f"Bearer {wxsim.ADMIN}", "Content-Type": "application/json"}
NEW_KEY = wxsim.AES_KEY  # the stack's current key
OLD_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"


def _request(url: str, *, method: str = "GET", body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or AUTH)
    try:
        with urllib.request.urlopen(request, timeout=15) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def stack():
    running = start_stack({"WECHAT_ENCODING_AES_KEY_PREVIOUS": OLD_KEY})
    yield running
    running.stop()


def _ask(stack, key: str) -> bytes:
    query, body = wxsim.Crypto(key).envelope(wxsim.text("余额", openid=f"o_e2e_{key[:4]}"))
    request = urllib.request.Request(
        f"{stack.base}/wechat?{wxsim.qs(query)}",
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "text/xml"},
    )
    with urllib.request.urlopen(request, timeout=15) as resp:
        assert resp.status == 200
        return resp.read()


def test_a_message_with_the_previous_key_is_answered_with_that_key(stack):
    assert "previous key" in stack.banner
    for key, other in ((OLD_KEY, NEW_KEY), (NEW_KEY, OLD_KEY)):
        reply = _ask(stack, key).decode()
        assert "余额" in wxsim.Crypto(key).open_reply(reply)["Content"]  # the demo 余额 rule
        with pytest.raises(Exception):  # noqa: B017  (any failure: not this key's reply)
            wxsim.Crypto(other).open_reply(reply)


def _category_template_with_a_thing(stack) -> tuple[dict, str]:
    code, listed = _request(f"{stack.base}/admin/templates")
    assert code == 200, listed
    for template in listed["items"]:
        things = [f for f in template["fields"] if f["type"] == "thing"]
        if template.get("category") and things:
            assert things[0]["max"] == 20
            return template, things[0]["key"]
    raise AssertionError(f"no category template with a thing field: {listed}")


def _template_campaign(stack, template_id: str, data: dict):
    body = {
        "name": "e2e 模板",
        "type": "template",
        "send_at": int(time.time()) + 86400 * 30,
        "audience": {"type": "openids", "openids": ["o_e2e_a", "o_e2e_b"]},
        "template": {"template_id": template_id, "data": data},
    }
    return _request(f"{stack.base}/admin/campaigns", method="POST", body=body)


def test_templates_and_the_check_of_their_data(stack):
    template, thing = _category_template_with_a_thing(stack)
    code, answer = _template_campaign(stack, template["template_id"], {thing: "超" * 21})
    assert code == 400 and thing in answer["error"], answer
    code, answer = _template_campaign(
        stack, template["template_id"], {thing: {"value": "消费", "color": "#FF0000"}}
    )
    assert code == 400 and "2023" in answer["error"], answer
    code, answer = _template_campaign(stack, template["template_id"], {"first": "您好"})
    assert code == 400 and "2023" in answer["error"], answer
    code, answer = _template_campaign(stack, template["template_id"], {thing: "消费"})
    assert code == 201, answer


def test_one_send_to_all_per_beijing_day(stack):
    body = {
        "name": "e2e 群发",
        "type": "mass",
        "send_at": int(time.time()) + 86400 * 40,
        "audience": {"type": "all"},
        "content": {"type": "text", "content": "您好"},
    }
    code, first = _request(f"{stack.base}/admin/campaigns", method="POST", body=body)
    assert code == 201, first
    code, second = _request(f"{stack.base}/admin/campaigns", method="POST", body=body)
    assert code == 409, second


def test_blacklist(stack):
    code, answer = _request(
        f"{stack.base}/admin/blacklist", method="POST", body={"openids": ["o_e2e_spam"]}
    )
    assert code == 200, answer
    code, listed = _request(f"{stack.base}/admin/blacklist")
    assert code == 200 and "o_e2e_spam" in listed["openids"]
    code, answer = _request(
        f"{stack.base}/admin/blacklist/remove", method="POST", body={"openids": ["o_e2e_spam"]}
    )
    assert code == 200, answer
    code, listed = _request(f"{stack.base}/admin/blacklist")
    assert code == 200 and "o_e2e_spam" not in listed["openids"]


def test_wechat_statistics_are_synced_at_start(stack):
    deadline = time.monotonic() + 60
    items: list = []
    while time.monotonic() < deadline and not items:
        code, answer = _request(f"{stack.base}/admin/stats/wechat")
        assert code == 200, answer
        items = answer["items"]
        time.sleep(0.5)
    assert items, "the start's sync stored nothing"
    day = items[-1]
    assert day["followers"]["total"] > 0 and "new" in day["followers"]
    assert "reads" in day["articles"]
