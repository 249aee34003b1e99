"""Followers end to end: records kept by the callback, the profile sync job against the fake
WeChat API, and the admin routes (chalice.test.Client on moto)."""

from __future__ import annotations

import time

import pytest

from infra.fake_wechat import FakeWeChat
from tests import stream, wxsim
from tests.functional.helpers import admin, body_json, post_xml


@pytest.fixture
def fake():
    with FakeWeChat() as server:
        yield server


@pytest.fixture
def wechat(fake, monkeypatch):
    """The app's WeChat client, pointed at the fake with a token it issued."""
    from chalicelib.jobs import profile_sync
    from chalicelib.wechat.api import StaticTokenProvider, WeChatClient

    api = WeChatClient(fake.url, token_provider=StaticTokenProvider(fake.issue_token()))
    monkeypatch.setattr(profile_sync, "default_client", lambda: api)
    # The admin route's few-seconds budget is for Lambda; this machine may be slow and shared.
    monkeypatch.setattr(profile_sync, "DEFAULT_BUDGET", 300.0)
    return api


def _send(client, xml: str):
    response = post_xml(client, xml)
    assert response.status_code == 200, response.body
    return response


def _follower(client, openid: str, messages: int = 20) -> dict:
    response = admin(client, "GET", f"/admin/followers/{openid}?messages={messages}")
    assert response.status_code == 200, response.body
    return body_json(response)


def _search(client, query: str = "") -> dict:
    response = admin(client, "GET", f"/admin/followers{query}")
    assert response.status_code == 200, response.body
    return body_json(response)


def _growth(client) -> dict:
    return body_json(admin(client, "GET", "/admin/stats/followers"))["totals"]


# -- lifecycle ---------------------------------------------------------------------------------


def test_follower_lifecycle_subscribe_message_unsubscribe_resubscribe(client):
    now = int(time.time())
    subscribe = wxsim.event(
        "subscribe", "qrscene_branch_042", openid="o_life", create_time=now - 50
    )
    _send(client, subscribe)
    record = _follower(client, "o_life")["follower"]
    assert record["subscribed"] is True
    assert record["scene"] == "branch_042"
    assert record["first_subscribed_at"] == record["last_subscribed_at"] == now - 50
    assert record["first_seen_at"] == now - 50
    assert record["subscribe_count"] == 1
    assert record["profile_synced"] is False
    assert record["cs_window_until"] is None  # an event opens only the 1-minute window
    assert record["cs_window_open"] is True

    text = wxsim.text("你好", openid="o_life", msg_id=880001, create_time=now - 40)
    _send(client, text)
    detail = _follower(client, "o_life")
    record = detail["follower"]
    assert record["last_interaction_at"] == now - 40
    assert record["cs_window_until"] == now - 40 + 48 * 3600
    assert record["cs_window_open"] is True
    assert [m["content"] for m in detail["recent_messages"]] == [
        "你好",
        "[event] subscribe qrscene=branch_042",
    ]

    # WeChat retries: same MsgId, same event key. Nothing changes, nothing is counted twice.
    _send(client, text)
    _send(client, subscribe)
    record = _follower(client, "o_life")["follower"]
    assert record["subscribe_count"] == 1
    assert _growth(client) == {"new": 1, "lost": 0, "net": 1}

    _send(client, wxsim.event("unsubscribe", openid="o_life", create_time=now - 30))
    record = _follower(client, "o_life")["follower"]
    assert record["subscribed"] is False
    assert record["unsubscribed_at"] == now - 30
    assert record["cs_window_until"] is None and record["cs_window_open"] is False
    assert record["scene"] == "branch_042"  # history is kept
    assert _growth(client) == {"new": 1, "lost": 1, "net": 0}

    _send(client, wxsim.event("subscribe", openid="o_life", create_time=now - 20))
    record = _follower(client, "o_life")["follower"]
    assert record["subscribed"] is True
    assert record["subscribe_count"] == 2
    assert record["first_subscribed_at"] == now - 50
    assert record["last_subscribed_at"] == now - 20
    assert record["unsubscribed_at"] == now - 30
    assert record["scene"] is None  # this time not through a QR code
    assert record["profile_synced"] is False
    assert _growth(client) == {"new": 2, "lost": 1, "net": 1}
    assert len(_follower(client, "o_life", messages=50)["recent_messages"]) == 4


