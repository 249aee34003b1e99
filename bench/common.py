"""What every bench piece shares: quick mode, robust timing, the result row, the machine.

The machine is shared and noisy, so every figure is a median over several repetitions, and
figures that are compared (ours vs a peer) are measured interleaved in the same run: a burst of
noise then hits both sides instead of one.
"""

from __future__ import annotations

import contextlib
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick() -> bool:
    """BENCH_QUICK=1: tiny sizes and few repetitions, for the smoke test (figures meaningless)."""
    return os.environ.get("BENCH_QUICK", "") not in ("", "0")


@contextlib.contextmanager
def environment(values: Mapping[str, str], dropped: Sequence[str] = ()) -> Iterator[None]:
    """`values` set and `dropped` unset for the duration; everything restored afterwards."""
    saved = {name: os.environ.get(name) for name in [*values, *dropped]}
    for name in dropped:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass
class Row:
    """One line of the results table."""

    item: str  # "1".."6"
    what: str
    value: str  # the figure, formatted with its unit
    baseline: str = ""  # what it is compared with (a peer's figure, the bare stack, ...)
    ratio: str = ""  # value / baseline, e.g. "0.41x"
    target: str = ""  # the target from the issue, when there is one
    met: str = ""  # "yes" | "NO" | "" (no target) | "n/a"


@dataclass
class Section:
    """What one bench piece returns: its rows and notes that explain them."""

    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)  # raw figures, for other pieces (cost) and tests


def median_per_call(fn: Callable[[], object], *, calls: int, repeat: int, warmup: int = 1) -> float:
    """Median over `repeat` runs of the mean seconds per call of `fn` over `calls` calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def interleaved(contenders: dict[str, Callable[[int], float]], *, repeat: int) -> dict[str, float]:
    """Run each contender's `run(rep) -> seconds per message` once per round, `repeat` rounds,
    rotating the order every round; return each contender's median."""
    names = list(contenders)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(repeat):
        shift = rep % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(contenders[name](rep))
    return {name: statistics.median(values) for name, values in samples.items()}


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(pct / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def ratio(value: float, baseline: float) -> str:
    if not baseline or baseline != baseline:  # zero or NaN
        return ""
    return f"{value / baseline:.2f}x"


def verdict(ok: bool) -> str:
    return "yes" if ok else "NO"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} us"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> str:
    try:
        cpus = len(os.sched_getaffinity(0))  # what `nproc` prints
    except AttributeError:
        cpus = os.cpu_count() or 0
    return (
        f"{cpus} CPUs (nproc), {cpu_model()}, "
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.machine()}"
    )
