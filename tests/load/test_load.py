"""CI-sized load on the local stack: nothing lost, nothing logged twice, no 5xx, retries agree.

The long form is `make soak` (60 s, 16 clients). Figures land in test-artifacts/load.json.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests import stack as local_stack
from tests.load import loadgen

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_load_with_retries_loses_nothing():
    seconds = float(os.environ.get("WXLESS_LOAD_SECONDS", "8"))
    clients = int(os.environ.get("WXLESS_LOAD_CLIENTS", "8"))
    stack = local_stack.start()
    try:
        rss_before = local_stack.rss_kb(stack.app_pid())
        result = loadgen.run(stack.base, seconds=seconds, clients=clients)
        rss_after = local_stack.rss_kb(stack.app_pid())
        report = loadgen.summary(result, seconds)
        counts = loadgen.logged_ids(stack.aws_endpoint, "wxless-dev-messages", set(result.sent))
    finally:
        stack.stop()
    report.update(
        rss_before_kb=rss_before,
        rss_after_kb=rss_after,
        lost=sum(1 for c in counts.values() if c == 0),
    )
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "load.json").write_text(json.dumps(report, indent=2))

    assert report["requests"] > 50, report
    assert report["5xx"] == 0, report
    assert report["transport_errors"] == 0, report
    assert report["retry_mismatch"] == 0, report
    assert report["statuses"].get(403, 0) == result.forged, report
    assert report["lost"] == 0, report
    assert all(c == 1 for c in counts.values()), report
