"""Views, distinct readers and views through shared links per article, summed from page views
(store.page_views) by the stream aggregator. Items in the `analytics` table:

    pk = "<account>#art#<article id>"    sk = "total" | "<local date>"
        views, readers, shared_views                       (ADDs, once per batch, ledger)
    pk = "<account>#reads#<article id>"  sk = "<reader>"
        seq (the stream record that first saw this reader), first_at     (one per reader)

A reader is counted once per article: the aggregator claims the reader's item with a
conditional put (absent, or claimed by this very record before: a redelivered batch), and adds
one reader only for a claim it holds. The reader items are also "who read this" (the followers
among them: readers that are openids, not `anon-`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from chalicelib.store import analytics, ddb, keys
from chalicelib.store.guard import guarded

TOTAL = "total"
COUNTERS = ("views", "readers", "shared_views")
ANONYMOUS = "anon-"


def article_pk(article_id: str) -> str:
    return keys.scoped("art", article_id)


def readers_pk(article_id: str) -> str:
    return keys.scoped("reads", article_id)


def claim_reader(article_id: str, reader: str, seq: str, at: int) -> bool:
    """True when this record (`seq`) holds the reader's first view of the article: either it
    claims it now, or it claimed it in an earlier delivery of the same batch."""
    cond = ddb.Condition().where("attribute_not_exists({pk}) OR {seq} = :seq", seq=seq)
    item = {"pk": readers_pk(article_id), "sk": reader, "seq": seq, "first_at": at}
    ok, _old = ddb.put(cond.put_request(analytics.table_name(), ddb.to_raw(item)), profile="bulk")
    return ok


def _counts(item: dict[str, Any] | None) -> dict[str, int]:
    item = item or {}
    return {name: int(item.get(name) or 0) for name in COUNTERS}


@guarded
def totals(article_id: str) -> dict[str, int]:
    item = ddb.get(analytics.table_name(), ddb.key(article_pk(article_id), TOTAL))
    return _counts(item)


@guarded
def daily(article_id: str, first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    request = {
        "TableName": analytics.table_name(),
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {
            ":pk": ddb.ser(article_pk(article_id)),
            ":lo": ddb.ser(first.isoformat()),
            ":hi": ddb.ser(last.isoformat()),
        },
    }
    rows = {item["sk"]: _counts(item) for item in ddb.query(request)}
    return [{"date": d, **rows.get(d, _counts(None))} for d in analytics.days_between(first, last)]


@guarded
def follower_readers(article_id: str, limit: int = 100_000) -> list[str]:
    """The openids of the followers who read the article (known through web authorization)."""
    request = {
        "TableName": analytics.table_name(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": ddb.ser(readers_pk(article_id))},
        "ProjectionExpression": "sk",
    }
    return [
        str(item["sk"])
        for item in ddb.query(request, max_items=limit)
        if not str(item["sk"]).startswith(ANONYMOUS)
    ]