def test_a_follower_known_only_from_their_timeline_is_shown_from_it_and_a_put_records_them(
    client,
):
    """Someone who subscribed before the account used wxless: their messages write no record
    (only the full sync or an admin's PUT makes one), but GET shows them from their timeline."""
    now = int(time.time())
    _send(client, wxsim.text("在吗", openid="o_old_friend", create_time=now - 20))
    _send(client, wxsim.text("还在吗", openid="o_old_friend", create_time=now - 10))
    record = _follower(client, "o_old_friend")["follower"]
    assert record["subscribed"] is True
    assert record["first_subscribed_at"] is None
    assert record["profile_synced"] is False
    assert record["message_count"] == 2
    assert record["last_interaction_at"] == now - 10
    assert record["cs_window_until"] == now - 10 + 48 * 3600 and record["cs_window_open"]
    assert _ids(_search(client)) == []  # no record yet

    updated = body_json(admin(client, "PUT", "/admin/followers/o_old_friend", {"tags": ["vip"]}))
    assert updated["tags"] == ["vip"] and updated["message_count"] == 2
    (listed,) = _search(client)["items"]
    assert listed["openid"] == "o_old_friend" and listed["first_seen_at"] == now - 10
    assert listed["last_interaction_at"] == now - 10 and listed["profile_synced"] is False


def test_messages_write_nothing_to_the_follower_record(client):
    """The record changes with subscribes and unsubscribes only; activity is read at GET."""
    from chalicelib.store import followers

    def raw() -> dict:
        stream.drain()
        return followers.FollowerItem.get(followers.follower_key("o_quiet")).attribute_values

    now = int(time.time())
    _send(client, wxsim.event("subscribe", openid="o_quiet", create_time=now - 100))
    before = raw()
    for i in range(3):
        _send(client, wxsim.text(f"问题{i}", openid="o_quiet", create_time=now - 50 + i))
    _send(client, wxsim.event("CLICK", "menu", openid="o_quiet", create_time=now - 5))
    report = wxsim.event(
        "TEMPLATESENDJOBFINISH", openid="o_quiet", MsgID="7001", Status="success", create_time=now
    )
    _send(client, report)  # about our own send: no interaction of theirs
    after = raw()
    assert after == before
    record = _follower(client, "o_quiet")["follower"]
    assert record["message_count"] == 3 and record["last_interaction_at"] == now - 5
    assert record["cs_window_until"] == now - 48 + 48 * 3600
    assert record["cs_event_window_until"] == now - 5 + 60


def test_job_reports_do_not_create_followers(client):
    xml = wxsim.event("TEMPLATESENDJOBFINISH", openid="o_tmpl", MsgID="200163836", Status="success")
    _send(client, xml)
    assert admin(client, "GET", "/admin/followers/o_tmpl").status_code == 404


def test_unknown_follower_is_404(client, monkeypatch):
    assert admin(client, "GET", "/admin/followers/o_nobody").status_code == 404
    assert admin(client, "PUT", "/admin/followers/o_nobody", {"tags": ["x"]}).status_code == 404
    # An id no record could have is not looked for in a timeline either (DynamoDB refuses keys
    # over 2,048 bytes with an error; moto does not).
    from chalicelib.store import messages

    read: list[str] = []
    monkeypatch.setattr(messages, "newest_interactions", lambda openid: read.append(openid) or [])
    too_long = "o" * 3000
    assert admin(client, "GET", f"/admin/followers/{too_long}").status_code == 404
    assert admin(client, "PUT", f"/admin/followers/{too_long}", {"tags": ["x"]}).status_code == 404
    assert read == []


