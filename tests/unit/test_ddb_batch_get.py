"""store.ddb.batch_get, the one BatchGetItem loop every store module uses: 100 keys per request,
the keys DynamoDB leaves unprocessed (throttling) asked again, and a clear failure when they
never get through (the aggregator then retries its batch; nothing is half-read silently)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.store import ddb
from chalicelib.store.errors import StoreUnavailable

TABLE = "t"


class Throttling:
    """A BatchGetItem that answers the first `hold` keys of each request as unprocessed, until
    `rounds` requests have been throttled."""

    def __init__(self, hold: int, rounds: int) -> None:
        self.hold, self.rounds = hold, rounds
        self.requests: list[dict[str, Any]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        asked = RequestItems[TABLE]
        self.requests.append(asked)
        keys = asked["Keys"]
        held = keys[: self.hold] if self.rounds > 0 else []
        self.rounds -= 1 if held else 0
        answered = [{**k, "v": {"S": "x"}} for k in keys[len(held) :] if k["pk"]["S"] != "gone"]
        out: dict[str, Any] = {"Responses": {TABLE: answered}}
        if held:
            out["UnprocessedKeys"] = {TABLE: {**asked, "Keys": held}}
        return out


@pytest.fixture
def fake(monkeypatch):
    def install(hold: int = 0, rounds: int = 0) -> Throttling:
        dynamo = Throttling(hold, rounds)
        monkeypatch.setattr(ddb, "client", lambda *_args: dynamo)
        monkeypatch.setattr(ddb.time, "sleep", lambda _s: None)
        return dynamo

    return install


def keys(n: int) -> list[dict[str, Any]]:
    return [{"pk": {"S": f"k{i}"}} for i in range(n)]


def test_every_key_is_read_once_in_requests_of_at_most_100(fake):
    dynamo = fake()
    found = ddb.batch_get(TABLE, [*keys(250), {"pk": {"S": "gone"}}])
    assert sorted(item["pk"] for item in found) == sorted(f"k{i}" for i in range(250))
    assert [len(r["Keys"]) for r in dynamo.requests] == [100, 100, 51]
    assert all(item["v"] == "x" for item in found)


def test_unprocessed_keys_are_asked_again_until_answered(fake):
    dynamo = fake(hold=30, rounds=3)
    found = ddb.batch_get(TABLE, keys(40), projection="pk, v", consistent=True)
    assert sorted(item["pk"] for item in found) == sorted(f"k{i}" for i in range(40))
    assert [len(r["Keys"]) for r in dynamo.requests] == [40, 30, 30, 30]
    assert all(
        r["ProjectionExpression"] == "pk, v" and r["ConsistentRead"] for r in dynamo.requests
    )


def test_keys_never_processed_fail_loudly(fake):
    fake(hold=5, rounds=100)
    with pytest.raises(StoreUnavailable, match="unprocessed"):
        ddb.batch_get(TABLE, keys(10), attempts=3)
