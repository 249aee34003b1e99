"""Generate the CloudFormation merge template and the per-stage IAM policies from the code.

    python infra/build.py           # rewrite infra/template.json and .chalice/policy-<stage>.json
    python infra/build.py --check   # exit 1 when the committed files are stale (CI: tests/unit)

Sources: tables from `all_models()` (key schema, GSIs/LSIs, TTL attribute), functions, schedules
and queue triggers from `app.py`, queues and secrets from `infra/resources.py`, the media bucket.

`chalice package --merge-template` deep-merges `infra/template.json` (specialised per stage by
infra/package.py) over Chalice's SAM output:
- every table, the media bucket and every queue (with its dead-letter queue);
- `Globals.Function.Environment` wires WXLESS_TABLE_PREFIX, WXLESS_MEDIA_BUCKET, queue URLs and the
  `<NAME>_PARAM` SSM names into every function (kept out of .chalice/config.json so that
  `chalice local --stage dev`, i.e. `make run`, keeps the environment the local runner sets);
- each SQS trigger's queue ARN is replaced with the declared queue's `${Queue.Arn}`, so the event
  source mapping depends on the queue and uses the stage's queue name;
- alarms on function errors, API latency, dead letters and `callback.store_failed`.

The policies are inlined by Chalice into the same template, so they use `Fn::Sub` for the
partition, region, account and stack name; the stage's names are spelled out for review.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infra import resources  # noqa: E402
from infra.resources import APP_NAME, STAGES, Queue  # noqa: E402

TEMPLATE_PATH = ROOT / "infra" / "template.json"
CHALICE_CONFIG_PATH = ROOT / ".chalice" / "config.json"

# What the code does with each data service. Kept to the data plane: no table, bucket or queue
# administration from a function.
DYNAMODB_ACTIONS = [
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
]
S3_OBJECT_ACTIONS = [
    "s3:AbortMultipartUpload",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:PutObject",
]
S3_BUCKET_ACTIONS = ["s3:GetBucketLocation", "s3:ListBucket"]
SQS_ACTIONS = [
    "sqs:ChangeMessageVisibility",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
    "sqs:ReceiveMessage",
    "sqs:SendMessage",
]
LOGS_ACTIONS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
SSM_ACTIONS = ["ssm:GetParameter", "ssm:GetParameters"]

# The WeChat deadline is 5 s; a p99 above this leaves too little room.
API_P99_ALARM_MS = 3000


def sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def arn(service: str, resource: str, *, regional: bool = True) -> dict[str, str]:
    where = "${AWS::Region}:${AWS::AccountId}" if regional else ":"
    return sub(f"arn:${{AWS::Partition}}:{service}:{where}:{resource}")


def cfn_name(name: str) -> str:
    """Chalice's own logical-id rule (CamelCase), so overrides land on its resources."""
    from chalice.utils import to_cfn_resource_name

    return to_cfn_resource_name(name)


# -- tables ----------------------------------------------------------------------------------


@dataclass
class TableSpec:
    suffix: str
    model: str
    attribute_definitions: list[dict[str, str]]
    key_schema: list[dict[str, str]]
    global_indexes: list[dict[str, Any]] = field(default_factory=list)
    local_indexes: list[dict[str, Any]] = field(default_factory=list)
    ttl_attribute: str | None = None
    stream_view_type: str | None = None

    @property
    def logical_id(self) -> str:
        return cfn_name(self.suffix) + "Table"

    def name(self, stage: str) -> str:
        return f"{resources.stage_prefix(stage)}-{self.suffix}"


def _key_schema(items: list[dict[str, str]]) -> list[dict[str, str]]:
    ordered = sorted(items, key=lambda k: k["KeyType"] != "HASH")
    return [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in ordered]


def _index(raw: dict[str, Any]) -> dict[str, Any]:
    projection = raw.get("projection") or raw.get("Projection") or {"ProjectionType": "ALL"}
    out: dict[str, Any] = {
        "IndexName": raw.get("index_name") or raw["IndexName"],
        "KeySchema": _key_schema(raw.get("key_schema") or raw["KeySchema"]),
        "Projection": {"ProjectionType": projection["ProjectionType"]},
    }
    if projection.get("NonKeyAttributes"):
        out["Projection"]["NonKeyAttributes"] = sorted(projection["NonKeyAttributes"])
    return out


