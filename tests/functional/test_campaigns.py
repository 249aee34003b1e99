"""Scheduled campaigns against the fake WeChat API on moto: the admin API, mass sends, WeChat's
limits, completion events. Fixtures and helpers here are shared by test_campaigns_*.py."""

from __future__ import annotations

import json
import time

import pytest

from chalicelib import wiring
from chalicelib.campaigns import admin as services
from chalicelib.campaigns import mass
from chalicelib.campaigns import run as campaign_run
from chalicelib.campaigns.queue import SendQueue
from chalicelib.errors import Conflict, NotFound
from chalicelib.jobs import campaigns
from chalicelib.store import campaign_items as items
from chalicelib.store import campaign_limits as limits
from chalicelib.store import campaigns as table
from chalicelib.wechat.api import StaticTokenProvider, WeChatClient
from tests import stream, wxsim
from tests.functional.helpers import admin, body_json, post_xml

SEND = "/cgi-bin/message/mass/send"
SENDALL = "/cgi-bin/message/mass/sendall"


class FakeClock:
    """Wall time the tests move by hand; `sleep` advances it (rate-limit waits cost nothing)."""

    def __init__(self, start: float | None = None) -> None:
        self.t = float(int(start or time.time()))

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(0.0, seconds)

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture(scope="module")
def _moto_for_module():
    """One moto and one set of tables per test module: creating every table costs seconds on a
    busy machine, emptying them costs milliseconds (see `aws` below)."""
    from moto import mock_aws

    from tests.conftest import _reset_process_state

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WXLESS_TABLE_PREFIX", "wxtest")
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        with mock_aws():
            _reset_process_state()
            from chalicelib.store.tables import create_all

            create_all()
            stream.forget()  # this module's own moto: a new stream
            yield
        _reset_process_state()


@pytest.fixture
def aws(_moto_for_module, settings):
    """Overrides conftest's `aws` in the campaign tests: same moto, emptied tables and queue."""
    empty_tables()
    stream.pump().skip_to_end()
    from chalicelib.store.aws import client as aws_client

    sqs = aws_client("sqs")
    for url in sqs.list_queues().get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)
    _reset_caches()
    yield


def empty_tables(only_campaigns: bool = False) -> None:
    """Delete every item of every table (or of the campaign tables only: moto copies every
    table on each transaction, so long tests keep them small)."""
    from chalicelib.store.aws import client as aws_client
    from chalicelib.store.models import all_models

    ddb = aws_client("dynamodb")
    models = [table.CampaignRecord, items.CampaignPart] if only_campaigns else all_models()
    for model in models:
        name = model.Meta.table_name
        schema = ddb.describe_table(TableName=name)["Table"]["KeySchema"]
        keys = [k["AttributeName"] for k in schema]
        kwargs = {
            "TableName": name,
            "ProjectionExpression": ", ".join(f"#k{i}" for i in range(len(keys))),
            "ExpressionAttributeNames": {f"#k{i}": k for i, k in enumerate(keys)},
        }
        while True:
            page = ddb.scan(**kwargs)
            for item in page.get("Items", []):
                ddb.delete_item(TableName=name, Key={k: item[k] for k in keys})
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _reset_caches() -> None:
    # Caches that watch counters which start again in emptied tables; the AWS clients stay.
    from chalicelib import wiring

    wiring.reset()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def wx(fake_wechat, aws) -> WeChatClient:
    """A client of the fake WeChat with a fixed token (no token store involved)."""
    return WeChatClient(
        fake_wechat.url, token_provider=StaticTokenProvider(fake_wechat.issue_token())
    )


@pytest.fixture
def queue(aws) -> str:
    return sends().ensure()


def sends() -> SendQueue:
    """The send queue, as the container's entry points get it."""
    return wiring.campaign_queue()


def impatient(wx: WeChatClient) -> WeChatClient:
    """The same client with a 0.3 s timeout (the fake's injected delays stay short)."""
    return WeChatClient(wx.base_url, token_provider=wx.token_provider, timeout=0.3)


def dispatch(wx: WeChatClient, clock: FakeClock, **kw) -> dict:
    return campaigns.dispatch(wx, clock=clock, sleep=clock.sleep, budget=kw.pop("budget", 30), **kw)


def openids(n: int, prefix: str = "o_user_") -> list[str]:
    return [f"{prefix}{i:05d}" for i in range(n)]


