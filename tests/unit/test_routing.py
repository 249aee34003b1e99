"""Admin routes come from a manifest and load their module on first use (handlers/routing.py)."""

from __future__ import annotations

import json
import subprocess
import sys

from chalicelib.handlers import routing
from tests.conftest import ROOT

_PROBE = """
import json, sys
import app
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("chalicelib", "regex")))))
"""


def _modules_after_import_app() -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cold_start_imports_no_admin_page_cms_or_job_module():
    loaded = _modules_after_import_app()
    assert "chalicelib.handlers.callback" in loaded
    lazy = [m for m in loaded if m.split(".")[-1] in routing.LAZY_MODULES]
    jobs = [
        m for m in loaded if m.startswith("chalicelib.jobs.") and m != "chalicelib.jobs.schedules"
    ]
    content = (
        "chalicelib.store.articles",
        "chalicelib.store.media",
        "chalicelib.cms.sanitize",
        "chalicelib.cms.replies",
        "chalicelib.media",
    )
    cms = [m for m in loaded if m.startswith(content)]
    assert lazy == [] and jobs == [] and cms == []
    # Loaded on first use too: the admin gate, the access modules and the throttle behind it
    # (first admin request), the `regex` package (first regex rule or flow pattern), the points
    # of service (first location).
    on_first_use = (
        "chalicelib.handlers.gate",
        "chalicelib.handlers.common",
        "chalicelib.access",
        "chalicelib.store.throttle",
        "chalicelib.engine.geo",
        "regex",
    )
    assert [m for m in loaded if m.startswith(on_first_use)] == []


def test_manifest_matches_the_modules():
    # Also part of `infra/build.py --check` (test_infra); here with a readable diff.
    manifest = json.loads(routing.MANIFEST_PATH.read_text(encoding="utf-8"))
    assert manifest["fingerprint"] == routing.fingerprint()
    assert manifest["routes"] == routing.scan(), (
        "stale chalicelib/handlers/admin_routes.json: run `make infra`"
    )


def test_every_admin_route_of_the_app_is_lazy_and_answers(client):
    from app import app

    lazy = {
        (path, method)
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if entry.view_function.__qualname__.split(".")[0] in routing.LAZY_MODULES
    }
    assert len(lazy) == len(routing.scan())
    # The first call imports the module and answers through it (auth included).
    assert client.http.get("/admin/rules").status_code == 401


def test_a_stale_manifest_falls_back_to_the_modules_outside_lambda(tmp_path, monkeypatch):
    stale = tmp_path / "admin_routes.json"
    stale.write_text('{"fingerprint": "old", "routes": []}', encoding="utf-8")
    monkeypatch.setattr(routing, "MANIFEST_PATH", stale)
    monkeypatch.delenv("LAMBDA_TASK_ROOT", raising=False)
    assert routing.manifest_routes() == routing.scan()
    monkeypatch.setenv("LAMBDA_TASK_ROOT", "/var/task")  # Lambda trusts the packaged manifest
    assert routing.manifest_routes() == []
