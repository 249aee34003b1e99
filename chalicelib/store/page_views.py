"""Article page views, written by the page as it is served and summed from the messages stream.

Why this shape. A view must be counted without slowing the page, exactly once, and "readers"
must be distinct people. The page therefore writes ONE small PutItem (~150 bytes, 1 write unit,
~5 ms, no condition, no read) into the messages table, whose stream the aggregator already
consumes; the aggregator sums a batch's views per article and writes each article's counters
once per batch (store.article_stats), exactly once through the ledger. Nothing the page writes
is shared: a viral article does not make a hot item, because its counter is written once per
batch, not once per view. A counter in the Lambda's memory, flushed later, would be cheaper
but is not correct: a frozen or recycled container loses what it held.

    pk = "<account>#pv#<reader>"     one partition per reader (their views come in order)
    sk = "v#<ms, 13 digits>#<random>"
    t = "page.view"   a article id   f WeChat's `from` ("" when none)   at ms   exp TTL (2 days)

The reader is the follower of the page's signed cookie (web authorization), else a keyed hash
of the client's address and user agent (`anon-...`): no cookie is set for counting, and no
address is stored. Items expire after two days; the stream only needs them for hours.
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from chalicelib.store import ddb, keys, messages
from chalicelib.store.stream import StreamRecord

log = logging.getLogger("wxless.pages")

KIND = "page.view"
KEEP_SECONDS = 2 * 86400
#: WeChat's `from` values for a link opened from a share (Moments, a chat, a group chat).
SHARED_FROM = frozenset({"timeline", "singlemessage", "groupmessage"})
MAX_ARTICLE_ID = 64
MAX_FROM = 32


def reader_pk(reader: str) -> str:
    return keys.scoped("pv", reader)


@dataclass(frozen=True, slots=True)
class View:
    seq: str
    article_id: str
    reader: str
    source: str  # WeChat's `from`, "" when none
    at: int  # epoch s

    @property
    def shared(self) -> bool:
        return self.source in SHARED_FROM


def record(article_id: str, reader: str, source: str, now: float | None = None) -> bool:
    """Write one view (fast client: one attempt, sub-second timeouts). Never raises: a lost
    view must not cost the page; the failure is logged. False when it was not written."""
    now = time.time() if now is None else now
    ms = int(now * 1000)
    item = {
        "pk": reader_pk(reader),
        "sk": f"v#{ms:013d}#{secrets.token_hex(4)}",
        "t": KIND,
        "a": article_id[:MAX_ARTICLE_ID],
        "f": source[:MAX_FROM],
        "at": ms,
        "exp": int(now) + KEEP_SECONDS,
    }
    try:
        ddb.put({"TableName": messages.table_name(), "Item": ddb.to_raw(item)}, profile="fast")
        return True
    except Exception as exc:
        log.warning("pages.view_not_counted: %s", type(exc).__name__)
        return False


def decode(stream_record: StreamRecord) -> View | None:
    """The view of an INSERT; None for anything else."""
    item: dict[str, Any] | None = stream_record.item
    if stream_record.event != "INSERT" or not item or item.get("t") != KIND:
        return None
    return View(
        seq=stream_record.seq,
        article_id=str(item["a"]),
        reader=keys.natural(str(item["pk"])).removeprefix("pv#"),
        source=str(item.get("f", "")),
        at=int(item["at"]) // 1000,
    )
