"""`make run` fires scheduled campaigns by itself: a mass send and a template campaign created
over HTTP for one minute ahead are started by the local scheduler (the stand-in for
EventBridge), the template sends go through the local SQS consumer, and each campaign's report
shows its counts. Nobody calls anything after creating them."""

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
AHEAD = 60  # seconds: "a campaign scheduled one minute ahead"


def _request(url: str, *, method: str = "GET", payload: object = None) -> tuple[int, dict]:
    body = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=body, method=method, headers=AUTH)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


@pytest.fixture(scope="module")
def stack():
    running = start_stack()
    yield running
    running.stop()


def test_campaigns_scheduled_a_minute_ahead_fire_by_themselves(stack):
    send_at = int(time.time()) + AHEAD
    mass_audience = [f"o_e2e_mass_{i}" for i in range(3)]
    template_audience = [f"o_e2e_tpl_{i}" for i in range(4)]
    code, mass = _request(
        f"{stack.base}/admin/campaigns",
        method="POST",
        payload={
            "name": "e2e mass",
            "type": "mass",
            "send_at": send_at,
            "audience": {"type": "openids", "openids": mass_audience},
            "content": {"type": "text", "content": "本周理财讲堂开课啦"},
        },
    )
    assert code == 201, mass
    code, template = _request(
        f"{stack.base}/admin/campaigns",
        method="POST",
        payload={
            "name": "e2e template",
            "type": "template",
            "send_at": send_at,
            "audience": {"type": "openids", "openids": template_audience},
            "template": {
                "template_id": "tmpl_txn_notice_0001",  # known to the fake WeChat
                "data": {"first": "您好", "remark": "账户 {openid}"},
            },
        },
    )
    assert code == 201, template
    assert mass["status"] == template["status"] == "scheduled"

    # Local dispatcher every 15 s: the campaigns start within ~15 s of their time.
    deadline = time.monotonic() + AHEAD + 90
    reports: dict[str, dict] = {}
    while time.monotonic() < deadline:
        for cid in (mass["id"], template["id"]):
            code, reports[cid] = _request(f"{stack.base}/admin/campaigns/{cid}")
            assert code == 200, reports[cid]
            if reports[cid]["status"] == "running" or reports[cid]["started_at"]:
                assert reports[cid]["started_at"] >= send_at, "fired before its time"
        if all(r["status"] in ("completed", "failed") for r in reports.values()):
            break
        time.sleep(2)
    mass_report, template_report = reports[mass["id"]], reports[template["id"]]

    assert mass_report["status"] == "completed", mass_report
    assert mass_report["started_at"] >= send_at
    progress = mass_report["progress"]
    assert (progress["batches"], progress["batches_sent"]) == (1, 1)
    assert (progress["recipients"], progress["sent"], progress["queued"]) == (3, 3, 0)
    assert mass_report["batches"][0]["msg_id"]  # WeChat's job id, for MASSSENDJOBFINISH
    assert mass_report["duration_s"] is not None

    assert template_report["status"] == "completed", template_report
    assert template_report["started_at"] >= send_at
    progress = template_report["progress"]
    assert (progress["recipients"], progress["sent"], progress["failed"]) == (4, 4, 0)
    assert progress["queued"] == 0 and progress["chunks_done"] == progress["chunks"] == 1
    assert progress["errors"] == {}
    assert template_report["duration_s"] is not None

    code, listed = _request(f"{stack.base}/admin/campaigns?status=completed")
    assert code == 200
    assert {mass["id"], template["id"]} <= {c["id"] for c in listed["items"]}
