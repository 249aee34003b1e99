"""`make package`: build the Lambda artifact and its CloudFormation template, then prove both.

    python infra/package.py [--stage dev] [--out build/package] [--vendor-sdk] [--json FILE]

1. checks that infra/template.json and .chalice/policy-*.json match the code (infra/build.py);
2. pins the merge template to the stage and runs `chalice package --pkg-format cloudformation
   --merge-template` (Chalice downloads manylinux wheels for the Lambda runtime from PyPI);
3. slims the zip: drops what the Lambda Python runtime already provides (boto3, botocore and their
   pure-Python dependencies; `--vendor-sdk` keeps them) and the test suites wheels ship, and adds
   bytecode compiled for the runtime (/var/task is read-only, so Lambda cannot cache .pyc itself
   and would recompile every module on every cold start);
4. runs cfn-lint on the merged template;
5. unzips the artifact into a fresh directory and imports `app` there with a clean sys.path (the
   standard library, the unzipped tree, then a stand-in for the runtime's boto3/botocore), resolves
   every handler the template names, loads the C extensions from the tree, checks that every
   schedule and queue trigger of the app is in the template, and times the cold import;
6. prints a summary: lint, import check, functions with their triggers, sizes, import times.

Chalice packages a snapshot of the project in <out>/project (its cache of dependencies stays
there). Exit status 0 only when every check passes. Nothing is cached outside the repo's ignored
dirs: pip's cache goes to build/pip-cache.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.metadata
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infra import build  # noqa: E402

# Distributions the Lambda Python runtime ships (in /var/runtime, after /var/task on sys.path).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six")
# Test code inside wheels: never imported by the app.
TEST_SUITES = ("Crypto/SelfTest/", "regex/tests/")
# C extensions that must come from the artifact (manylinux wheels for the runtime). pycryptodome
# loads its shared libraries by path from its own package directory, so AES stands for them.
NATIVE_MODULES = ("ahocorasick", "regex._regex", "Crypto.Cipher.AES", "nh3")
# Lambda's limits for a zip uploaded through S3.
MAX_ZIPPED = 50 * 1024 * 1024
MAX_UNZIPPED = 250 * 1024 * 1024
IMPORT_RUNS = 3
DEFAULT_OUT = ROOT / "build" / "package"


@dataclass
class Artifact:
    label: str
    zipped: int
    unzipped: int
    files: int
    import_ms: float | None = None


@dataclass
class Report:
    stage: str
    template: str
    zip_path: str
    vendor_sdk: bool
    lint_ok: bool = False
    lint_output: str = ""
    import_ok: bool = False
    functions: list[dict[str, Any]] = field(default_factory=list)
    app_event_sources: list[dict[str, Any]] = field(default_factory=list)
    native: dict[str, str] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)
    artifacts: list[Artifact] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "ok": self.ok}, indent=2, ensure_ascii=False)


# -- network ---------------------------------------------------------------------------------


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


# -- steps -----------------------------------------------------------------------------------


def stage_template(stage: str) -> dict[str, Any]:
    """The committed merge template, with Stage pinned: a stack built from this package only
    accepts the stage whose policy and names it carries."""
    template = json.loads(build.TEMPLATE_PATH.read_text())
    template["Parameters"]["Stage"]["AllowedValues"] = [stage]
    template["Parameters"]["Stage"]["Default"] = stage
    # With the stage pinned, Protected is a constant: fold it (cfn-lint flags dead branches).
    protected = stage in build.resources.PROTECTED_STAGES
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


def snapshot_project(dest: Path) -> Path:
    """Copy what Chalice reads into `dest`. Packaging the copy is immune to edits made meanwhile,
    and Chalice's cache (one zip per state of the sources, in .chalice/deployments) stays in
    build/ and is not shared by concurrent runs, which could read each other's half-written zip."""
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


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_files(archive: zipfile.ZipFile) -> tuple[set[str], set[str]]:
    """Paths (and dist-info prefixes) in the zip that belong to RUNTIME_PROVIDED distributions."""
    wanted = {_canonical(n) for n in RUNTIME_PROVIDED}
    paths: set[str] = set()
    prefixes: set[str] = set()
    for name in archive.namelist():
        match = re.fullmatch(r"([^/]+)-[^/-]+\.dist-info/RECORD", name)
        if not match or _canonical(match.group(1)) not in wanted:
            continue
        prefixes.add(name.rsplit("/", 1)[0] + "/")
        for line in archive.read(name).decode().splitlines():
            path = line.rsplit(",", 2)[0]
            if path:
                paths.add(path)
    return paths, prefixes


