"""Flows end to end over the callback (chalice.test.Client on moto): enter, choose, fallback,
back, exit, timeout, retries, races, admin CRUD and analytics, and the DynamoDB request count."""

from __future__ import annotations

import copy
import time

import pytest

from infra.seed_flows import DEMO_FLOW
from tests import wxsim
from tests.functional.helpers import (
    admin,
    body_json,
    make_rule,
    messages,
    post_xml,
    refresh_rules,
    text_rule,
)


def say(client, content: str, openid: str = "o_flow", msg_id: int | None = None) -> str | None:
    response = post_xml(client, wxsim.text(content, openid=openid, msg_id=msg_id))
    assert response.status_code == 200
    if response.body == b"success":
        return None
    return wxsim.parse(response.body.decode())["Content"]


def create_flow(client, flow: dict | None = None) -> dict:
    response = admin(client, "POST", "/admin/flows", flow or DEMO_FLOW)
    assert response.status_code == 201, response.body
    refresh_rules()
    return body_json(response)


def stats(client, flow_id: str, query: str = "") -> dict:
    response = admin(client, "GET", f"/admin/flows/{flow_id}/stats{query}")
    assert response.status_code == 200, response.body
    return body_json(response)


def node(report: dict, node_id: str) -> dict:
    return next(n for n in report["nodes"] if n["id"] == node_id)


def state_item(openid: str) -> dict:
    from chalicelib import config
    from chalicelib.store.aws import client

    return (
        client("dynamodb")
        .get_item(TableName=config.table_name("flow-state"), Key={"pk": {"S": f"default#{openid}"}})
        .get("Item", {})
    )


def age_state(openid: str, seconds: int) -> None:
    """Pretend the follower's last step happened `seconds` ago."""
    from chalicelib import config
    from chalicelib.store.aws import client

    client("dynamodb").update_item(
        TableName=config.table_name("flow-state"),
        Key={"pk": {"S": f"default#{openid}"}},
        UpdateExpression="SET updated_at = :t",
        ExpressionAttributeValues={":t": {"N": str(int(time.time()) - seconds)}},
    )


CHOOSE = "您想办理哪种卡？"
DEBIT = "借记卡：\n1. 所需材料"
CREDIT = "信用卡：\n1. 所需材料"


def test_walk_through_the_demo_flow(client):
    flow = create_flow(client)
    admin(client, "PUT", "/admin/replies/default", {"type": "text", "content": "默认"})
    refresh_rules()
    assert say(client, "办卡").startswith(CHOOSE)
    assert say(client, "2").startswith(CREDIT)  # by number
    assert say(client, "返回").startswith(CHOOSE)  # back
    assert say(client, "借记卡").startswith(DEBIT)  # by keyword
    docs = say(client, "所需材料")
    assert docs.startswith("办理借记卡请携带")  # an end node: the flow is complete
    assert say(client, "1") == "默认"  # out of the flow

    report = stats(client, flow["id"])
    assert report["totals"]["entered"] == 1 and report["totals"]["completed"] == 1
    assert report["totals"]["completion_rate"] == 1.0
    assert node(report, "choose")["reached"] == 2 and node(report, "choose")["advanced"] == 2
    assert node(report, "credit")["back"] == 1
    assert node(report, "debit_docs")["completed"] == 1
    assert all(n["dropped"] == 0 for n in report["nodes"])

    logged = messages(client, "o_flow")
    assert logged[-1]["rule_id"] == f"flow:{flow['id']}" and logged[-1]["outcome"] == "flow.enter"
    assert [m["outcome"] for m in logged][:2] == ["default", "flow.complete"]


def _zeros(**counts: int) -> dict:
    names = ("reached", "advanced", "back", "fallback", "completed", "exited", "timed_out")
    row = {**dict.fromkeys((*names, "abandoned"), 0), **counts}
    row["dropped"] = row["reached"] - row["advanced"] - row["back"] - row["completed"]
    return row