def table_specs() -> list[TableSpec]:
    from pynamodb.attributes import TTLAttribute

    from chalicelib.store.models import all_models

    specs: dict[str, TableSpec] = {}
    for model in all_models():
        suffix = getattr(model.Meta, "suffix", None)
        if not suffix:
            raise SystemExit(
                f"{model.__name__}: declare its Meta with chalicelib.store.models.table('<suffix>')"
            )
        if suffix in specs:
            raise SystemExit(f"two models use table suffix {suffix!r}")
        schema = model._get_schema()
        attributes = {
            a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]
        }
        ttl = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
        specs[suffix] = TableSpec(
            suffix=suffix,
            model=model.__name__,
            attribute_definitions=[
                {"AttributeName": n, "AttributeType": t} for n, t in sorted(attributes.items())
            ],
            key_schema=_key_schema(schema["key_schema"]),
            global_indexes=sorted(
                (_index(i) for i in schema.get("global_secondary_indexes") or []),
                key=lambda i: i["IndexName"],
            ),
            local_indexes=sorted(
                (_index(i) for i in schema.get("local_secondary_indexes") or []),
                key=lambda i: i["IndexName"],
            ),
            ttl_attribute=ttl[0] if ttl else None,
            stream_view_type=getattr(model.Meta, "stream_view_type", None),
        )
    return [specs[s] for s in sorted(specs)]