def extract(archive_path: Path, dest: Path, keep: Any = None) -> dict[str, int]:
    """Unzip with file modes; `keep(name)` returns a reason to drop a file, or None."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    dropped: dict[str, int] = {}
    with zipfile.ZipFile(archive_path) as archive:
        for info in archive.infolist():
            reason = keep(info.filename) if keep else None
            if reason:
                dropped[reason] = dropped.get(reason, 0) + info.file_size
                continue
            target = archive.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                os.chmod(target, mode)
    return dropped


def write_zip(tree: Path, archive_path: Path) -> None:
    """Deterministic zip: sorted entries, fixed timestamps, world-readable files (Lambda runs the
    code as another user)."""
    archive_path.unlink(missing_ok=True)
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(tree).as_posix(), (1980, 1, 1, 0, 0, 0))
            mode = (path.stat().st_mode & 0o777) | 0o444
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def tree_size(tree: Path) -> tuple[int, int]:
    files = [p for p in tree.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def runtime_standin(dest: Path) -> Path:
    """Symlinks to this machine's copies of the runtime-provided packages (the Lambda runtime
    has its own, usually older, versions in /var/runtime)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in RUNTIME_PROVIDED:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if ".." not in Path(str(f)).parts}
        for top in tops:
            if top.endswith((".dist-info", ".data")) or top == "__pycache__":
                continue
            source = Path(dist.locate_file(top))
            if source.exists() and not (dest / top).exists():
                (dest / top).symlink_to(source)
    return dest


def lint(template: Path) -> tuple[bool, str]:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    region = os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    done = subprocess.run(
        [str(cfn_lint), "--regions", region, "--", str(template)],
        capture_output=True,
        text=True,
    )
    return done.returncode == 0, (done.stdout + done.stderr).strip()


# The import check runs in a fresh interpreter: -I (no user site, no PYTHON* variables, no cwd),
# -S (no site-packages), -B (no .pyc written into the tree, as on Lambda's read-only /var/task).
CHECK_SCRIPT = r"""
import importlib, json, pathlib, sys, sysconfig, time
tree, runtime, mode = sys.argv[1], sys.argv[2], sys.argv[3]
sys.path[:0] = [tree] + ([runtime] if runtime else [])
started = time.perf_counter()
import app as app_module
out = {"import_ms": (time.perf_counter() - started) * 1000}
if mode == "check":
    handlers, natives = json.loads(sys.argv[4]), json.loads(sys.argv[5])
    out["handlers"] = {}
    for handler in handlers:
        module_name, _, attr = handler.rpartition(".")
        try:
            target = importlib.import_module(module_name)
            for part in attr.split("."):
                target = getattr(target, part)
            out["handlers"][handler] = "ok" if callable(target) else "not callable"
        except Exception as exc:
            out["handlers"][handler] = f"{type(exc).__name__}: {exc}"
    out["native"] = {}
    for name in natives:
        try:
            out["native"][name] = importlib.import_module(name).__file__
        except Exception as exc:
            out["native"][name] = f"{type(exc).__name__}: {exc}"
    # The C extensions work, not just load.
    smoke = {}
    try:
        import ahocorasick
        automaton = ahocorasick.Automaton()
        automaton.add_word("余额", 1)
        automaton.make_automaton()
        smoke["ahocorasick"] = [v for _, v in automaton.iter("查余额")] == [1]
        import regex
        smoke["regex"] = regex.search(r"\p{Han}+", "ab余额").group() == "余额"
        from Crypto.Cipher import AES
        box = AES.new(b"k" * 32, AES.MODE_CBC, b"i" * 16)
        smoke["aes"] = AES.new(b"k" * 32, AES.MODE_CBC, b"i" * 16).decrypt(
            box.encrypt(b"x" * 16)) == b"x" * 16
        import nh3
        smoke["nh3"] = nh3.clean("<b>x</b><script>y</script>") == "<b>x</b>"
    except Exception as exc:
        smoke["error"] = f"{type(exc).__name__}: {exc}"
    out["smoke"] = smoke
    # Every Python extension module in the tree imports here (a wheel for another platform or
    # Python would not). pycryptodome's libraries are plain shared objects it loads with ctypes.
    extensions = {}
    for path in sorted(pathlib.Path(tree).rglob("*.so")):
        parts = path.relative_to(tree).parts
        module = ".".join(parts[:-1] + (parts[-1].split(".")[0],))
        try:
            importlib.import_module(module)
            extensions[module] = "ok"
        except ImportError as exc:
            plain = "module export function" in str(exc)
            extensions[module] = "shared library" if plain else f"ImportError: {exc}"
    out["extensions"] = extensions
    sources = []
    for source in app_module.app.event_sources:
        item = {"type": type(source).__name__, "name": source.name,
                "handler": source.handler_string}
        expression = getattr(source, "schedule_expression", None)
        if expression is not None:
            item["schedule"] = expression if isinstance(expression, str) else expression.to_string()
        if getattr(source, "queue", None) or getattr(source, "queue_arn", None):
            item["queue"] = source.queue or source.queue_arn
        sources.append(item)
    out["event_sources"] = sources
    allowed = [tree, runtime or tree, sysconfig.get_paths()["stdlib"],
               sysconfig.get_paths()["platstdlib"]]
    out["foreign_modules"] = sorted(
        name for name, module in list(sys.modules.items())
        if getattr(module, "__file__", None)
        and not any(module.__file__.startswith(p) for p in allowed)
    )
print(json.dumps(out))
"""


