"""The per-stage IAM policy every function's role gets (Chalice inlines
`.chalice/policy-<stage>.json` into the template), and the check that it names its resources
instead of granting wildcards.

The policies sit in the same template as the stack, so they use `Fn::Sub` for the partition,
region, account and stack name; the stage's names are spelled out for review."""

from __future__ import annotations

import json
import re
from typing import Any

from infra import resources
from infra.cfn.bucket import media_bucket_name
from infra.cfn.cognito import cognito_statement
from infra.cfn.common import arn, sub
from infra.cfn.streams import dead_letters_name
from infra.cfn.tables import table_specs

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
# What Lambda's event source mapping does with a stream, as the consumer's role.
STREAM_ACTIONS = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
]


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
    if resources.STREAMS:
        names = [f"{prefix}-{s.table}" for s in resources.STREAMS]
        statements += [
            {
                "Sid": "ReadStreams",
                "Effect": "Allow",
                "Action": STREAM_ACTIONS,
                "Resource": [arn("dynamodb", f"table/{name}/stream/*") for name in names],
            },
            {
                # Where the event source mapping sends what the consumer gave up on.
                "Sid": "StreamDeadLetters",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": [
                    arn("sqs", f"{prefix}-{dead_letters_name(s)}") for s in resources.STREAMS
                ],
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
    statements.append(cognito_statement())  # team access: the stack's user pool only
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
# A resource name may end in a wildcard only in these shapes: a table's indexes or streams, a
# bucket's objects.
_NAMED = {
    "dynamodb": re.compile(r"table/[^*/]+(/index/\*|/stream/\*)?"),
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
        granted = statement.get("Resource", [])
        granted = [granted] if not isinstance(granted, list) else granted
        for resource in granted:
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
