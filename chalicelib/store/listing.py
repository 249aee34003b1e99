"""The cross-follower message listing (`GET /admin/messages` without `openid`): pages of message
summaries that the stream aggregator writes once per batch, in the `analytics` table.

    pk = "<account>#log#<b>"     b: a hash of (shard, first record) over BUCKETS, so pages spread
                                 over several partitions whatever the traffic
    sk = "<newest received ms, 13 digits>#<shard tag>#<first sequence number>"
    m  = [[received ms, openid, CreateTime, delivery, kind, content, rule id, outcome], ...]

A page holds at most PAGE_SIZE messages, newest last, and expires with the messages. A
redelivered batch writes the same pages again (same keys, same content); a batch that comes back
halved or longer can leave a page that overlaps its successor, so readers drop repeated
messages. Reading merges the buckets' pages newest first: a message is emitted once no unread
page of any bucket can hold a newer one (each page's sort key starts with its newest time).
Two readers: `recent` (the newest n, `GET /admin/messages`) and the agent desk's walk
(chalicelib.desk.walk), which keeps what it read per container and then reads only new pages.

A page can appear behind the newest one a reader has seen: the aggregator writes it seconds after
its newest message, later when its shard lags or its batch is retried (whole or halved, for up to
the stream's record age: hours). So that a reader need not re-read hours of pages to find those,
a page written more than LATE_MS after its newest message also gets a marker in one partition,
keyed by when it was written:

    pk = "<account>#loglate"     sk = "<written ms, 13 digits>#<page pk>#<page sk>"
    page_pk, page_sk, rows       the page's key and how many messages it holds
"""

from __future__ import annotations

import heapq
import itertools
import time
import zlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chalicelib import config
from chalicelib.engine.pipeline import log_type, msg_id_of
from chalicelib.store import ddb, keys
from chalicelib.store.guard import guarded

BUCKETS = 16
PAGE_SIZE = 100
CONTENT_CHARS = 200  # of a message's content, in the listing (the timeline keeps more)
RETENTION_DAYS = 90
LATE_MS = 60_000  # a page written this long after its newest message gets a late marker
LATE_MARKER_SECONDS = 86400  # a marker's life: readers look back minutes

Row = list[Any]  # [received ms, openid, created_at, delivery, kind, content, rule id, outcome]


def table_name() -> str:
    return config.table_name("analytics")


def row(
    received_ms: int,
    openid: str,
    created_at: int,
    delivery: str,
    kind: str,
    content: str,
    rule_id: str | None,
    outcome: str,
) -> Row:
    return [received_ms, openid, created_at, delivery, kind, content[:CONTENT_CHARS],
            rule_id or "", outcome]  # fmt: skip


def page_items(shard_tag: str, rows: Sequence[tuple[str, Row]]) -> list[dict[str, Any]]:
    """Page items (decoded) for a batch's rows, each `(sequence number, row)`, in stream order."""
    pages = []
    for start in range(0, len(rows), PAGE_SIZE):
        chunk = sorted(rows[start : start + PAGE_SIZE], key=lambda r: r[1][0])
        first_seq = rows[start][0]
        newest = chunk[-1][1][0]
        bucket = zlib.crc32(f"{shard_tag}#{first_seq}".encode()) % BUCKETS
        pages.append(
            {
                "pk": bucket_pk(bucket),
                "sk": f"{newest:013d}#{shard_tag}#{first_seq}",
                "m": [r for _, r in chunk],
                "expires_at": newest // 1000 + RETENTION_DAYS * 86400,
            }
        )
    return pages


def bucket_pk(bucket: int) -> str:
    return keys.scoped("log", str(bucket))


def late_pk() -> str:
    return keys.scoped("loglate")


def put_page(page: dict[str, Any], *, profile: str = "bulk") -> None:
    """Write a page, then its late marker if it came late (after the page: a reader who sees the
    marker finds the page; if the marker fails, the batch fails and its retry writes both)."""
    ddb.put({"TableName": table_name(), "Item": ddb.to_raw(page)}, profile=profile)
    written_ms = now_ms()  # once the page is in: its marker is newer than its visibility
    if written_ms - _newest(page) > LATE_MS:
        marker = {
            "pk": late_pk(),
            "sk": f"{written_ms:013d}#{page['pk']}#{page['sk']}",
            "page_pk": page["pk"],
            "page_sk": page["sk"],
            "rows": len(page["m"]),
            "expires_at": written_ms // 1000 + LATE_MARKER_SECONDS,
        }
        ddb.put({"TableName": table_name(), "Item": ddb.to_raw(marker)}, profile=profile)


