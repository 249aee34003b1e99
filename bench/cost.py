"""Item 8: dollars per 1,000,000 keyword replies on AWS on-demand prices, from this run's figures.

Our layer is what this project runs: the callback function (one invocation per message), the
stream aggregator (one invocation per batch), and their DynamoDB requests; reading a DynamoDB
stream from Lambda costs nothing. The whole bill adds the HTTP API in front of the callback and
CloudWatch Logs ingestion.

- Callback: the Lambda entry point's CPU per keyword reply with its write answered by a canned
  success (item 3), stretched to Lambda's CPU share at the configured memory, plus one DynamoDB
  round trip per request it makes; its write units (item 3, on moto).
- Aggregator: one batch of KEYWORD_BATCH keyword replies from as many followers (item 6's second
  run): its CPU with canned writes, stretched the same way, plus its writes' round trips spread
  over its worker threads and its reads' round trips (made one after another while it sums the
  batch); its write units and read units, divided by the batch's messages.

Prices: us-east-1 list prices (NOTES.md "DynamoDB at scale", the AWS pricing pages as of
PRICES_AS_OF), free tiers ignored. They change: check them before quoting these figures. Memory
and architecture are read from .chalice/config.json. Lambda's arm64 cores are taken to be as fast
as this machine's (an assumption: Graviton2 is a little slower per core on some code, faster on
other). What cannot be measured here is stated as an assumption below.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bench.common import ROOT, Row, Section, verdict

REGION = "us-east-1"
PRICES_AS_OF = "2025"
PRICES = {
    # AWS Lambda, per request and per GB-second of billed duration (1 ms granularity)
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second_arm64": 0.0000133334,
    "lambda_gb_second_x86_64": 0.0000166667,
    # API Gateway per request: HTTP API (the front door), REST API (the previous one)
    "apigw_http_request": 1.00 / 1e6,
    "apigw_rest_request": 3.50 / 1e6,
    # DynamoDB on-demand, Standard table class
    "ddb_wru": 0.625 / 1e6,
    "ddb_rru": 0.125 / 1e6,
    # CloudWatch Logs, Standard class ingestion
    "logs_ingest_gb": 0.50,
}
TARGET_OUR_LAYER = 1.00
TARGET_TOTAL_HTTP = 2.20
# Assumptions (not measurable on this machine)
DDB_LATENCY_MS = 5.0  # one DynamoDB request from Lambda in the same region, typical p50
LAMBDA_FULL_VCPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB, proportionally less below
PLATFORM_LOG_BYTES = 330  # Lambda's START/END/REPORT lines per invocation (text format)
AGGREGATE_LOG_BYTES = 200  # the aggregator's one `aggregate.batch` line per batch
MILLION = 1e6
CONFIG = ROOT / ".chalice" / "config.json"
# The agent desk's list (GET /admin/conversations), modelled from the listing's row size and the
# desk walk's margins (chalicelib.desk.walk), not measured by a run
DESK_MESSAGES_PER_DAY = 1_000_000
DESK_POLL_SECONDS = 3  # the console polls the list
EC_READ_BYTES = 4096  # an eventually consistent read unit reads 2 x 4 KB; a request rounds up


def lambda_settings(path: Path = CONFIG) -> dict[str, Any]:
    """Memory (MB) of the callback (the API function) and of the aggregator, and the
    architecture, as .chalice/config.json (`path`) sets them for the prod stage."""
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        config = {}
    memory = int(config.get("lambda_memory_size", 128))
    stage = config.get("stages", {}).get("prod", {})
    functions = stage.get("lambda_functions", {})
    aggregate = functions.get("aggregate", {})
    return {
        "callback_mb": int(stage.get("lambda_memory_size", memory)),
        "aggregate_mb": int(aggregate.get("lambda_memory_size", memory)),
        "architecture": str(config.get("lambda_architecture", "x86_64")),
    }


def _lambda(billed_ms: float, memory_mb: int, gb_second: float, invocations: float) -> float:
    return invocations * (
        PRICES["lambda_request"] + gb_second * (memory_mb / 1024) * (billed_ms / 1000)
    )


def estimate(
    callback: dict[str, Any], batch: dict[str, Any], settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Dollars per 1,000,000 keyword replies.

    `callback` (item 3): handler_seconds, keyword_writes, keyword_reads, keyword_wru,
    keyword_rru, keyword_log_bytes. `batch` (item 6's keyword batch): messages, cpu_seconds,
    writes, wru, reads, rru, workers.
    """
    settings = settings or lambda_settings()
    gb_second = PRICES[f"lambda_gb_second_{settings['architecture']}"]
    share_cb = min(1.0, settings["callback_mb"] / LAMBDA_FULL_VCPU_MB)
    share_agg = min(1.0, settings["aggregate_mb"] / LAMBDA_FULL_VCPU_MB)
    requests = callback["keyword_writes"] + callback["keyword_reads"]
    cb_ms = callback["handler_seconds"] * 1e3 / share_cb + requests * DDB_LATENCY_MS
    cb_billed = max(1, math.ceil(cb_ms))
    messages = batch["messages"]
    waits = batch["writes"] * DDB_LATENCY_MS / max(1, batch["workers"])
    waits += batch["reads"] * DDB_LATENCY_MS
    agg_ms = batch["cpu_seconds"] * 1e3 / share_agg + waits
    batches = MILLION / messages
    out = {
        **settings,
        "callback_ms": cb_ms,
        "callback_billed_ms": cb_billed,
        "callback_requests": requests,
        "aggregate_ms": agg_ms,
        "callback_lambda": _lambda(cb_billed, settings["callback_mb"], gb_second, MILLION),
        "callback_writes": MILLION * callback["keyword_wru"] * PRICES["ddb_wru"],
        "callback_reads": MILLION * callback["keyword_rru"] * PRICES["ddb_rru"],
        "aggregate_lambda": _lambda(
            math.ceil(agg_ms), settings["aggregate_mb"], gb_second, batches
        ),
        "aggregate_writes": MILLION * batch["wru"] / messages * PRICES["ddb_wru"],
        "aggregate_reads": MILLION * batch["rru"] / messages * PRICES["ddb_rru"],
        "http_api": MILLION * PRICES["apigw_http_request"],
    }
    log_bytes = MILLION * (PLATFORM_LOG_BYTES + callback.get("keyword_log_bytes", 0.0))
    log_bytes += batches * (PLATFORM_LOG_BYTES + AGGREGATE_LOG_BYTES)
    out["logs"] = log_bytes / 1024**3 * PRICES["logs_ingest_gb"]
    out["our_layer"] = sum(
        out[k]
        for k in (
            "callback_lambda",
            "callback_writes",
            "callback_reads",
            "aggregate_lambda",
            "aggregate_writes",
            "aggregate_reads",
        )
    )
    out["total_http"] = out["our_layer"] + out["http_api"] + out["logs"]
    return out