# -- profile sync ------------------------------------------------------------------------------


def test_profile_sync_fills_records_from_user_info(client, fake, wechat):
    tag = wechat.tags.create("高净值客户")["id"]
    fake.add_follower(
        "o_zhang",
        language="zh_CN",
        nickname="张三",
        country="中国",
        province="广东",
        city="深圳",
        remark="私行",
        subscribe_time=1_700_000_000,
        subscribe_scene="ADD_SCENE_QR_CODE",
        qr_scene_str="branch_042",
    )
    fake.add_follower("o_li", language="en", nickname="", country="", province="", city="")
    wechat.tags.tag_users(tag, ["o_zhang"])
    for openid in ("o_zhang", "o_li"):
        _send(client, wxsim.event("subscribe", openid=openid, create_time=int(time.time()) - 5))
    # WeChat does not know this one (40003)
    _send(client, wxsim.event("subscribe", openid="o_ghost", create_time=int(time.time()) - 5))

    response = admin(client, "POST", "/admin/followers/sync")
    assert response.status_code == 200, response.body
    report = body_json(response)
    assert (report["synced"], report["invalid"], report["unsubscribed"], report["raced"]) == (
        2,
        1,
        0,
        0,
    )
    assert report["batches"] == 1 and report["error"] is None and not report["stopped_early"]

    zhang = _follower(client, "o_zhang")["follower"]
    assert zhang["profile_synced"] is True
    assert zhang["nickname"] == "张三"
    assert zhang["language"] == "zh_CN"
    assert (zhang["country"], zhang["province"], zhang["city"]) == ("中国", "广东", "深圳")
    assert zhang["region"] == "中国 广东 深圳"
    assert zhang["remark"] == "私行"
    assert zhang["wechat_tags"] == [tag]
    assert zhang["subscribe_time"] == 1_700_000_000
    assert zhang["subscribe_scene"] == "ADD_SCENE_QR_CODE"
    assert zhang["qr_scene_str"] == "branch_042"
    li = _follower(client, "o_li")["follower"]
    assert li["profile_synced"] is True and li["language"] == "en"
    assert li["nickname"] is None and li["region"] is None  # WeChat's "" is not a value
    assert _follower(client, "o_ghost")["follower"]["profile_synced"] is False

    # Nothing left to do: no WeChat call at all.
    calls = fake.count("/cgi-bin/user/info/batchget")
    report = body_json(admin(client, "POST", "/admin/followers/sync", {"mode": "pending"}))
    assert report["batches"] == 0 and report["synced"] == 0
    assert fake.count("/cgi-bin/user/info/batchget") == calls


def test_profile_sync_batches_by_100_and_learns_about_unsubscribes(client, fake, wechat):
    from chalicelib.jobs import profile_sync
    from chalicelib.store import followers
    from chalicelib.store.followers import FollowerItem

    openids = [f"o_batch_{i:03d}" for i in range(130)]
    with FollowerItem.batch_write() as batch:  # what 130 first messages leave behind
        for openid in openids:
            fake.add_follower(openid, city="上海", province="上海", country="中国")
            batch.save(
                followers.item(openid, subscribed=True, profile_sync=followers.pending_flag(openid))
            )
    fake.remove_follower("o_batch_007")

    report = profile_sync.run(wechat, budget=300)
    assert report.error is None
    assert (report.batches, report.synced, report.unsubscribed) == (2, 129, 1)
    sizes = [len(c.body["user_list"]) for c in fake.calls_to("/cgi-bin/user/info/batchget")]
    assert sizes == [100, 30]
    assert _follower(client, "o_batch_007")["follower"]["subscribed"] is False
    assert _follower(client, "o_batch_100")["follower"]["region"] == "中国 上海 上海"


