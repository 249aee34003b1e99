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


def template_functions(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every function of the merged template with its handler and triggers."""
    resources = template["Resources"]
    routes = len(http_api_routes(template))
    functions = []
    for logical, resource in sorted(resources.items()):
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        triggers = []
        if logical == "APIHandler":
            triggers.append({"type": "api", "detail": f"HTTP API, {routes} routes"})
        for event in (props.get("Events") or {}).values():
            kind, event_props = event["Type"], event.get("Properties", {})
            if kind == "Schedule":
                triggers.append({"type": "schedule", "detail": event_props["Schedule"]})
            elif kind == "SQS":
                triggers.append({"type": "sqs", "detail": _describe(event_props["Queue"], "queue")})
            elif kind == "DynamoDB":
                detail = _describe(event_props["Stream"], "stream of")
                triggers.append({"type": "dynamodb", "detail": detail})
            else:
                triggers.append({"type": kind.lower(), "detail": ""})
        functions.append(
            {
                "logical_id": logical,
                "handler": props["Handler"],
                "timeout": props.get("Timeout"),
                "memory": props.get("MemorySize"),
                "architectures": props.get("Architectures"),
                "triggers": triggers,
            }
        )
    return functions


def http_api_routes(template: dict[str, Any]) -> set[str]:
    """The paths the HTTP API routes (its route keys are `ANY <path>`)."""
    return {
        r["Properties"]["RouteKey"].split(" ", 1)[1]
        for r in template["Resources"].values()
        if r.get("Type") == "AWS::ApiGatewayV2::Route"
    }


def _source_resource(value: Any) -> str | None:
    """The logical id of the queue or table an event source reads, when the stack creates it:
    `${Queue.Arn}` (SQS) or `Fn::GetAtt [Table, StreamArn]` (a DynamoDB stream)."""
    if not isinstance(value, dict):
        return None
    if value.get("Fn::GetAtt", [None, None])[1:] == ["StreamArn"]:
        return value["Fn::GetAtt"][0]
    match = re.fullmatch(r"\$\{(\w+)\.Arn\}", value.get("Fn::Sub", ""))
    return match.group(1) if match else None


def _describe(value: Any, what: str) -> str:
    logical = _source_resource(value)
    return f"{what} {logical}" if logical else json.dumps(value)


# An event source of the app -> (the trigger type in the template, the resource type it must read).
_READS = {
    "SQSEventConfig": ("sqs", "queue ", "AWS::SQS::Queue"),
    "DynamoDBEventConfig": ("dynamodb", "stream of ", "AWS::DynamoDB::Table"),
}


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
        elif source["type"] in _READS:
            kind, prefix, resource_type = _READS[source["type"]]
            if not any(t["type"] == kind for t in found):
                report.problems.append(f"{kind} trigger {source['name']} missing from the template")
            for trigger in (t for t in found if t["type"] == kind):
                read = trigger["detail"].removeprefix(prefix)
                if resources.get(read, {}).get("Type") != resource_type:
                    report.problems.append(
                        f"{kind} trigger {source['name']} reads {trigger['detail']}, "
                        "which the stack does not create"
                    )
        elif not found:
            report.problems.append(f"{source['type']} {source['name']} missing from the template")
    if report.app_routes:
        routed = http_api_routes(template)
        for path in sorted(set(report.app_routes) - routed):
            report.problems.append(f"route {path} has no HTTP API route")
        for path in sorted(routed - set(report.app_routes)):
            report.problems.append(f"HTTP API route {path} is no route of the app")
    for function in resources.values():
        if function.get("Type") != "AWS::IAM::Role":
            continue
        for policy in function["Properties"].get("Policies", []):
            report.problems += wildcard_findings(policy["PolicyDocument"])