def test_flow_stats_exactly_for_a_scripted_sequence(client):
    from chalicelib.store.analytics import today

    flow = create_flow(client)
    for word in ("办卡", "1", "材料"):  # A: completes at the debit documents
        say(client, word, openid="o_a")
    for word in ("办卡", "嗯", "2", "退出"):  # B: one fallback, then exits at credit
        say(client, word, openid="o_b")
    for word in ("办卡", "1"):  # C: goes silent at debit, comes back after the timeout
        say(client, word, openid="o_c")
    age_state("o_c", 601)
    say(client, "你好", openid="o_c")
    for word in ("办卡", "2", "进度"):  # D: a final reply at credit
        say(client, word, openid="o_d")
    for word in ("办卡", "办卡"):  # E: starts over (abandons once), then silence
        say(client, word, openid="o_e")

    report = stats(client, flow["id"])
    day = today().isoformat()
    totals = {"entered": 6, "completed": 2, "exited": 1, "timed_out": 1, "abandoned": 1}
    assert report["totals"] == {**totals, "completion_rate": 0.3333}
    assert report["days"] == [{"day": day, **totals}]
    assert report["nodes"] == [
        {"id": "choose", **_zeros(reached=6, advanced=4, fallback=1, abandoned=1)},
        {"id": "debit", **_zeros(reached=2, advanced=1, timed_out=1)},
        {"id": "credit", **_zeros(reached=2, exited=1, completed=1)},
        {"id": "debit_docs", **_zeros(reached=1, completed=1)},
        {"id": "credit_docs", **_zeros()},
    ]
    assert [n["dropped"] for n in report["nodes"]] == [2, 1, 1, 0, 0]


def test_regex_option_and_final_reply(client):
    create_flow(client)
    say(client, "办卡", openid="o_re")
    say(client, "1", openid="o_re")
    assert say(client, "年费多少", openid="o_re").startswith("借记卡免工本费")
    assert not state_item("o_re").get("flow_id")


def test_fallback_then_exit_and_exit_beats_a_rule(client):
    flow = create_flow(client)
    make_rule(client, text_rule("退出", "规则：退出", priority=100))
    refresh_rules()
    say(client, "办卡", openid="o_fb")
    fallback = say(client, "今天天气如何", openid="o_fb")
    assert fallback.startswith("没有听懂") and CHOOSE in fallback
    assert say(client, "退出", openid="o_fb") == "已退出「办卡指引」。"
    assert say(client, "退出", openid="o_fb") == "规则：退出"  # out of the flow: the rule
    report = stats(client, flow["id"])
    assert node(report, "choose")["fallback"] == 1 and node(report, "choose")["exited"] == 1
    assert report["totals"]["exited"] == 1 and node(report, "choose")["dropped"] == 1


def test_the_flow_answers_before_keyword_rules(client):
    create_flow(client)
    make_rule(client, text_rule("1", "规则一"))
    refresh_rules()
    assert say(client, "1", openid="o_pri") == "规则一"
    say(client, "办卡", openid="o_pri")
    assert say(client, "1", openid="o_pri").startswith(DEBIT)


def test_menu_click_enters_the_flow(client):
    create_flow(client)
    response = post_xml(client, wxsim.event("CLICK", "MENU_CARD", openid="o_click"))
    assert wxsim.parse(response.body.decode())["Content"].startswith(CHOOSE)
    assert say(client, "2", openid="o_click").startswith(CREDIT)


def test_timeout_takes_the_follower_out(client):
    flow = create_flow(client)
    say(client, "办卡", openid="o_slow")
    say(client, "1", openid="o_slow")
    age_state("o_slow", 601)  # the demo flow's timeout is 600 s
    assert say(client, "1", openid="o_slow") is None  # no rule, no default: success
    assert say(client, "1", openid="o_slow") is None  # still out, counted once
    report = stats(client, flow["id"])
    assert report["totals"]["timed_out"] == 1 and node(report, "debit")["timed_out"] == 1
    assert node(report, "debit")["dropped"] == 1


def test_not_yet_timed_out_continues(client):
    create_flow(client)
    say(client, "办卡", openid="o_ok")
    age_state("o_ok", 590)
    assert say(client, "1", openid="o_ok").startswith(DEBIT)


