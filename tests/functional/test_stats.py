"""Analytics end to end: a scripted day and a half of traffic through the callback, then every
figure of every stats route asserted exactly; and the DynamoDB cost of one message, measured."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import pytest

from tests import stream, wxsim
from tests.functional.helpers import admin, body_json, make_rule, post_xml, refresh_rules, text_rule

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the default WXLESS_TIMEZONE, computed independently


def _at(day: dt.date, hh: int, mm: int) -> int:
    return int(dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=SHANGHAI).timestamp())


def _send(client, xml: str) -> None:
    response = post_xml(client, xml)
    assert response.status_code == 200, response.body


def _stats(client, route: str, query: str = "") -> dict:
    response = admin(client, "GET", f"/admin/stats/{route}{query}")
    assert response.status_code == 200, response.body
    return body_json(response)


def _image(openid: str, create_time: int) -> str:
    return wxsim.message_xml(
        {
            "ToUserName": wxsim.ACCOUNT,
            "FromUserName": openid,
            "CreateTime": create_time,
            "MsgType": "image",
            "PicUrl": "http://mmbiz.qpic.cn/x.jpg",
            "MediaId": "m1",
            "MsgId": wxsim.next_msg_id(),
        }
    )


def _traffic(**by_type: int) -> dict:
    events = sum(n for kind, n in by_type.items() if kind.startswith("event."))
    total = sum(by_type.values())
    return {"total": total, "messages": total - events, "events": events, "by_type": by_type}


@pytest.fixture
def scripted(client):
    """Yesterday and today (Asia/Shanghai), three followers, three rules."""
    balance = make_rule(client, text_rule("余额", "您的余额是..."))
    card = make_rule(client, text_rule("信用卡", "信用卡服务...", match="contains"))
    contact = make_rule(
        client,
        {
            "name": "联系我们",
            "match": "click",
            "keywords": ["MENU_CONTACT"],
            "reply": {"type": "text", "content": "95588"},
        },
    )
    admin(client, "PUT", "/admin/replies/default", {"type": "text", "content": "没听懂"})
    admin(client, "PUT", "/admin/replies/subscribe", {"type": "text", "content": "欢迎"})
    refresh_rules()

    b = dt.datetime.now(SHANGHAI).date()
    a = b - dt.timedelta(days=1)
    say = lambda text, who, when: _send(client, wxsim.text(text, openid=who, create_time=when))  # noqa: E731
    # Day A (yesterday)
    _send(client, wxsim.event("subscribe", "qrscene_a", openid="u1", create_time=_at(a, 9, 10)))
    say("余额", "u1", _at(a, 9, 20))  # rule: balance
    _send(client, wxsim.event("subscribe", openid="u2", create_time=_at(a, 9, 30)))
    say("余额？", "u2", _at(a, 9, 45))  # not exact: default reply; same text key as "余额"
    say("我的信用卡账单", "u1", _at(a, 13, 5))  # rule: card
    net_banking = wxsim.text("怎么开通网银", openid="u2", create_time=_at(a, 13, 30))
    _send(client, net_banking)  # default
    _send(client, net_banking)  # WeChat's retry: counted once
    say("怎么开通网银!", "u3", _at(a, 13, 40))  # default, same key
    _send(client, _image("u1", _at(a, 13, 50)))  # outcome none
    _send(client, wxsim.event("unsubscribe", openid="u2", create_time=_at(a, 23, 30)))
    # Day B (today)
    _send(client, wxsim.event("CLICK", "MENU_CONTACT", openid="u3", create_time=_at(b, 8, 0)))
    say("转账 6222 0212 3456", "u1", _at(b, 8, 5))  # default; the card number is masked
    _send(client, wxsim.event("subscribe", openid="u2", create_time=_at(b, 8, 6)))  # comes back
    admin(client, "DELETE", "/admin/replies/default")
    refresh_rules()
    say("HELLO", "u3", _at(b, 8, 30))  # no rule, no default reply: unanswered
    return {"a": a.isoformat(), "b": b.isoformat(), "rules": (balance, card, contact)}


def test_message_stats_per_day_and_hour(scripted, client):
    a, b = scripted["a"], scripted["b"]
    stats = _stats(client, "messages", f"?from={a}&to={b}")
    assert (stats["from"], stats["to"], stats["timezone"]) == (a, b, "Asia/Shanghai")

    day_a = _traffic(**{"event.subscribe": 2, "text": 5, "image": 1, "event.unsubscribe": 1})
    day_b = _traffic(**{"event.click": 1, "text": 2, "event.subscribe": 1})
    assert stats["days"] == [
        {"date": a, **day_a, "outcomes": {"subscribe": 2, "rule": 2, "default": 3, "none": 2}},
        {
            "date": b,
            **day_b,
            "outcomes": {"rule": 1, "default": 1, "subscribe": 1, "unanswered": 1},
        },
    ]
    hours = {h["hour"]: h for h in stats["hours"]}
    assert sorted(hours) == list(range(24))
    assert hours[8] == {"hour": 8, **day_b}
    assert hours[9] == {"hour": 9, **_traffic(**{"event.subscribe": 2, "text": 2})}
    assert hours[13] == {"hour": 13, **_traffic(text=3, image=1)}
    assert hours[23] == {"hour": 23, **_traffic(**{"event.unsubscribe": 1})}
    assert all(hours[h]["total"] == 0 for h in set(range(24)) - {8, 9, 13, 23})
    totals = _traffic(
        **{
            "event.subscribe": 3,
            "text": 7,
            "image": 1,
            "event.unsubscribe": 1,
            "event.click": 1,
        }
    )
    assert stats["totals"] == {
        **totals,
        "outcomes": {"subscribe": 3, "rule": 3, "default": 4, "none": 2, "unanswered": 1},
    }

    only_b = _stats(client, "messages", f"?from={b}&to={b}")
    assert only_b["totals"]["total"] == 4 and [d["date"] for d in only_b["days"]] == [b]
    before = _stats(client, "messages", "?from=2020-01-01&to=2020-01-31")
    assert before["totals"]["total"] == 0 and len(before["days"]) == 31
    default_range = _stats(client, "messages")
    assert default_range["to"] == b and len(default_range["days"]) == 7
    assert default_range["totals"]["total"] == 13


def test_rule_hits_with_names(scripted, client):
    a, b = scripted["a"], scripted["b"]
    balance, card, contact = scripted["rules"]
    stats = _stats(client, "rules", f"?from={a}&to={b}")
    summary = [(r["rule_id"], r["name"], r["hits"], r["days"]) for r in stats["items"]]
    assert summary == [
        (card["id"], "contains:信用卡", 1, [{"date": a, "hits": 1}]),
        (balance["id"], "exact:余额", 1, [{"date": a, "hits": 1}]),
        (contact["id"], "联系我们", 1, [{"date": b, "hits": 1}]),
    ]
    assert stats["items"][0]["keywords"] == ["信用卡"] and stats["items"][0]["deleted"] is False

    admin(client, "DELETE", f"/admin/rules/{balance['id']}")
    stats = _stats(client, "rules", f"?from={a}&to={a}")
    deleted = [r for r in stats["items"] if r["rule_id"] == balance["id"]]
    assert deleted[0]["deleted"] is True and deleted[0]["name"] is None
    assert len(stats["items"]) == 2


def test_top_texts(scripted, client):
    a, b = scripted["a"], scripted["b"]
    balance = scripted["rules"][0]
    stats = _stats(client, "keywords", f"?from={a}&to={b}")
    assert stats["distinct"] == 5
    rows = [(i["text"], i["count"], i["unanswered"], i["rule_name"]) for i in stats["items"]]
    assert rows == [
        ("怎么开通网银", 2, 2, None),  # 2 hits, the latest of the two-hit texts
        ("余额", 2, 1, "exact:余额"),
        ("hello", 1, 1, None),
        ("转账 #", 1, 1, None),
        ("我的信用卡账单", 1, 0, "contains:信用卡"),
    ]
    assert stats["items"][1]["rule_id"] == balance["id"]
    assert stats["items"][0]["last_seen"] == _at(dt.date.fromisoformat(a), 13, 40)
    top2 = _stats(client, "keywords", f"?from={a}&to={b}&limit=2")
    assert [i["text"] for i in top2["items"]] == ["怎么开通网银", "余额"]


def test_unanswered_questions(scripted, client):
    a, b = scripted["a"], scripted["b"]
    day_a, day_b = dt.date.fromisoformat(a), dt.date.fromisoformat(b)
    stats = _stats(client, "unanswered", f"?from={a}&to={b}")
    assert (stats["total"], stats["distinct"]) == (5, 4)
    rows = [(i["text"], i["count"], i["last_seen"]) for i in stats["items"]]
    assert rows == [
        ("怎么开通网银", 2, _at(day_a, 13, 40)),
        ("hello", 1, _at(day_b, 8, 30)),
        ("转账 #", 1, _at(day_b, 8, 5)),
        ("余额", 1, _at(day_a, 9, 45)),
    ]
    samples = [i["sample"] for i in stats["items"]]
    assert samples[0] in ("怎么开通网银", "怎么开通网银!")  # either wording of the group
    assert samples[1:] == ["HELLO", "转账 #", "余额？"]  # as written, digits masked

    today = _stats(client, "unanswered", f"?from={b}&to={b}&limit=1")
    assert (today["total"], today["distinct"]) == (2, 2)
    assert [(i["text"], i["count"]) for i in today["items"]] == [("hello", 1)]


def test_follower_growth(scripted, client):
    a, b = scripted["a"], scripted["b"]
    stats = _stats(client, "followers", f"?from={a}&to={b}")
    assert stats["days"] == [
        {"date": a, "new": 2, "lost": 1, "net": 1},
        {"date": b, "new": 1, "lost": 0, "net": 1},
    ]
    assert stats["totals"] == {"new": 3, "lost": 1, "net": 2}


def test_days_follow_the_configured_time_zone(client, monkeypatch):
    now = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
    local = now.astimezone(SHANGHAI)
    _send(client, wxsim.text("hi", openid="u_tz", create_time=int(now.timestamp())))
    stats = _stats(client, "messages", f"?from={local.date()}&to={local.date()}")
    assert stats["hours"][local.hour]["total"] == 1 and stats["totals"]["total"] == 1

    # Counters are keyed by the zone in force when the message arrived.
    monkeypatch.setenv("WXLESS_TIMEZONE", "UTC")
    _send(client, wxsim.text("hi", openid="u_tz", create_time=int(now.timestamp()) + 1))
    stats = _stats(client, "messages", f"?from={now.date()}&to={now.date()}")
    assert stats["timezone"] == "UTC"
    assert stats["hours"][now.hour]["total"] == 1  # 8 hours away from the Shanghai bucket
    assert stats["totals"]["total"] == 1 + (local.date() == now.date())


ROUTES = ("messages", "rules", "keywords", "unanswered", "followers")


def test_bad_ranges_are_400_and_the_token_is_required(client):
    # One app per test is costly here (every table is created in moto): one test, many cases.
    bad = [
        "?from=2025-01-01&to=2026-01-02",  # 367 days
        "?from=2026-02-01&to=2026-01-01",
        "?from=2026/01/01",
        "?to=tomorrow",
        "?from=2026-02-30",
        "?limit=0",
    ]
    for route in ROUTES:
        for query in bad:
            if query == "?limit=0" and route not in ("keywords", "unanswered"):
                continue
            response = admin(client, "GET", f"/admin/stats/{route}{query}")
            assert response.status_code == 400, (route, query)
            assert "error" in body_json(response)
        assert admin(client, "GET", f"/admin/stats/{route}", token=None).status_code == 401


def test_a_year_is_allowed(client):
    response = admin(client, "GET", "/admin/stats/messages?from=2025-01-01&to=2026-01-01")
    assert response.status_code == 200
    assert len(body_json(response)["days"]) == 366


# -- cost of one message -----------------------------------------------------------------------


def _value_size(value: dict) -> int:
    """DynamoDB's item size rules (approximately, and never under)."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return math.ceil(len(inner.lstrip("-").replace(".", "")) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in inner.items())
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    raise AssertionError(kind)