def mass_body(audience: dict, send_at: float, **extra) -> dict:
    return {
        "name": extra.pop("name", "春节问候"),
        "type": "mass",
        "send_at": send_at,
        "audience": audience,
        "content": extra.pop("content", {"type": "text", "content": "新春快乐，感谢您的信任"}),
        **extra,
    }


def template_body(audience: dict, send_at: float, **extra) -> dict:
    return {
        "name": extra.pop("name", "账单提醒"),
        "type": "template",
        "send_at": send_at,
        "audience": audience,
        "template": extra.pop(
            "template",
            {
                "template_id": "tmpl_txn_notice_0001",
                "data": {
                    "first": "尊敬的{remark}客户",
                    "keyword1": "2025-01-02",
                    "keyword2": {"value": "¥100.00"},
                    "remark": "openid {openid}",
                },
                "url": "https://bank.example.com/bill",
            },
        ),
        **extra,
    }


def drain_queue(handler, limit: int = 1000) -> int:
    """Deliver every visible message of the (moto) queue to `handler(bodies)`, deleting each
    once handled, as Lambda's SQS trigger does. Returns how many were handled."""
    handled = 0
    while handled < limit:
        messages = sends().receive(10)
        if not messages:
            return handled
        for message in messages:
            handler([message["Body"]])
            sends().delete(message["ReceiptHandle"])
            handled += 1
    return handled


def finish_event(msg_id: str, create_time: int, **counts) -> str:
    return wxsim.event(
        "MASSSENDJOBFINISH",
        openid="o_wechat_system",
        create_time=create_time,
        MsgID=msg_id,
        Status="send success",
        TotalCount=counts.get("total", 0),
        FilterCount=counts.get("filtered", 0),
        SentCount=counts.get("sent", 0),
        ErrorCount=counts.get("error", 0),
    )


# --------------------------------------------------------------------------- admin API


def test_admin_create_list_detail_cancel(client, fake_wechat):
    send_at = int(time.time()) + 3600
    response = admin(client, "POST", "/admin/campaigns", mass_body({"type": "all"}, send_at))
    assert response.status_code == 201, response.body
    created = body_json(response)
    assert created["status"] == "scheduled" and created["type"] == "mass"
    assert created["send_at"] == send_at
    assert created["progress"]["batches"] == 1 and created["progress"]["sent"] == 0
    assert created["started_at"] is None and created["duration_s"] is None

    listed = body_json(admin(client, "GET", "/admin/campaigns"))["items"]
    assert [c["id"] for c in listed] == [created["id"]]
    assert body_json(admin(client, "GET", "/admin/campaigns?status=running"))["items"] == []
    got = body_json(admin(client, "GET", f"/admin/campaigns/{created['id']}"))
    assert got["id"] == created["id"] and got["content"]["content"].startswith("新春")

    cancelled = admin(client, "POST", f"/admin/campaigns/{created['id']}/cancel")
    assert cancelled.status_code == 200 and body_json(cancelled)["status"] == "cancelled"
    again = admin(client, "POST", f"/admin/campaigns/{created['id']}/cancel")
    assert again.status_code == 409 and "cancelled" in body_json(again)["error"]
    assert admin(client, "POST", "/admin/campaigns/nope/cancel").status_code == 404
    assert admin(client, "GET", "/admin/campaigns/nope").status_code == 404


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"name": "x", "audience": {"type": "all"}}, "content"),
        ({"name": "x", "audience": {"type": "everyone"}, "content": {}}, "audience.type"),
        (
            {"name": "x", "audience": {"type": "all"}, "content": {"type": "text", "content": ""}},
            "content.content",
        ),
        (
            {
                "name": "x",
                "audience": {"type": "openids", "openids": ["o_only_one"]},
                "content": {"type": "text", "content": "hi"},
            },
            "at least 2",
        ),
        (
            {
                "name": "x",
                "send_at": 1_000_000,
                "audience": {"type": "all"},
                "content": {"type": "text", "content": "hi"},
            },
            "past",
        ),
        (
            {
                "name": "x",
                "type": "template",
                "audience": {"type": "all"},
                "template": {"template_id": "t", "data": {"first": "{nickame}"}},
            },
            "nickame",
        ),
        (
            {
                "name": "x",
                "audience": {"type": "all"},
                "content": {"type": "news", "article_ids": ["a1"]},
            },
            "thumb_media_id",
        ),
    ],
)
def test_invalid_campaigns_are_400(client, body, needle):
    response = admin(client, "POST", "/admin/campaigns", body)
    assert response.status_code == 400, response.body
    assert needle in body_json(response)["error"]
    assert body_json(admin(client, "GET", "/admin/campaigns"))["items"] == []