def now_ms() -> int:
    """The writer's clock, as late markers are keyed by it (readers compare theirs to it)."""
    return int(time.time() * 1000)


def _pages(bucket: int) -> Iterator[dict[str, Any]]:
    return ddb.query(
        {
            "TableName": table_name(),
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": ddb.ser(bucket_pk(bucket))},
            "ScanIndexForward": False,
            "Limit": 4,  # pages per request: a listing usually needs one or two per bucket
        }
    )


def _newest(page: dict[str, Any]) -> int:
    return int(page["sk"].split("#", 1)[0])


def to_log(r: Row) -> dict[str, Any]:
    received, openid, created_at, delivery, kind, content, rule_id, outcome = r
    return {
        "msg_id": msg_id_of(openid, int(created_at), delivery),
        "openid": openid,
        **log_type(kind),
        "content": content,
        "created_at": int(created_at),
        "received_at": int(received),
        "rule_id": rule_id or None,
        "outcome": outcome,
    }


def newest_first() -> Iterator[Row]:
    """Every row of the listing, newest first (by received ms), each message once: the merge of
    the buckets' pages, reading a page only when no row already read can come before it."""
    sources = {b: _pages(b) for b in range(BUCKETS)}
    heads: dict[int, dict[str, Any]] = {}
    for bucket, pages in sources.items():
        page = next(pages, None)
        if page is not None:
            heads[bucket] = page
    ready: list[tuple[int, int, Row]] = []  # (-received, tiebreak, row)
    # A repeated row is a copy of the same message item, so it has the same received ms and
    # comes out right next to it: only the current millisecond's ids need remembering.
    seen: set[str] = set()
    seen_ms = None
    tiebreak = 0
    while True:
        bound = max((_newest(p) for p in heads.values()), default=None)
        if ready and (bound is None or -ready[0][0] >= bound):
            r = heapq.heappop(ready)[2]
            if r[0] != seen_ms:
                seen, seen_ms = set(), r[0]
            msg_id = msg_id_of(r[1], int(r[2]), r[3])
            if msg_id not in seen:
                seen.add(msg_id)
                yield r
            continue
        if bound is None:
            return
        bucket = max(heads, key=lambda b: _newest(heads[b]))
        for r in heads[bucket]["m"]:
            tiebreak += 1
            heapq.heappush(ready, (-int(r[0]), tiebreak, r))
        following = next(sources[bucket], None)
        if following is None:
            del heads[bucket]
        else:
            heads[bucket] = following


@guarded
def recent(limit: int = 50) -> list[dict[str, Any]]:
    """The newest `limit` messages across followers, newest first."""
    return [to_log(r) for r in itertools.islice(newest_first(), limit)]


def _from_ms(pk: str, ms: int) -> dict[str, Any]:
    """A Query of the items of `pk` whose sort key (a 13-digit ms time first) is `ms` or later."""
    return {
        "TableName": table_name(),
        "KeyConditionExpression": "pk = :pk AND sk >= :from",
        "ExpressionAttributeValues": {
            ":pk": ddb.ser(pk),
            ":from": ddb.ser(f"{max(ms, 0):013d}"),
        },
    }


@guarded
def pages_from(newest_ms: int) -> list[dict[str, Any]]:
    """Every page whose newest message was received at `newest_ms` or later, any order: one
    query per bucket, run side by side."""

    def bucket_pages(bucket: int) -> list[dict[str, Any]]:
        return list(ddb.query(_from_ms(bucket_pk(bucket), newest_ms)))

    with ThreadPoolExecutor(max_workers=BUCKETS) as pool:
        return [page for found in pool.map(bucket_pages, range(BUCKETS)) for page in found]


@guarded
def late_pages(written_ms: int, known: Mapping[str, int]) -> list[dict[str, Any]]:
    """The pages marked late at `written_ms` or later (the writer's clock), but those `known`
    (sort key -> messages) as they are: one query of the markers, one strongly consistent
    BatchGetItem per 100 pages (none when nothing came late). A batch retried longer can
    rewrite a page under its key with more messages: a page is known by its key and size."""
    wanted = {
        str(marker["page_sk"]): ddb.key(str(marker["page_pk"]), str(marker["page_sk"]))
        for marker in ddb.query(_from_ms(late_pk(), written_ms))
        if known.get(str(marker["page_sk"])) != int(marker.get("rows", -1))
    }
    return ddb.batch_get(table_name(), list(wanted.values()), consistent=True) if wanted else []
