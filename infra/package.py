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
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infra import build  # noqa: E402
from infra.pack.artifact import (  # noqa: E402
    MAX_UNZIPPED,
    MAX_ZIPPED,
    dropper,
    extract,
    measure,
    runtime_standin,
    tree_size,
    write_zip,
)
from infra.pack.chalice_run import (  # noqa: E402
    pypi_reachable,
    run_chalice_package,
    snapshot_project,
    stage_template,
)
from infra.pack.proof import cold_import_ms, prove  # noqa: E402
from infra.pack.report import Artifact, Report, summary  # noqa: E402
from infra.pack.template_check import cross_check, lint, template_functions  # noqa: E402

DEFAULT_OUT = ROOT / "build" / "package"


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