def test_retry_does_not_advance_twice_and_gets_the_same_reply(client):
    flow = create_flow(client)
    say(client, "办卡", openid="o_retry")
    step_before = int(state_item("o_retry")["step"]["N"])
    first = say(client, "1", openid="o_retry", msg_id=555_001)
    again = say(client, "1", openid="o_retry", msg_id=555_001)  # WeChat's retry
    assert first == again and first.startswith(DEBIT)
    item = state_item("o_retry")
    assert int(item["step"]["N"]) == step_before + 1 and item["node_id"]["S"] == "debit"
    # had it advanced twice, "1" at debit would have gone on to the documents
    assert say(client, "返回", openid="o_retry").startswith(CHOOSE)
    report = stats(client, flow["id"])
    assert node(report, "debit")["reached"] == 1 and node(report, "choose")["advanced"] == 1
    assert len([m for m in messages(client, "o_retry") if m["msg_id"] == "555001"]) == 1


def test_a_step_that_lost_a_race_is_decided_again(client, monkeypatch):
    from chalicelib import wiring

    flow = create_flow(client)
    say(client, "办卡", openid="o_race")
    cb = wiring.callback()
    real = cb.read_flow_state
    stale = real("o_race")  # read before another message moved the follower on
    say(client, "1", openid="o_race")
    reads: list[str] = []

    def racy(openid):
        reads.append(openid)
        return stale if len(reads) == 1 else real(openid)

    monkeypatch.setattr(cb, "read_flow_state", racy)
    # At the stale node "材料" is not an option; at the real one it leads to the documents.
    assert say(client, "材料", openid="o_race").startswith("办理借记卡请携带")
    assert len(reads) == 2
    report = stats(client, flow["id"])
    assert node(report, "choose")["fallback"] == 0  # the losing write left nothing behind
    assert report["totals"]["completed"] == 1


def test_losing_twice_answers_the_fallback_and_changes_nothing(client, monkeypatch):
    from chalicelib import wiring

    create_flow(client)
    say(client, "办卡", openid="o_race2")
    cb = wiring.callback()
    stale = cb.read_flow_state("o_race2")
    say(client, "1", openid="o_race2")
    step = state_item("o_race2")["step"]["N"]
    monkeypatch.setattr(cb, "read_flow_state", lambda openid: stale)
    assert say(client, "材料", openid="o_race2").startswith("没有听懂")
    assert state_item("o_race2")["step"]["N"] == step
    assert messages(client, "o_race2")[0]["outcome"] == "flow.conflict"


def test_entry_inside_a_flow_starts_over_and_too_many_fallbacks_let_go(client):
    flow = create_flow(client, {**DEMO_FLOW, "max_fallbacks": 1})
    say(client, "办卡", openid="o_again")
    say(client, "1", openid="o_again")
    assert say(client, "办卡", openid="o_again").startswith(CHOOSE)
    assert say(client, "嗯", openid="o_again").startswith("没有听懂")
    assert say(client, "嗯?", openid="o_again") is None  # let go: answered as outside a flow
    report = stats(client, flow["id"])
    assert report["totals"]["abandoned"] == 2 and report["totals"]["entered"] == 2


def test_deleting_a_flow_lets_its_followers_go(client):
    flow = create_flow(client)
    make_rule(client, text_rule("1", "规则一"))
    say(client, "办卡", openid="o_del")
    assert admin(client, "DELETE", f"/admin/flows/{flow['id']}").status_code == 204
    refresh_rules()
    assert say(client, "1", openid="o_del") == "规则一"


# -- admin ----------------------------------------------------------------------------------


def test_flow_crud(client):
    flow = create_flow(client)
    assert flow["id"] and flow["name"] == "办卡指引" and flow["timeout_seconds"] == 600
    assert body_json(admin(client, "GET", f"/admin/flows/{flow['id']}")) == flow
    assert [f["id"] for f in body_json(admin(client, "GET", "/admin/flows"))["items"]] == [
        flow["id"]
    ]
    response = admin(client, "PATCH", f"/admin/flows/{flow['id']}", {"timeout_seconds": 60})
    assert response.status_code == 200
    updated = body_json(response)
    assert updated["timeout_seconds"] == 60 and updated["nodes"] == flow["nodes"]
    assert updated["created_at"] == flow["created_at"]
    response = admin(client, "PUT", f"/admin/flows/{flow['id']}", {"enabled": False})
    assert body_json(response)["enabled"] is False
    refresh_rules()
    assert say(client, "办卡", openid="o_crud") is None  # disabled: no entry
    assert admin(client, "DELETE", f"/admin/flows/{flow['id']}").status_code == 204
    assert admin(client, "GET", f"/admin/flows/{flow['id']}").status_code == 404
    assert admin(client, "DELETE", f"/admin/flows/{flow['id']}").status_code == 404
    assert admin(client, "PUT", "/admin/flows/nope", {"enabled": False}).status_code == 404