def test_cancel_before_start_sends_nothing(wx, fake_wechat, clock):
    created = services.create(mass_body({"type": "all"}, clock.t + 60), now=clock.t)
    services.cancel(created["id"], now=clock.t)
    clock.advance(120)
    dispatch(wx, clock)
    assert fake_wechat.count(SENDALL) == 0
    assert services.detail(created["id"])["status"] == "cancelled"


def test_a_running_campaign_cannot_be_cancelled(wx, fake_wechat, clock):
    fake_wechat.add_follower("o_a")
    created = services.create(mass_body({"type": "all"}, clock.t), now=clock.t)
    dispatch(wx, clock)
    with pytest.raises(Conflict):
        services.cancel(created["id"])
    assert services.detail(created["id"])["status"] == "completed"


# --------------------------------------------------------------------------- mass sends


def test_sendall_fires_at_its_time_once(wx, fake_wechat, clock):
    for openid in openids(5):
        fake_wechat.add_follower(openid)
    created = services.create(mass_body({"type": "all"}, clock.t + 60), now=clock.t)
    assert dispatch(wx, clock)["started"] == []  # not yet due
    assert fake_wechat.count(SENDALL) == 0
    clock.advance(61)
    report = dispatch(wx, clock)
    assert report["started"] == [created["id"]]
    calls = fake_wechat.calls_to(SENDALL)
    assert len(calls) == 1
    assert calls[0].body["filter"] == {"is_to_all": True}
    assert calls[0].body["clientmsgid"] == f"wxl-{created['id']}-00001"
    assert calls[0].body["text"] == {"content": "新春快乐，感谢您的信任"}
    for _ in range(3):  # EventBridge delivers at least once: later runs change nothing
        clock.advance(60)
        dispatch(wx, clock)
    assert fake_wechat.count(SENDALL) == 1
    detail = services.detail(created["id"])
    assert detail["status"] == "completed"
    assert detail["progress"]["batches_sent"] == 1 and detail["progress"]["queued"] == 0
    assert detail["duration_s"] is not None


def test_tag_audience_uses_sendall_with_the_tag(wx, fake_wechat, clock):
    created = services.create(mass_body({"type": "tag", "tag_id": 2}, clock.t), now=clock.t)
    dispatch(wx, clock)
    (call,) = fake_wechat.calls_to(SENDALL)
    assert call.body["filter"] == {"is_to_all": False, "tag_id": 2}
    assert services.detail(created["id"])["status"] == "completed"


def test_openid_batches_of_at_most_10000_each_sent_once(wx, fake_wechat, clock):
    audience = openids(20_001)
    created = services.create(
        mass_body({"type": "openids", "openids": audience}, clock.t), now=clock.t
    )
    assert created["progress"]["batches"] == 3 and created["progress"]["recipients"] == 20_001
    dispatch(wx, clock)
    dispatch(wx, clock)
    calls = fake_wechat.calls_to(SEND)
    assert len(calls) == 3
    sizes = [len(c.body["touser"]) for c in calls]
    assert max(sizes) <= 10_000 and min(sizes) >= 2 and sum(sizes) == 20_001
    reached = [o for c in calls for o in c.body["touser"]]
    assert sorted(reached) == sorted(audience)  # each follower in exactly one batch
    assert len({c.body["clientmsgid"] for c in calls}) == 3
    detail = services.detail(created["id"])
    assert detail["status"] == "completed"
    assert detail["progress"]["sent"] == 20_001 and detail["progress"]["queued"] == 0