def _item_size(item: dict) -> int:
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


@pytest.fixture
def dynamodb_calls(monkeypatch):
    """Every DynamoDB request any botocore client makes (PynamoDB's included)."""
    from botocore.client import BaseClient

    calls: list[tuple[str, dict]] = []
    original = BaseClient._make_api_call

    def spy(self, operation, params):
        if self.meta.service_model.service_name == "dynamodb":
            calls.append((operation, params))
        return original(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", spy)
    return calls


def test_requests_and_write_units_per_message(client, dynamodb_calls, capsys):
    """One request per message, on a warm container: a conditional PutItem of the message item,
    which no other follower shares, and no read. A typical keyword reply stays under 1 KB (one
    write unit); counters and follower records come from the stream, not from this request."""
    rule = make_rule(client, text_rule("余额", "您的余额是 1,234.56 元"))
    admin(client, "PUT", "/admin/replies/default", {"type": "text", "content": "没听懂"})
    refresh_rules()
    _send(client, wxsim.text("warm-up", openid="u_cost"))  # rules loaded, clients built
    cases = {
        "text, rule hit": wxsim.text("余额", openid="u_cost"),
        "text, default reply": wxsim.text("请问信用卡年费怎么收？", openid="u_cost"),
        "subscribe event": wxsim.event("subscribe", "qrscene_9", openid="u_cost2"),
        "click event": wxsim.event("CLICK", "MENU_X", openid="u_cost"),
        "job report": wxsim.event("TEMPLATESENDJOBFINISH", MsgID="7", Status="success"),
    }
    report = []
    for name, xml in cases.items():
        dynamodb_calls.clear()
        _send(client, xml)
        operations = [op for op, _ in dynamodb_calls]
        assert operations == ["PutItem"], (name, operations)
        put = dynamodb_calls[0][1]
        assert put["TableName"].endswith("-messages") and "ConditionExpression" in put
        assert put["Item"]["pk"]["S"].startswith("default#")  # the follower's own partition
        size = _item_size(put["Item"])
        wru = math.ceil(size / 1024)
        report.append(f"{name}: {operations}, item {size} B, {wru} WRU")
        assert size <= 1024, report[-1]
    assert rule["id"]
    with capsys.disabled():
        print("\nper-message DynamoDB cost:\n  " + "\n  ".join(report))


def test_stats_queries_read_counters_never_the_message_log(scripted, client, dynamodb_calls):
    """Each stats route reads the counter items by key range, whatever the range: one Query for
    the hour counters, one per text shard for texts (plus the aggregator's progress, for
    `as_of`): never a Scan of the counters, never the message log."""
    from chalicelib.store import analytics

    a, b = scripted["a"], scripted["b"]
    expected = {"messages": 1, "rules": 1, "followers": 1}
    for route in ("messages", "rules", "keywords", "unanswered", "followers"):
        for query in (f"?from={a}&to={b}", "?from=2025-11-01&to=2026-10-31"):
            stream.drain()  # caught up before counting (the admin helper drains too)
            dynamodb_calls.clear()
            _stats(client, route, query)
            touched = [(op, p["TableName"].split("-")[-1]) for op, p in dynamodb_calls]
            assert all(table != "messages" for _, table in touched), (route, touched)
            counters = [op for op, table in touched if table == "analytics"]
            assert counters and set(counters) == {"Query"}, (route, touched)
            wanted = expected.get(route, analytics.TEXT_SHARDS) + 1  # + the progress item
            assert len(counters) == wanted, (route, query, len(counters))
