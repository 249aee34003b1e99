"""The merged template checked: cfn-lint, and every function, trigger and policy in it against the
app as imported from the artifact."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra.cfn.iam import wildcard_findings
from infra.pack.report import Report


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
            report.problems += wildcard_findings(policy["PolicyDocument"])
