"""Article views, distinct readers and views through shared links over HTTP (chalice.test.Client
on moto): the page writes one small item per view, the stream aggregator sums them exactly once
(redelivered, halved), readers are distinct people, and "who read this" lists the followers."""

from __future__ import annotations

from typing import Any

import pytest

from tests import stream
from tests.functional.helpers import admin, body_json

HOST = "wx.bank.example"
PHONE = "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50"


def _article(client, **fields) -> dict:
    body = {"title": "信用卡还款指南", "digest": "三种方式", "status": "published", **fields}
    response = admin(client, "POST", "/admin/articles", body)
    assert response.status_code == 201, response.body
    return body_json(response)


def _view(client, article_id: str, query: str = "", agent: str = PHONE, cookie: str = ""):
    headers = {"Host": HOST, "User-Agent": agent}
    if cookie:
        headers["Cookie"] = cookie
    response = client.http.get(f"/p/articles/{article_id}{query}", headers=headers)
    assert response.status_code in (200, 304), response.body
    return response


def _stats(client, article_id: str) -> dict:
    response = admin(client, "GET", f"/admin/articles/{article_id}/stats")
    assert response.status_code == 200, response.body
    return body_json(response)


def _cookie(openid: str) -> str:
    from chalicelib.webauth import oauth

    return f"wxf={oauth.cookie_value(openid, 'snsapi_base')}"


def test_views_readers_and_shared_views_are_counted(client):
    article = _article(client)
    aid = article["id"]
    _view(client, aid)  # opened from the account's menu
    _view(client, aid, "?from=timeline&isappinstalled=0")  # from Moments
    _view(client, aid, "?from=singlemessage", agent="Mozilla/5.0 (Android) MicroMessenger/8.0")
    _view(client, aid, "?from=groupmessage", cookie=_cookie("oFOLLOWER_1"))
    _view(client, aid, "?from=groupmessage", cookie=_cookie("oFOLLOWER_1"))  # reads it again
    _view(client, aid, "?from=somewhere_else", cookie=_cookie("oFOLLOWER_2"))
    stats = _stats(client, aid)
    assert (stats["views"], stats["shared_views"]) == (6, 4)
    # the iPhone (twice, anonymous), the Android phone, and two followers
    assert stats["readers"] == 4
    today = stats["days"][-1]
    assert (today["views"], today["readers"], today["shared_views"]) == (6, 4, 4)
    assert len(stats["days"]) == 30 and stats["as_of"] is not None
    readers = body_json(admin(client, "GET", f"/admin/articles/{aid}/readers"))["items"]
    assert sorted(r["openid"] for r in readers) == ["oFOLLOWER_1", "oFOLLOWER_2"]


def test_a_reader_is_counted_once_across_batches(client):
    aid = _article(client)["id"]
    _view(client, aid, cookie=_cookie("oFOLLOWER_1"))
    assert _stats(client, aid)["readers"] == 1  # the admin helper drains the stream
    _view(client, aid, cookie=_cookie("oFOLLOWER_1"))
    stats = _stats(client, aid)
    assert (stats["views"], stats["readers"]) == (2, 1)


def test_a_forged_cookie_is_an_anonymous_reader(client):
    aid = _article(client)["id"]
    _view(client, aid, cookie="wxf=oSOMEONE.1700000000.b." + "0" * 32)
    assert body_json(admin(client, "GET", f"/admin/articles/{aid}/readers"))["items"] == []
    assert _stats(client, aid)["readers"] == 1


def test_drafts_and_unknown_articles_count_nothing(client):
    draft = _article(client, status="draft")
    response = client.http.get(f"/p/articles/{draft['id']}", headers={"Host": HOST})
    assert response.status_code == 404
    stats = _stats(client, draft["id"])
    assert (stats["views"], stats["readers"], stats["shared_views"]) == (0, 0, 0)
    assert admin(client, "GET", "/admin/articles/nope/stats").status_code == 404
    assert admin(client, "GET", "/admin/articles/nope/readers").status_code == 404