def desk_list_reads(messages_per_day: float = DESK_MESSAGES_PER_DAY) -> dict[str, float]:
    """Read units of one GET /admin/conversations's walk of the listing at `messages_per_day`
    (spread evenly), cold (a container's first: the whole window) and warm (the next poll);
    the agent states and quota reads of the shown conversations come on top of both."""
    from bench import ddb_model
    from chalicelib.desk.conversations import LOOKBACK_MARGIN, MESSAGE_WINDOW_SECONDS
    from chalicelib.desk.walk import PAGE_MARGIN_MS
    from chalicelib.store import ddb, listing

    typical = listing.row(1_790_000_000_000, "o" * 28, 1_790_000_000, "m:" + "2" * 19, "text",
                          "信用卡额度怎么提高", "rule-0123456789ab", "keyword")  # fmt: skip
    row_bytes = ddb_model.value_size(ddb.ser(typical))
    per_second = messages_per_day / 86400

    def units(seconds: float, requests: int) -> float:
        per_request = per_second * seconds * row_bytes / requests
        return requests * 0.5 * max(1, math.ceil(per_request / EC_READ_BYTES))

    buckets = listing.BUCKETS
    cold = units(MESSAGE_WINDOW_SECONDS + LOOKBACK_MARGIN, buckets)
    warm = units(PAGE_MARGIN_MS / 1000 + DESK_POLL_SECONDS, buckets) + 0.5  # + late markers
    return {"row_bytes": row_bytes, "cold_rru": cold, "warm_rru": warm}


