"""The proof: import the app from an unzipped artifact in a clean interpreter
(infra/pack/import_check.py), resolve every handler the template names, load and exercise the
C extensions from the tree, and time the cold import."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra.pack.report import IMPORT_RUNS, Report

# C extensions that must come from the artifact (manylinux wheels for the runtime). pycryptodome
# loads its shared libraries by path from its own package directory, so AES stands for them.
NATIVE_MODULES = ("ahocorasick", "regex._regex", "Crypto.Cipher.AES", "nh3")
CHECK_SCRIPT = Path(__file__).with_name("import_check.py")


def run_check(
    tree: Path, runtime: Path | None, mode: str, *extra: str, timeout: float = 120
) -> dict[str, Any]:
    command = [sys.executable, "-I", "-S", "-B", str(CHECK_SCRIPT), str(tree)]
    command += [str(runtime) if runtime else "", mode, *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=tree)
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip()[-3000:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def cold_import_ms(tree: Path, runtime: Path | None) -> float | None:
    runs = []
    for _ in range(IMPORT_RUNS):
        result = run_check(tree, runtime, "time")
        if "error" in result:
            return None
        runs.append(result["import_ms"])
    return statistics.median(runs)


def prove(report: Report, tree: Path, runtime: Path) -> None:
    """Import the app from the unzipped artifact and resolve everything the template names."""
    handlers = sorted({f["handler"] for f in report.functions})
    check = run_check(
        tree, runtime, "check", json.dumps(handlers), json.dumps(list(NATIVE_MODULES))
    )
    if "error" in check:
        report.problems.append(f"importing app from the artifact failed:\n{check['error']}")
        return
    found = []
    for handler, status in check["handlers"].items():
        if status != "ok":
            found.append(f"handler {handler}: {status}")
    for name, where in check["native"].items():
        if not where.startswith(str(tree)):
            found.append(f"{name} not loaded from the artifact: {where}")
    for name, passed in check["smoke"].items():
        if passed is not True:
            found.append(f"C extension smoke test {name}: {passed}")
    for module, status in check["extensions"].items():
        if status not in ("ok", "shared library"):
            found.append(f"extension {module}: {status}")
    report.extensions = check["extensions"]
    if check["foreign_modules"]:
        found.append(f"modules from outside the artifact: {check['foreign_modules']}")
    report.app_event_sources = check["event_sources"]
    report.app_routes = check["routes"]
    report.native = check["native"]
    report.problems += found
    report.import_ok = not found