def run_check(
    tree: Path, runtime: Path | None, mode: str, *extra: str, timeout: float = 120
) -> dict[str, Any]:
    command = [sys.executable, "-I", "-S", "-B", "-c", CHECK_SCRIPT, str(tree)]
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


def template_functions(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every function of the merged template with its handler and triggers."""
    resources = template["Resources"]
    routes = 0
    body = resources.get("RestAPI", {}).get("Properties", {}).get("DefinitionBody", {})
    for methods in body.get("paths", {}).values():
        routes += sum(1 for m in methods if m != "parameters")
    functions = []
    for logical, resource in sorted(resources.items()):
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        triggers = []
        if logical == "APIHandler":
            triggers.append({"type": "api", "detail": f"API Gateway, {routes} routes"})
        for event in (props.get("Events") or {}).values():
            kind, event_props = event["Type"], event.get("Properties", {})
            if kind == "Schedule":
                triggers.append({"type": "schedule", "detail": event_props["Schedule"]})
            elif kind == "SQS":
                triggers.append({"type": "sqs", "detail": _describe(event_props["Queue"])})
            else:
                triggers.append({"type": kind.lower(), "detail": ""})
        functions.append(
            {
                "logical_id": logical,
                "handler": props["Handler"],
                "timeout": props.get("Timeout"),
                "memory": props.get("MemorySize"),
                "triggers": triggers,
            }
        )
    return functions


def _queue_resource(value: Any) -> str | None:
    """The logical id of the queue an SQS trigger reads, when the stack creates it."""
    match = (
        re.fullmatch(r"\$\{(\w+)\.Arn\}", value.get("Fn::Sub", ""))
        if isinstance(value, dict)
        else None
    )
    return match.group(1) if match else None


def _describe(value: Any) -> str:
    logical = _queue_resource(value)
    return f"queue {logical}" if logical else json.dumps(value)


def cross_check(report: Report, template: dict[str, Any], merge: dict[str, Any]) -> None:
    """The merged template against the app as imported from the artifact."""
    resources = template["Resources"]
    for logical in merge["Resources"]:
        if "Type" not in resources.get(logical, {}):
            report.problems.append(
                f"merge template overrides {logical}, which chalice package did not create"
            )
    by_handler: dict[str, list[dict[str, Any]]] = {}
    for function in report.functions:
        by_handler.setdefault(function["handler"], []).append(function)
    for source in report.app_event_sources:
        found = [t for f in by_handler.get(source["handler"], []) for t in f["triggers"]]
        if source["type"] == "ScheduledEventConfig":
            if not any(
                t["type"] == "schedule" and t["detail"] == source["schedule"] for t in found
            ):
                report.problems.append(f"schedule {source['name']} ({source['schedule']}) missing")
        elif source["type"] == "SQSEventConfig":
            if not any(t["type"] == "sqs" for t in found):
                report.problems.append(f"queue trigger {source['name']} missing from the template")
            for trigger in (t for t in found if t["type"] == "sqs"):
                queue = trigger["detail"].removeprefix("queue ")
                if resources.get(queue, {}).get("Type") != "AWS::SQS::Queue":
                    report.problems.append(
                        f"queue trigger {source['name']} reads {trigger['detail']}, "
                        "which the stack does not create"
                    )
        elif not found:
            report.problems.append(f"{source['type']} {source['name']} missing from the template")
    for function in resources.values():
        if function.get("Type") != "AWS::IAM::Role":
            continue
        for policy in function["Properties"].get("Policies", []):
            report.problems += build.wildcard_findings(policy["PolicyDocument"])


# -- the whole run ---------------------------------------------------------------------------


def package(
    stage: str,
    out_root: Path = DEFAULT_OUT,
    *,
    vendor_sdk: bool = False,
    compare: bool = True,
    artifact: bool = True,
) -> Report:
    """The whole run. `compare=False` skips timing the variants that are not shipped;
    `artifact=False` stops after the template (chalice package, cfn-lint, cross-checks)."""
    clock = Clock()
    out = out_root.resolve() / stage
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    stale = build.stale()
    if stale:
        names = ", ".join(str(p.relative_to(ROOT)) for p in stale)
        raise SystemExit(f"stale generated files: {names}; run `make infra` and commit them")

    merge = stage_template(stage)
    merge_path = out / "merge-template.json"
    merge_path.write_text(build.render(merge))
    chalice_out = out / "out"
    project = snapshot_project(out_root.resolve() / "project")
    run_chalice_package(project, stage, merge_path, chalice_out)
    template_path = chalice_out / "sam.json"
    zip_path = chalice_out / "deployment.zip"
    report = Report(stage, str(template_path), str(zip_path), vendor_sdk)
    clock.lap(report, "chalice package")
    if not artifact:
        report.lint_ok, report.lint_output = lint(template_path)
        if not report.lint_ok:
            report.problems.append("cfn-lint reported findings")
        template = json.loads(template_path.read_text())
        report.functions = template_functions(template)
        cross_check(report, template, merge)
        clock.lap(report, "cfn-lint")
        return report

    # Chalice's own zip is kept beside ours for comparison.
    original = out / "chalice-deployment.zip"
    shutil.move(zip_path, original)
    runtime = runtime_standin(out / "runtime-standin")
    report.artifacts.append(measure(original, out / "chalice-unzipped", runtime, compare))
    report.artifacts[-1].label = "chalice default (SDK vendored, no .pyc)"

    slim = out / "slim"
    report.dropped = extract(original, slim, dropper(original, vendor_sdk))
    size, files = tree_size(slim)
    without_pyc = Artifact("same without .pyc", 0, size, files)
    if compare:
        without_pyc.import_ms = cold_import_ms(slim, runtime)
    compileall.compile_dir(
        slim,
        quiet=2,
        workers=0,
        ddir="/var/task",  # tracebacks name the files where Lambda has them
        invalidation_mode=compileall.py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    write_zip(slim, zip_path)
    shutil.rmtree(slim)
    clock.lap(report, "slim + compile")

    report.lint_ok, report.lint_output = lint(template_path)
    if not report.lint_ok:
        report.problems.append("cfn-lint reported findings")
    clock.lap(report, "cfn-lint")

    # The proof runs on a fresh unzip of exactly what Lambda will get.
    tree = out / "artifact"
    shipped = measure(zip_path, tree, runtime, True, keep=True)
    shipped.label = f"shipped ({'SDK vendored' if vendor_sdk else 'SDK from the runtime'}, .pyc)"
    report.artifacts += [shipped, without_pyc]
    template = json.loads(template_path.read_text())
    report.functions = template_functions(template)
    prove(report, tree, runtime)
    cross_check(report, template, merge)
    if zip_path.stat().st_size > MAX_ZIPPED or shipped.unzipped > MAX_UNZIPPED:
        report.problems.append("artifact exceeds Lambda's size limits")
    clock.lap(report, "import check")
    (out / "report.json").write_text(report.to_json())
    return report


class Clock:
    def __init__(self) -> None:
        self.last = time.monotonic()

    def lap(self, report: Report, step: str) -> None:
        now = time.monotonic()
        report.timings[step] = round(now - self.last, 1)
        self.last = now


def dropper(archive_path: Path, vendor_sdk: bool) -> Any:
    with zipfile.ZipFile(archive_path) as archive:
        sdk_paths, sdk_prefixes = runtime_files(archive)

    def drop(name: str) -> str | None:
        if name.startswith(TEST_SUITES):
            return "test suites"
        if not vendor_sdk and (name in sdk_paths or name.startswith(tuple(sdk_prefixes))):
            return "runtime-provided SDK"
        return None

    return drop


def measure(
    archive_path: Path, tree: Path, runtime: Path, timed: bool, *, keep: bool = False
) -> Artifact:
    if not (timed or keep):  # sizes only: the zip's directory has them
        with zipfile.ZipFile(archive_path) as archive:
            infos = [i for i in archive.infolist() if not i.is_dir()]
        size = sum(i.file_size for i in infos)
        return Artifact(archive_path.name, archive_path.stat().st_size, size, len(infos))
    extract(archive_path, tree)
    size, files = tree_size(tree)
    artifact = Artifact(archive_path.name, archive_path.stat().st_size, size, files)
    if timed:
        artifact.import_ms = cold_import_ms(tree, runtime)
    if not keep:
        shutil.rmtree(tree)
    return artifact


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
    report.native = check["native"]
    report.problems += found
    report.import_ok = not found


# -- output ----------------------------------------------------------------------------------


def mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


def summary(report: Report) -> str:
    lines = [f"wxless package, stage {report.stage}", ""]
    rel = os.path.relpath
    lines.append(f"template      {rel(report.template)} (chalice + infra/template.json)")
    lint_text = "clean (0 findings)" if report.lint_ok else "FINDINGS:\n" + report.lint_output
    lines.append(f"cfn-lint      {lint_text}")
    if report.import_ok:
        natives = ", ".join(sorted(report.native))
        modules = sum(1 for v in report.extensions.values() if v == "ok")
        libraries = len(report.extensions) - modules
        lines.append(
            f"import check  ok: app and {len({f['handler'] for f in report.functions})} handlers "
            "from the unzipped artifact with a clean sys.path;\n"
            f"              {modules} extension modules import and {libraries} shared libraries "
            f"are present; {natives} load from the tree and work"
        )
    else:
        lines.append("import check  FAILED")
    lines += ["", "functions"]
    rows = [("logical id", "handler", "trigger")]
    for function in report.functions:
        for i, trigger in enumerate(function["triggers"] or [{"type": "-", "detail": ""}]):
            first = i == 0
            rows.append(
                (
                    function["logical_id"] if first else "",
                    function["handler"] if first else "",
                    f"{trigger['type']} {trigger['detail']}".strip(),
                )
            )
    lines += _table(rows)
    lines += ["", f"artifact      {rel(report.zip_path)}"]
    rows = [("", "zipped", "unzipped", "files", "cold import of app")]
    for artifact in report.artifacts:
        rows.append(
            (
                artifact.label,
                mib(artifact.zipped) if artifact.zipped else "-",
                mib(artifact.unzipped),
                str(artifact.files),
                f"{artifact.import_ms:.0f} ms" if artifact.import_ms else "-",
            )
        )
    lines += _table(rows)
    dropped = ", ".join(f"{k} {mib(v)}" for k, v in sorted(report.dropped.items()))
    lines.append(f"left out      {dropped or 'nothing'} (unzipped)")
    lines.append(
        f"              cold import: median of {IMPORT_RUNS} fresh interpreters, no .pyc written; "
        "boto3/botocore from a stand-in for the runtime"
    )
    lines.append("")
    if report.problems:
        lines.append("PROBLEMS")
        lines += [f"  - {p}" for p in report.problems]
    else:
        steps = ", ".join(f"{k} {v:.0f} s" for k, v in report.timings.items())
        lines.append(f"ok ({steps})")
    return "\n".join(lines)


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="dev", choices=build.STAGES)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--vendor-sdk", action="store_true", help="ship boto3/botocore instead of the runtime's"
    )
    parser.add_argument("--json", type=Path, help="also write the report here")
    args = parser.parse_args(argv)
    reachable, detail = pypi_reachable()
    if not reachable:
        print(f"warning: PyPI unreachable ({detail}); chalice package needs it", file=sys.stderr)
    report = package(args.stage, args.out, vendor_sdk=args.vendor_sdk)
    print(summary(report))
    if args.json:
        args.json.write_text(report.to_json())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