def _desk_list_note() -> str:
    reads = desk_list_reads()
    per_day = 86400 / DESK_POLL_SECONDS * reads["warm_rru"] * PRICES["ddb_rru"]
    return (
        f"Desk list (GET /admin/conversations, modelled at {DESK_MESSAGES_PER_DAY:,} messages a"
        f" day, {reads['row_bytes']} B per listed message): a container's first request walks"
        f" the 48-hour listing, ~{reads['cold_rru']:,.0f} RRU; each later poll reads the pages"
        f" of the desk walk's margin and the late markers, ~{reads['warm_rru']:,.0f} RRU"
        f" (17 requests), whatever the window holds: ${per_day:.2f} a day per console polling"
        f" every {DESK_POLL_SECONDS} s, plus the shown conversations' state and quota reads."
    )


def _read_requests(batch: dict[str, Any]) -> str:
    """The batch's read requests, by operation when known ("10 BatchGetItem")."""
    ops = batch.get("read_operations") or {}
    if not ops:
        return f"{batch['reads']:,} read requests"
    return ", ".join(f"{n:,} {op}" for op, n in ops.items())


def _where_it_goes(est: dict[str, Any], batch: dict[str, Any]) -> str:
    """Why our layer misses its target: its parts, largest first, and the aggregator's write
    units by table."""
    parts = sorted(
        (
            (est["callback_writes"], "callback DynamoDB writes"),
            (est["aggregate_writes"], "aggregator DynamoDB writes"),
            (est["callback_lambda"], "callback Lambda"),
            (est["aggregate_lambda"], "aggregator Lambda"),
            (est["callback_reads"], "callback DynamoDB reads"),
            (est["aggregate_reads"], "aggregator DynamoDB reads"),
        ),
        reverse=True,
    )
    tables = batch.get("wru_by_table") or {}
    by_table = ", ".join(
        f"{name.split('-', 1)[-1]} {units / batch['messages']:.3f}"
        for name, units in sorted(tables.items(), key=lambda kv: -kv[1])
    )
    floor = ""
    followers = next((u for name, u in tables.items() if name.endswith("followers")), 0.0)
    if followers:
        per_msg = followers / batch["messages"]
        least = PRICES["lambda_request"] * MILLION + est["callback_writes"]
        least += MILLION * per_msg * PRICES["ddb_wru"]
        floor = (
            f" Its floor with follower records kept per batch: ${least:.2f} (Lambda's request fee"
            f" + the callback's write + {per_msg:.2f} WRU of follower record per message, one per"
            " follower per batch, and this batch's followers are all different)."
        )
    return (
        f"Item 8: our layer misses ${TARGET_OUR_LAYER:.2f} by"
        f" ${est['our_layer'] - TARGET_OUR_LAYER:.2f}: "
        + ", ".join(f"{what} ${value:.2f}" for value, what in parts)
        + (f"; the aggregator's WRU per keyword reply by table: {by_table}" if by_table else "")
        + "."
        + floor
    )


