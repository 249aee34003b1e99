"""CONTRACT.md §3 over chalice.test.Client on moto."""

from __future__ import annotations

import pytest

from tests import wxsim
from tests.functional.helpers import admin, body_json, make_rule, post_xml, refresh_rules, text_rule


def _reply_content(client, text: str) -> str | None:
    refresh_rules()
    response = post_xml(client, wxsim.text(text))
    if response.body == b"success":
        return None
    return wxsim.parse(response.body.decode())["Content"]


@pytest.mark.parametrize(
    "token", [None, "wrong-token", "", wxsim.ADMIN + "x"], ids=["none", "wrong", "empty", "longer"]
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin/rules"),
        ("POST", "/admin/rules"),
        ("GET", "/admin/rules/abc"),
        ("PUT", "/admin/rules/abc"),
        ("DELETE", "/admin/rules/abc"),
        ("GET", "/admin/replies/default"),
        ("PUT", "/admin/replies/subscribe"),
        ("GET", "/admin/messages"),
        ("GET", "/admin/openapi.json"),
    ],
)
def test_admin_requires_the_bearer_token(client, method, path, token):
    response = admin(client, method, path, text_rule("a", "b"), token=token)
    assert response.status_code == 401
    assert "error" in body_json(response)


def test_wrong_scheme_is_refused(client):
    response = client.http.get("/admin/rules", headers={"Authorization": f"Token {wxsim.ADMIN}"})
    assert response.status_code == 401


def test_admin_closed_when_no_token_configured(client, monkeypatch):
    monkeypatch.delenv("ADMIN_TOKEN")
    assert admin(client, "GET", "/admin/rules", token="").status_code == 401


def test_rule_crud(client):
    created = make_rule(client, text_rule("余额", "100", priority=3))
    assert created["id"] and created["name"] == "exact:余额"
    assert created["priority"] == 3 and created["enabled"] is True
    assert created["reply"] == {"type": "text", "content": "100"}

    got = body_json(admin(client, "GET", f"/admin/rules/{created['id']}"))
    assert got == created
    listed = body_json(admin(client, "GET", "/admin/rules"))["items"]
    assert [r["id"] for r in listed] == [created["id"]]

    full = dict(got, keywords=["余额", "查余额"], enabled=False)
    updated = admin(client, "PUT", f"/admin/rules/{created['id']}", full)
    assert updated.status_code == 200
    assert body_json(updated)["keywords"] == ["余额", "查余额"]
    assert body_json(updated)["enabled"] is False
    assert body_json(updated)["created_at"] == created["created_at"]

    assert admin(client, "DELETE", f"/admin/rules/{created['id']}").status_code == 204
    assert admin(client, "GET", f"/admin/rules/{created['id']}").status_code == 404
    assert body_json(admin(client, "GET", "/admin/rules"))["items"] == []


def test_defaults_apply(client):
    rule = make_rule(
        client,
        {
            "name": "n",
            "match": "contains",
            "keywords": ["x"],
            "reply": {"type": "text", "content": "y"},
        },
    )
    assert rule["priority"] == 0 and rule["enabled"] is True


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/admin/rules/nope"), ("PUT", "/admin/rules/nope"), ("DELETE", "/admin/rules/nope")],
)
def test_unknown_rule_is_404(client, method, path):
    response = admin(client, method, path, text_rule("a", "b"))
    assert response.status_code == 404
    assert "error" in body_json(response)


