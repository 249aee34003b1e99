"""The Lambda functions Chalice creates for `app.py`, what the merge adds to them (triggers wired
to the stack's own queues), and their alarms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.cfn.common import alarm, cfn_name, chalice_config, sub
from infra.cfn.queues import queue_logical_id
from infra.resources import APP_NAME, Queue


@dataclass
class FunctionSpec:
    name: str  # Chalice's function name
    logical_id: str
    handler: str
    trigger: str  # "api", "schedule", "sqs", ...
    queue: str | None = None  # SQS: the name given to on_sqs_message(queue=...)
    queue_arn: str | None = None
    stream_arn: str | None = None  # DynamoDB: on_dynamodb_record(stream_arn=...)

    @property
    def event_logical_id(self) -> str:
        return cfn_name(f"{self.name}-{self.trigger}-event-source")


def load_app() -> Any:
    from app import app

    return app


def function_specs(app: Any | None = None) -> list[FunctionSpec]:
    """Every Lambda function Chalice will create for the app, with the names it will give them."""
    from chalice import app as chalice_app

    app = app or load_app()
    specs: list[FunctionSpec] = []
    if app.routes:
        specs.append(FunctionSpec("api_handler", "APIHandler", "app.app", "api"))
    kinds = {
        chalice_app.ScheduledEventConfig: "schedule",
        chalice_app.CloudWatchEventConfig: "cloudwatch",
        chalice_app.SQSEventConfig: "sqs",
        chalice_app.SNSEventConfig: "sns",
        chalice_app.S3EventConfig: "s3",
        chalice_app.KinesisEventConfig: "kinesis",
        chalice_app.DynamoDBEventConfig: "dynamodb",
    }
    for source in app.event_sources:
        kind = kinds.get(type(source), type(source).__name__)
        spec = FunctionSpec(source.name, cfn_name(source.name), source.handler_string, kind)
        if kind == "sqs":
            spec.queue = source.queue
            spec.queue_arn = source.queue_arn
        if kind == "dynamodb":
            spec.stream_arn = source.stream_arn
        specs.append(spec)
    for pure in getattr(app, "pure_lambda_functions", []):
        specs.append(FunctionSpec(pure.name, cfn_name(pure.name), pure.handler_string, "lambda"))
    return specs


def queue_consumers(functions: list[FunctionSpec], queues: dict[str, Queue]) -> dict[str, list]:
    """Queue name -> the functions its SQS trigger invokes; a trigger must name a declared queue."""
    consumers: dict[str, list[str]] = {}
    for function in functions:
        if function.trigger != "sqs" or function.queue_arn:
            continue
        if function.queue not in queues:
            raise SystemExit(
                f"@app.on_sqs_message(queue={function.queue!r}) in {function.handler} uses a "
                "queue that infra/resources.py QUEUES does not declare: add "
                f"Queue({function.queue!r}) there and run `make infra`"
            )
        consumers.setdefault(function.queue, []).append(function.name)
    return consumers


def _lambda_metric(function: FunctionSpec, name: str, **stat: Any) -> dict[str, Any]:
    return {
        "Namespace": "AWS/Lambda",
        "MetricName": name,
        "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function.logical_id}}],
        **(stat or {"Statistic": "Sum"}),
    }


def event_override(function: FunctionSpec, properties: dict[str, Any]) -> dict[str, Any]:
    """A merge fragment that sets properties of the function's (only) Chalice event source."""
    return {"Properties": {"Events": {function.event_logical_id: {"Properties": properties}}}}


def sqs_trigger(function: FunctionSpec, queues: dict[str, Queue]) -> dict[str, Any]:
    # Chalice writes {"Fn::Sub": "arn:...:<name>"} and the merge is a deep merge, so only
    # the Fn::Sub string can be replaced; this one makes the trigger wait for the queue.
    queue_arn = sub(f"${{{queue_logical_id(queues[function.queue])}.Arn}}")
    # Partial batch responses: a handler returns `batchItemFailures` for the messages
    # it keeps on the queue (the campaign sender holds chunks while the template quota
    # is spent), and Lambda deletes only the others.
    return event_override(
        function, {"Queue": queue_arn, "FunctionResponseTypes": ["ReportBatchItemFailures"]}
    )


def function_resources(functions: list[FunctionSpec], queues: dict[str, Queue]) -> dict[str, Any]:
    """Trigger overrides and alarms for every function; the API function's own alarms."""
    res: dict[str, Any] = {}
    for function in functions:
        if function.trigger == "sqs" and not function.queue_arn:
            res[function.logical_id] = sqs_trigger(function, queues)
        res[function.logical_id + "ErrorsAlarm"] = alarm(
            f"{function.handler} raised or timed out",
            _lambda_metric(function, "Errors"),
            1,
        )
        if function.trigger == "api":
            res |= _api_function_alarms(function)
    return res


def _api_function_alarms(function: FunctionSpec) -> dict[str, Any]:
    res: dict[str, Any] = {
        "APIHandlerThrottlesAlarm": alarm(
            "The API function was throttled (WeChat gets no answer)",
            _lambda_metric(function, "Throttles"),
            1,
        ),
    }
    log_group = cfn_name("api_handler-log-group")
    if chalice_config().get("log_retention_in_days"):
        # Chalice 1.34 renames the API function to APIHandler but still points its log
        # group at ${ApiHandler}, which does not exist.
        res[log_group] = {"Properties": {"LogGroupName": sub("/aws/lambda/${APIHandler}")}}
    res["StoreFailedMetricFilter"] = {
        "Type": "AWS::Logs::MetricFilter",
        **({"DependsOn": [log_group]} if log_group in res else {}),
        "Properties": {
            "LogGroupName": sub("/aws/lambda/${APIHandler}"),
            "FilterPattern": '"callback.store_failed"',
            "MetricTransformations": [
                {
                    "MetricNamespace": sub(f"{APP_NAME}-${{Stage}}"),
                    "MetricName": "CallbackStoreFailed",
                    "MetricValue": "1",
                }
            ],
        },
    }
    res["StoreFailedAlarm"] = alarm(
        "The callback could not store a message (replay it from the logged line)",
        {
            "Namespace": sub(f"{APP_NAME}-${{Stage}}"),
            "MetricName": "CallbackStoreFailed",
            "Statistic": "Sum",
        },
        1,
    )
    return res