def test_rate_limit_spaces_mass_calls_across_runs(aws, monkeypatch):
    monkeypatch.setenv("WXLESS_MASS_CALLS_PER_MINUTE", "60")
    interval = 60 / 59
    t = 1_000_000.0
    assert limits.acquire_mass_slot(t, interval) == 0.0
    wait = limits.acquire_mass_slot(t, interval)  # another Lambda, same instant
    assert wait == pytest.approx(interval, abs=1e-3)
    assert limits.acquire_mass_slot(t + wait, interval) == 0.0
    # 60 calls as fast as allowed span at least 60 s: never 61 in a minute.
    stamps, now = [], t + 10
    while len(stamps) < 61:
        wait = limits.acquire_mass_slot(now, interval)
        if wait:
            now += wait
            continue
        stamps.append(now)
    assert stamps[60] - stamps[0] >= 60.0


def test_wechat_minute_quota_releases_the_batch_for_later(wx, fake_wechat, clock):
    created = services.create(
        mass_body({"type": "openids", "openids": openids(4)}, clock.t), now=clock.t
    )
    fake_wechat.inject_error(SEND, 45011, "api minute-quota reach limit")
    dispatch(wx, clock)
    assert services.detail(created["id"])["progress"]["batches_sent"] == 0
    clock.advance(30)
    dispatch(wx, clock)  # still inside the back-off
    assert fake_wechat.count(SEND) == 1
    clock.advance(31)
    dispatch(wx, clock)
    assert fake_wechat.count(SEND) == 2
    assert len(fake_wechat.mass_jobs) == 1
    assert services.detail(created["id"])["status"] == "completed"


def test_a_timeout_is_retried_with_the_same_clientmsgid(wx, fake_wechat, clock):
    """WeChat accepted the batch but the answer was lost: the retry gets 45065 with the
    original msg_id, which counts as sent; WeChat made one job."""
    created = services.create(
        mass_body({"type": "openids", "openids": openids(4)}, clock.t), now=clock.t
    )
    fake_wechat.inject_error(SEND, None, delay=0.8)  # answered after the client's timeout
    dispatch(impatient(wx), clock)
    assert services.detail(created["id"])["progress"]["batches_sent"] == 0
    time.sleep(0.7)  # let the fake finish the first (accepted) request
    clock.advance(31)
    dispatch(wx, clock)
    assert fake_wechat.count(SEND) == 2
    assert len(fake_wechat.mass_jobs) == 1
    batch = items.get_part(created["id"], items.batch_sk(1))
    assert batch["state"] == items.SENT and batch["duplicate"] is True
    assert int(batch["msg_id"]) in fake_wechat.mass_jobs


def test_past_24h_an_unanswered_batch_is_not_resent(wx, fake_wechat, clock):
    created = services.create(
        mass_body({"type": "openids", "openids": openids(4)}, clock.t), now=clock.t
    )
    fake_wechat.inject_error(SEND, None, delay=0.8)
    dispatch(impatient(wx), clock)
    time.sleep(0.7)
    clock.advance(24 * 3600)  # the dispatcher was down for a day
    dispatch(wx, clock)
    assert fake_wechat.count(SEND) == 1  # not re-sent: WeChat no longer dedups
    detail = services.detail(created["id"])
    assert detail["status"] == "completed"
    assert detail["progress"]["batches_unknown"] == 1 and detail["progress"]["unknown"] == 4


def test_fatal_error_fails_the_campaign(wx, fake_wechat, clock):
    created = services.create(
        mass_body(
            {"type": "openids", "openids": openids(4)},
            clock.t,
            content={"type": "image", "media_id": "no-such-media"},
        ),
        now=clock.t,
    )
    fake_wechat.inject_error(SEND, 40007, "invalid media_id")
    dispatch(wx, clock)
    detail = services.detail(created["id"])
    assert detail["status"] == "failed" and "40007" in detail["fail_reason"]
    assert detail["progress"]["errors"] == {"40007": 4}
    dispatch(wx, clock)
    assert fake_wechat.count(SEND) == 1


def test_news_by_article_ids_becomes_one_draft(wx, fake_wechat, clock):
    from chalicelib.store import article_writes

    article = article_writes.create_article(
        {"title": "理财讲堂", "body_html": "<p>稳健理财</p>", "digest": "本周主题"}
    )
    thumb = wx.material.add("thumb", "c.jpg", b"\xff\xd8\xff" + b"0" * 100, "image/jpeg")
    created = services.create(
        mass_body(
            {"type": "all"},
            clock.t,
            content={
                "type": "news",
                "article_ids": [article["id"]],
                "thumb_media_id": thumb["media_id"],
            },
        ),
        now=clock.t,
    )
    dispatch(wx, clock)
    dispatch(wx, clock)
    (draft,) = fake_wechat.calls_to("/cgi-bin/draft/add")
    assert draft.body["articles"][0]["title"] == "理财讲堂"
    (call,) = fake_wechat.calls_to(SENDALL)
    assert call.body["msgtype"] == "mpnews"
    detail = services.detail(created["id"])
    assert call.body["mpnews"] == {"media_id": detail["content"]["media_id"]}
    assert detail["status"] == "completed"


