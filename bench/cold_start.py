"""Item 4: cold start, i.e. the import time of `app` in a fresh interpreter, against the bare
dependency stack (chalice + boto3 + pynamodb + xmltodict + pycryptodome imported alone).

Each sample is a new `python -c` process that times its imports with perf_counter (so the
interpreter's own start-up, the same for both, is left out of the ratio) and also reports the
process's wall time. The two kinds of processes alternate, and the figure is the median. The
`.pyc` files are warm (a Lambda artifact ships them too once the first import wrote them; the
first process of each kind is a discarded warm-up).

Also measured here, for cost.py: the peak RSS of a process that imported `app`, built the
DynamoDB client and answered messages (in memory), a floor for the Lambda memory setting.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

from bench.common import ROOT, Row, Section, quick, ratio, verdict

TARGET = 1.15
BARE_STACK = "import chalice, boto3, pynamodb.models, xmltodict, Crypto.Cipher.AES"
APP = "import app"

_TIMER = (
    "import time, json; _t = time.perf_counter(); {imports}; "
    "print(json.dumps({{'import': time.perf_counter() - _t}}))"
)

_RSS = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
import app
from chalicelib.store.aws import client
client("dynamodb", "fast")
from bench.request_path import ours
from bench.workload import make_batch
run = ours(True)(make_batch(200, True, first_id=1))
run()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the (large) parent process.
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")]
kb = int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"maxrss_kb": kb}}))
"""


def _sample(imports: str) -> tuple[float, float]:
    """(import seconds, process wall seconds) of one fresh interpreter."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _TIMER.format(imports=imports)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
    )
    wall = time.perf_counter() - start
    return json.loads(out.stdout.strip().splitlines()[-1])["import"], wall


def _env() -> dict[str, str]:
    import os
    import tempfile

    env = dict(os.environ)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    # The artifact ships .pyc for everything (infra/package.py), so both sides are measured with
    # bytecode: with PYTHONDONTWRITEBYTECODE set (CI images often set it) `app` would recompile
    # every module of ours from source on each run while site-packages kept its .pyc. The cache
    # goes to a private prefix, so the tree gets no __pycache__.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), "wxless-bench-pyc")
    env["AWS_DEFAULT_REGION"] = env.get("AWS_DEFAULT_REGION", "us-east-1")
    return env


def _importtime(imports: str) -> dict[str, float]:
    """Module -> self seconds, from one `python -X importtime` run."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", imports],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
    )
    rows: dict[str, float] = {}
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, _, name = line[len("import time:") :].split("|")
        if own.strip().isdigit():
            rows[name.strip()] = int(own) / 1e6
    return rows


def beyond_bare_stack(top: int = 10) -> tuple[float, list[tuple[str, float]]]:
    """What `import app` loads that the bare stack does not: (total self seconds, heaviest)."""
    bare = _importtime(BARE_STACK)
    app = _importtime(APP)
    extra = {name: secs for name, secs in app.items() if name not in bare}
    heaviest = sorted(extra.items(), key=lambda r: r[1], reverse=True)[:top]
    return sum(extra.values()), heaviest


def peak_rss_mb() -> float:
    out = subprocess.run(
        [sys.executable, "-c", _RSS.format(root=str(ROOT))],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["maxrss_kb"] / 1024


def run() -> Section:
    repeat = 1 if quick() else 9
    section = Section()
    _sample(BARE_STACK)  # warm-up: write/refresh .pyc files
    _sample(APP)
    samples: dict[str, list[tuple[float, float]]] = {"bare": [], "app": [], "python": []}
    for i in range(repeat):
        order = [("bare", BARE_STACK), ("app", APP), ("python", "pass")]
        if i % 2:
            order.reverse()
        for name, imports in order:
            samples[name].append(_sample(imports))
    imp = {k: statistics.median(s[0] for s in v) for k, v in samples.items()}
    wall = {k: statistics.median(s[1] for s in v) for k, v in samples.items()}
    section.data.update(
        import_seconds=imp,
        wall_seconds=wall,
        figures={"cold_start_ratio": round(imp["app"] / imp["bare"], 3)},
    )
    section.rows.append(
        Row(
            "4",
            "cold start: `import app` (fresh interpreter, median)",
            f"{imp['app'] * 1e3:.0f} ms",
            f"bare stack {imp['bare'] * 1e3:.0f} ms",
            ratio(imp["app"], imp["bare"]),
            f"<= {TARGET}x bare stack",
            verdict(imp["app"] <= TARGET * imp["bare"]),
        )
    )
    section.rows.append(
        Row(
            "4",
            "cold start: whole process (interpreter + import), median",
            f"{wall['app'] * 1e3:.0f} ms",
            f"bare stack {wall['bare'] * 1e3:.0f} ms; empty python {wall['python'] * 1e3:.0f} ms",
            ratio(wall["app"], wall["bare"]),
        )
    )
    extra_total, top = beyond_bare_stack()
    section.data["beyond_bare_stack"] = (extra_total, top)
    section.notes.append(
        f"Item 4: the bare stack is `{BARE_STACK}`. Modules `import app` loads beyond it take"
        f" {extra_total * 1e3:.0f} ms of self time (one -X importtime run); the heaviest (ms): "
        + ", ".join(f"{name} {secs * 1e3:.1f}" for name, secs in top)
        + "."
    )
    rss = peak_rss_mb()
    section.data["peak_rss_mb"] = rss
    section.rows.append(
        Row(
            "4",
            "peak RSS after import + DynamoDB client + 200 AES messages",
            f"{rss:.0f} MB",
        )
    )
    return section