def test_a_revalidated_page_counts_as_a_view(client):
    aid = _article(client)["id"]
    first = _view(client, aid)
    again = client.http.get(
        f"/p/articles/{aid}",
        headers={"Host": HOST, "User-Agent": PHONE, "If-None-Match": first.headers["ETag"]},
    )
    assert again.status_code == 304
    assert _stats(client, aid)["views"] == 2


def test_storage_down_costs_the_count_not_the_page(client, monkeypatch):
    from chalicelib.store import ddb

    aid = _article(client)["id"]
    real_put = ddb.put

    def failing(request: dict[str, Any], **kwargs: Any):
        if request.get("Item", {}).get("t", {}).get("S") == "page.view":
            raise ConnectionError("DynamoDB unreachable")
        return real_put(request, **kwargs)

    monkeypatch.setattr(ddb, "put", failing)
    response = client.http.get(f"/p/articles/{aid}", headers={"Host": HOST})
    assert response.status_code == 200
    monkeypatch.setattr(ddb, "put", real_put)
    assert _stats(client, aid)["views"] == 0


# -- exactly once -------------------------------------------------------------------------------


def _records() -> list[dict[str, Any]]:
    from chalicelib.store import stream as stream_store
    from chalicelib.store.messages import table_name

    pump = stream.pump()
    arn = stream_store.stream_arn(table_name())
    (shard,) = list(stream_store.shards(arn))
    records, _ = stream_store.read_shard(arn, shard, pump.positions.get((arn, shard)), 10_000)
    return [r for r in records if r["eventName"] == "INSERT"]


def _deliver(records: list[dict[str, Any]]) -> dict[str, Any]:
    from chalicelib.jobs import aggregate

    return aggregate.handle({"Records": records, "shardId": "shardId-views", "eventSourceARN": "x"})


@pytest.mark.parametrize("split", [1, 3, 5])
def test_redelivered_and_halved_batches_count_each_view_once(client, split):
    aid = _article(client)["id"]
    stream.drain()  # the article's own writes are not this test's records
    for n, openid in enumerate(["oA", "oB", "oA", "oC", "oB", "oA", "oD"]):
        query = "?from=timeline" if n % 2 else ""
        _view(client, aid, query, cookie=_cookie(openid))
    records = _records()
    assert len(records) == 7
    assert _deliver(records)["batchItemFailures"] == []
    assert _deliver(records)["batchItemFailures"] == []  # again, whole
    assert _deliver(records[:split])["batchItemFailures"] == []  # halved
    assert _deliver(records[split:])["batchItemFailures"] == []
    stream.pump().skip_to_end()
    stats = _stats(client, aid)
    assert (stats["views"], stats["readers"], stats["shared_views"]) == (7, 4, 3)


@pytest.mark.parametrize("when", ["crash_before", "crash_after", "lost_answer"])
def test_a_fault_at_every_write_of_a_views_batch_is_recovered_exactly_once(client, when):
    from tests.faults import Crash, injected

    aid = _article(client)["id"]
    stream.drain()
    for n, openid in enumerate(["oA", "oB", "oA", "oC"]):
        _view(client, aid, "?from=timeline" if n % 2 else "", cookie=_cookie(openid))
    records = _records()
    stream.pump().skip_to_end()
    writes = frozenset({"PutItem", "UpdateItem"})
    with injected() as counting:
        _deliver(records)
    # 3 reader claims, the article's all-time and today's counters, the progress item
    total = sum(n for op, n in counting.calls.items() if op in writes)
    assert total == 6, counting.calls
    reference = _stats(client, aid)
    assert (reference["views"], reference["readers"], reference["shared_views"]) == (4, 3, 2)
    for n in range(1, total + 1):
        _forget_views(aid)
        with injected() as faults:
            faults.fail_nth(n, when, writes)
            try:
                answer = _deliver(records)
            except Crash:
                answer = None
        assert faults.fired, n
        while answer is None or answer["batchItemFailures"]:
            answer = _deliver(records)
        stats = _stats(client, aid)
        assert (stats["views"], stats["readers"], stats["shared_views"]) == (4, 3, 2), (when, n)


def _forget_views(article_id: str) -> None:
    from chalicelib.store import analytics, article_stats

    for pk in (article_stats.article_pk(article_id), article_stats.readers_pk(article_id)):
        for item in analytics.AnalyticsItem.query(pk):
            item.delete()