def _media_content(kind: str, wx: WeChatClient) -> dict:
    """A campaign's content of each kind, with media the fake WeChat knows."""
    if kind == "text":
        return {"type": "text", "content": "您好"}
    if kind in ("image", "voice"):
        name, data, mime = (
            ("a.jpg", b"\xff\xd8\xff" + b"0" * 100, "image/jpeg")
            if kind == "image"
            else ("a.mp3", b"ID3" + b"0" * 100, "audio/mpeg")
        )
        return {"type": kind, "media_id": wx.media.upload(kind, name, data, mime)["media_id"]}
    if kind == "video":
        video = wx.material.add("video", "v.mp4", b"0" * 200, "video/mp4", title="理财课")
        return {"type": "video", "media_id": video["media_id"], "description": "第一讲"}
    thumb = wx.material.add("thumb", "c.jpg", b"\xff\xd8\xff" + b"0" * 100, "image/jpeg")
    draft = wx.draft.add(
        [{"title": "本周理财", "content": "<p>x</p>", "thumb_media_id": thumb["media_id"]}]
    )
    return {"type": "news", "media_id": draft, "send_ignore_reprint": True}


MASS_TYPES = {"text": "text", "image": "image", "voice": "voice", "video": "mpvideo"}


@pytest.mark.parametrize("kind", ["text", "image", "voice", "video", "news"])
@pytest.mark.parametrize("audience", ["all", "openids"])
def test_every_content_type_is_sent_as_its_mass_message(client, wx, fake_wechat, kind, audience):
    for openid in openids(3):
        fake_wechat.add_follower(openid)
    content = _media_content(kind, wx)
    target = {"type": "all"} if audience == "all" else {"type": "openids", "openids": openids(3)}
    clock = FakeClock()
    response = admin(
        client, "POST", "/admin/campaigns", mass_body(target, clock.t, content=content)
    )
    assert response.status_code == 201, response.body
    cid = body_json(response)["id"]
    # send_at is the route's own "now" (later than the clock's by the request's time: the gate's
    # audit entry and a busy machine can make that more than a second)
    clock.advance(10)
    dispatch(wx, clock)
    (call,) = fake_wechat.calls_to(SENDALL if audience == "all" else SEND)
    msgtype = MASS_TYPES.get(kind, "mpnews")
    assert call.body["msgtype"] == msgtype
    if kind == "text":
        assert call.body["text"] == {"content": "您好"}
    elif kind == "image":
        assert call.body["images"] == {"media_ids": [content["media_id"]]}
    elif kind == "voice":
        assert call.body["voice"] == {"media_id": content["media_id"]}
    elif kind == "video":
        # The video became a mass video once (media/uploadvideo), titled by the campaign name.
        (upload,) = fake_wechat.calls_to("/cgi-bin/media/uploadvideo")
        assert upload.body == {
            "media_id": content["media_id"],
            "title": "春节问候",
            "description": "第一讲",
        }
        mass_id = body_json(admin(client, "GET", f"/admin/campaigns/{cid}"))["content"]
        assert call.body["mpvideo"]["media_id"] == mass_id["mass_media_id"] != content["media_id"]
        assert call.body["mpvideo"]["description"] == "第一讲"
    else:
        assert call.body["mpnews"] == {"media_id": content["media_id"]}
        assert call.body["send_ignore_reprint"] == 1
    detail = body_json(admin(client, "GET", f"/admin/campaigns/{cid}"))
    assert detail["status"] == "completed", detail
    assert detail["progress"]["batches_sent"] == 1
    (job,) = fake_wechat.mass_jobs.values()
    assert sorted(job["audience"]) == openids(3)


def test_a_video_wechat_does_not_know_fails_the_campaign(wx, fake_wechat, clock):
    created = services.create(
        mass_body({"type": "all"}, clock.t, content={"type": "video", "media_id": "gone"}),
        now=clock.t,
    )
    dispatch(wx, clock)
    detail = services.detail(created["id"])
    assert detail["status"] == "failed" and "40007" in detail["fail_reason"]
    assert fake_wechat.count(SENDALL) == 0


