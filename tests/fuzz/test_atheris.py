"""Runs the atheris harness for a bounded time, as CI does (the long form is `make soak`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HARNESS = Path(__file__).with_name("atheris_callback.py")


def test_callback_survives_coverage_guided_fuzzing(tmp_path):
    pytest.importorskip("atheris")
    seconds = os.environ.get("WXLESS_FUZZ_SECONDS", "20")
    result = subprocess.run(
        [
            sys.executable,
            str(HARNESS),
            f"-max_total_time={seconds}",
            "-rss_limit_mb=2048",
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
