"""`make package` end to end: chalice package, cfn-lint, and the artifact proven by an import.

Needs PyPI (Chalice downloads manylinux wheels for the Lambda runtime); skipped, with the reason,
only when PyPI cannot be reached. dev is packaged and proven in full (without the comparison
timings `make package` prints); prod, whose artifact is the same zip, only up to its template.
The functions run on arm64: on another machine the import proof runs on the artifact's twin for
that machine (infra/pack/twin.py).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from infra import package
from infra.cfn.iam import wildcard_findings
from infra.pack import artifact, chalice_run, proof, twin
from infra.pack.template_check import http_api_routes

pytestmark = pytest.mark.packaging


@pytest.fixture(scope="module")
def pypi() -> None:
    reachable, detail = chalice_run.pypi_reachable(timeout=5)
    if not reachable:
        pytest.skip(f"PyPI unreachable, cannot download Lambda wheels: {detail}")


@pytest.fixture(scope="module")
def report(pypi, tmp_path_factory) -> package.Report:
    return package.package("dev", tmp_path_factory.mktemp("package"), compare=False)


@pytest.fixture(scope="module")
def prod(pypi, tmp_path_factory) -> package.Report:
    return package.package("prod", tmp_path_factory.mktemp("package"), artifact=False)


@pytest.fixture(params=["dev", "prod"])
def any_stage(request) -> package.Report:
    return request.getfixturevalue("report" if request.param == "dev" else "prod")


def _template(report: package.Report) -> dict:
    return json.loads(Path(report.template).read_text())


def test_packaging_passes_every_check(any_stage):
    assert any_stage.problems == [], "\n".join(any_stage.problems)


def test_template_passes_cfn_lint(any_stage):
    assert any_stage.lint_ok, any_stage.lint_output


def test_every_handler_resolves_in_the_unzipped_artifact(report):
    assert report.import_ok
    handlers = {f["handler"] for f in report.functions}
    assert "app.app" in handlers
    # Every native module came from the artifact tree (or its twin for this machine's
    # architecture), not from this machine's site-packages.
    out = Path(report.zip_path).parent.parent
    assert report.proof_tree in (str(out / "artifact"), str(out / "twin"))
    assert set(report.native) == set(proof.NATIVE_MODULES)
    assert all(path.startswith(report.proof_tree + "/") for path in report.native.values())


def test_every_schedule_and_queue_trigger_of_the_app_is_in_the_template(report):
    triggers = {
        (f["handler"], t["type"], t["detail"]) for f in report.functions for t in f["triggers"]
    }
    for source in report.app_event_sources:
        if source["type"] == "ScheduledEventConfig":
            assert (source["handler"], "schedule", source["schedule"]) in triggers
        if source["type"] == "SQSEventConfig":
            assert any(h == source["handler"] and t == "sqs" for h, t, _ in triggers)


def test_role_policy_has_no_wildcard_resource_for_data_services(any_stage):
    template = _template(any_stage)
    roles = [r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role"]
    assert roles
    for role in roles:
        for policy in role["Properties"]["Policies"]:
            assert wildcard_findings(policy["PolicyDocument"]) == []


def test_stack_accepts_only_its_own_stage(any_stage):
    stage = _template(any_stage)["Parameters"]["Stage"]
    assert stage["AllowedValues"] == [any_stage.stage]
    tables = [
        r["Properties"]
        for r in _template(any_stage)["Resources"].values()
        if r["Type"] == "AWS::DynamoDB::Table"
    ]
    assert tables
    assert all(t["DeletionProtectionEnabled"] is (any_stage.stage == "prod") for t in tables)


def test_artifact_is_lean_and_leaves_the_sdk_to_the_runtime(report):
    with zipfile.ZipFile(report.zip_path) as archive:
        names = archive.namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert "botocore" not in tops and "boto3" not in tops
    assert {"app.py", "chalicelib", "pynamodb", "regex", "Crypto"} <= tops
    assert not any(n.startswith(artifact.TEST_SUITES) for n in names)
    assert "app.py" in names and any(n.endswith("cpython-311.pyc") for n in names)
    shipped = next(a for a in report.artifacts if a.label.startswith("shipped"))
    assert shipped.zipped < artifact.MAX_ZIPPED and shipped.unzipped < artifact.MAX_UNZIPPED


def test_every_route_of_the_app_has_its_http_api_route(report):
    template = _template(report)
    assert report.app_routes and set(report.app_routes) == http_api_routes(template)
    integration = template["Resources"]["HttpApiIntegration"]["Properties"]
    assert integration["PayloadFormatVersion"] == "1.0"
    assert template["Outputs"]["CallbackURL"]["Value"]["Fn::Sub"].startswith("https://${HttpApi}.")


def test_every_function_runs_on_arm64_with_aarch64_extensions(report, tmp_path):
    assert report.architecture == "arm64"
    assert {tuple(f["architectures"]) for f in report.functions} == {("arm64",)}
    with zipfile.ZipFile(report.zip_path) as archive:
        shared = [n for n in archive.namelist() if n.endswith(".so")]
        assert len(shared) > 10
        for name in shared:
            (tmp_path / "so").write_bytes(archive.read(name)[:64])
            assert twin.elf_machine(tmp_path / "so") == twin.ELF_MACHINES["arm64"], name
