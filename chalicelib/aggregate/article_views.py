"""What a batch's page views add up to (store.page_views, store.article_stats): per article,
one write to its all-time counters and one to its day's, exactly once through the ledger.

`readers` needs a claim per (article, reader) first: one conditional put each, for the batch's
distinct pairs only (a reader who opened the article five times in a batch is claimed once). A
reader counts as a part of the record that claimed them, so a redelivery that claims again
(the same record) is dropped by the ledger's watermark like any other part.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.store import analytics, article_stats, ddb
from chalicelib.store.ledger import Part, Target
from chalicelib.store.page_views import View


def targets(views: Sequence[View]) -> list[Target[Any]]:
    first_of: dict[tuple[str, str], View] = {}
    for view in views:
        first_of.setdefault((view.article_id, view.reader), view)
    new_readers = {
        view.seq
        for view in first_of.values()
        if article_stats.claim_reader(view.article_id, view.reader, view.seq, view.at)
    }
    parts: dict[tuple[str, str], list[Part[dict[str, int]]]] = {}
    for view in views:
        tally = {
            "views": 1,
            "shared_views": int(view.shared),
            "readers": int(view.seq in new_readers),
        }
        day, _hour = analytics.local_day_hour(view.at)
        for sk in (article_stats.TOTAL, day):
            parts.setdefault((view.article_id, sk), []).append(Part(view.seq, tally))
    table = analytics.table_name()
    return [
        Target(table, ddb.key(article_stats.article_pk(aid), sk), tallies, analytics.hour_update)
        for (aid, sk), tallies in parts.items()
    ]