def _add_trap(flow: dict) -> None:
    """Two nodes leading only to each other: once there, only "exit" gets the follower out."""
    text = {"type": "text", "content": "loop"}
    flow["nodes"][0]["options"].append({"keywords": ["循环"], "next": "loop_a"})
    flow["nodes"] += [
        {"id": "loop_a", "prompt": text, "options": [{"keywords": ["x"], "next": "loop_b"}]},
        {"id": "loop_b", "prompt": text, "options": [{"keywords": ["y"], "next": "loop_a"}]},
    ]


def _broken(change) -> dict:
    flow = copy.deepcopy(DEMO_FLOW)
    change(flow)
    return flow


@pytest.mark.parametrize(
    ("flow", "message"),
    [
        (_broken(lambda f: f["nodes"][0]["options"][0].update(next="nowhere")), "unknown node"),
        (_broken(_add_trap), "cycle with no way to finish"),
        (_broken(lambda f: f.update(exit_words=[])), "exit_words"),
        (
            _broken(lambda f: f["nodes"][0].update(prompt={"type": "news", "articles": []})),
            "prompt",
        ),
        (_broken(lambda f: f.pop("entry")), "entry is required"),
        (b"not json", "JSON"),
        ([1, 2], "object"),
    ],
    ids=["dangling", "cycle", "no-exit", "bad-reply", "no-entry", "not-json", "not-object"],
)
def test_invalid_flow_is_400_and_stores_nothing(client, flow, message):
    response = admin(client, "POST", "/admin/flows", flow)
    assert response.status_code == 400
    assert message in body_json(response)["error"]
    assert body_json(admin(client, "GET", "/admin/flows"))["items"] == []


def test_invalid_update_is_400_and_keeps_the_flow(client):
    flow = create_flow(client)
    bad = {
        "nodes": [
            {
                "id": "a",
                "prompt": {"type": "text", "content": "x"},
                "options": [{"keywords": ["y"], "next": "a"}],
            }
        ],
        "start": "a",
    }
    response = admin(client, "PUT", f"/admin/flows/{flow['id']}", bad)
    assert response.status_code == 400 and "cycle" in body_json(response)["error"]
    assert body_json(admin(client, "GET", f"/admin/flows/{flow['id']}")) == flow


def test_two_flows_cannot_start_on_the_same_entry(client):
    create_flow(client)
    other = {**DEMO_FLOW, "name": "另一个", "entry": {"keywords": ["办卡"]}}
    response = admin(client, "POST", "/admin/flows", other)
    assert response.status_code == 409 and "办卡" in body_json(response)["error"]
    assert admin(client, "POST", "/admin/flows", {**other, "enabled": False}).status_code == 201


def test_stats_range_and_errors(client):
    flow = create_flow(client)
    say(client, "办卡", openid="o_st")
    from chalicelib.store.analytics import today

    day = today().isoformat()
    report = stats(client, flow["id"], f"?from={day}&to={day}")
    assert report["from"] == report["to"] == day and report["totals"]["entered"] == 1
    assert report["days"] == [
        {"day": day, "entered": 1, "completed": 0, "exited": 0, "timed_out": 0, "abandoned": 0}
    ]
    past = stats(client, flow["id"], "?from=2020-01-01&to=2020-01-31")
    assert past["totals"]["entered"] == 0 and past["totals"]["completion_rate"] is None
    assert node(past, "choose")["reached"] == 0
    for query in (
        "?from=2020-02-01&to=2020-01-01",
        "?from=yesterday",
        "?from=2020-01-01&to=2022-01-01",
    ):
        assert admin(client, "GET", f"/admin/flows/{flow['id']}/stats{query}").status_code == 400
    assert admin(client, "GET", "/admin/flows/nope/stats").status_code == 404


# -- replies naming media items and CMS articles, as rules may ---------------------------------


def _with_replies(prompt: dict, final: dict) -> dict:
    """The demo flow with the start node's prompt and the debit fee option's reply replaced."""
    flow = copy.deepcopy(DEMO_FLOW)
    flow["nodes"][0]["prompt"] = prompt
    flow["nodes"][1]["options"][2]["reply"] = final
    return flow


