"""Schemathesis against /admin/openapi.json on the local stack: every documented admin route,
generated valid and invalid input, no 5xx, and responses that match the documented schemas."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests import stack as local_stack
from tests import wxsim

pytestmark = pytest.mark.e2e
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_admin_api_against_its_openapi_document(tmp_path):
    pytest.importorskip("schemathesis")
    stack = local_stack.start()
    try:
        request = urllib.request.Request(
            f"{stack.base}/admin/openapi.json", headers={"Authorization": f"Bearer {wxsim.ADMIN}"}
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            schema = json.loads(resp.read())
        schema_file = tmp_path / "openapi.json"
        schema_file.write_text(json.dumps(schema))
        ARTIFACTS.mkdir(exist_ok=True)
        result = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "run",
                str(schema_file),
                "--url",
                stack.base,
                "-H",
                f"Authorization: Bearer {wxsim.ADMIN}",
                "--checks",
                "not_a_server_error,response_schema_conformance,content_type_conformance",
                "--max-examples",
                os.environ.get("WXLESS_SCHEMATHESIS_EXAMPLES", "8"),
                "--max-time",
                os.environ.get("WXLESS_SCHEMATHESIS_SECONDS", "120"),
                "--phases",
                "examples,coverage,fuzzing",
                "--workers",
                "2",
                "--seed",
                "20261123",
                "--generation-database",
                "none",
                "--request-timeout",
                "15",
                "--no-color",
                "--report",
                "junit",
                "--report-junit-path",
                str(ARTIFACTS / "schemathesis.xml"),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        stack.stop()
    output = result.stdout + result.stderr
    (ARTIFACTS / "schemathesis.txt").write_text(output)
    assert result.returncode == 0, output[-6000:]
