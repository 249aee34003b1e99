"""`make bench` pieces, each in its tiny mode (BENCH_QUICK=1): they run and produce well-formed
rows. Structure only: benchmarks are not tests, so no figure is asserted."""

from __future__ import annotations

import importlib.util
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
    assert "AES decrypt" in breakdown and "total (CPU, instrumented)" in breakdown
    if _has("wechatpy") and _has("werobot"):
        assert "request path, AES: wechatpy (cryptography)" in rows
        assert "request path, AES: WeRoBot" in rows
        aes = rows[f"request path, AES: {request_path.PEER_WORK}"]
        assert re.fullmatch(r"\d+\.\d\dx", aes.ratio)
        assert aes.met in ("yes", "NO")
        whole = rows[f"request path, AES: {request_path.WHOLE}"]
        assert re.fullmatch(r"\d+\.\d\dx", whole.ratio) and whole.target
    else:
        assert any("not installed" in note for note in section.notes)


def test_request_path_contenders_do_the_same_work():
    from bench import request_path

    for aes in (False, True):
        request_path.check_same_work(request_path.ours(aes), aes)
        request_path.check_same_work(request_path.ours_with_xmltodict(aes), aes)
        request_path.check_same_work(request_path.peer_work_only(request_path.ours(aes)), aes)
    if not (_has("wechatpy") and _has("werobot")):
        pytest.skip("peers are bench-only dependencies (requirements-bench.txt)")
    for aes in (False, True):
        request_path.check_same_work(request_path.wechatpy_side(aes, "pycryptodome"), aes)
        request_path.check_same_work(request_path.werobot_side(aes), aes)


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
    keyword = rows["DynamoDB requests/message, warm: keyword reply"]
    assert re.match(r"^\d+(\.\d+)? write \+ \d+(\.\d+)? read \(", keyword.value), keyword.value
    assert keyword.target == "1 write, 0 reads"
    for name in ("default reply", "retry (same MsgId)", "in-flow message"):
        assert f"DynamoDB requests/message, warm: {name}" in rows
    for key in ("handler_seconds", "keyword_wru", "keyword_item_bytes", "keyword_writes"):
        assert key in section.data


def test_capacity_units_follow_dynamodb_rules():
    from bench.ddb_calls import Call, item_size, units

    item = {"msg_id": {"S": "1"}, "openid": {"S": "o"}, "day": {"S": "d"}, "n": {"N": "12"}}
    assert item_size(item) == 6 + 1 + 6 + 1 + 3 + 1 + 1 + 2
    gsis = {"t": [{"openid"}, {"day"}], "u": []}
    put = Call("PutItem", {"TableName": "t", "Item": item}, True, 0.0)
    assert units(put, gsis) == (3.0, 0.0)  # table + 2 indexes
    failed = Call("PutItem", {"TableName": "t", "Item": item}, False, 0.0)
    assert units(failed, gsis) == (1.0, 0.0)  # a failed condition still costs the table write
    tx = Call(
        "TransactWriteItems",
        {"TransactItems": [{"Put": {"TableName": "u", "Item": item}}, {"Update": {}}]},
        True,
        0.0,
    )
    assert units(tx, gsis) == (4.0, 0.0)
    get = Call("GetItem", {"ConsistentRead": True}, True, 0.0)
    assert units(get, gsis) == (0.0, 1.0)


def test_cold_start_subprocesses():
    from bench import cold_start

    section = cold_start.run()
    rows = _check_rows(section, "4")
    assert rows[0].target == "<= 1.15x bare stack"
    assert rows[0].ratio.endswith("x")
    assert section.data["peak_rss_mb"] > 0


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


def test_cost_from_measured_figures():
    from bench import cost

    measured = {
        "handler_seconds": 0.0005,
        "keyword_writes": 1.0,
        "keyword_reads": 0.0,
        "keyword_wru": 3.0,
        "keyword_rru": 0.0,
        "keyword_item_bytes": 600.0,
        "keyword_log_bytes": 0.0,
        "gsis_on_messages": 2,
    }
    est = cost.estimate(measured, memory_mb=512)
    parts = est["lambda"] + est["ddb_writes"] + est["ddb_reads"] + est["logs"]
    assert est["total_rest"] == pytest.approx(parts + est["apigw_rest"])
    assert est["ddb_writes"] == pytest.approx(3 * 0.625)
    assert est["apigw_rest"] == pytest.approx(3.50)
    assert est["billed_ms"] >= 1
    section = cost.run(measured, peak_rss_mb=50.0)
    rows = _check_rows(section, "6")
    assert all(row.value.startswith("$") for row in rows)
    assert _check_rows(cost.run(None), "6")[0].value.startswith("n/a")


def test_main_prints_one_table_and_saves_it(tmp_path, capsys):
    from bench.__main__ import HEADER, main

    output = tmp_path / "latest.md"
    assert main(["--only", "6", "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    saved = output.read_text(encoding="utf-8")
    assert printed.strip() == saved.strip()
    table = [line for line in saved.splitlines() if line.startswith("|")]
    assert table[0] == "| " + " | ".join(HEADER) + " |"
    assert all(line.count("|") == len(HEADER) + 1 for line in table)
    assert "Machine:" in saved and "BENCH_QUICK" in saved
