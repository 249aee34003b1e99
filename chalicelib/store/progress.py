"""How far the stream aggregator has got: one item per stream shard, so the admin figures can
say "as of" (counters, follower records and the cross-follower listing lag the messages by the
aggregator's batching window plus its run: seconds).

    pk = "<account>#agg"   sk = <shard tag>   at = newest received time applied (ms)   seq
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib import config
from chalicelib.store import ddb, keys
from chalicelib.store.guard import guarded

ACTIVE_SECONDS = 3600  # a shard that applied nothing for this long is not waited for


def _table() -> str:
    return config.table_name("analytics")


def record(shard_tag: str, newest_ms: int, seq: str, *, profile: str = "bulk") -> None:
    """Best effort: progress is a hint for readers, the counters are already written."""
    upd = ddb.Update().set(at=int(newest_ms), seq=seq, written_at=int(time.time()))
    ddb.update(_table(), ddb.key(keys.scoped("agg"), shard_tag), upd, profile=profile)


@guarded
def as_of() -> dict[str, Any]:
    """`{"as_of": ms or None, "shards": n}`: every message received before `as_of` is counted
    (the oldest progress among shards that were active within the last hour; the newest of
    all when none was)."""
    request = {
        "TableName": _table(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": ddb.ser(keys.scoped("agg"))},
    }
    items = list(ddb.query(request))
    if not items:
        return {"as_of": None, "shards": 0}
    cutoff = time.time() - ACTIVE_SECONDS
    active = [int(i["at"]) for i in items if int(i.get("written_at", 0)) >= cutoff]
    value = min(active) if active else max(int(i["at"]) for i in items)
    return {"as_of": value, "shards": len(items)}
