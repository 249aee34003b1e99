"""`make bench` pieces, each in its tiny mode (BENCH_QUICK=1): they run and produce well-formed
rows and the contract's figures. Structure only: benchmarks are not tests, so no timing is
asserted; the counting rules (write units, the burst model's store) are checked exactly."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest

from bench.common import Row, Section

FIGURE = re.compile(r"^[\d,.]+ (us|ms|MB|us/msg|req/s)$")


@pytest.fixture(autouse=True)
def quick(monkeypatch):
    monkeypatch.setenv("BENCH_QUICK", "1")
    monkeypatch.setenv("BENCH_E2E_SECONDS", "0.5")


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _check_rows(section: Section, item: str) -> list[Row]:
    assert isinstance(section, Section)
    assert section.rows, "a piece must produce rows"
    for row in section.rows:
        assert row.item == item
        assert row.what and row.value
        assert row.met in ("", "yes", "NO", "n/a")
        if row.met in ("yes", "NO"):
            assert row.target
    return section.rows


def test_request_path_our_side_and_peers_when_installed():
    from bench import request_path

    section = request_path.run()
    rows = {row.what: row for row in _check_rows(section, "1")}
    for mode in ("plaintext", "AES"):
        for name in (request_path.PEER_WORK, request_path.WHOLE):
            ours = rows[f"request path, {mode}: {name}"]
            assert FIGURE.match(ours.value), ours.value
        assert f"request path, {mode}: {request_path.PEER_WORK}, xmltodict parser" in rows
    breakdown = section.data["breakdown"]
    for stage in ("AES decrypt", "inbox record (item, wire format, put request)"):
        assert stage in breakdown
    assert "total (CPU, instrumented)" in breakdown
    if _has("wechatpy") and _has("werobot"):
        assert "request path, AES: wechatpy (cryptography)" in rows
        assert "request path, AES: WeRoBot" in rows
        whole = rows[f"request path, AES: {request_path.WHOLE}"]
        assert re.fullmatch(r"\d+\.\d\dx", whole.ratio)
        assert whole.met in ("yes", "NO") and whole.target
        figures = section.data["figures"]
        assert set(figures) == {"aes_whole_path_ratio", "aes_peers_work_ratio"}
        assert all(value > 0 for value in figures.values())
    else:
        assert any("not installed" in note for note in section.notes)


def test_request_path_contenders_do_the_same_work():
    from bench import peers, request_path
    from bench.workload import check_same_work

    for aes in (False, True):
        check_same_work(request_path.ours(aes), aes)
        check_same_work(request_path.ours(aes, whole=False), aes)
        check_same_work(request_path.ours_with_xmltodict(aes), aes)
    if not (_has("wechatpy") and _has("werobot")):
        pytest.skip("peers are bench-only dependencies (requirements-bench.txt)")
    for aes in (False, True):
        check_same_work(peers.wechatpy_side(aes, "pycryptodome"), aes)
        check_same_work(peers.werobot_side(aes), aes)


def test_whole_path_builds_the_put_request_dynamodb_would_get():
    """The stub client gets what DynamoInbox sends: one conditional put of the message item."""
    from bench import request_path
    from bench.workload import make_batch

    batch = make_batch(3, True, first_id=7)
    with request_path.stub_client() as stub:
        pipeline = request_path.our_pipeline(None)
        from chalicelib.store.flows import step_update
        from chalicelib.store.messages import DynamoInbox

        pipeline.inbox = DynamoInbox(step_update)
        for query, body in batch:
            assert pipeline.receive(query, body).status == 200
    assert stub.requests == 3


def test_matching_grid():
    from bench import matching, rules_bench

    section = matching.run()
    rows = _check_rows(section, "2")
    # quick: 10 and 1,000 rules of each type, plus the CPU-time row for contains
    assert len(rows) == len(rules_bench.TYPES) * 2 + 1
    assert all(row.value.endswith(" us/msg") for row in rows)
    assert section.data["contains_cpu_us"] > 0


def test_dynamodb_requests_counted_on_moto():
    from bench import ddb_calls

    section = ddb_calls.run()
    rows = {row.what: row for row in _check_rows(section, "3")}
    keyword = rows["DynamoDB per message, warm: keyword reply"]
    assert re.match(r"^1 write \+ 0 read, 1 WRU \(PutItem 1\)$", keyword.value), keyword.value
    assert keyword.target and keyword.met == "yes"
    for name in (
        "default reply",
        "retry (same MsgId)",
        "subscribe event",
        "keyword reply, a flow enabled",
        "in-flow message",
        "location message",
    ):
        assert f"DynamoDB per message, warm: {name}" in rows
    # a flow step rides in a 2-item transaction: 2 x 2 WRU
    assert (
        ", 4 WRU (GetItem 1, TransactWriteItems 1)"
        in rows["DynamoDB per message, warm: in-flow message"].value
    )
    stream = section.data["stream"]
    assert stream["messages"] > 0 and stream["failures"] == 0 and stream["failed"] == 0
    assert stream["writes"] > 0 and stream["wru"] >= stream["writes"]
    assert section.data["figures"] == {
        "ddb_requests_keyword_reply": 1.0,
        "ddb_wru_keyword_reply": 1.0,
    }
    for key in ("handler_seconds", "keyword_wru", "keyword_item_bytes", "keyword_writes"):
        assert key in section.data


def test_write_units_follow_dynamodb_rules():
    from bench.ddb_model import Index, TableDef, item_size, write_units

    item = {"pk": {"S": "p"}, "day": {"S": "d"}, "n": {"N": "12"}, "big": {"S": "x" * 1100}}
    assert item_size({"n": {"N": "12"}, "m": {"M": {"a": {"BOOL": True}}}}) == (1 + 2) + (1 + 3 + 3)
    indexed = TableDef("t", "pk", None, (Index("by_day", "day", None, "ALL"),))
    put = write_units(indexed, None, item, op="PutItem")
    assert put.units == 2 and put.indexes == [("by_day", "d", 2)]  # 1.1 KB, twice
    failed = write_units(indexed, item, item, op="PutItem", ok=False)
    assert failed.units == 2 and failed.indexes == []  # a failed condition pays the item
    tx = write_units(indexed, None, item, op="TransactWriteItems", in_transaction=True)
    assert tx.units == 4 and tx.indexes == [("by_day", "d", 2)]  # the table twice, the index once
    keys_only = TableDef("f", "pk", None, (Index("sync", "flag", None, "KEYS_ONLY"),))
    before = {"pk": {"S": "o"}, "flag": {"S": "done"}, "at": {"N": "1"}}
    touched = write_units(keys_only, before, {**before, "at": {"N": "2"}}, op="UpdateItem")
    assert touched.indexes == []  # the index key did not move: no index write
    moved = write_units(keys_only, before, {**before, "flag": {"S": "pending"}}, op="UpdateItem")
    assert moved.indexes == [("sync", "done", 1), ("sync", "pending", 1)]  # a delete and a put
    assert next(iter(moved.partitions())) == ("f", "o", 1)


def test_item_store_applies_the_update_forms_the_app_writes():
    from bench.ddb_model import ItemStore, TableDef

    store = ItemStore({"t": TableDef("t", "pk", "sk")})
    key = {"pk": {"S": "a"}, "sk": {"S": "1"}}
    store.put("t", {**key, "n": {"N": "5"}, "gone": {"S": "x"}, "kept": {"S": "old"}})
    request = {
        "TableName": "t",
        "Key": key,
        "UpdateExpression": "SET #a0 = :v0, #a1 = if_not_exists(#a1, :v1), #a2 = if_not_exists(#a2,"
        " :v1), #a3 = if_not_exists(#a3, :v2) + :v3 ADD #a4 :v3, #a5 :v4 REMOVE #a6",
        "ExpressionAttributeNames": {
            "#a0": "s",
            "#a1": "kept",
            "#a2": "fresh",
            "#a3": "step",
            "#a4": "n",
            "#a5": "tags",
            "#a6": "gone",
        },
        "ExpressionAttributeValues": {
            ":v0": {"S": "new"},
            ":v1": {"S": "if-absent"},
            ":v2": {"N": "0"},
            ":v3": {"N": "2"},
            ":v4": {"SS": ["b", "a"]},
        },
    }
    (write,) = store.apply("UpdateItem", request)
    assert store.get("t", key) == {
        **key,
        "n": {"N": "7"},
        "kept": {"S": "old"},
        "s": {"S": "new"},
        "fresh": {"S": "if-absent"},
        "step": {"N": "2"},
        "tags": {"SS": ["a", "b"]},
    }
    assert write.item == ("a", "1") and write.units == 1


def test_cold_start_subprocesses():
    from bench import cold_start

    section = cold_start.run()
    rows = _check_rows(section, "4")
    assert rows[0].target == "<= 1.15x bare stack"
    assert rows[0].ratio.endswith("x")
    assert section.data["peak_rss_mb"] > 0
    assert section.data["figures"]["cold_start_ratio"] > 0


@pytest.mark.e2e
def test_end_to_end_load_generator_is_bounded():
    from bench import e2e

    section = e2e.run()
    rows = _check_rows(section, "5")
    assert len(rows) == 1  # quick: one level, 2 clients
    for level in section.data["levels"]:
        assert level["requests"] + level["errors"] <= e2e.MAX_REQUESTS
        assert level["seconds"] < 20
        assert level["requests"] > 0


def test_burst_mix_and_stream_split():
    from bench import burst, burst_drive

    mix = burst.campaign_mix(2000)
    assert len({openid for _, openid, _ in mix}) == 2000  # one message per follower
    kinds = [text if kind == "text" else kind for kind, _, text in mix]
    assert 0.40 < kinds.count("余额") / 2000 < 0.50
    assert 0.05 < kinds.count("subscribe") / 2000 < 0.11
    records = [
        {"dynamodb": {"Keys": {"pk": {"S": f"default#o{i}"}}, "SequenceNumber": str(i)}}
        for i in range(2500)
    ]
    work = burst_drive.batches(records, 2)
    assert all(len(batch) <= burst_drive.BATCH_SIZE for _, batch in work)
    assert sum(len(batch) for _, batch in work) == 2500
    for shard, batch in work:  # a shard's records keep their order
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in batch]
        assert seqs == sorted(seqs)
        assert {burst_drive.shard_of(r["dynamodb"]["Keys"]["pk"]["S"], 2) for r in batch} == {
            int(shard[-8:], 16)
        }


def test_burst_drives_both_designs():
    from bench import burst

    section = burst.run()
    rows = {row.what: row for row in _check_rows(section, "6")}
    mine = [row for name, row in rows.items() if "this design: busiest" in name]
    assert len(mine) == 2 and all(row.met in ("yes", "NO") for row in mine)
    new = section.data["new"]
    assert new["callback"]["operations"].get("PutItem") == new["messages"]
    assert new["callback"]["wru_by_table"] == {"wxburst-messages": float(new["messages"])}
    assert new["aggregator"]["requests"] > 0
    figures = section.data["figures"]
    assert figures["burst_max_partition_wcu_per_s"] > 0
    assert figures["burst_max_item_writes_per_s"] >= 1
    batch = section.data["aggregator_batch"]
    assert batch["batches"] == 1 and batch["cpu_seconds"] > 0 and batch["wru"] >= batch["writes"]
    assert batch["rru"] >= 0.5 * batch["reads"]  # every read request pays at least 0.5
    assert section.data["callback_cpu_seconds"] > 0
    assert section.data["keyword_batch"]["callback_cpu"]["writes"] > 0  # the put was sent
    old = section.data["old"]
    if old is not None:  # a shallow clone has no previous design to unpack
        assert old["callback"]["operations"].get("TransactWriteItems") == old["messages"]
        assert old["all"]["partitions"][0][0] == "wxburst-messages/by_day"
        before = section.data["before"]
        # one transaction of four items per keyword reply: at least 4 items x 2
        assert before["keyword"]["wru"] >= 8 and before["keyword"]["cpu_seconds"] > 0
        assert (
            figures["before_burst_max_partition_wcu_per_s"]
            > figures["burst_max_partition_wcu_per_s"]
        )
        assert sum("keyword replies, " in name for name in rows) == 2  # one per design


def test_cost_from_measured_figures():
    from bench import cost

    callback = {
        "handler_seconds": 0.0015,
        "keyword_writes": 1.0,
        "keyword_reads": 0.0,
        "keyword_wru": 1.0,
        "keyword_rru": 0.0,
        "keyword_log_bytes": 0.0,
    }
    batch = {"messages": 1000, "cpu_seconds": 1.0, "writes": 1010, "wru": 1100.0, "workers": 16}
    batch |= {"reads": 10, "rru": 500.0}
    settings = {"callback_mb": 512, "aggregate_mb": 512, "architecture": "arm64"}
    est = cost.estimate(callback, batch, settings)
    assert est["callback_writes"] == pytest.approx(0.625)
    assert est["aggregate_writes"] == pytest.approx(1.1 * 0.625)
    assert est["aggregate_reads"] == pytest.approx(0.5 * 0.125)  # 0.5 RRU a message
    assert est["http_api"] == pytest.approx(1.00)
    parts = ("callback_lambda", "callback_writes", "callback_reads", "aggregate_lambda")
    parts += ("aggregate_writes", "aggregate_reads")
    assert est["our_layer"] == pytest.approx(sum(est[k] for k in parts))
    # 1 s of CPU at 512/1769 of a core + 1,010 writes over 16 threads + 10 reads in a row
    assert est["aggregate_ms"] == pytest.approx(1e3 * 1769 / 512 + 1010 * 5 / 16 + 10 * 5)
    assert est["total_http"] == pytest.approx(est["our_layer"] + 1.00 + est["logs"])
    # 1.5 ms CPU at 512/1769 of a core + one 5 ms round trip
    assert est["callback_billed_ms"] == 11
    assert cost.lambda_settings()["architecture"] in ("arm64", "x86_64")
    section = cost.run(callback, batch)
    rows = _check_rows(section, "8")
    assert all(row.value.startswith("$") for row in rows)
    assert any(row.what.endswith(": aggregator DynamoDB reads") for row in rows)
    # 0.625 + 0.6875 of writes: over $1.00, and the note says where the money goes
    assert any(note.startswith("Item 8: our layer misses $1.00 by") for note in section.notes)
    assert set(section.data["figures"]) == {
        "cost_usd_per_million_our_layer",
        "cost_usd_per_million_total_http_api",
    }
    assert _check_rows(cost.run(None, batch), "8")[0].value.startswith("n/a")


def test_cost_of_the_previous_design(tmp_path):
    """The previous design's bill: its write units, no aggregator, its REST API, its own Lambda
    settings, and its CPU as the ratio of the two designs' pipelines times item 3's figure."""
    from bench import cost

    config = tmp_path / "config.json"
    config.write_text(json.dumps({"lambda_memory_size": 512}))  # x86_64, no stage settings
    callback = {"handler_seconds": 0.002, "keyword_writes": 1.0, "keyword_reads": 0.0}
    callback |= {"keyword_wru": 1.0, "keyword_rru": 0.0, "keyword_log_bytes": 0.0}
    keyword = {"requests": 1.0, "wru": 10.0, "cpu_seconds": 0.001}
    before = {"commit": "abc", "config": str(config), "keyword": keyword, "new_cpu_seconds": 0.002}
    est = cost.estimate_before(callback, before)
    assert est["architecture"] == "x86_64" and est["handler_seconds"] == pytest.approx(0.001)
    assert est["ddb"] == pytest.approx(6.25)
    assert est["total_rest"] == pytest.approx(est["lambda"] + 6.25 + 3.50 + est["logs"])
    batch = {"messages": 1000, "cpu_seconds": 1.0, "writes": 1010, "wru": 1100.0, "workers": 16}
    batch |= {"reads": 0, "rru": 0.0}
    section = cost.run(callback, batch, before)
    rows = _check_rows(section, "8")
    assert sum("previous design (abc)" in row.what for row in rows) == 5
    assert section.data["figures"]["before_cost_usd_per_million_ddb"] == pytest.approx(6.25)


def test_main_prints_one_table_and_saves_it(tmp_path, capsys):
    from bench.__main__ import FIGURES, HEADER, main

    output = tmp_path / "latest.md"
    assert main(["--only", "8", "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    saved = output.read_text(encoding="utf-8")
    assert printed.strip() == saved.strip()
    table = [line for line in saved.splitlines() if line.startswith("|")]
    assert table[0] == "| " + " | ".join(HEADER) + " |"
    assert all(line.count("|") == len(HEADER) + 1 for line in table)
    assert "Machine:" in saved and "BENCH_QUICK" in saved
    assert "Targets not met in this run: " in saved or "Every target of this run is met." in saved
    document = json.loads((tmp_path / "latest.json").read_text(encoding="utf-8"))
    assert set(FIGURES) <= set(document["figures"])
    assert document["figures"]["faq_match_us_5000"] is None
    assert document["run"]["items"] == ["8"] and document["run"]["quick"] is True
