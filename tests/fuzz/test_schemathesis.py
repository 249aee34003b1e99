"""Schemathesis against /admin/openapi.json on the local stack: every documented admin route,
generated valid and invalid input, no 5xx, and responses that match the documented schemas."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
import warnings
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
    if result.returncode != 0 and only_the_interpreter_bug(output):
        warnings.warn(f"schemathesis met {INTERPRETER_BUG!r}; every case passed", stacklevel=1)
        return
    assert result.returncode == 0, output[-6000:]


# CPython 3.11 before 3.11.9 (gh-106905) may raise this while hypothesis, inside schemathesis,
# parses a module's source to describe a lambda: an error of the tool's run, not of the app.
INTERPRETER_BUG = "AST constructor recursion depth mismatch"


def only_the_interpreter_bug(output: str) -> bool:
    """Every generated case passed, and the run's only errors are runtime errors that are this
    interpreter bug (a failed check, a network or schema error still fails the test)."""
    cases = re.search(r"(\d+) generated, (\d+) passed\s*$", output, re.MULTILINE)
    errors = re.search(r"^Errors:\n((?:  .+\n)+)", output, re.MULTILINE)
    if not cases or cases.group(1) != cases.group(2) or not errors:
        return False
    kinds = re.findall(r"^  \S+ ([^:]+): \d+$", errors.group(1), re.MULTILINE)
    return kinds == ["Runtime Error"] and INTERPRETER_BUG in output
