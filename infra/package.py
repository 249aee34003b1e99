"""`make package`: build the Lambda artifact and its CloudFormation template, then prove both.

    python infra/package.py [--stage dev] [--out build/package] [--vendor-sdk] [--json FILE]

1. checks that infra/template.json and .chalice/policy-*.json match the code (infra/build.py);
2. pins the merge template to the stage and runs `chalice package --pkg-format cloudformation
   --merge-template` (Chalice downloads manylinux wheels for the Lambda runtime and the
   configured architecture, arm64, from PyPI); on a machine of another architecture, once more
   for this machine's (the twin the proof imports, infra/pack/twin.py);
3. slims the zip: drops what the Lambda Python runtime already provides (boto3, botocore and their
   pure-Python dependencies; `--vendor-sdk` keeps them) and the test suites wheels ship, and adds
   bytecode compiled for the runtime (/var/task is read-only, so Lambda cannot cache .pyc itself
   and would recompile every module on every cold start);
4. runs cfn-lint on the merged template;
5. unzips the artifact into a fresh directory and imports `app` there (or in its twin, after
   checking that the twin holds the same files and each tree's shared objects are ELFs for its
   architecture) with a clean sys.path (the standard library, the unzipped tree, then a
   stand-in for the runtime's boto3/botocore), resolves every handler the template names, loads
   the C extensions from the tree, checks that every schedule, queue and stream trigger and
   every route of the app is in the template, and times the cold import;
6. prints a summary: lint, import check, functions with their triggers, sizes, import times.

Chalice packages a snapshot of the project in <out>/project (its cache of dependencies stays
there). Exit status 0 only when every check passes. Nothing is cached outside the repo's ignored
dirs: pip's cache goes to build/pip-cache.
"""

from __future__ import annotations

import argparse
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
    extract,
    runtime_standin,
    sizes,
    slim,
    timed_import,
    tree_size,
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
from infra.pack.twin import compare_trees, host_architecture, lambda_architecture  # noqa: E402

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
    report.architecture = lambda_architecture(stage)
    host = host_architecture()
    twin = report.architecture != host
    # What runs on this machine: the artifact itself or, built for another architecture, its
    # twin for this one (infra/pack/twin.py); timings and the import proof use it.
    host_original = original
    if twin:
        twin_project = snapshot_project(out_root.resolve() / f"project-{host}", architecture=host)
        run_chalice_package(twin_project, stage, merge_path, out / "twin-out")
        host_original = out / "twin-out" / "deployment.zip"
        clock.lap(report, f"chalice package ({host} twin)")
    chalice_default = sizes(original, "chalice default (SDK vendored, no .pyc)")
    if compare:
        chalice_default.import_ms = timed_import(host_original, out / "chalice-unzipped", runtime)
    report.artifacts.append(chalice_default)

    timing = runtime if compare else None
    report.dropped, without_pyc = slim(
        original, zip_path, out / "slim", vendor_sdk, None if twin else timing
    )
    host_zip = zip_path
    if twin:
        host_zip = out / "twin-deployment.zip"
        _, twin_without_pyc = slim(host_original, host_zip, out / "twin-slim", vendor_sdk, timing)
        without_pyc.import_ms = twin_without_pyc.import_ms
    clock.lap(report, "slim + compile")

    report.lint_ok, report.lint_output = lint(template_path)
    if not report.lint_ok:
        report.problems.append("cfn-lint reported findings")
    clock.lap(report, "cfn-lint")

    # The proof runs on a fresh unzip of exactly what Lambda will get (or of its twin, which
    # must hold the same files).
    tree = out / "artifact"
    extract(zip_path, tree)
    shipped = Artifact(
        f"shipped ({'SDK vendored' if vendor_sdk else 'SDK from the runtime'}, .pyc)",
        zip_path.stat().st_size,
        *tree_size(tree),
    )
    proof_tree = tree
    if twin:
        proof_tree = out / "twin"
        extract(host_zip, proof_tree)
        report.problems += compare_trees(tree, proof_tree, report.architecture, host)
    report.proof_tree = str(proof_tree)
    shipped.import_ms = cold_import_ms(proof_tree, runtime)
    report.artifacts += [shipped, without_pyc]
    template = json.loads(template_path.read_text())
    report.functions = template_functions(template)
    for function in report.functions:
        if function["architectures"] != [report.architecture]:
            report.problems.append(
                f"{function['logical_id']} runs on {function['architectures']}, "
                f"the artifact is built for {report.architecture}"
            )
    prove(report, proof_tree, runtime)
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
