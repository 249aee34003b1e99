"""The deployment template and IAM policies, regenerated from the code in memory (no AWS, fast).

A new model, schedule or queue handler without regenerated infra fails here: run `make infra`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib import config
from chalicelib.store.models import all_models
from infra import build, resources
from infra.cfn import common, iam
from infra.cfn.tables import key_schema, table_specs

ROOT = Path(__file__).resolve().parents[2]


def resolve(value: Any, stage: str, bucket: str = "") -> Any:
    """Evaluate the template's Fn::Sub/Ref of Stage and pseudo parameters for one stage."""
    if isinstance(value, dict):
        if set(value) == {"Fn::Sub"}:
            text = value["Fn::Sub"].replace("${Stage}", stage)
            return iam.resolve({"Fn::Sub": text})
        if value == {"Ref": "MediaBucket"}:
            return bucket
        return {k: resolve(v, stage, bucket) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, stage, bucket) for v in value]
    return value


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return build.build_template()


def _environment(template: dict[str, Any], stage: str) -> dict[str, str]:
    bucket = resolve(template["Resources"]["MediaBucket"]["Properties"]["BucketName"], stage)
    return resolve(template["Globals"]["Function"]["Environment"]["Variables"], stage, bucket)


def test_committed_files_match_the_code():
    stale = [str(p.relative_to(ROOT)) for p in build.stale()]
    assert not stale, f"stale generated files {stale}: run `make infra` and commit them"


@pytest.mark.parametrize("stage", resources.STAGES)
def test_every_model_has_its_table_under_the_name_the_code_computes(template, stage, monkeypatch):
    from pynamodb.attributes import TTLAttribute

    env = _environment(template, stage)
    monkeypatch.setenv(config.TABLE_PREFIX, env[config.TABLE_PREFIX])
    tables = {
        resolve(r["Properties"]["TableName"], stage): r["Properties"]
        for r in template["Resources"].values()
        if r.get("Type") == "AWS::DynamoDB::Table"
    }
    models = all_models()
    assert len(tables) == len(models)
    for model in models:
        props = tables[model.Meta.table_name]  # the code's own name for the table
        schema = model._get_schema()
        assert props["KeySchema"] == key_schema(schema["key_schema"])
        assert {i["IndexName"] for i in props.get("GlobalSecondaryIndexes", [])} == {
            i["index_name"] for i in schema["global_secondary_indexes"]
        }
        ttl = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
        if ttl:
            assert props["TimeToLiveSpecification"] == {"AttributeName": ttl[0], "Enabled": True}
        else:
            assert "TimeToLiveSpecification" not in props
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
        assert props["DeletionProtectionEnabled"] == {"Fn::If": ["Protected", True, False]}


def test_deletion_protection_is_on_for_prod_only(template):
    condition = template["Conditions"]["Protected"]
    assert condition == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert template["Parameters"]["Stage"]["AllowedValues"] == list(resources.STAGES)


