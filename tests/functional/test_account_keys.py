"""Account-scoped keys: every item the rules, points, menu, token, idempotency and throttle stores
write starts with the account (WXLESS_ACCOUNT_ID), the admin API shows natural ids only, and an
account never sees another's rules, replies or points."""

from __future__ import annotations

import pytest

from tests.functional.helpers import admin, body_json, make_rule, text_rule
from tests.functional.test_idempotency import keyed
from tests.functional.test_menu import MENU

POINT = {"name": "天河支行", "lat": 23.13, "lng": 113.32, "tags": ["branch"]}


def stored_keys(suffix: str) -> list[tuple[str, str | None]]:
    """(pk, sk) of every item of the table `<prefix>-<suffix>`."""
    from chalicelib import config
    from chalicelib.store import ddb
    from chalicelib.store.aws import client

    items = client("dynamodb").scan(TableName=config.table_name(suffix))["Items"]
    return [(ddb.de(i["pk"]), ddb.de(i["sk"]) if "sk" in i else None) for i in items]


def use_account(monkeypatch, account: str) -> None:
    monkeypatch.setenv("WXLESS_ACCOUNT_ID", account)


def test_every_key_written_starts_with_the_account(client, fake_wechat, monkeypatch):
    from chalicelib.jobs import token_refresh

    use_account(monkeypatch, "acme")
    rule = make_rule(client, text_rule("余额", "x"))
    assert "#" not in rule["id"]
    assert admin(client, "GET", f"/admin/rules/{rule['id']}").status_code == 200
    changed = admin(client, "PUT", f"/admin/rules/{rule['id']}", text_rule("余额", "y"))
    assert changed.status_code == 200
    reply = {"type": "text", "content": "默认"}
    assert admin(client, "PUT", "/admin/replies/default", reply).status_code == 200
    point = body_json(admin(client, "POST", "/admin/points", POINT))
    assert "#" not in point["id"]
    assert admin(client, "PUT", "/admin/points/settings", {"count": 2}).status_code == 200
    assert token_refresh.run()["access"]["outcome"] == "refreshed"
    assert admin(client, "PUT", "/admin/menu", MENU).status_code == 200
    assert keyed(client, "POST", "/admin/rules", text_rule("转账", "z")).status_code == 201
    assert admin(client, "GET", "/admin/rules", token="a guess").status_code == 401

    config_keys = [pk for pk, _ in stored_keys("config")]
    kinds = {pk.split("#")[1] for pk in config_keys}
    assert {"rules", "reply", "points", "token", "menu", "idem", "authfail"} <= kinds
    assert all(pk.startswith("acme#") for pk in config_keys), config_keys
    assert all(pk.startswith("acme#point#") for pk, _ in stored_keys("points"))
    rules = stored_keys("rules")
    assert len(rules) == 2 and all(pk == "acme" and sk.startswith("rule#") for pk, sk in rules)
    listed = body_json(admin(client, "GET", "/admin/rules"))["items"]
    assert {r["id"] for r in listed} == {sk.removeprefix("rule#") for _, sk in rules}


def test_an_account_sees_only_its_own_rules_replies_and_points(client, monkeypatch):
    use_account(monkeypatch, "acme")
    rule = make_rule(client, text_rule("余额", "x"))
    admin(client, "PUT", "/admin/replies/default", {"type": "text", "content": "默认"})
    point = body_json(admin(client, "POST", "/admin/points", POINT))

    use_account(monkeypatch, "other")
    assert body_json(admin(client, "GET", "/admin/rules"))["items"] == []
    assert admin(client, "GET", f"/admin/rules/{rule['id']}").status_code == 404
    assert admin(client, "DELETE", f"/admin/rules/{rule['id']}").status_code == 404
    assert admin(client, "GET", "/admin/replies/default").status_code == 404
    assert body_json(admin(client, "GET", "/admin/points"))["items"] == []
    assert admin(client, "GET", f"/admin/points/{point['id']}").status_code == 404
    mine = make_rule(client, text_rule("余额", "other's"))

    use_account(monkeypatch, "acme")
    assert [r["id"] for r in body_json(admin(client, "GET", "/admin/rules"))["items"]] == [
        rule["id"]
    ]
    assert admin(client, "GET", f"/admin/rules/{mine['id']}").status_code == 404
    assert [p["id"] for p in body_json(admin(client, "GET", "/admin/points"))["items"]] == [
        point["id"]
    ]


@pytest.mark.parametrize("cursor", ["a%23b", "x" * 65, "..%2F"])
def test_a_points_cursor_not_given_by_the_api_is_400(client, cursor):
    response = admin(client, "GET", f"/admin/points?cursor={cursor}")
    assert response.status_code == 400, response.body
