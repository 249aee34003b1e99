"""bench/faq_bench.py in its tiny mode (BENCH_QUICK=1): it runs, its rows are well formed and
its figures are named as CONTRACT section 8 says. Structure only: no figure is asserted."""

from __future__ import annotations

import json


def test_faq_bench_runs_and_names_its_figures(monkeypatch, tmp_path):
    from bench import faq_bench

    monkeypatch.setenv("BENCH_QUICK", "1")
    section = faq_bench.run()
    assert section.rows and all(row.item == "7" and row.value for row in section.rows)
    figures = section.data["figures"]
    assert {"faq_match_us_5000", "faq_index_mb_5000", "faq_cold_build_ms_5000"} <= set(figures)
    assert all(isinstance(v, int | float) for v in figures.values())

    # Merged into latest.json, keeping what other pieces wrote.
    target = tmp_path / "latest.json"
    target.write_text(json.dumps({"figures": {"contains_100k_cpu_us": 1.0}}))
    monkeypatch.setattr(faq_bench, "RESULTS_JSON", target)
    faq_bench.save_figures({"faq_match_us_5000": 12.5})
    assert json.loads(target.read_text())["figures"] == {
        "contains_100k_cpu_us": 1.0,
        "faq_match_us_5000": 12.5,
    }


def test_synthetic_entries_are_bank_shaped():
    from bench import faq_bench

    entries = faq_bench.make_entries(400)
    assert len(entries) == 400 and len({e["id"] for e in entries}) == 400
    assert all(e["question"] and e["alternatives"] for e in entries)
