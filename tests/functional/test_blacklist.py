"""The blacklist over HTTP (CONTRACT.md §6): `GET|POST /admin/blacklist`, `POST
/admin/blacklist/remove`, through WeChat's tags/members/getblacklist, batchblacklist and
batchunblacklist (the fake's, with WeChat's limits and error codes)."""

from __future__ import annotations

from tests.functional.helpers import admin, body_json

ADD = "/cgi-bin/tags/members/batchblacklist"
REMOVE = "/cgi-bin/tags/members/batchunblacklist"


def listed(client) -> list[str]:
    response = admin(client, "GET", "/admin/blacklist")
    assert response.status_code == 200, response.body
    return body_json(response)["openids"]


def test_blacklist_add_list_remove(client, fake_wechat):
    assert listed(client) == []
    added = admin(client, "POST", "/admin/blacklist", {"openids": ["o_spam_1", "o_spam_2"]})
    assert added.status_code == 200, added.body
    assert body_json(added) == {"blacklisted": ["o_spam_1", "o_spam_2"]}
    assert listed(client) == ["o_spam_1", "o_spam_2"]
    assert body_json(admin(client, "GET", "/admin/blacklist"))["total"] == 2
    assert fake_wechat.blacklist == ["o_spam_1", "o_spam_2"]

    removed = admin(client, "POST", "/admin/blacklist/remove", {"openids": ["o_spam_1"]})
    assert removed.status_code == 200 and body_json(removed) == {"removed": ["o_spam_1"]}
    assert listed(client) == ["o_spam_2"]


def test_more_than_twenty_go_in_batches_of_twenty(client, fake_wechat):
    openids = [f"o_bulk_{i:03d}" for i in range(45)]
    response = admin(client, "POST", "/admin/blacklist", {"openids": [*openids, openids[0]]})
    assert response.status_code == 200
    assert [len(c.body["openid_list"]) for c in fake_wechat.calls_to(ADD)] == [20, 20, 5]
    assert listed(client) == openids  # a repeated openid is sent once


def test_the_list_is_read_page_by_page(client, fake_wechat, monkeypatch):
    from infra.fake_wechat import blacklist as fake_blacklist

    monkeypatch.setattr(fake_blacklist, "PAGE", 3)
    openids = [f"o_page_{i}" for i in range(7)]
    admin(client, "POST", "/admin/blacklist", {"openids": openids})
    assert listed(client) == openids
    assert fake_wechat.count("/cgi-bin/tags/members/getblacklist") == 3


def test_bad_bodies_are_400_and_call_nobody(client, fake_wechat):
    for body in (
        {},
        {"openids": []},
        {"openids": "o_x"},
        {"openids": ["not an openid!"]},
        {"openids": ["o_x"], "reason": "spam"},
        {"openids": [f"o_{i}" for i in range(201)]},
    ):
        response = admin(client, "POST", "/admin/blacklist", body)
        assert response.status_code == 400, body
        assert admin(client, "POST", "/admin/blacklist/remove", body).status_code == 400
    assert fake_wechat.count(ADD) == 0 and fake_wechat.count(REMOVE) == 0


def test_wechat_refusals_say_how_far_it_got(client, fake_wechat):
    openids = [f"o_part_{i:02d}" for i in range(30)]
    fake_wechat.inject_error(ADD, None)  # the first batch goes through
    fake_wechat.inject_error(ADD, 49003, "not match openid with appid")
    response = admin(client, "POST", "/admin/blacklist", {"openids": openids})
    assert response.status_code == 422, response.body
    answer = body_json(response)
    assert answer["errcode"] == 49003
    assert answer["blacklisted"] == openids[:20]  # the first batch went through
    assert listed(client) == openids[:20]


def test_an_unknown_openid_is_404(client, fake_wechat):
    fake_wechat.inject_error(REMOVE, 40003, "invalid openid", times=1)
    response = admin(client, "POST", "/admin/blacklist/remove", {"openids": ["o_ghost"]})
    assert response.status_code == 404 and body_json(response)["errcode"] == 40003