def _table_resource(spec: TableSpec) -> dict[str, Any]:
    props: dict[str, Any] = {
        "TableName": sub(f"{APP_NAME}-${{Stage}}-{spec.suffix}"),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": spec.attribute_definitions,
        "KeySchema": spec.key_schema,
    }
    if spec.global_indexes:
        props["GlobalSecondaryIndexes"] = spec.global_indexes
    if spec.local_indexes:
        props["LocalSecondaryIndexes"] = spec.local_indexes
    if spec.ttl_attribute:
        props["TimeToLiveSpecification"] = {"AttributeName": spec.ttl_attribute, "Enabled": True}
    if spec.stream_view_type:
        props["StreamSpecification"] = {"StreamViewType": spec.stream_view_type}
    props["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    props["DeletionProtectionEnabled"] = {"Fn::If": ["Protected", True, False]}
    props["Tags"] = [{"Key": "wxless:model", "Value": spec.model}]
    return {"Type": "AWS::DynamoDB::Table", "Properties": props}


# -- functions (from app.py) -----------------------------------------------------------------


@dataclass
class FunctionSpec:
    name: str  # Chalice's function name
    logical_id: str
    handler: str
    trigger: str  # "api", "schedule", "sqs", ...
    queue: str | None = None  # SQS: the name given to on_sqs_message(queue=...)
    queue_arn: str | None = None

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
        specs.append(spec)
    for pure in getattr(app, "pure_lambda_functions", []):
        specs.append(FunctionSpec(pure.name, cfn_name(pure.name), pure.handler_string, "lambda"))
    return specs


def _chalice_config() -> dict[str, Any]:
    return json.loads(CHALICE_CONFIG_PATH.read_text())


def lambda_timeout(function_name: str) -> int:
    """The longest timeout any stage gives the function (chalice's config precedence)."""
    config = _chalice_config()
    top = config.get("lambda_timeout", 60)
    found = [top]
    for stage in config.get("stages", {}).values():
        value = stage.get("lambda_timeout", top)
        per_function = stage.get("lambda_functions", {}).get(function_name, {})
        found.append(per_function.get("lambda_timeout", value))
    return max(found)


def _queues_by_name() -> dict[str, Queue]:
    queues: dict[str, Queue] = {}
    for queue in resources.QUEUES:
        if queue.name in queues:
            raise SystemExit(f"queue {queue.name!r} is declared twice in infra/resources.py")
        queues[queue.name] = queue
    return queues


def _queue_logical_id(queue: Queue) -> str:
    return cfn_name(queue.name) + "Queue"


# -- the merge template ----------------------------------------------------------------------


def _protected_condition() -> dict[str, Any]:
    tests = [{"Fn::Equals": [{"Ref": "Stage"}, s]} for s in resources.PROTECTED_STAGES]
    return tests[0] if len(tests) == 1 else {"Fn::Or": tests}


def _alarm(description: str, metric: dict[str, Any], threshold: float) -> dict[str, Any]:
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


def _lambda_metric(function: FunctionSpec, name: str, **stat: Any) -> dict[str, Any]:
    return {
        "Namespace": "AWS/Lambda",
        "MetricName": name,
        "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function.logical_id}}],
        **(stat or {"Statistic": "Sum"}),
    }


def build_template(app: Any | None = None) -> dict[str, Any]:
    tables = table_specs()
    functions = function_specs(app)
    queues = _queues_by_name()
    res: dict[str, Any] = {}

    for spec in tables:
        res[spec.logical_id] = _table_resource(spec)

    res["MediaBucket"] = {
        "Type": "AWS::S3::Bucket",
        "Properties": {
            # Bucket names are global: the account and region keep them unique.
            "BucketName": sub(f"{APP_NAME}-${{Stage}}-media-${{AWS::AccountId}}-${{AWS::Region}}"),
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "LifecycleConfiguration": {
                "Rules": [
                    {
                        "Id": "expire-temporary-uploads",
                        "Status": "Enabled",
                        "Prefix": resources.MEDIA_TEMP_PREFIX,
                        "ExpirationInDays": resources.MEDIA_TEMP_DAYS,
                    },
                    {
                        "Id": "abort-incomplete-multipart-uploads",
                        "Status": "Enabled",
                        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
                    },
                ]
            },
        },
    }
    res["MediaBucketPolicy"] = {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {
            "Bucket": {"Ref": "MediaBucket"},
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyInsecureTransport",
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": [
                            {"Fn::GetAtt": ["MediaBucket", "Arn"]},
                            sub("${MediaBucket.Arn}/*"),
                        ],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                ],
            },
        },
    }

    env: dict[str, Any] = {
        "WXLESS_TABLE_PREFIX": sub(f"{APP_NAME}-${{Stage}}"),
        "WXLESS_MEDIA_BUCKET": {"Ref": "MediaBucket"},
        # Stated, not defaulted: every message reads it, and an unset variable costs the two
        # failed environment lookups of config.get (~1.3 us) per message.
        "WXLESS_TIMEZONE": {"Ref": "Timezone"},
    }
    for name, param in sorted(resources.SSM_PARAMETERS.items()):
        env[f"{name}_PARAM"] = sub(f"/{APP_NAME}/${{Stage}}/{param}")

    # Consumers decide the visibility timeout: at least six times the longest consumer timeout.
    consumers: dict[str, list[FunctionSpec]] = {}
    for function in functions:
        if function.trigger != "sqs" or function.queue_arn:
            continue
        if function.queue not in queues:
            raise SystemExit(
                f"@app.on_sqs_message(queue={function.queue!r}) in {function.handler} uses a "
                "queue that infra/resources.py QUEUES does not declare: add "
                f"Queue({function.queue!r}) there and run `make infra`"
            )
        consumers.setdefault(function.queue, []).append(function)

    for name in sorted(queues):
        queue = queues[name]
        logical = _queue_logical_id(queue)
        timeouts = [lambda_timeout(f.name) for f in consumers.get(name, [])] or [30]
        visibility = queue.visibility_timeout or 6 * max(timeouts)
        res[logical + "DeadLetters"] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": sub(f"{APP_NAME}-${{Stage}}-{name}-dlq"),
                "MessageRetentionPeriod": 14 * 24 * 3600,
                "SqsManagedSseEnabled": True,
            },
        }
        res[logical] = {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": sub(f"{APP_NAME}-${{Stage}}-{name}"),
                "VisibilityTimeout": visibility,
                "MessageRetentionPeriod": queue.retention_seconds,
                "SqsManagedSseEnabled": True,
                "RedrivePolicy": {
                    "deadLetterTargetArn": {"Fn::GetAtt": [logical + "DeadLetters", "Arn"]},
                    "maxReceiveCount": queue.max_receive_count,
                },
            },
        }
        env[resources.queue_env_var(name)] = {"Ref": logical}
        res[logical + "DeadLettersAlarm"] = _alarm(
            f"Messages of queue {name} landed in its dead-letter queue",
            {
                "Namespace": "AWS/SQS",
                "MetricName": "ApproximateNumberOfMessagesVisible",
                "Dimensions": [
                    {
                        "Name": "QueueName",
                        "Value": {"Fn::GetAtt": [logical + "DeadLetters", "QueueName"]},
                    }
                ],
                "Statistic": "Maximum",
            },
            1,
        )

    for function in functions:
        if function.trigger == "sqs" and not function.queue_arn:
            # Chalice writes {"Fn::Sub": "arn:...:<name>"} and the merge is a deep merge, so only
            # the Fn::Sub string can be replaced; this one makes the trigger wait for the queue.
            queue_arn = sub(f"${{{_queue_logical_id(queues[function.queue])}.Arn}}")
            # Partial batch responses: a handler returns `batchItemFailures` for the messages
            # it keeps on the queue (the campaign sender holds chunks while the template quota
            # is spent), and Lambda deletes only the others.
            event = {"Queue": queue_arn, "FunctionResponseTypes": ["ReportBatchItemFailures"]}
            res[function.logical_id] = {
                "Properties": {"Events": {function.event_logical_id: {"Properties": event}}}
            }
        res[function.logical_id + "ErrorsAlarm"] = _alarm(
            f"{function.handler} raised or timed out",
            _lambda_metric(function, "Errors"),
            1,
        )
        if function.trigger == "api":
            res["APIHandlerThrottlesAlarm"] = _alarm(
                "The API function was throttled (WeChat gets no answer)",
                _lambda_metric(function, "Throttles"),
                1,
            )
            res["APIHandlerLatencyAlarm"] = _alarm(
                f"p99 duration of the API function above {API_P99_ALARM_MS} ms "
                "(WeChat gives up after 5 s)",
                _lambda_metric(function, "Duration", ExtendedStatistic="p99"),
                API_P99_ALARM_MS,
            )
            log_group = cfn_name("api_handler-log-group")
            if _chalice_config().get("log_retention_in_days"):
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
            res["StoreFailedAlarm"] = _alarm(
                "The callback could not store a message (replay it from the logged line)",
                {
                    "Namespace": sub(f"{APP_NAME}-${{Stage}}"),
                    "MetricName": "CallbackStoreFailed",
                    "Statistic": "Sum",
                },
                1,
            )

    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "wxless: tables, media bucket, queues, alarms (merged into chalice package)",
        "Parameters": {
            "Stage": {
                "Type": "String",
                "AllowedValues": list(STAGES),
                "Description": "Chalice stage; infra/package.py pins it to the packaged stage",
            },
            "Timezone": {
                "Type": "String",
                "Default": "Asia/Shanghai",
                "Description": "WXLESS_TIMEZONE: the zone of analytics dates (IANA name or +08:00)",
            },
            "AlarmTopicArn": {
                "Type": "String",
                "Default": "",
                "Description": "SNS topic for alarm notifications (empty: alarms without action)",
            },
        },
        "Conditions": {
            "Protected": _protected_condition(),
            "HasAlarmTopic": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]},
        },
        "Globals": {"Function": {"Environment": {"Variables": env}}},
        "Resources": res,
        "Outputs": {
            "TablePrefix": {"Value": env["WXLESS_TABLE_PREFIX"]},
            "MediaBucketName": {"Value": {"Ref": "MediaBucket"}},
        },
    }