def test_profile_sync_leaves_newer_subscribe_events_alone(client, fake, wechat):
    from chalicelib.store import follower_profiles

    fake.add_follower("o_race")
    _send(client, wxsim.event("subscribe", openid="o_race"))
    stream.drain()  # the aggregator has recorded the subscribe
    fetched_before_the_event = time.time() - 10
    info = wechat.users.info("o_race") | {"subscribe": 0}  # an answer older than the event
    assert follower_profiles.apply_profile("o_race", info, fetched_before_the_event) == "raced"
    record = _follower(client, "o_race")["follower"]
    assert record["subscribed"] is True and record["profile_synced"] is False


def test_profile_sync_stops_on_wechat_errors_and_keeps_the_work(client, fake, wechat):
    fake.add_follower("o_wait")
    _send(client, wxsim.event("subscribe", openid="o_wait"))
    fake.inject_error("/cgi-bin/user/info/batchget", 45009, "api freq out of limit")
    response = admin(client, "POST", "/admin/followers/sync")
    assert response.status_code == 502
    assert "45009" in body_json(response)["error"]
    assert _follower(client, "o_wait")["follower"]["profile_synced"] is False
    assert body_json(admin(client, "POST", "/admin/followers/sync"))["synced"] == 1


def test_sync_answers_while_another_thread_is_still_importing_an_admin_module(
    client, fake, wechat, monkeypatch
):
    """Schemathesis found `POST /admin/followers/sync {"mode": "pending"}` -> 500 on the local
    stack: `chalice local` serves requests on threads, and a lazy admin module that another
    request was importing sat in sys.modules with its body not yet run (no `bp`), which the lazy
    view tripped over. Python puts a module in sys.modules before running its body; a stand-in
    in that state makes the race deterministic."""
    import importlib.machinery
    import sys
    import types

    import chalicelib.handlers.admin_followers  # noqa: F401  (the route's own module: loaded)

    name = "chalicelib.handlers.admin_wechat"
    half_imported = types.ModuleType(name)
    half_imported.__spec__ = importlib.machinery.ModuleSpec(name, None)
    half_imported.__spec__._initializing = True  # what importlib marks a module in flight with
    monkeypatch.setitem(sys.modules, name, half_imported)

    fake.add_follower("o_during_import", city="深圳", province="广东", country="中国")
    _send(client, wxsim.event("subscribe", openid="o_during_import"))
    calls = fake.count("/cgi-bin/user/info/batchget")
    response = admin(client, "POST", "/admin/followers/sync", {"mode": "pending"})
    assert response.status_code == 200, response.body
    report = body_json(response)
    assert (report["batches"], report["synced"], report["error"]) == (1, 1, None)
    assert fake.count("/cgi-bin/user/info/batchget") == calls + 1  # fetched once, not twice
    record = _follower(client, "o_during_import")["follower"]
    assert record["profile_synced"] is True and record["region"] == "中国 广东 深圳"
    assert not hasattr(half_imported, "bp")  # left alone for the thread importing it


def test_admin_sync_and_scheduled_sync_at_once_lose_nothing(client, fake, wechat):
    """The local scheduler's profile_sync and the admin route may run together: both finish
    without error and every pending follower ends synced once, with WeChat's answer."""
    import threading

    from chalicelib.jobs import profile_sync
    from chalicelib.store import follower_profiles, followers
    from chalicelib.store.followers import FollowerItem

    openids = [f"o_both_{i:03d}" for i in range(150)]
    with FollowerItem.batch_write() as batch:
        for openid in openids:
            fake.add_follower(openid, city="广州", province="广东", country="中国")
            batch.save(
                followers.item(openid, subscribed=True, profile_sync=followers.pending_flag(openid))
            )
    start = threading.Barrier(2)
    reports: dict[str, dict] = {}

    def scheduled() -> None:
        start.wait()
        reports["scheduled"] = profile_sync.run(wechat, mode="scheduled", budget=300).as_dict()

    job = threading.Thread(target=scheduled)
    job.start()
    start.wait()
    response = admin(client, "POST", "/admin/followers/sync", {"mode": "pending"})
    job.join(60)
    assert response.status_code == 200, response.body
    reports["admin"] = body_json(response)
    assert all(r["error"] is None for r in reports.values()), reports
    # A record both runs fetched is written twice with the same answer; none is skipped.
    assert len(openids) <= sum(r["synced"] for r in reports.values()) <= 2 * len(openids)
    everyone = [FollowerItem.get(followers.follower_key(openid)) for openid in openids]
    done = followers.done_flag()
    assert all(f.profile_sync == done and f.region == "中国 广东 广州" for f in everyone)
    assert list(follower_profiles.pending_openids()) == []