BAD_RULES = {
    "invalid-regex": text_rule("([unclosed", "x", match="regex"),
    "evil-regex": text_rule("(a+)+$", "x", match="regex"),
    "unknown-match": text_rule("a", "x", match="fuzzy"),
    "empty-keywords": {**text_rule("a", "x"), "keywords": []},
    "keywords-not-list": {**text_rule("a", "x"), "keywords": "a"},
    "blank-keyword": {**text_rule("a", "x"), "keywords": ["  "]},
    "no-reply": {"name": "n", "match": "exact", "keywords": ["a"]},
    "reply-unknown-type": {**text_rule("a", "x"), "reply": {"type": "poem", "content": "x"}},
    "reply-empty-text": {**text_rule("a", "x"), "reply": {"type": "text", "content": ""}},
    "news-too-many": {
        **text_rule("a", "x"),
        "reply": {"type": "news", "articles": [{"title": "t"}] * 9},
    },
    "news-none": {**text_rule("a", "x"), "reply": {"type": "news", "articles": []}},
    "image-no-media": {**text_rule("a", "x"), "reply": {"type": "image"}},
    "priority-string": {**text_rule("a", "x"), "priority": "high"},
    "priority-bool": {**text_rule("a", "x"), "priority": True},
    "enabled-string": {**text_rule("a", "x"), "enabled": "yes"},
    "no-name": {"match": "exact", "keywords": ["a"], "reply": {"type": "text", "content": "x"}},
    "unknown-field": {**text_rule("a", "x"), "colour": "red"},
    "array-body": [text_rule("a", "x")],
}


@pytest.mark.parametrize("body", list(BAD_RULES.values()), ids=list(BAD_RULES))
def test_bad_rules_are_400_and_store_nothing(client, body):
    response = admin(client, "POST", "/admin/rules", body)
    assert response.status_code == 400, response.body
    assert isinstance(body_json(response)["error"], str) and body_json(response)["error"]
    assert body_json(admin(client, "GET", "/admin/rules"))["items"] == []


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b"null"])
def test_unparseable_bodies_are_400(client, raw):
    response = admin(client, "POST", "/admin/rules", raw)
    assert response.status_code == 400
    assert "error" in body_json(response)


def test_bad_update_changes_nothing(client):
    rule = make_rule(client, text_rule("a", "x"))
    response = admin(
        client, "PUT", f"/admin/rules/{rule['id']}", {"match": "regex", "keywords": ["(a"]}
    )
    assert response.status_code == 400
    assert body_json(admin(client, "GET", f"/admin/rules/{rule['id']}")) == rule


def test_priority_then_creation_order_decides(client):
    make_rule(client, text_rule("卡", "contains-low", match="contains", priority=1))
    make_rule(client, text_rule("信用卡", "exact-lower", match="exact", priority=0))
    assert _reply_content(client, "信用卡") == "contains-low"
    make_rule(client, text_rule("信用", "prefix-high", match="prefix", priority=9))
    assert _reply_content(client, "信用卡") == "prefix-high"
    make_rule(client, text_rule("信用", "prefix-tie-later", match="prefix", priority=9))
    assert _reply_content(client, "信用卡") == "prefix-high"
    make_rule(client, text_rule(r"^信用.$", "regex-top", match="regex", priority=10))
    assert _reply_content(client, "信用卡") == "regex-top"


def test_disabled_rules_do_not_match(client):
    rule = make_rule(client, text_rule("关闭", "on", enabled=False))
    assert _reply_content(client, "关闭") is None
    admin(client, "PUT", f"/admin/rules/{rule['id']}", {"enabled": True})
    assert _reply_content(client, "关闭") == "on"


def test_deleted_rule_stops_matching(client):
    rule = make_rule(client, text_rule("删除", "still here"))
    assert _reply_content(client, "删除") == "still here"
    admin(client, "DELETE", f"/admin/rules/{rule['id']}")
    assert _reply_content(client, "删除") is None


def test_special_replies(client):
    assert admin(client, "GET", "/admin/replies/default").status_code == 404
    reply = {"type": "text", "content": "您好"}
    put = admin(client, "PUT", "/admin/replies/default", reply)
    assert put.status_code in (200, 204)
    assert body_json(admin(client, "GET", "/admin/replies/default")) == reply
    assert admin(client, "PUT", "/admin/replies/subscribe", {"type": "text"}).status_code == 400
    assert admin(client, "PUT", "/admin/replies/unknown", reply).status_code == 404
    assert admin(client, "DELETE", "/admin/replies/default").status_code == 204
    assert admin(client, "GET", "/admin/replies/default").status_code == 404