# -- IAM policies ----------------------------------------------------------------------------


def media_bucket_name(stage: str) -> str:
    """The bucket name with the account and region left as `${AWS::...}` placeholders."""
    return f"{APP_NAME}-{stage}-media-${{AWS::AccountId}}-${{AWS::Region}}"


def build_policy(stage: str) -> dict[str, Any]:
    prefix = resources.stage_prefix(stage)
    tables: list[Any] = []
    for spec in table_specs():
        name = spec.name(stage)
        tables.append(arn("dynamodb", f"table/{name}"))
        if spec.global_indexes or spec.local_indexes:
            tables.append(arn("dynamodb", f"table/{name}/index/*"))
    bucket = media_bucket_name(stage)
    log_group = "log-group:/aws/lambda/${AWS::StackName}-*"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": LOGS_ACTIONS,
            "Resource": [arn("logs", log_group), arn("logs", f"{log_group}:log-stream:*")],
        },
        {"Sid": "Tables", "Effect": "Allow", "Action": DYNAMODB_ACTIONS, "Resource": tables},
        {
            "Sid": "MediaObjects",
            "Effect": "Allow",
            "Action": S3_OBJECT_ACTIONS,
            "Resource": [arn("s3", f"{bucket}/*", regional=False)],
        },
        {
            "Sid": "MediaBucket",
            "Effect": "Allow",
            "Action": S3_BUCKET_ACTIONS,
            "Resource": [arn("s3", bucket, regional=False)],
        },
    ]
    if resources.QUEUES:
        statements.append(
            {
                "Sid": "Queues",
                "Effect": "Allow",
                "Action": SQS_ACTIONS,
                "Resource": [arn("sqs", f"{prefix}-{q.name}") for q in resources.QUEUES],
            }
        )
    statements += [
        {
            "Sid": "ReadStageParameters",
            "Effect": "Allow",
            "Action": SSM_ACTIONS,
            "Resource": [arn("ssm", f"parameter{resources.ssm_path(stage)}*")],
        },
        {
            # SecureString values: only through SSM, and only for this stage's parameters.
            "Sid": "DecryptStageParameters",
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": [arn("kms", "key/*")],
            "Condition": {
                "StringEquals": {"kms:ViaService": sub("ssm.${AWS::Region}.amazonaws.com")},
                "StringLike": {
                    "kms:EncryptionContext:PARAMETER_ARN": sub(
                        "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:"
                        f"parameter{resources.ssm_path(stage)}*"
                    )
                },
            },
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


DATA_SERVICES = ("dynamodb", "s3", "sqs", "ssm", "kms")
# A resource name may end in a wildcard only in these shapes: a table's indexes, a bucket's objects.
_NAMED = {
    "dynamodb": re.compile(r"table/[^*/]+(/index/\*)?"),
    "s3": re.compile(r"[^*/]+(/\*)?"),
    "sqs": re.compile(r"[^*]+"),
    "ssm": re.compile(r"parameter/[^*]+/\*?"),
    "kms": re.compile(r"key/.+"),
}


