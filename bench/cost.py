"""Item 6: cost per 1,000,000 follower messages on AWS on-demand prices.

Computed from what this run measured: DynamoDB write/read units per keyword reply and the app's
log bytes (item 3), the Lambda entry point's duration without storage (item 3), the peak RSS
(item 4), and the Lambda memory setting in .chalice/config.json. What cannot be measured here is
stated as an assumption below (DynamoDB's in-region latency, Lambda's CPU share).

Prices: us-east-1 list prices on the AWS pricing pages (Lambda, API Gateway, DynamoDB, CloudWatch)
as of 2025-06 (DynamoDB on-demand after its 2024-11-01 price cut), free tiers ignored. They change:
check them before quoting these figures.
"""

from __future__ import annotations

import json
import math
from typing import Any

from bench.common import ROOT, Row, Section

REGION = "us-east-1"
PRICES_AS_OF = "2025-06"
PRICES = {
    # AWS Lambda, x86, per request and per GB-second of billed duration (1 ms granularity)
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,
    # API Gateway: REST API (what `chalice deploy` creates) and HTTP API, per request
    # (first 333 M REST / 300 M HTTP requests a month; HTTP API meters per 512 KB)
    "apigw_rest_request": 3.50 / 1e6,
    "apigw_http_request": 1.00 / 1e6,
    # DynamoDB on-demand, Standard table class
    "ddb_wru": 0.625 / 1e6,
    "ddb_rru": 0.125 / 1e6,
    "ddb_storage_gb_month": 0.25,
    # CloudWatch Logs, Standard class ingestion
    "logs_ingest_gb": 0.50,
}
# Assumptions (not measurable on this machine)
DDB_LATENCY_MS = 5.0  # one DynamoDB request from Lambda in the same region, typical p50
LAMBDA_FULL_VCPU_MB = 1769  # Lambda gives one full vCPU at 1,769 MB, proportionally less below
PLATFORM_LOG_BYTES = 330  # Lambda's START/END/REPORT lines per invocation (text format)
ITEM_OVERHEAD_BYTES = 100  # DynamoDB's per-item storage overhead, table and each index
RETENTION_MONTHS = 90 / 30.4  # the message log's TTL


def lambda_memory_mb() -> int:
    try:
        config = json.loads((ROOT / ".chalice" / "config.json").read_text())
        return int(config.get("lambda_memory_size", 128))
    except (OSError, ValueError):
        return 128


def estimate(measured: dict[str, Any], memory_mb: int | None = None) -> dict[str, Any]:
    """Dollars per 1,000,000 keyword replies from the measured figures.

    `measured` keys: handler_seconds (CPU of the entry point on this machine, storage excluded),
    keyword_writes / keyword_reads (requests), keyword_wru / keyword_rru (units),
    keyword_item_bytes, keyword_log_bytes, gsis_on_messages.
    """
    memory = memory_mb or lambda_memory_mb()
    cpu_share = min(1.0, memory / LAMBDA_FULL_VCPU_MB)
    requests = measured["keyword_writes"] + measured["keyword_reads"]
    duration_ms = measured["handler_seconds"] * 1e3 / cpu_share + requests * DDB_LATENCY_MS
    billed_ms = max(1, math.ceil(duration_ms))
    million = 1e6
    lam = million * (
        PRICES["lambda_request"] + PRICES["lambda_gb_second"] * (memory / 1024) * (billed_ms / 1000)
    )
    rest = million * PRICES["apigw_rest_request"]
    http = million * PRICES["apigw_http_request"]
    writes = million * measured["keyword_wru"] * PRICES["ddb_wru"]
    reads = million * measured["keyword_rru"] * PRICES["ddb_rru"]
    log_bytes = PLATFORM_LOG_BYTES + measured.get("keyword_log_bytes", 0.0)
    logs = million * log_bytes / 1024**3 * PRICES["logs_ingest_gb"]
    copies = 1 + measured.get("gsis_on_messages", 0)
    stored_gb = million * copies * (measured["keyword_item_bytes"] + ITEM_OVERHEAD_BYTES) / 1024**3
    storage = stored_gb * RETENTION_MONTHS * PRICES["ddb_storage_gb_month"]
    running = lam + writes + reads + logs
    return {
        "memory_mb": memory,
        "duration_ms": duration_ms,
        "billed_ms": billed_ms,
        "lambda": lam,
        "apigw_rest": rest,
        "apigw_http": http,
        "ddb_writes": writes,
        "ddb_reads": reads,
        "logs": logs,
        "log_bytes": log_bytes,
        "storage": storage,
        "stored_gb": stored_gb,
        "total_rest": running + rest,
        "total_http": running + http,
    }


def run(measured: dict[str, Any] | None, peak_rss_mb: float | None = None) -> Section:
    section = Section()
    if not measured:
        section.rows.append(Row("6", "cost per 1M messages", "n/a (item 3 did not run)"))
        return section
    est = estimate(measured)
    section.data.update(est)
    money = "${:,.2f}".format
    rows = [
        (
            f"Lambda x86 {est['memory_mb']} MB, {est['billed_ms']} ms billed/msg",
            money(est["lambda"]),
            f"{est['duration_ms']:.1f} ms = CPU at {est['memory_mb']}/{LAMBDA_FULL_VCPU_MB} vCPU"
            f" + {measured['keyword_writes'] + measured['keyword_reads']:g} x"
            f" {DDB_LATENCY_MS:g} ms DynamoDB",
        ),
        ("API Gateway REST API (chalice deploy)", money(est["apigw_rest"]), "$3.50 per million"),
        ("API Gateway HTTP API (alternative)", money(est["apigw_http"]), "$1.00 per million"),
        (
            "DynamoDB on-demand writes",
            money(est["ddb_writes"]),
            f"{measured['keyword_wru']:g} WRU/msg at $0.625 per million",
        ),
        (
            "DynamoDB on-demand reads",
            money(est["ddb_reads"]),
            f"{measured['keyword_rru']:g} RRU/msg at $0.125 per million",
        ),
        (
            "CloudWatch Logs ingestion",
            money(est["logs"]),
            f"{est['log_bytes']:.0f} B/msg (Lambda's own lines + app lines) at $0.50/GB",
        ),
        ("total with REST API", money(est["total_rest"]), "per 1,000,000 keyword replies"),
        ("total with HTTP API", money(est["total_http"]), "per 1,000,000 keyword replies"),
        (
            "DynamoDB storage of the 90-day message log",
            money(est["storage"]),
            f"{est['stored_gb']:.2f} GB (table + GSIs) for 90 days, once per million",
        ),
    ]
    for what, value, basis in rows:
        section.rows.append(Row("6", f"cost per 1M messages: {what}", value, basis))
    rss = f"; peak RSS measured {peak_rss_mb:.0f} MB" if peak_rss_mb else ""
    section.notes.append(
        f"Item 6: {REGION} on-demand list prices as of {PRICES_AS_OF} (table in bench/cost.py),"
        f" free tiers ignored. Assumed: {DDB_LATENCY_MS:g} ms per DynamoDB request in-region,"
        f" Lambda CPU share = memory/{LAMBDA_FULL_VCPU_MB} MB of this machine's core,"
        f" {PLATFORM_LOG_BYTES} B of Lambda platform log lines per invocation. Lambda memory is"
        f" the configured {est['memory_mb']} MB{rss}; cold starts are not included."
    )
    return section