def test_flow_replies_may_name_media_items(client, fake_wechat):
    from tests.functional.test_media import PNG, upload

    image = body_json(upload(client, "image", PNG))
    uploads = "/cgi-bin/material/add_material"
    # Bad references are 400 naming the reply, store nothing and upload nothing.
    for bad, needle in [
        ({"type": "image", "media": "nope"}, "node 'debit'.options[2].reply.media: no media item"),
        ({"type": "video", "media": image["id"]}, "a video is needed"),
        ({"type": {}, "media": image["id"]}, "node 'debit'.options[2].reply"),  # not a 500
    ]:
        flow = _with_replies({"type": "image", "media": image["id"]}, bad)
        response = admin(client, "POST", "/admin/flows", flow)
        assert response.status_code == 400 and needle in body_json(response)["error"], bad
    broken = _with_replies(
        {"type": "image", "media": image["id"]}, {"type": "text", "content": "x"}
    )
    broken["nodes"][0]["options"][0]["next"] = "nowhere"  # valid media, invalid flow
    assert admin(client, "POST", "/admin/flows", broken).status_code == 400
    assert body_json(admin(client, "GET", "/admin/flows"))["items"] == []
    assert fake_wechat.count(uploads) == 0

    flow = create_flow(
        client,
        _with_replies(
            {"type": "image", "media": image["id"]}, {"type": "image", "media": image["id"]}
        ),
    )
    material = body_json(admin(client, "GET", f"/admin/media/{image['id']}"))
    assert material["permanent"] is True and fake_wechat.count(uploads) == 1  # once per item
    stored = {"type": "image", "media_id": material["media_id"]}
    assert flow["nodes"][0]["prompt"] == stored
    assert flow["nodes"][1]["options"][2]["reply"] == stored

    response = post_xml(client, wxsim.text("办卡", openid="o_media"))
    reply = wxsim.parse(response.body.decode())
    assert reply["MsgType"] == "image" and reply["Image"]["MediaId"] == material["media_id"]

    # PATCH resolves too; the item cannot be deleted while the flow uses it.
    patched = admin(
        client,
        "PATCH",
        f"/admin/flows/{flow['id']}",
        {"exit_reply": {"type": "image", "media": image["id"]}},
    )
    assert patched.status_code == 200 and body_json(patched)["exit_reply"] == stored
    refused = admin(client, "DELETE", f"/admin/media/{image['id']}")
    assert refused.status_code == 409 and flow["id"] in body_json(refused)["error"]
    assert admin(client, "DELETE", f"/admin/flows/{flow['id']}").status_code == 204
    assert admin(client, "DELETE", f"/admin/media/{image['id']}").status_code == 204


def test_flow_news_by_article_id_renders_the_current_article(client, monkeypatch):
    from chalicelib import wiring

    monkeypatch.setenv("WXLESS_PUBLIC_BASE_URL", "https://wx.bank.example")
    created = admin(
        client,
        "POST",
        "/admin/articles",
        {
            "title": "借记卡费用说明",
            "digest": "免年费",
            "body_html": "<p>x</p>",
            "status": "published",
        },
    )
    article = body_json(created)
    news = {"type": "news", "article_ids": [article["id"]]}
    ghost = _with_replies(
        DEMO_FLOW["nodes"][0]["prompt"], {"type": "news", "article_ids": ["ghost"]}
    )
    response = admin(client, "POST", "/admin/flows", ghost)
    assert response.status_code == 400 and "unknown article" in body_json(response)["error"]
    flow = create_flow(client, _with_replies(DEMO_FLOW["nodes"][0]["prompt"], news))
    assert flow["nodes"][1]["options"][2]["reply"] == news  # kept by id, expanded when sent
    bad_patch = admin(
        client,
        "PATCH",
        f"/admin/flows/{flow['id']}",
        {"exit_reply": {"type": "news", "article_ids": ["ghost"]}},
    )
    assert bad_patch.status_code == 400

    def fee_answer(openid: str) -> dict:
        wiring.reset()  # the published snapshot re-reads at once (normally within ~2 s)
        say(client, "办卡", openid=openid)
        say(client, "借记卡", openid=openid)
        response = post_xml(client, wxsim.text("费用", openid=openid))
        return wxsim.parse(response.body.decode())

    reply = fee_answer("o_news1")
    assert reply["MsgType"] == "news" and reply["ArticleCount"] == "1"
    assert reply["Articles"][0]["Title"] == "借记卡费用说明"
    assert reply["Articles"][0]["Description"] == "免年费"
    assert reply["Articles"][0]["Url"] == f"https://wx.bank.example/p/articles/{article['id']}"

    admin(client, "PUT", f"/admin/articles/{article['id']}", {"title": "借记卡费用（新版）"})
    assert fee_answer("o_news2")["Articles"][0]["Title"] == "借记卡费用（新版）"
    admin(client, "POST", f"/admin/articles/{article['id']}/unpublish")
    wiring.reset()
    assert say(client, "办卡", openid="o_news3").startswith(CHOOSE)
    say(client, "借记卡", openid="o_news3")
    assert say(client, "费用", openid="o_news3") is None  # nothing published: success, no news
    assert not state_item("o_news3").get("flow_id")  # the step still completed the flow