def test_preview_to_listed_openids(client, fake_wechat):
    created = body_json(
        admin(client, "POST", "/admin/campaigns", mass_body({"type": "all"}, time.time() + 600))
    )
    response = admin(
        client, "POST", f"/admin/campaigns/{created['id']}/preview", {"openids": ["o_a", "o_b"]}
    )
    assert response.status_code == 200, response.body
    results = body_json(response)["results"]
    assert [r["openid"] for r in results] == ["o_a", "o_b"] and all(r["ok"] for r in results)
    assert [c.body["touser"] for c in fake_wechat.calls_to("/cgi-bin/message/mass/preview")] == [
        "o_a",
        "o_b",
    ]
    assert fake_wechat.count(SENDALL) == 0
    bad = admin(client, "POST", f"/admin/campaigns/{created['id']}/preview", {"openids": []})
    assert bad.status_code == 400


def test_template_preview_renders_each_followers_data(client, fake_wechat):
    fake_wechat.add_follower("o_a", remark="王先生")
    body = template_body({"type": "all"}, time.time() + 600)
    created = body_json(admin(client, "POST", "/admin/campaigns", body))
    response = admin(
        client,
        "POST",
        f"/admin/campaigns/{created['id']}/preview",
        {"openids": ["o_a", "o_unknown"]},
    )
    assert response.status_code == 200, response.body
    assert [r["ok"] for r in body_json(response)["results"]] == [True, True]
    sent = {m["touser"]: m for m in fake_wechat.template_messages}
    assert sent["o_a"]["data"]["first"] == {"value": "尊敬的王先生客户"}
    assert sent["o_unknown"]["data"]["remark"] == {"value": "openid o_unknown"}
    # a preview is not the campaign: still scheduled, nothing counted
    detail = body_json(admin(client, "GET", f"/admin/campaigns/{created['id']}"))
    assert detail["status"] == "scheduled" and detail["progress"]["sent"] == 0


# --------------------------------------------------------------------------- limits


def test_subscription_account_limits(client, monkeypatch):
    monkeypatch.setenv("WECHAT_ACCOUNT_TYPE", "subscription")
    day = int(time.time()) + 86400
    by_list = mass_body({"type": "openids", "openids": openids(3)}, day)
    response = admin(client, "POST", "/admin/campaigns", by_list)
    assert response.status_code == 400 and "subscription" in body_json(response)["error"]
    template = admin(client, "POST", "/admin/campaigns", template_body({"type": "all"}, day))
    assert template.status_code == 400 and "service accounts" in body_json(template)["error"]

    first = admin(client, "POST", "/admin/campaigns", mass_body({"type": "all"}, day))
    assert first.status_code == 201
    second = admin(client, "POST", "/admin/campaigns", mass_body({"type": "tag", "tag_id": 2}, day))
    assert second.status_code == 409
    assert "once per day" in body_json(second)["error"]
    next_day = admin(client, "POST", "/admin/campaigns", mass_body({"type": "all"}, day + 86400))
    assert next_day.status_code == 201
    # a cancelled campaign frees its day
    admin(client, "POST", f"/admin/campaigns/{body_json(first)['id']}/cancel")
    assert (
        admin(client, "POST", "/admin/campaigns", mass_body({"type": "all"}, day)).status_code
        == 201
    )


