"""The burst model's read pricing (bench/burst_drive.py `read_units`, `Capture`): DynamoDB's read
unit rules on hand-made requests and responses. 0.5 RRU per started 4 KB eventually consistent,
1 strongly consistent, 2 in a transaction; a key that does not exist pays the minimum; the
whole item is billed, not the projection; a Query pays on its page's bytes per request."""

from __future__ import annotations

import pytest

from bench import burst_drive
from bench.burst_drive import read_units
from bench.ddb_model import ItemStore, TableDef, item_size


def _item(pk: str, nbytes: int) -> dict:
    """An item of exactly `nbytes` bytes (DynamoDB's item size) keyed `pk`."""
    base = {"pk": {"S": pk}, "d": {"S": ""}}
    filler = nbytes - item_size(base)
    assert filler >= 0
    return {"pk": {"S": pk}, "d": {"S": "x" * filler}}


def _key(pk: str) -> dict:
    return {"pk": {"S": pk}}


def test_item_helper_sizes_exactly():
    assert item_size(_item("a", 4096)) == 4096
    assert item_size(_item("a", 4097)) == 4097


@pytest.mark.parametrize(
    ("nbytes", "consistent", "units"),
    [(100, False, 0.5), (4096, False, 0.5), (4097, False, 1.0), (9000, False, 1.5),
     (100, True, 1.0), (9000, True, 3.0)],
)  # fmt: skip
def test_get_item_per_started_4kb(nbytes, consistent, units):
    params = {"TableName": "t", "Key": _key("a"), "ConsistentRead": consistent}
    assert read_units("GetItem", params, {"Item": _item("a", nbytes)}) == units


def test_a_missing_item_pays_the_minimum():
    params = {"TableName": "t", "Key": _key("a")}
    assert read_units("GetItem", params, {}) == 0.5
    assert read_units("GetItem", {**params, "ConsistentRead": True}, {}) == 1.0


def test_a_projection_is_billed_on_the_stored_item():
    params = {"TableName": "t", "Key": _key("a"), "ProjectionExpression": "pk"}
    whole = _item("a", 9000)
    assert read_units("GetItem", params, {"Item": _key("a")}) == 0.5  # nothing stored: response
    assert read_units("GetItem", params, {"Item": _key("a")}, lambda t, k: whole) == 1.5


def test_batch_get_per_key_processed_keys_only():
    stored = {("t", "big"): _item("big", 9000)}
    keys = [_key(name) for name in ("big", "small", "gone", "later")]
    params = {"RequestItems": {"t": {"Keys": keys, "ProjectionExpression": "pk, fq"}}}
    response = {
        # the projection's answer: tiny, but the stored item is what DynamoDB reads
        "Responses": {"t": [_key("big"), _item("small", 3000)]},
        "UnprocessedKeys": {"t": {"Keys": [_key("later")]}},  # asked again, paid then
    }

    def lookup(table: str, key: dict) -> dict | None:
        return stored.get((table, key["pk"]["S"]))

    # big 9,000 B: 1.5; small 3,000 B (from the response): 0.5; gone: the minimum 0.5
    assert read_units("BatchGetItem", params, response, lookup) == 2.5
    strong = {"RequestItems": {"t": {"Keys": keys[:2], "ConsistentRead": True}}}
    assert read_units("BatchGetItem", strong, response, lookup) == 3.0 + 1.0
    two_tables = {"RequestItems": {"t": {"Keys": keys[1:2]}, "u": {"Keys": [_key("x")]}}}
    assert read_units("BatchGetItem", two_tables, response) == 0.5 + 0.5


def test_query_pays_the_page_bytes_rounded_up_per_request():
    params = {"TableName": "t", "KeyConditionExpression": "pk = :pk"}
    page = {"Items": [_item("a", 3000), _item("b", 3000)]}  # 6,000 B: two 4 KB blocks
    assert read_units("Query", params, page) == 1.0
    assert read_units("Query", {**params, "ConsistentRead": True}, page) == 2.0
    assert read_units("Query", params, {"Items": []}) == 0.5  # an empty page pays the minimum
    assert read_units("Scan", {"TableName": "t"}, page) == 1.0
    whole = _item("a", 20_000)
    assert read_units("Query", params, page, lambda t, k: whole) == 0.5 * 10  # 40,000 B stored
    on_index = {**params, "IndexName": "by_x"}  # an index's entries are what it reads
    assert read_units("Query", on_index, page, lambda t, k: whole) == 1.0


def test_transact_get_is_twice_a_strong_read_per_item():
    params = {"TransactItems": [{"Get": {"TableName": "t", "Key": _key(k)}} for k in "ab"]}
    response = {"Responses": [{"Item": _item("a", 5000)}, {}]}
    assert read_units("TransactGetItems", params, response) == 2 * 2.0 + 2 * 1.0


def test_capture_prices_reads_by_phase_from_its_store():
    store = ItemStore({"t": TableDef("t", "pk", None)})
    store.put("t", _item("a", 9000))
    capture = burst_drive.Capture(store)
    capture.phase = "aggregator"
    assert capture.handle("GetItem", {"TableName": "t", "Key": _key("a")}) is None  # sent on
    capture.answered("GetItem", {"TableName": "t", "Key": _key("a")}, {})  # moto: not there
    capture.answered("Query", {"TableName": "other"}, {"Items": [{"d": {"S": "x"}}]})
    capture.answered("PutItem", {"TableName": "t"}, {})  # not a read
    assert capture.reads == {"aggregator": 1}
    assert capture.rru == {"aggregator": 1.5 + 0.5}
    assert capture.stored("t", {"d": {"S": "no key"}}) is None
    assert capture.stored("unknown", _key("a")) is None
