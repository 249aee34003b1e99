"""Running `chalice package` on a snapshot of the project, with the merge template pinned to the
stage; and whether PyPI (where Chalice gets the Lambda wheels) answers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from infra import build, resources

ROOT = build.ROOT


def index_url() -> str:
    return os.environ.get("PIP_INDEX_URL") or "https://pypi.org/simple/"


def pypi_reachable(timeout: float = 5.0) -> tuple[bool, str]:
    """Whether pip's index answers; checked in a thread so a hanging DNS lookup cannot stall."""
    url = index_url().rstrip("/") + "/pip/"
    if url.startswith("file:"):
        return True, url
    result: list[str] = []

    def probe() -> None:
        try:
            request = urllib.request.Request(url, method="HEAD")
            with urllib.request.urlopen(request, timeout=timeout):
                result.append("")
        except urllib.error.HTTPError:
            result.append("")  # the index answered
        except Exception as exc:  # any failure means unreachable
            result.append(f"{type(exc).__name__}: {exc}")

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 1)
    if not result:
        return False, f"{url}: no answer within {timeout:.0f} s"
    return (False, f"{url}: {result[0]}") if result[0] else (True, url)


def stage_template(stage: str) -> dict[str, Any]:
    """The committed merge template, with Stage pinned: a stack built from this package only
    accepts the stage whose policy and names it carries."""
    template = json.loads(build.TEMPLATE_PATH.read_text())
    template["Parameters"]["Stage"]["AllowedValues"] = [stage]
    template["Parameters"]["Stage"]["Default"] = stage
    # With the stage pinned, Protected is a constant: fold it (cfn-lint flags dead branches).
    protected = stage in resources.PROTECTED_STAGES
    template["Conditions"].pop("Protected", None)
    return _fold(template, "Protected", protected)


def _fold(value: Any, condition: str, truth: bool) -> Any:
    if isinstance(value, dict):
        branches = value.get("Fn::If")
        if len(value) == 1 and isinstance(branches, list) and branches[0] == condition:
            return _fold(branches[1] if truth else branches[2], condition, truth)
        return {k: _fold(v, condition, truth) for k, v in value.items()}
    if isinstance(value, list):
        return [_fold(v, condition, truth) for v in value]
    return value


def chalice_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    env["AWS_EC2_METADATA_DISABLED"] = "true"  # packaging needs no credentials
    env["PIP_CACHE_DIR"] = str(ROOT / "build" / "pip-cache")
    return env


# What `chalice package` reads from a project: it zips app.py, chalicelib/ and vendor/ only.
PROJECT_PATHS = ("app.py", "requirements.txt", "chalicelib", "vendor")


def snapshot_project(dest: Path, architecture: str | None = None) -> Path:
    """Copy what Chalice reads into `dest`. Packaging the copy is immune to edits made meanwhile,
    and Chalice's cache (one zip per state of the sources, in .chalice/deployments) stays in
    build/ and is not shared by concurrent runs, which could read each other's half-written zip.
    `architecture` overrides the config's `lambda_architecture` (the proof's twin)."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in PROJECT_PATHS:
        source, target = ROOT / name, dest / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.exists():
            shutil.copy2(source, target)
    chalice_dir = dest / ".chalice"
    chalice_dir.mkdir(parents=True, exist_ok=True)
    for old in chalice_dir.glob("*.json"):
        old.unlink()
    for config in (ROOT / ".chalice").glob("*.json"):
        shutil.copy2(config, chalice_dir / config.name)
    if architecture is not None:
        config = json.loads((chalice_dir / "config.json").read_text())
        config["lambda_architecture"] = architecture
        for stage in config.get("stages", {}).values():
            stage.pop("lambda_architecture", None)
        (chalice_dir / "config.json").write_text(json.dumps(config, indent=2))
    return dest


def run_chalice_package(project: Path, stage: str, merge_template: Path, out: Path) -> None:
    chalice = Path(sys.executable).with_name("chalice")
    command = [
        str(chalice),
        "--project-dir",
        str(project),
        "package",
        "--stage",
        stage,
        "--pkg-format",
        "cloudformation",
        "--merge-template",
        str(merge_template),
        str(out),
    ]
    done = subprocess.run(command, env=chalice_env(), capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"chalice package failed:\n{done.stdout}{done.stderr}")
    prune_chalice_cache(project)


def prune_chalice_cache(project: Path) -> None:
    """Chalice never deletes a cached zip (~20 MiB each): keep only the newest."""
    zips = sorted(
        (project / ".chalice" / "deployments").glob("*.zip"), key=lambda p: p.stat().st_mtime
    )
    for path in zips[:-1]:
        path.unlink(missing_ok=True)