@pytest.mark.parametrize("stage", resources.STAGES)
def test_media_bucket_is_private_encrypted_and_named_for_the_code(template, stage, monkeypatch):
    bucket = template["Resources"]["MediaBucket"]["Properties"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-temporary-uploads"]["Prefix"] == resources.MEDIA_TEMP_PREFIX
    env = _environment(template, stage)
    monkeypatch.setenv(config.MEDIA_BUCKET, env[config.MEDIA_BUCKET])
    name = config.media_bucket()
    assert name == resolve(bucket["BucketName"], stage)
    policy = iam.resolve(iam.build_policy(stage))
    s3 = [r for s in policy["Statement"] if s["Sid"].startswith("Media") for r in s["Resource"]]
    assert sorted(s3) == [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"]


@pytest.mark.parametrize("stage", resources.STAGES)
def test_secrets_come_from_the_stage_parameters(template, stage):
    env = _environment(template, stage)
    for name in config.SECRETS:
        assert name not in env, f"{name} must never be in the template"
        assert env[f"{name}_PARAM"].startswith(resources.ssm_path(stage))
    text = json.dumps(template) + json.dumps(iam.build_policy(stage))
    assert "wxless-demo" not in text  # no demo secret leaked into deploy files


@pytest.mark.parametrize("stage", resources.STAGES)
def test_policy_names_every_table_and_index_and_no_wildcard(stage):
    policy = iam.build_policy(stage)
    assert iam.wildcard_findings(policy) == []
    resolved = iam.resolve(policy)
    statements = {s["Sid"]: s for s in resolved["Statement"]}
    table_arns = set(statements["Tables"]["Resource"])
    prefix = "arn:aws:dynamodb:ap-east-1:123456789012:table/"
    for spec in table_specs():
        assert prefix + spec.name(stage) in table_arns
        if spec.global_indexes:
            assert prefix + spec.name(stage) + "/index/*" in table_arns
    assert set(iam.LOGS_ACTIONS) <= set(statements["WriteOwnLogs"]["Action"])
    assert statements["ReadStageParameters"]["Resource"] == [
        f"arn:aws:ssm:ap-east-1:123456789012:parameter/wxless/{stage}/*"
    ]
    kms = statements["DecryptStageParameters"]
    assert kms["Action"] == ["kms:Decrypt"]
    assert kms["Condition"]["StringEquals"]["kms:ViaService"] == "ssm.ap-east-1.amazonaws.com"
    # An inline role policy holds at most 10,240 characters, whitespace not counted.
    assert len(re.sub(r"\s", "", json.dumps(resolved))) < 10240


def test_wildcard_findings_catch_broad_grants():
    policy = {
        "Statement": [
            {"Sid": "a", "Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "*"},
            {"Sid": "b", "Effect": "Allow", "Action": ["s3:*"], "Resource": "arn:aws:s3:::x/*"},
            {
                "Sid": "c",
                "Effect": "Allow",
                "Action": ["sqs:SendMessage"],
                "Resource": "arn:aws:sqs:r:1:wxless-*",
            },
            {
                "Sid": "d",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": "arn:aws:kms:r:1:key/*",
            },
            {"Sid": "e", "Effect": "Allow", "Action": ["logs:PutLogEvents"], "Resource": "*"},
        ]
    }
    found = " | ".join(iam.wildcard_findings(policy))
    for sid in "abcd":
        assert f"{sid}: " in found
    assert "e: " not in found  # logs are not a data service


def test_chalice_stages_use_the_reviewed_policies_and_leave_the_environment_to_the_template(
    template,
):
    chalice = json.loads((ROOT / ".chalice" / "config.json").read_text())
    wired = set(template["Globals"]["Function"]["Environment"]["Variables"])
    assert chalice.get("autogen_policy") is False
    assert set(chalice["stages"]) == set(resources.STAGES)
    for name, stage in chalice["stages"].items():
        assert stage.get("autogen_policy", chalice["autogen_policy"]) is False
        assert stage["iam_policy_file"] == f"policy-{name}.json"
        # chalice local copies these over the process environment (make run's settings), and in
        # AWS a function's own variables override the template's Globals.
        overlap = wired & set(stage.get("environment_variables", {}))
        assert not overlap, f"stage {name} sets {overlap}; the template owns them"


def test_stage_template_pins_the_stage():
    from infra.pack.chalice_run import stage_template

    for stage in resources.STAGES:
        merged = stage_template(stage)
        assert merged["Parameters"]["Stage"]["AllowedValues"] == [stage]
        assert merged["Parameters"]["Stage"]["Default"] == stage
        # The Protected condition is folded away: a constant once the stage is pinned.
        assert "Protected" not in merged["Conditions"]
        assert "Protected" not in json.dumps(merged)
        tables = [
            r["Properties"]
            for r in merged["Resources"].values()
            if r.get("Type") == "AWS::DynamoDB::Table"
        ]
        assert all(t["DeletionProtectionEnabled"] is (stage == "prod") for t in tables)


def _app_with_queue_handler():
    from chalice import Chalice, Rate

    app = Chalice(app_name="wxless")

    @app.route("/health")
    def health():
        return {}

    @app.schedule(Rate(5, unit=Rate.MINUTES))
    def tick(event):
        return None

    @app.on_sqs_message(queue="campaign-sends", batch_size=5)
    def send_batch(event):
        return None

    return app


def test_a_queue_handler_needs_a_declared_queue(monkeypatch):
    monkeypatch.setattr(resources, "QUEUES", ())
    with pytest.raises(SystemExit, match="campaign-sends"):
        build.build_template(_app_with_queue_handler())


def test_a_declared_queue_gets_a_dead_letter_queue_a_trigger_and_a_grant(monkeypatch):
    queue = resources.Queue("campaign-sends", max_receive_count=3)
    monkeypatch.setattr(resources, "QUEUES", (queue,))
    template = build.build_template(_app_with_queue_handler())
    res = template["Resources"]
    props = res["CampaignSendsQueue"]["Properties"]
    assert resolve(props["QueueName"], "prod") == "wxless-prod-campaign-sends"
    assert props["RedrivePolicy"]["maxReceiveCount"] == 3
    assert props["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["CampaignSendsQueueDeadLetters", "Arn"]
    }
    assert props["VisibilityTimeout"] == 6 * common.lambda_timeout("send_batch")
    event = res["SendBatch"]["Properties"]["Events"]["SendBatchSqsEventSource"]
    assert event == {
        "Properties": {
            "Queue": {"Fn::Sub": "${CampaignSendsQueue.Arn}"},
            # a handler may keep some messages of a batch on the queue (batchItemFailures)
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        }
    }
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["WXLESS_QUEUE_CAMPAIGN_SENDS_URL"] == {"Ref": "CampaignSendsQueue"}
    assert {"SendBatchErrorsAlarm", "TickErrorsAlarm", "CampaignSendsQueueDeadLettersAlarm"} <= set(
        res
    )
    policy = iam.resolve(iam.build_policy("dev"))
    queues = next(s for s in policy["Statement"] if s["Sid"] == "Queues")
    assert queues["Resource"] == ["arn:aws:sqs:ap-east-1:123456789012:wxless-dev-campaign-sends"]
    assert iam.wildcard_findings(iam.build_policy("dev")) == []


def test_the_http_api_is_the_front_door_for_every_route(template):
    from app import app

    res = template["Resources"]
    routes = {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in res.values()
        if r.get("Type") == "AWS::ApiGatewayV2::Route"
    }
    # One route per Chalice path, every method (Chalice answers 405 for the ones it lacks).
    assert set(routes) == {f"ANY {path}" for path in app.routes}
    assert "ANY /wechat" in routes and "ANY /admin/rules/{rule_id}" in routes
    for route in routes.values():
        assert route["ApiId"] == {"Ref": "HttpApi"}
        assert route["Target"] == {"Fn::Sub": "integrations/${HttpApiIntegration}"}
    assert res["HttpApi"]["Properties"]["ProtocolType"] == "HTTP"
    integration = res["HttpApiIntegration"]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "1.0"  # the REST API's event shape
    assert integration["IntegrationUri"] == {"Fn::GetAtt": ["APIHandler", "Arn"]}
    assert integration["TimeoutInMillis"] == min(
        30_000, common.lambda_timeout("api_handler") * 1000
    )
    stage = res["HttpApiStage"]["Properties"]
    assert (stage["StageName"], stage["AutoDeploy"]) == ("$default", True)
    permission = res["HttpApiInvokePermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": "APIHandler"}
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert iam.resolve(permission["SourceArn"]) == (
        "arn:aws:execute-api:ap-east-1:123456789012:${HttpApi}/*"
    )
    # Chalice's REST API takes no traffic; the stack's URLs are the HTTP API's.
    assert res["RestAPI"] == {"Properties": {"DisableExecuteApiEndpoint": True}}
    base = "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"
    outputs = template["Outputs"]
    assert outputs["CallbackURL"]["Value"] == {"Fn::Sub": base + "wechat"}
    assert outputs["EndpointURL"]["Value"] == {"Fn::Sub": base}


def test_api_alarms_watch_the_http_api(template):
    res = template["Resources"]
    latency = res["HttpApiLatencyAlarm"]["Properties"]
    assert (latency["Namespace"], latency["MetricName"]) == ("AWS/ApiGateway", "Latency")
    assert latency["ExtendedStatistic"] == "p99" and latency["Threshold"] == 3000
    assert latency["Dimensions"] == [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}]
    errors = res["HttpApi5xxAlarm"]["Properties"]
    assert (errors["MetricName"], errors["Threshold"]) == ("5xx", 1)
    assert "APIHandlerLatencyAlarm" not in res  # moved: the gateway's p99 includes Lambda's
    assert {"APIHandlerErrorsAlarm", "APIHandlerThrottlesAlarm", "StoreFailedAlarm"} <= set(res)


def test_the_messages_stream_feeds_the_aggregator(template):
    from chalice.app import DynamoDBEventConfig

    from app import app
    from chalicelib.jobs import schedules

    (source,) = [s for s in app.event_sources if isinstance(s, DynamoDBEventConfig)]
    assert (source.name, source.handler_string) == ("aggregate", "app.aggregate_messages")
    assert (source.batch_size, source.maximum_batching_window_in_seconds) == (1000, 1)
    assert source.starting_position == "TRIM_HORIZON"
    assert source.stream_arn == schedules.MESSAGES_STREAM_ARN
    res = template["Resources"]
    messages = next(
        r["Properties"]
        for r in res.values()
        if r.get("Type") == "AWS::DynamoDB::Table"
        and r["Properties"]["TableName"] == {"Fn::Sub": "wxless-${Stage}-messages"}
    )
    assert messages["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
    event = res["Aggregate"]["Properties"]["Events"]["AggregateDynamodbEventSource"]["Properties"]
    stream = resources.STREAMS[0]
    assert event == {
        "Stream": {"Fn::GetAtt": ["MessagesTable", "StreamArn"]},
        "BisectBatchOnFunctionError": True,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "MaximumRetryAttempts": stream.max_retry_attempts,
        "MaximumRecordAgeInSeconds": stream.max_record_age_seconds,
        "ParallelizationFactor": 1,  # the consumer relies on per-shard order
        "DestinationConfig": {
            "OnFailure": {
                "Type": "SQS",
                "Destination": {"Fn::GetAtt": ["MessagesStreamDeadLetters", "Arn"]},
            }
        },
    }
    assert 0 < stream.max_retry_attempts <= 100 and 0 < stream.max_record_age_seconds < 86400
    dlq = res["MessagesStreamDeadLetters"]["Properties"]
    assert resolve(dlq["QueueName"], "prod") == "wxless-prod-messages-stream-dlq"
    alarm = res["MessagesStreamDeadLettersAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {
        "Fn::GetAtt": ["MessagesStreamDeadLetters", "QueueName"]
    }
    assert "AggregateErrorsAlarm" in res
    assert (common.lambda_timeout("aggregate"), _memory("aggregate")) == (60, 512)


def _memory(function: str) -> int:
    config = common.chalice_config()
    sizes = {
        stage.get("lambda_functions", {})
        .get(function, {})
        .get("lambda_memory_size", stage.get("lambda_memory_size", config["lambda_memory_size"]))
        for stage in config["stages"].values()
    }
    assert len(sizes) == 1
    return sizes.pop()


@pytest.mark.parametrize("stage", resources.STAGES)
def test_the_aggregator_may_read_the_stream_and_fill_its_dead_letter_queue(stage):
    policy = iam.resolve(iam.build_policy(stage))
    statements = {s["Sid"]: s for s in policy["Statement"]}
    streams = statements["ReadStreams"]
    assert set(streams["Action"]) == {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
    }
    region = "arn:aws:dynamodb:ap-east-1:123456789012"
    assert streams["Resource"] == [f"{region}:table/wxless-{stage}-messages/stream/*"]
    dead_letters = statements["StreamDeadLetters"]
    assert dead_letters["Action"] == ["sqs:SendMessage"]
    assert dead_letters["Resource"] == [
        f"arn:aws:sqs:ap-east-1:123456789012:wxless-{stage}-messages-stream-dlq"
    ]
    assert iam.wildcard_findings(iam.build_policy(stage)) == []


def _app_with_stream_handler(stream_arn: str):
    from chalice import Chalice

    app = Chalice(app_name="wxless")

    @app.on_dynamodb_record(stream_arn=stream_arn, name="aggregate")
    def aggregate(event):
        return None

    return app


@pytest.mark.parametrize(
    ("stream_arn", "error"),
    [
        ("arn:aws:dynamodb:local:0:table/rules/stream/x", "does not declare"),
        ("arn:aws:dynamodb:us-east-1:1:table/wxless-dev-messages", "not a placeholder"),
    ],
)
def test_a_stream_handler_needs_a_declared_stream(stream_arn, error):
    with pytest.raises(SystemExit, match=error):
        build.build_template(_app_with_stream_handler(stream_arn))


def test_every_function_runs_on_arm64():
    from infra.pack.twin import lambda_architecture

    assert common.chalice_config()["lambda_architecture"] == "arm64"
    for stage in resources.STAGES:
        assert lambda_architecture(stage) == "arm64"


def _elf(machine: int, body: bytes = b"") -> bytes:
    return b"\x7fELF\x02\x01" + bytes(12) + machine.to_bytes(2, "little") + body


def test_a_twin_stands_for_the_artifact_only_with_the_same_files(tmp_path):
    from infra.pack.twin import ELF_MACHINES, compare_trees

    def tree(name: str, arch: str, tag: str, *, extra: dict[str, bytes] | None = None) -> Path:
        root = tmp_path / name
        machine = ELF_MACHINES[arch]
        files = {
            "app.py": b"import regex\n",
            "regex/__init__.py": b"",
            f"regex/_regex.cpython-311-{tag}-linux-gnu.so": _elf(machine, b"PyInit__regex"),
            f"Crypto/Cipher/_raw_{'aesni' if arch == 'x86_64' else 'armv8'}.abi3.so": _elf(machine),
            "regex-1.0.dist-info/WHEEL": f"Tag: cp311-{tag}".encode(),
            **(extra or {}),
        }
        for rel, data in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        return root

    shipped = tree("arm", "arm64", "aarch64")
    assert compare_trees(shipped, tree("x86", "x86_64", "x86_64"), "arm64", "x86_64") == []
    other = tree("x86b", "x86_64", "x86_64", extra={"app.py": b"import re\n", "extra.py": b""})
    found = " | ".join(compare_trees(shipped, other, "arm64", "x86_64"))
    assert "app.py differs" in found and "extra.py is in the x86_64 twin" in found
    mislabelled = tree("bad", "x86_64", "aarch64")  # arm64 names, x86_64 machine code
    twin = tree("x86c", "x86_64", "x86_64")
    assert "not an ELF for arm64" in " | ".join(compare_trees(mislabelled, twin, "arm64", "x86_64"))
