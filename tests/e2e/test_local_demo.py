"""The issue's "done when", in `make run` over HTTP: a follower is led through the seeded demo flow
(办卡 -> 借记卡 / 信用卡 -> 所需材料), a location message gets the nearest demo branches, and the
admin sees the unanswered questions."""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request

import pytest

from infra.seed_flows import DEMO_POINTS
from tests import wxsim
from tests.stack import eventually
from tests.stack import start as start_stack

pytestmark = pytest.mark.e2e
AUTH = {"Authorization": f"Bearer {wxsim.ADMIN}"}


@pytest.fixture(scope="module")
def base():
    stack = start_stack()
    yield stack.base
    stack.stop()


def _get(url: str) -> dict:
    request = urllib.request.Request(url, headers=AUTH)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        raise AssertionError(f"{url}: {exc.code} {exc.read()!r}") from None


def _send(base: str, xml: str) -> dict | None:
    request = urllib.request.Request(
        f"{base}/wechat?{wxsim.qs(wxsim.signed_query())}",
        data=xml.encode(),
        method="POST",
        headers={"Content-Type": "text/xml"},
    )
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert resp.status == 200
        body = resp.read().decode()
    return None if body == "success" else wxsim.parse(body)


def _say(base: str, text: str, openid: str) -> str:
    reply = _send(base, wxsim.text(text, openid=openid))
    assert reply is not None and reply["MsgType"] == "text", (text, reply)
    return reply["Content"]


def test_the_seeded_demo_flow(base):
    assert _say(base, "办卡", "o_demo_flow").startswith("您想办理哪种卡？")
    assert _say(base, "1", "o_demo_flow").startswith("借记卡：")
    assert _say(base, "返回", "o_demo_flow").startswith("您想办理哪种卡？")
    assert _say(base, "信用卡", "o_demo_flow").startswith("信用卡：")
    assert _say(base, "所需材料", "o_demo_flow").startswith("申请信用卡请准备")
    # Out of the flow again: "1" is no option any more, the demo default reply answers.
    assert _say(base, "1", "o_demo_flow").startswith("抱歉，没有找到相关答案")

    # The credit node also offers the demo CMS guide: news by article id, current title and link.
    _say(base, "办卡", "o_demo_guide")
    assert "3. 办卡指南" in _say(base, "2", "o_demo_guide")
    news = _send(base, wxsim.text("3", openid="o_demo_guide"))
    assert news is not None and news["MsgType"] == "news" and news["ArticleCount"] == "1"
    assert news["Articles"][0]["Title"].startswith("信用卡办理指南")
    assert f"{base}/p/articles/" in news["Articles"][0]["Url"]

    flows = _get(f"{base}/admin/flows")["items"]
    assert [f["name"] for f in flows] == ["办卡指引"]

    def settled_totals() -> dict | None:
        totals = _get(f"{base}/admin/flows/{flows[0]['id']}/stats")["totals"]
        return totals if totals["entered"] >= 2 and totals["completed"] >= 2 else None

    totals = eventually(settled_totals)
    assert totals["entered"] == 2 and totals["completed"] == 2


def _distance(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lng2 - lng1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))


def test_a_location_message_gets_the_nearest_demo_branches(base):
    here = (23.1300, 113.2650)  # 越秀, by 中山五路
    xml = wxsim.message_xml(
        {
            "ToUserName": wxsim.ACCOUNT,
            "FromUserName": "o_demo_loc",
            "CreateTime": int(time.time()),
            "MsgType": "location",
            "Location_X": str(here[0]),
            "Location_Y": str(here[1]),
            "Scale": "15",
            "Label": "广州市越秀区",
            "MsgId": wxsim.next_msg_id(),
        }
    )
    reply = _send(base, xml)
    assert reply is not None and reply["MsgType"] == "text"
    nearest = sorted(DEMO_POINTS, key=lambda p: _distance(*here, p["lat"], p["lng"]))[:3]
    listed = [line for line in reply["Content"].splitlines() if line[:2] in ("1.", "2.", "3.")]
    assert [line.split(" · ")[0][3:] for line in listed] == [p["name"] for p in nearest]
    assert nearest[0]["name"] == "越秀支行" and listed[0].split(" · ")[1].endswith(" m")


def test_the_admin_sees_unanswered_questions(base):
    # Questions neither the demo rules nor the demo knowledge base answer.
    for text in ("怎么买黄金", "怎么买黄金？", "外汇牌价"):
        assert _say(base, text, "o_demo_q").startswith("抱歉")  # the demo default reply

    def counted() -> dict[str, int] | None:
        report = _get(f"{base}/admin/stats/unanswered")
        counts = {item["text"]: item["count"] for item in report["items"]}
        return counts if counts.get("怎么买黄金") == 2 and counts.get("外汇牌价") == 1 else None

    found = eventually(counted)
    assert found["怎么买黄金"] == 2 and found["外汇牌价"] == 1