def test_full_resync_pages_the_follower_list_and_resumes(client, aws, monkeypatch):
    from chalicelib.jobs import profile_sync
    from chalicelib.store import follower_profiles, followers
    from chalicelib.wechat.api import StaticTokenProvider, WeChatClient

    with FakeWeChat(follower_page_size=40) as fake:
        api = WeChatClient(fake.url, token_provider=StaticTokenProvider(fake.issue_token()))
        openids = [f"o_all_{i:03d}" for i in range(150)]
        for openid in openids:
            fake.add_follower(openid, language="zh_CN")
        ticks = iter(range(1000))

        # Budget for exactly one batch: the second check of the clock is past the deadline.
        first = profile_sync.run(api, mode="full", budget=1.5, clock=lambda: next(ticks))
        assert (first.batches, first.synced, first.stopped_early) == (1, 100, True)
        state = follower_profiles.resync_state()
        assert state["running"] is True and state["cursor"] == "o_all_099"
        assert state["processed"] == 100

        second = profile_sync.run(api, mode="scheduled", budget=60)
        assert (second.batches, second.synced, second.stopped_early) == (1, 50, False)
        assert second.full_resync["running"] is False
        assert second.full_resync["processed"] == 150
        assert second.full_resync["completed_at"]
        batch_sizes = [
            len(c.body["user_list"]) for c in fake.calls_to("/cgi-bin/user/info/batchget")
        ]
        assert batch_sizes == [100, 50]

        # A scheduled run with no resync running touches neither list nor profiles.
        listed = fake.count("/cgi-bin/user/get")
        third = profile_sync.run(api, mode="scheduled", budget=60)
        assert third.batches == 0 and fake.count("/cgi-bin/user/get") == listed

    everyone, cursor = followers.search(followers.Filters(subscribed=True), limit=200)
    assert cursor is None
    assert sorted(f["openid"] for f in everyone) == openids
    assert all(f["profile_synced"] and f["language"] == "zh_CN" for f in everyone)


def test_scheduled_entry_point_uses_the_lambda_budget(aws, monkeypatch):
    from chalicelib.jobs import profile_sync

    seen = {}

    def fake_run(client=None, *, mode, budget, clock=None):
        seen.update(mode=mode, budget=budget)
        return profile_sync.SyncReport(mode)

    monkeypatch.setattr(profile_sync, "run", fake_run)
    context = type("Ctx", (), {"get_remaining_time_in_millis": lambda self: 300_000})()
    profile_sync.scheduled(type("Event", (), {"context": context})())
    assert seen == {"mode": "scheduled", "budget": 297.0}
    profile_sync.weekly_full_resync(None)
    assert seen == {"mode": "full", "budget": profile_sync.DEFAULT_BUDGET}


# -- admin -------------------------------------------------------------------------------------


