"""Runs the atheris harness for a bounded time, as CI does (the long form is `make soak`)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).with_name("atheris_callback.py")
HARNESS_RSS_MB = 2048


def rss_limit_mb() -> int:
    """libFuzzer judges memory by the process's peak RSS (getrusage), and Linux carries that peak
    across fork and exec: a harness started late in a long pytest run inherits pytest's own peak.
    The limit is the harness's allowance on top of what it inherits."""
    inherited_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux
    return inherited_mb + HARNESS_RSS_MB


def test_callback_survives_coverage_guided_fuzzing(tmp_path):
    pytest.importorskip("atheris")
    seconds = os.environ.get("WXLESS_FUZZ_SECONDS", "20")
    result = subprocess.run(
        [
            sys.executable,
            str(HARNESS),
            f"-max_total_time={seconds}",
            f"-rss_limit_mb={rss_limit_mb()}",
            f"-artifact_prefix={tmp_path}/",
        ],
        capture_output=True,
        text=True,
        timeout=int(seconds) + 120,
        cwd=HARNESS.parents[2],
    )
    tail = (result.stdout + result.stderr)[-3000:]
    assert result.returncode == 0, tail
    assert "Done" in tail and "runs in" in tail, tail