# Sample values for CloudFormation's pseudo parameters, to read an `Fn::Sub` ARN as IAM will.
PSEUDO = {
    "Partition": "aws",
    "Region": "ap-east-1",
    "AccountId": "123456789012",
    "StackName": "wxless-prod",
    "URLSuffix": "amazonaws.com",
}


def resolve(value: Any) -> Any:
    """A template or policy fragment with every `Fn::Sub` of pseudo parameters resolved."""
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            return re.sub(r"\$\{AWS::(\w+)\}", lambda m: PSEUDO[m.group(1)], value["Fn::Sub"])
        return {k: resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v) for v in value]
    return value


def _text(value: Any) -> str:
    value = resolve(value)
    return value if isinstance(value, str) else json.dumps(value)


def wildcard_findings(policy: dict[str, Any]) -> list[str]:
    """What in an IAM policy grants a data service more than named resources."""
    findings = []
    for statement in policy.get("Statement", []):
        if statement.get("Effect") != "Allow":
            continue
        sid = statement.get("Sid", "?")
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        services = {a.split(":", 1)[0] for a in actions}
        if "*" in actions:
            findings.append(f"{sid}: Action '*'")
        for action in actions:
            if action.split(":", 1)[0] in DATA_SERVICES and "*" in action:
                findings.append(f"{sid}: wildcard action {action}")
        data = services & set(DATA_SERVICES)
        if not data:
            continue
        resources = statement.get("Resource", [])
        resources = [resources] if not isinstance(resources, list) else resources
        for resource in resources:
            text = _text(resource)
            parts = text.split(":", 5)
            if text == "*" or len(parts) < 6:
                findings.append(f"{sid}: resource {text!r} for {sorted(data)}")
                continue
            service, name = parts[2], parts[5]
            pattern = _NAMED.get(service)
            if pattern is None or not pattern.fullmatch(name):
                findings.append(f"{sid}: resource {text!r} is not a named {service} resource")
            if service == "kms" and "kms:ViaService" not in json.dumps(statement.get("Condition")):
                findings.append(f"{sid}: kms without a kms:ViaService condition")
    return findings


# -- files -----------------------------------------------------------------------------------


def policy_path(stage: str) -> Path:
    return ROOT / ".chalice" / f"policy-{stage}.json"


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def generated(app: Any | None = None) -> dict[Path, str]:
    """Every generated file and the text it must have."""
    from chalicelib.handlers import routing

    files = {TEMPLATE_PATH: render(build_template(app))}
    files[routing.MANIFEST_PATH] = routing.render(routing.scan())
    for stage in STAGES:
        files[policy_path(stage)] = render(build_policy(stage))
    return files


def stale(app: Any | None = None) -> list[Path]:
    return [
        path
        for path, text in generated(app).items()
        if not path.exists() or path.read_text() != text
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a file is stale")
    parser.add_argument("--ssm-names", metavar="STAGE", help="print the stage's SSM parameters")
    args = parser.parse_args(argv)
    if args.ssm_names:
        path = resources.ssm_path(args.ssm_names)
        print(" ".join(path + name for name in resources.SSM_PARAMETERS.values()))
        return 0
    if args.check:
        paths = stale()
        for path in paths:
            print(f"stale: {path.relative_to(ROOT)} (run `make infra`)", file=sys.stderr)
        return 1 if paths else 0
    for path, text in generated().items():
        changed = not path.exists() or path.read_text() != text
        path.write_text(text)
        print(f"{'wrote' if changed else 'unchanged'} {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