def test_remark_goes_to_wechat_and_tags_stay_local(client, fake, wechat):
    fake.add_follower("o_vip")
    _send(client, wxsim.event("subscribe", openid="o_vip"))
    response = admin(
        client, "PUT", "/admin/followers/o_vip", {"remark": "理财经理王", "tags": ["vip", "房贷"]}
    )
    assert response.status_code == 200, response.body
    record = body_json(response)
    assert record["remark"] == "理财经理王" and record["tags"] == ["vip", "房贷"]
    assert wechat.users.info("o_vip")["remark"] == "理财经理王"
    assert fake.count("/cgi-bin/tags/members/batchtagging") == 0

    # The next sync copies WeChat's remark back: it agrees. Local tags survive.
    body_json(admin(client, "POST", "/admin/followers/sync"))
    record = _follower(client, "o_vip")["follower"]
    assert record["remark"] == "理财经理王" and record["tags"] == ["vip", "房贷"]

    # Tags only: WeChat is not called. An empty list clears them.
    calls = fake.count("/cgi-bin/user/info/updateremark")
    assert body_json(admin(client, "PATCH", "/admin/followers/o_vip", {"tags": []}))["tags"] == []
    assert fake.count("/cgi-bin/user/info/updateremark") == calls


def test_remark_refused_by_wechat_is_not_stored(client, fake, wechat):
    fake.add_follower("o_vip2")
    _send(client, wxsim.event("subscribe", openid="o_vip2"))
    fake.inject_error("/cgi-bin/user/info/updateremark", 40003, "invalid openid")
    response = admin(client, "PUT", "/admin/followers/o_vip2", {"remark": "x"})
    assert response.status_code == 502
    assert "40003" in body_json(response)["error"]
    assert _follower(client, "o_vip2")["follower"]["remark"] == ""


def test_bad_update_bodies_are_400(client):
    _send(client, wxsim.text("hi", openid="o_bad"))
    for body in ({}, {"remark": "x" * 30}, {"tags": "vip"}, {"nickname": "x"}, [1]):
        response = admin(client, "PUT", "/admin/followers/o_bad", body)
        assert response.status_code == 400, body
        assert "error" in body_json(response)


def _seed_search_population(client, fake, wechat) -> int:
    """Five followers with different tags, regions, states and activity."""
    now = int(time.time())
    yesterday = now - 129600  # 36 h ago: before today (local), within the 2-day skew guard
    fake.add_follower("o_gz", country="中国", province="广东", city="广州")
    fake.add_follower("o_sz", country="中国", province="广东", city="深圳")
    fake.add_follower("o_bj", country="中国", province="北京", city="北京")
    tag = wechat.tags.create("代发工资")["id"]
    wechat.tags.tag_users(tag, ["o_sz", "o_bj"])
    for openid in ("o_gz", "o_sz", "o_bj"):
        _send(client, wxsim.event("subscribe", openid=openid, create_time=yesterday))
    admin(client, "POST", "/admin/followers/sync")
    _send(client, wxsim.text("余额", openid="o_sz", create_time=now))
    _send(client, wxsim.event("subscribe", openid="o_gone", create_time=yesterday))
    _send(client, wxsim.event("unsubscribe", openid="o_gone", create_time=yesterday + 60))
    _send(client, wxsim.text("hi", openid="o_new", create_time=now))
    admin(client, "PUT", "/admin/followers/o_gz", {"tags": ["vip"]})
    admin(client, "PUT", "/admin/followers/o_new", {"tags": ["vip", "房贷"]})
    return tag


def _ids(page: dict) -> list[str]:
    return sorted(f["openid"] for f in page["items"])