def test_service_account_four_per_follower_per_month(client):
    from datetime import datetime

    from chalicelib.campaigns.spec import BEIJING

    month_start = datetime.now(BEIJING).replace(day=1, hour=10, minute=0, second=0, microsecond=0)
    base = month_start.timestamp()
    if base < time.time():  # use next month so every send time is in the future
        nxt = month_start.replace(month=month_start.month % 12 + 1)
        if month_start.month == 12:
            nxt = nxt.replace(year=month_start.year + 1)
        base = nxt.timestamp()
    list_a, list_b = openids(5, "o_a_"), openids(5, "o_b_")
    for day in range(4):
        body = mass_body({"type": "openids", "openids": list_a}, base + day * 86400)
        assert admin(client, "POST", "/admin/campaigns", body).status_code == 201
    fifth = admin(
        client,
        "POST",
        "/admin/campaigns",
        mass_body({"type": "openids", "openids": [*list_a[:2], *list_b]}, base + 5 * 86400),
    )
    assert fifth.status_code == 409
    error = body_json(fifth)["error"]
    assert "number 5" in error and "4 per follower per month" in error
    # followers of a disjoint list have had no mass message this month
    other = mass_body({"type": "openids", "openids": list_b}, base + 5 * 86400)
    assert admin(client, "POST", "/admin/campaigns", other).status_code == 201
    # Broad audiences are not refused by the monthly quota (WeChat skips the followers who had
    # their 4): a send to all on each of five days of the month is five campaigns.
    for day in range(5):
        body = mass_body({"type": "all"}, base + day * 86400)
        assert admin(client, "POST", "/admin/campaigns", body).status_code == 201
    tagged = mass_body({"type": "tag", "tag_id": 2}, base)
    assert admin(client, "POST", "/admin/campaigns", tagged).status_code == 201
    # ... nor counted against the openid lists, which stay exact
    again = mass_body({"type": "openids", "openids": list_b}, base + 6 * 86400)
    assert admin(client, "POST", "/admin/campaigns", again).status_code == 201
    # the one-send-to-all-a-day rule still holds
    same_day = admin(client, "POST", "/admin/campaigns", mass_body({"type": "all"}, base))
    assert same_day.status_code == 409


def test_template_daily_quota(client, fake_wechat, monkeypatch):
    monkeypatch.setenv("WXLESS_TEMPLATE_DAILY_QUOTA", "5")
    day = time.time() + 3600
    ok = template_body({"type": "openids", "openids": openids(4)}, day)
    assert admin(client, "POST", "/admin/campaigns", ok).status_code == 201
    over = template_body({"type": "openids", "openids": openids(2, "o_x_")}, day)
    response = admin(client, "POST", "/admin/campaigns", over)
    assert response.status_code == 409 and "daily template quota" in body_json(response)["error"]


# --------------------------------------------------------------------------- completion events


def test_masssendjobfinish_updates_totals_once(client, fake_wechat, monkeypatch):
    clock = FakeClock()
    wx = WeChatClient(
        fake_wechat.url, token_provider=StaticTokenProvider(fake_wechat.issue_token())
    )
    created = services.create(
        mass_body({"type": "openids", "openids": openids(20_001)}, clock.t), now=clock.t
    )
    dispatch(wx, clock)
    msg_ids = [str(job) for job in fake_wechat.mass_jobs]
    assert len(msg_ids) == 3
    now = int(time.time())
    for i, msg_id in enumerate(msg_ids[:2]):
        xml = finish_event(msg_id, now + i, total=10_000, sent=9_990, error=4, filtered=6)
        assert post_xml(client, xml).status_code == 200
        assert post_xml(client, xml).status_code == 200  # WeChat's retry: same dedup key
    # the same job reported again under another CreateTime: the pointer says it is counted
    again = finish_event(msg_ids[0], now + 50, total=10_000, sent=9_990, error=4, filtered=6)
    assert post_xml(client, again).status_code == 200
    stream.drain()  # completion events are summed from the stream
    results = services.detail(created["id"])["results"]
    assert results["jobs_finished"] == 2
    assert results["total"] == 20_000 and results["sent"] == 19_980
    assert results["error"] == 8 and results["filtered"] == 12
    batches = services.detail(created["id"])["batches"]
    assert [b["msg_id"] for b in batches] == msg_ids  # the detail shows each batch's job
    assert batches[0]["result"] == {
        "status": "send success",
        "total": 10_000,
        "sent": 9_990,
        "error": 4,
        "filtered": 6,
    }
    assert "result" not in batches[2] and batches[2]["state"] == "SENT"
    # an event for a job this app did not send changes nothing
    assert post_xml(client, finish_event("999", now + 60, total=1)).status_code == 200


def test_missing_completion_events_are_reconciled_with_mass_get(wx, fake_wechat, clock):
    created = services.create(
        mass_body({"type": "openids", "openids": openids(4)}, clock.t), now=clock.t
    )
    dispatch(wx, clock)
    assert services.detail(created["id"])["status"] == "completed"
    dispatch(wx, clock)
    assert fake_wechat.count("/cgi-bin/message/mass/get") == 0  # too early to ask
    clock.advance(mass.RECONCILE_AFTER + 1)
    dispatch(wx, clock)
    dispatch(wx, clock)
    assert fake_wechat.count("/cgi-bin/message/mass/get") == 1
    reconciled = services.detail(created["id"])["results"]["reconciled"]
    assert reconciled == {"SEND_SUCCESS": 1}