def estimate_before(callback: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """Dollars per 1,000,000 keyword replies for the previous design (item 6's run of it): its
    one transaction's write units and requests, no aggregator, a REST API in front, and its own
    memory and architecture. Its callback CPU is this design's entry-point figure (item 3) times
    the ratio of the two designs' pipeline CPU measured alike (item 6), so both columns share a
    method."""
    settings = lambda_settings(Path(before["config"]))
    keyword = before["keyword"]
    handler = callback["handler_seconds"] * keyword["cpu_seconds"] / before["new_cpu_seconds"]
    share = min(1.0, settings["callback_mb"] / LAMBDA_FULL_VCPU_MB)
    ms = handler * 1e3 / share + keyword["requests"] * DDB_LATENCY_MS
    billed = max(1, math.ceil(ms))
    gb_second = PRICES[f"lambda_gb_second_{settings['architecture']}"]
    out = {
        **settings,
        "handler_seconds": handler,
        "callback_ms": ms,
        "callback_billed_ms": billed,
        "lambda": _lambda(billed, settings["callback_mb"], gb_second, MILLION),
        "ddb": MILLION * keyword["wru"] * PRICES["ddb_wru"],
        "rest_api": MILLION * PRICES["apigw_rest_request"],
        "http_api": MILLION * PRICES["apigw_http_request"],
    }
    log_bytes = MILLION * (PLATFORM_LOG_BYTES + callback.get("keyword_log_bytes", 0.0))
    out["logs"] = log_bytes / 1024**3 * PRICES["logs_ingest_gb"]
    out["our_layer"] = out["lambda"] + out["ddb"]
    out["total_rest"] = out["our_layer"] + out["rest_api"] + out["logs"]
    out["total_http"] = out["our_layer"] + out["http_api"] + out["logs"]
    return out


def _before_rows(section: Section, callback: dict[str, Any], before: dict[str, Any]) -> None:
    est = estimate_before(callback, before)
    label = f"cost per 1M keyword replies, previous design ({before['commit']})"
    keyword = before["keyword"]
    rows = [
        (f"Lambda {est['architecture']} {est['callback_mb']} MB, {est['callback_billed_ms']} ms",
         est["lambda"], f"CPU {est['handler_seconds'] * 1e3:.2f} ms (item 3's"
         f" {callback['handler_seconds'] * 1e3:.2f} ms x {keyword['cpu_seconds'] * 1e3:.2f} /"
         f" {before['new_cpu_seconds'] * 1e3:.2f} ms, item 6) + {keyword['requests']:.3g} x"
         f" {DDB_LATENCY_MS:g} ms DynamoDB"),
        ("DynamoDB writes", est["ddb"], f"{keyword['wru']:.2f} WRU/msg at $0.625/M (item 6)"),
        ("our layer (Lambda + DynamoDB)", est["our_layer"], "the two rows above"),
        ("whole bill with its REST API", est["total_rest"], "our layer + $3.50/M + logs"),
        ("whole bill had it used an HTTP API", est["total_http"], "our layer + $1.00/M + logs"),
    ]  # fmt: skip
    for what, value, basis in rows:
        section.rows.append(Row("8", f"{label}: {what}", f"${value:,.2f}", basis))
    section.data["before"] = est
    section.data["figures"].update(
        before_cost_usd_per_million_ddb=round(est["ddb"], 4),
        before_cost_usd_per_million_our_layer=round(est["our_layer"], 4),
        before_cost_usd_per_million_total_rest_api=round(est["total_rest"], 4),
    )


def run(
    callback: dict[str, Any] | None,
    batch: dict[str, Any] | None,
    before: dict[str, Any] | None = None,
) -> Section:
    """Item 8's rows; `before` (item 6's run of the previous design, with `new_cpu_seconds`,
    this design's pipeline CPU measured alike) adds the previous design's bill."""
    section = Section()
    if not callback or not batch:
        missing = " and ".join(n for n, v in (("3", callback), ("6", batch)) if not v)
        section.rows.append(
            Row("8", "cost per 1M keyword replies", f"n/a (item {missing} not run)")
        )
        return section
    est = estimate(callback, batch)
    money = "${:,.2f}".format
    arch = est["architecture"]
    parts: list[tuple[str, float, str]] = [
        (
            f"callback Lambda {arch} {est['callback_mb']} MB, {est['callback_billed_ms']} ms",
            est["callback_lambda"],
            f"$0.20/M requests + {est['callback_ms']:.1f} ms = CPU"
            f" {callback['handler_seconds'] * 1e3:.2f} ms at {est['callback_mb']}/"
            f"{LAMBDA_FULL_VCPU_MB} vCPU + {est['callback_requests']:g} x {DDB_LATENCY_MS:g} ms"
            " DynamoDB",
        ),
        (
            "callback DynamoDB writes",
            est["callback_writes"],
            f"{callback['keyword_wru']:g} WRU/msg at $0.625/M",
        ),
        (
            "callback DynamoDB reads",
            est["callback_reads"],
            f"{callback['keyword_rru']:g} RRU/msg at $0.125/M",
        ),
        (
            f"aggregator Lambda {arch} {est['aggregate_mb']} MB",
            est["aggregate_lambda"],
            f"{est['aggregate_ms'] / 1e3:.2f} s per batch of {batch['messages']:,} = CPU"
            f" {batch['cpu_seconds']:.2f} s at {est['aggregate_mb']}/{LAMBDA_FULL_VCPU_MB} vCPU +"
            f" {batch['writes']:,} writes x {DDB_LATENCY_MS:g} ms / {batch['workers']} threads +"
            f" {batch['reads']:,} reads x {DDB_LATENCY_MS:g} ms",
        ),
        (
            "aggregator DynamoDB writes",
            est["aggregate_writes"],
            f"{batch['wru'] / batch['messages']:.3f} WRU/msg ({batch['wru']:,.0f} WRU,"
            f" {batch['writes']:,} writes per {batch['messages']:,} messages); stream reads free",
        ),
        (
            "aggregator DynamoDB reads",
            est["aggregate_reads"],
            f"{batch['rru'] / batch['messages']:.3f} RRU/msg at $0.125/M ({batch['rru']:,.1f} RRU,"
            f" {_read_requests(batch)} per {batch['messages']:,} messages)",
        ),
    ]
    rows: list[tuple[str, float, str, float | None]] = [(*part, None) for part in parts]
    rows += [
        ("our layer (Lambda + DynamoDB, aggregator included)", est["our_layer"],
         "the six rows above", TARGET_OUR_LAYER),
        ("HTTP API", est["http_api"], "$1.00/M", None),
        ("CloudWatch Logs ingestion", est["logs"],
         f"{PLATFORM_LOG_BYTES} B of Lambda platform lines per invocation + app lines, $0.50/GB",
         None),
        ("whole bill with the HTTP API", est["total_http"], "our layer + HTTP API + logs",
         TARGET_TOTAL_HTTP),
    ]  # fmt: skip
    for what, value, basis, target in rows:
        row = Row("8", f"cost per 1M keyword replies: {what}", money(value), basis)
        if target is not None:
            row.target, row.met = f"<= ${target:.2f}", verdict(value <= target)
        section.rows.append(row)
    section.data.update(
        est,
        figures={
            "cost_usd_per_million_our_layer": round(est["our_layer"], 4),
            "cost_usd_per_million_total_http_api": round(est["total_http"], 4),
        },
    )
    section.notes.append(_desk_list_note())
    if before:
        _before_rows(section, callback, before)
    if est["our_layer"] > TARGET_OUR_LAYER:
        section.notes.append(_where_it_goes(est, batch))
    section.notes.append(
        f"Item 8: {REGION} on-demand list prices ({PRICES_AS_OF}; table in bench/cost.py): DynamoDB"
        " $0.625/M WRU, $0.125/M RRU; Lambda $0.20/M requests + $0.0000133334/GB-s arm64"
        " ($0.0000166667 x86_64); HTTP API $1.00/M; logs $0.50/GB; free tiers ignored. Memory and"
        f" architecture from .chalice/config.json ({arch}, callback {est['callback_mb']} MB,"
        f" aggregator {est['aggregate_mb']} MB). Assumed: {DDB_LATENCY_MS:g} ms per DynamoDB"
        f" request in-region; Lambda's CPU share = memory/{LAMBDA_FULL_VCPU_MB} MB of a core as"
        " fast as this machine's; the tumbling window's one empty invocation per shard per 15"
        " minutes and cold starts are left out."
    )
    return section