def test_admin_search_filters(client, fake, wechat):
    from chalicelib.store import analytics

    tag = _seed_search_population(client, fake, wechat)
    everyone = ["o_bj", "o_gone", "o_gz", "o_new", "o_sz"]
    assert _ids(_search(client)) == everyone
    assert _ids(_search(client, "?subscribed=true")) == ["o_bj", "o_gz", "o_new", "o_sz"]
    assert _ids(_search(client, "?subscribed=false")) == ["o_gone"]
    assert _ids(_search(client, "?tag=vip")) == ["o_gz", "o_new"]
    assert _ids(_search(client, f"?tag={tag}")) == ["o_bj", "o_sz"]  # a WeChat tag id
    assert _ids(_search(client, "?region=广东")) == ["o_gz", "o_sz"]
    assert _ids(_search(client, "?region=深圳&tag=" + str(tag))) == ["o_sz"]
    today = analytics.today().isoformat()
    assert _ids(_search(client, f"?active_since={today}")) == ["o_new", "o_sz"]
    assert _ids(_search(client, f"?active_since={today}&tag=vip")) == ["o_new"]
    assert _ids(_search(client, "?q=o_g")) == ["o_gone", "o_gz"]


def test_admin_search_pages_with_a_cursor(client, fake, wechat, monkeypatch):
    from chalicelib.store import followers

    _seed_search_population(client, fake, wechat)
    seen: list[str] = []
    query = "?limit=2"
    for _ in range(10):
        page = _search(client, query)
        assert len(page["items"]) <= 2
        seen += [f["openid"] for f in page["items"]]
        if page["cursor"] is None:
            break
        query = f"?limit=2&cursor={page['cursor']}"
    assert sorted(seen) == ["o_bj", "o_gone", "o_gz", "o_new", "o_sz"]

    # A request reads a bounded slice: with tiny pages, a filtered search returns what it found
    # plus a cursor, and following the cursors finds every match exactly once.
    monkeypatch.setattr(followers, "SCAN_PAGE", 1)
    monkeypatch.setattr(followers, "SCAN_PAGES", 2)
    seen, query, requests = [], "?subscribed=true&limit=50", 0
    while True:
        page = _search(client, query)
        requests += 1
        seen += [f["openid"] for f in page["items"]]
        if page["cursor"] is None:
            break
        query = f"?subscribed=true&limit=50&cursor={page['cursor']}"
    assert sorted(seen) == ["o_bj", "o_gz", "o_new", "o_sz"]
    assert requests >= 3


def test_admin_search_bad_parameters_are_400(client):
    for query in (
        "?subscribed=maybe",
        "?active_since=2026-13-01",
        "?limit=0",
        "?limit=-5",
        "?cursor=%25%25",
        "?cursor=" + "QUFB" * 100,  # decodes to a 300-character "openid"
    ):
        response = admin(client, "GET", f"/admin/followers{query}")
        assert response.status_code == 400, (query, response.body)
    assert admin(client, "GET", "/admin/followers/" + "o" * 3000).status_code == 404


def test_sync_mode_is_validated(client):
    assert admin(client, "POST", "/admin/followers/sync", {"mode": "all"}).status_code == 400
    assert admin(client, "POST", "/admin/followers/sync", [1]).status_code == 400


def test_follower_routes_need_the_admin_token(client):
    for method, path in (
        ("GET", "/admin/followers"),
        ("GET", "/admin/followers/o_x"),
        ("PUT", "/admin/followers/o_x"),
        ("POST", "/admin/followers/sync"),
    ):
        assert admin(client, method, path, {"tags": []}, token=None).status_code == 401


def test_the_record_shows_the_window_the_quota_allows_for_an_old_create_time(client):
    # A CreateTime three days before its arrival (a delayed delivery, a wrong clock): the
    # quota's window opened then and is closed; the record must not show it open.
    now = int(time.time())
    old = now - 3 * 86400
    _send(client, wxsim.text("还在吗", openid="o_late", create_time=old))
    record = _follower(client, "o_late")["follower"]
    assert record["cs_window_until"] == old + 48 * 3600
    assert record["cs_window_open"] is False
    # a CreateTime ahead of its arrival opens the window at the arrival, as the quota does
    _send(client, wxsim.text("在的", openid="o_ahead", create_time=now + 3 * 86400))
    record = _follower(client, "o_ahead")["follower"]
    assert now <= record["cs_window_until"] - 48 * 3600 <= int(time.time())
    assert record["cs_window_open"] is True