# -- cost per message -----------------------------------------------------------------------


def _count_calls(monkeypatch) -> list[tuple[str, int]]:
    """Every DynamoDB request from now on, as (operation, items written in a transaction)."""
    import botocore.client

    calls: list[tuple[str, int]] = []
    original = botocore.client.BaseClient._make_api_call

    def counting(self, operation_name, api_params):
        if self.meta.service_model.service_name == "dynamodb":
            calls.append((operation_name, len(api_params.get("TransactItems", ()))))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    return calls


def test_dynamodb_requests_per_message(client, monkeypatch):
    """The figures in the README, on a warm container: per message, with the rules-version
    check (one GetItem per container at most every 2 s) amortised away."""
    from chalicelib import wiring
    from tests.functional.test_location import import_points, location

    make_rule(client, text_rule("余额", "100 元"))
    admin(client, "PUT", "/admin/replies/default", {"type": "text", "content": "默认"})
    refresh_rules()
    import_points(client, [{"name": "天河支行", "lat": 23.1372, "lng": 113.329}])
    say(client, "余额", openid="o_warm")  # loads the snapshot
    post_xml(client, location(23.138, 113.328, openid="o_warm"))  # loads the points
    book, places = wiring.callback().book, wiring.callback().places
    monkeypatch.setattr(book, "_ttl", 3600.0)
    monkeypatch.setattr(places, "_ttl", 3600.0)
    calls = _count_calls(monkeypatch)

    def cost(xml: str) -> list[tuple[str, int]]:
        calls.clear()
        assert post_xml(client, xml).status_code == 200
        return list(calls)

    text = lambda content: wxsim.text(content, openid="o_cost")  # noqa: E731
    tx, put = "TransactWriteItems", "PutItem"
    # one conditional put of the message: counters and the follower record come from the stream
    assert cost(text("余额")) == [(put, 0)]  # no flow defined: the state is never read
    assert cost(location(23.138, 113.328, openid="o_cost")) == [(put, 0)]

    create_flow(client)
    say(client, "余额", openid="o_warm")  # reload the snapshot with the flow
    monkeypatch.setattr(book, "_ttl", 3600.0)
    figures = {
        "outside a flow": cost(text("余额")),
        "entering (办卡)": cost(text("办卡")),
        "choosing (1)": cost(text("1")),
        "fallback": cost(text("嗯")),
        "back": cost(text("返回")),
        "exit": cost(text("退出")),
        "menu click entering": cost(wxsim.event("CLICK", "MENU_CARD", openid="o_cost")),
        "completing (2, 材料)": cost(text("2")) + cost(text("材料")),
        "location": cost(location(23.138, 113.328, openid="o_cost")),
    }
    # In a flow the message rides in a transaction with the follower's own state item only.
    read_then_write = [("GetItem", 0), (tx, 2)]
    assert figures["outside a flow"] == [("GetItem", 0), (put, 0)]
    for step in ("entering (办卡)", "choosing (1)", "fallback", "back", "exit"):
        assert figures[step] == read_then_write, (step, figures[step])
    assert figures["menu click entering"] == [(tx, 2)]  # an event: no read
    assert figures["completing (2, 材料)"] == read_then_write * 2
    assert figures["location"] == [(put, 0)]
    print("\nDynamoDB requests per message (warm container, (operation, transaction items)):")
    for step, requests in figures.items():
        print(f"  {step}: {len(requests)} {requests}")
