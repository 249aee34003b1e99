"""`make bench` / `python -m bench`: run every piece, print one markdown table, save it.

    python -m bench                 # everything (about 6 minutes on 2 cores)
    python -m bench --only 1,3      # some items
    BENCH_QUICK=1 python -m bench   # tiny sizes: checks the bench runs, figures meaningless

The table goes to stdout and to bench/results/latest.md, the contract's figures (CONTRACT.md
section 8) to bench/results/latest.json, and a cProfile dump of our AES path to
bench/results/profile.txt. With --only, the figures of the items not run are kept from the
previous latest.json. Exit status 1 if a piece failed.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import ROOT, Row, Section, machine, quick

RESULTS = ROOT / "bench" / "results"

HEADER = ("#", "measure", "figure", "compared with / detail", "ratio", "target", "met")


# The contract's figures (CONTRACT.md section 8); latest.json holds these and the pieces' others.
FIGURES = (
    "aes_whole_path_ratio",
    "aes_peers_work_ratio",
    "contains_100k_cpu_us",
    "cold_start_ratio",
    "ddb_requests_keyword_reply",
    "ddb_wru_keyword_reply",
    "cost_usd_per_million_our_layer",
    "cost_usd_per_million_total_http_api",
    "burst_max_partition_wcu_per_s",
    "burst_max_item_writes_per_s",
    "faq_match_us_5000",
)


def _pieces() -> dict[str, tuple[str, Callable[[dict[str, Section]], Section]]]:
    from bench import burst, cold_start, cost, ddb_calls, e2e, faq_bench, matching, request_path

    def cost_piece(done: dict[str, Section]) -> Section:
        ddb, storm = done.get("3"), done.get("6")
        callback = ddb.data if ddb and "handler_seconds" in ddb.data else None
        batch = storm.data.get("aggregator_batch") if storm else None
        before = storm.data.get("before") if storm else None
        if before:
            before = {**before, "new_cpu_seconds": storm.data["callback_cpu_seconds"]}
        return cost.run(callback, batch, before)

    return {
        "1": ("request path CPU vs wechatpy / WeRoBot", lambda done: request_path.run()),
        "2": ("rule matching at 10 .. 100,000 rules", lambda done: matching.run()),
        "3": ("DynamoDB requests and write units per message", lambda done: ddb_calls.run()),
        "4": ("cold start (import time)", lambda done: cold_start.run()),
        "5": ("end to end over loopback", lambda done: e2e.run()),
        "6": ("burst of 10,000 messages: hot keys", lambda done: burst.run()),
        "7": ("knowledge base: match at 5,000 entries, evaluation set", lambda d: faq_bench.run()),
        "8": ("cost per 1M keyword replies", cost_piece),
    }


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(sections: dict[str, Section], *, started: float, quick_mode: bool) -> str:
    rows: list[Row] = [row for key in sorted(sections) for row in sections[key].rows]
    notes = [note for key in sorted(sections) for note in sections[key].notes]
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    lines = [
        f"wxless `make bench`, {when}, {time.perf_counter() - started:.0f} s"
        + (" (BENCH_QUICK: tiny sizes, figures meaningless)" if quick_mode else ""),
        "",
        f"Machine: {machine()}; load average at the end (1, 5, 15 min): {load}"
        " (the machine is shared: compare ratios, not absolute figures).",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "|".join(["---"] * len(HEADER)) + "|",
    ]
    for row in rows:
        cells = (row.item, row.what, row.value, row.baseline, row.ratio, row.target, row.met)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    if notes:
        lines.append("")
        lines.extend(f"- {note}" for note in notes)
    missed = [f"{row.what} ({row.value}; target {row.target})" for row in rows if row.met == "NO"]
    lines.append("")
    lines.append(
        "Targets not met in this run: " + "; ".join(missed) + "."
        if missed
        else "Every target of this run is met."
    )
    return "\n".join(lines) + "\n"


def figures(sections: dict[str, Section], previous: dict[str, Any]) -> dict[str, Any]:
    """The contract's figures: this run's, else `previous` ones (items not run), else null."""
    out: dict[str, Any] = {name: previous.get(name) for name in FIGURES}
    out.update({k: v for k, v in previous.items() if k not in out})
    for section in sections.values():
        out.update(section.data.get("figures", {}))
    return out


def save_figures(path: Path, sections: dict[str, Section], *, keep_previous: bool) -> None:
    previous: dict[str, Any] = {}
    if keep_previous and path.exists():
        try:
            previous = json.loads(path.read_text(encoding="utf-8")).get("figures", {})
        except (OSError, ValueError):
            previous = {}
    document = {
        "figures": figures(sections, previous),
        "run": {
            "at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "items": sorted(sections),
            "quick": quick(),
        },
    }
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="comma-separated items, e.g. 1,3")
    parser.add_argument("--output", default=str(RESULTS / "latest.md"), help="where to save")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    pieces = _pieces()
    wanted = [x.strip() for x in args.only.split(",") if x.strip()] or list(pieces)
    unknown = [x for x in wanted if x not in pieces]
    if unknown:
        parser.error(f"unknown item(s) {', '.join(unknown)}; items are 1 to {len(pieces)}")
    started = time.perf_counter()
    done: dict[str, Section] = {}
    failed = False
    for key in sorted(wanted):
        title, fn = pieces[key]
        print(f"[bench] {key}. {title} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            done[key] = fn(done)
        except Exception as exc:
            failed = True
            traceback.print_exc()
            done[key] = Section(rows=[Row(key, title, f"FAILED: {type(exc).__name__}: {exc}")])
        print(f"[bench] {key}. done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    table = render(done, started=started, quick_mode=quick())
    print(table)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(table, encoding="utf-8")
    save_figures(output.with_suffix(".json"), done, keep_previous=bool(args.only))
    profile = done.get("1", Section()).data.get("profile")
    if profile:
        (output.parent / "profile.txt").write_text(profile, encoding="utf-8")
    print(f"[bench] saved {output}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
