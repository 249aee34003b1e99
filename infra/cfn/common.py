"""What every piece of the template uses: intrinsic-function helpers, Chalice's naming rule, the
Chalice config (timeouts), and the alarm shape."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
CHALICE_CONFIG_PATH = ROOT / ".chalice" / "config.json"


def sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def arn(service: str, resource: str, *, regional: bool = True) -> dict[str, str]:
    where = "${AWS::Region}:${AWS::AccountId}" if regional else ":"
    return sub(f"arn:${{AWS::Partition}}:{service}:{where}:{resource}")


def cfn_name(name: str) -> str:
    """Chalice's own logical-id rule (CamelCase), so overrides land on its resources."""
    from chalice.utils import to_cfn_resource_name

    return to_cfn_resource_name(name)


def declared_once(declared: Iterable[T], key: Callable[[T], str], what: str) -> dict[str, T]:
    """What infra/resources.py declares, by key; a key declared twice stops the build."""
    found: dict[str, T] = {}
    for item in declared:
        if key(item) in found:
            raise SystemExit(f"{what} {key(item)!r} is declared twice in infra/resources.py")
        found[key(item)] = item
    return found


def chalice_config() -> dict[str, Any]:
    return json.loads(CHALICE_CONFIG_PATH.read_text())


def lambda_timeout(function_name: str) -> int:
    """The longest timeout any stage gives the function (chalice's config precedence)."""
    config = chalice_config()
    top = config.get("lambda_timeout", 60)
    found = [top]
    for stage in config.get("stages", {}).values():
        value = stage.get("lambda_timeout", top)
        per_function = stage.get("lambda_functions", {}).get(function_name, {})
        found.append(per_function.get("lambda_timeout", value))
    return max(found)


def alarm(description: str, metric: dict[str, Any], threshold: float) -> dict[str, Any]:
    """An alarm on one 5-minute period, notifying the AlarmTopicArn parameter when set."""
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": description,
            **metric,
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": threshold,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": {
                "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
            },
        },
    }


def queue_depth_metric(logical_id: str) -> dict[str, Any]:
    """Messages waiting in a queue the stack creates (a dead-letter queue's alarm)."""
    return {
        "Namespace": "AWS/SQS",
        "MetricName": "ApproximateNumberOfMessagesVisible",
        "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [logical_id, "QueueName"]}}],
        "Statistic": "Maximum",
    }