def test_openapi_describes_the_campaign_routes(client):
    doc = body_json(admin(client, "GET", "/admin/openapi.json"))
    for path in (
        "/admin/campaigns",
        "/admin/campaigns/{campaign_id}",
        "/admin/campaigns/{campaign_id}/cancel",
        "/admin/campaigns/{campaign_id}/preview",
    ):
        assert path in doc["paths"]
    assert "CampaignInput" in doc["components"]["schemas"]
    json.dumps(doc)


# --------------------------------------------------------------------------- account-scoped keys


def campaign_keys() -> tuple[list[str], list[str]]:
    """The partition keys (of the tables and of their indexes) and the sort keys of every item in
    the campaign tables."""
    from chalicelib.store.aws import client as aws_client

    partitions, sorts = [], []
    for model, hashes, ranges in (
        (table.CampaignRecord, ("pk", "status_pk"), ()),
        (items.CampaignPart, ("pk", "open_pk"), ("sk", "open_sk")),
    ):
        pages = (
            aws_client("dynamodb").get_paginator("scan").paginate(TableName=model.Meta.table_name)
        )
        for page in pages:
            for item in page["Items"]:
                partitions.extend(item[name]["S"] for name in hashes if name in item)
                sorts.extend(item[name]["S"] for name in ranges if name in item)
    return partitions, sorts


def test_every_campaign_key_starts_with_the_account(client, fake_wechat, queue, monkeypatch):
    """Campaigns, batches, chunks, recipients, msg_id pointers, counter shards, the limiter, the
    quota versions and the pause marker, and the status and open-work indexes: every partition
    key starts with the account. The admin API keeps natural ids; another account sees none."""
    monkeypatch.setenv("WXLESS_ACCOUNT_ID", "bank2")
    monkeypatch.setattr(campaign_run, "MIN_CHUNK", 1)
    monkeypatch.setenv("WXLESS_TEMPLATE_CHUNK", "2")
    clock = FakeClock()
    wx = WeChatClient(
        fake_wechat.url, token_provider=StaticTokenProvider(fake_wechat.issue_token())
    )
    for openid in openids(3):
        fake_wechat.add_follower(openid)
    mass_id = services.create(
        mass_body({"type": "openids", "openids": openids(4)}, clock.t), now=clock.t
    )["id"]
    template_id = services.create(
        template_body({"type": "all"}, clock.t), now=clock.t, client=wiring.wechat()
    )["id"]
    before = campaign_keys()  # the open batches are in the open-work index now
    dispatch(wx, clock)
    drain_queue(lambda bodies: campaigns.handle_sqs(bodies, wx, clock=clock))
    dispatch(wx, clock)
    (job,) = fake_wechat.mass_jobs
    assert post_xml(client, finish_event(str(job), int(time.time()), total=4)).status_code == 200
    stream.drain()  # the completion event is counted from the stream
    limits.pause_template_sends(clock.t + 60, clock.t, errcode=45009, campaign_id=template_id)

    partitions, sorts = campaign_keys()
    partitions += before[0]
    assert all(k.startswith("bank2#") for k in partitions), sorted(partitions)
    expected = {"campaign", "campaign-status", "msg", "limit", "quota"}
    assert expected <= {k.split("#")[1] for k in partitions}
    assert {"b", "q", "stat", "r", "m", "gcra", "quota", "v"} <= {k.split("#")[0] for k in sorts}
    assert any(k.startswith("P#") for k in before[1])  # an open batch, in the open-work index
    assert any(k == items.campaign_pk(mass_id) for k in before[0])  # ... under its campaign
    for cid in (mass_id, template_id):
        assert services.detail(cid)["status"] == "completed"
    assert services.detail(mass_id)["results"]["jobs_finished"] == 1
    assert {c["id"] for c in services.listing()} == {mass_id, template_id}  # natural ids

    monkeypatch.setenv("WXLESS_ACCOUNT_ID", "default")
    assert services.listing() == []
    with pytest.raises(NotFound):
        services.detail(mass_id)