def test_messages_limit_is_validated(client):
    assert admin(client, "GET", "/admin/messages?limit=0").status_code == 400
    assert admin(client, "GET", "/admin/messages?limit=abc").status_code == 400


def test_a_limit_over_the_largest_page_is_the_largest_page(client):
    for n in range(3):
        post_xml(client, wxsim.text(f"hello {n}", openid="o_many"))
    many = admin(client, "GET", "/admin/messages?openid=o_many&limit=100000")
    assert many.status_code == 200 and len(body_json(many)["items"]) == 3
    rules = admin(client, "GET", "/admin/rules?limit=100000")
    assert rules.status_code == 200 and isinstance(body_json(rules)["items"], list)


def test_health(client):
    response = client.http.get("/health")
    assert response.status_code == 200
    assert body_json(response) == {"status": "ok"}


def test_openapi_document_is_valid_and_covers_every_admin_route(client):
    from openapi_spec_validator import validate

    from app import app

    response = admin(client, "GET", "/admin/openapi.json")
    assert response.status_code == 200
    doc = body_json(response)
    validate(doc)
    for path, methods in app.routes.items():
        if not path.startswith("/admin"):
            continue
        assert path in doc["paths"], f"{path} is not documented"
        for method in methods:
            assert method.lower() in doc["paths"][path], f"{method} {path} is not documented"


def test_token_guessing_is_throttled_per_ip(client, monkeypatch):
    monkeypatch.setenv("WXLESS_AUTH_MAX_FAILURES", "5")
    statuses = [
        admin(client, "GET", "/admin/rules", token=f"guess-{i}").status_code for i in range(7)
    ]
    assert statuses[:4] == [401] * 4
    assert statuses[4:] == [429] * 3
    # locked: even the right token waits, so guessing cannot continue
    locked = admin(client, "GET", "/admin/rules")
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    # a missing header is not a guess and is not counted
    from chalicelib import wiring

    wiring.reset()  # a new container: it has learnt no lockout yet
    monkeypatch.setenv("WXLESS_AUTH_MAX_FAILURES", "1000")
    assert admin(client, "GET", "/admin/rules").status_code == 200


def test_throttle_without_a_containers_lockouts_reads_the_shared_count(aws, monkeypatch):
    """The count in DynamoDB is the truth; a container's Lockouts only saves reading it."""
    from chalicelib.store import throttle

    monkeypatch.setenv("WXLESS_AUTH_MAX_FAILURES", "2")
    now = 1_800_000_000.0  # the start of a window
    assert throttle.record_failure("192.0.2.1", now) == 0
    assert throttle.locked_for("192.0.2.1", now) == 0
    wait = throttle.record_failure("192.0.2.1", now)
    assert wait == throttle.WINDOW_SECONDS + 1
    assert throttle.locked_for("192.0.2.1", now + 100) == wait - 100  # read from the count
    assert throttle.locked_for("192.0.2.2", now) == 0
    assert throttle.locked_for("192.0.2.1", now + throttle.WINDOW_SECONDS) == 0  # next window
    # A container that has not seen the failures lets one guess through, then knows.
    fresh = throttle.Lockouts()
    assert throttle.locked_for("192.0.2.1", now + 100, fresh) == 0
    assert throttle.record_failure("192.0.2.1", now + 100, fresh) == wait - 100
    assert throttle.locked_for("192.0.2.1", now + 100, fresh) == wait - 100


def test_missing_tokens_do_not_lock_anyone_out(client, monkeypatch):
    monkeypatch.setenv("WXLESS_AUTH_MAX_FAILURES", "3")
    for _ in range(10):
        assert admin(client, "GET", "/admin/rules", token=None).status_code == 401
    assert admin(client, "GET", "/admin/rules").status_code == 200


@pytest.mark.parametrize("bad_type", [{}, [], None, 5])
def test_reply_with_a_non_string_type_is_400_not_500(client, bad_type):
    reply = {"type": bad_type}
    assert admin(client, "PUT", "/admin/replies/default", reply).status_code == 400
    rule = {**text_rule("a", "x"), "reply": reply}
    assert admin(client, "POST", "/admin/rules", rule).status_code == 400
