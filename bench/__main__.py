"""`make bench` / `python -m bench`: run every piece, print one markdown table, save it.

    python -m bench                 # everything (about 5 minutes on 2 cores)
    python -m bench --only 1,3      # some items
    BENCH_QUICK=1 python -m bench   # tiny sizes: checks the bench runs, figures meaningless

The table goes to stdout and to bench/results/latest.md (and a cProfile dump to
bench/results/profile.txt when item 1 misses its target). Exit status 1 if a piece failed.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from bench.common import ROOT, Row, Section, machine, quick

RESULTS = ROOT / "bench" / "results"

HEADER = ("#", "measure", "figure", "compared with / detail", "ratio", "target", "met")


def _pieces() -> dict[str, tuple[str, Callable[[dict[str, Section]], Section]]]:
    from bench import cold_start, cost, ddb_calls, e2e, matching, request_path

    def cost_piece(done: dict[str, Section]) -> Section:
        ddb = done.get("3")
        measured = ddb.data if ddb and "handler_seconds" in ddb.data else None
        cold = done.get("4")
        return cost.run(measured, cold.data.get("peak_rss_mb") if cold else None)

    return {
        "1": ("request path CPU vs wechatpy / WeRoBot", lambda done: request_path.run()),
        "2": ("rule matching at 10 .. 100,000 rules", lambda done: matching.run()),
        "3": ("DynamoDB requests per message", lambda done: ddb_calls.run()),
        "4": ("cold start (import time)", lambda done: cold_start.run()),
        "5": ("end to end over loopback", lambda done: e2e.run()),
        "6": ("cost per 1M messages", cost_piece),
        "7": ("knowledge base: match at 5,000 entries, evaluation set", _faq),
    }


def _faq(done: dict[str, Section]) -> Section:
    from bench import faq_bench  # writes its figures into bench/results/latest.json

    return faq_bench.run()


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
    return "\n".join(lines) + "\n"


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
    profile = done.get("1", Section()).data.get("profile")
    if profile:
        (output.parent / "profile.txt").write_text(profile, encoding="utf-8")
    print(f"[bench] saved {output}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
