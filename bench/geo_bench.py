"""Nearest points at 10,000 points: the k-d tree vs a linear scan, and what the store costs.

    .venv/bin/python bench/geo_bench.py            # pure in-memory figures
    .venv/bin/python bench/geo_bench.py --store    # + bulk import and snapshot load on moto

Figures are medians; the machine is shared, so read them as orders of magnitude.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chalicelib.engine import geo

N_POINTS = 10_000
QUERIES = 2_000


def _points(rng: random.Random, n: int) -> list[dict]:
    # A bank's network in one province (Guangdong): dense around the cities, like real ones.
    centres = [(23.13, 113.26), (22.54, 114.06), (23.02, 113.75), (22.27, 113.58)]
    out = []
    for i in range(n):
        lat, lng = rng.choice(centres)
        out.append(
            {
                "id": f"p{i}",
                "name": f"网点{i}",
                "lat": lat + rng.gauss(0, 0.15),
                "lng": lng + rng.gauss(0, 0.15),
                "address": f"示例路 {i} 号",
                "tags": ["branch"] if i % 4 == 0 else ["ATM"],
            }
        )
    return out


def _median_us(fn, repeats: int = 5) -> float:
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        count = fn()
        runs.append((time.perf_counter() - started) / count * 1e6)
    return statistics.median(runs)


def in_memory() -> None:
    rng = random.Random(1)
    points = _points(rng, N_POINTS)
    started = time.perf_counter()
    book = geo.build_place_book((points, {"count": 3}))
    build_ms = (time.perf_counter() - started) * 1000
    queries = [(23.13 + rng.gauss(0, 0.2), 113.26 + rng.gauss(0, 0.2)) for _ in range(QUERIES)]

    def tree(k: int):
        def run() -> int:
            for lat, lng in queries:
                book.nearest(lat, lng, k)
            return len(queries)

        return run

    def linear() -> int:
        for lat, lng in queries[:100]:
            sorted(
                (geo.haversine_m(lat, lng, p["lat"], p["lng"]), i) for i, p in enumerate(points)
            )[:3]
        return 100

    def answer() -> int:
        for lat, lng in queries:
            book.answer(lat, lng, max_articles=1)
        return len(queries)

    print(f"{N_POINTS} points: build {build_ms:.0f} ms")
    for k in (1, 3, 10):
        print(f"  nearest {k:>2}: {_median_us(tree(k)):7.1f} us/query (k-d tree)")
    print(f"  nearest  3: {_median_us(linear, 3):7.0f} us/query (linear haversine scan)")
    print(f"  whole text answer (3 points): {_median_us(answer):.1f} us")


def store() -> None:
    """Bulk import and snapshot load through moto (in-process): upper bounds, not AWS figures."""
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        WXLESS_TABLE_PREFIX="geobench",
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from moto import mock_aws

    with mock_aws():
        from chalicelib.engine.geo import validate_point
        from chalicelib.store import points as store
        from chalicelib.store.tables import create_all

        create_all(bucket=False)
        rows = [(p["id"], validate_point(p)) for p in _points(random.Random(2), N_POINTS)]
        started = time.perf_counter()
        store.import_points(rows)
        took = time.perf_counter() - started
        print(f"import {N_POINTS} points (BatchWriteItem x25, moto): {took:.1f} s")
        started = time.perf_counter()
        _version, data = store.load_snapshot()
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        geo.build_place_book(data)
        built = time.perf_counter() - started
        print(f"snapshot load (scan, moto): {loaded:.2f} s; build: {built * 1000:.0f} ms")


if __name__ == "__main__":
    in_memory()
    if "--store" in sys.argv:
        store()
