"""Generate the CloudFormation merge template and the per-stage IAM policies from the code.

    python infra/build.py           # rewrite infra/template.json and .chalice/policy-<stage>.json
    python infra/build.py --check   # exit 1 when the committed files are stale (CI: tests/unit)

Sources: tables from `all_models()` (key schema, GSIs/LSIs, TTL attribute), functions, schedules,
queue and stream triggers from `app.py`, queues, streams and secrets from `infra/resources.py`.
Each concern is one module of `infra/cfn/`; this file assembles them and writes the files.

`chalice package --merge-template` deep-merges `infra/template.json` (specialised per stage by
infra/package.py) over Chalice's SAM output:
- every table, the media bucket and every queue (with its dead-letter queue);
- `Globals.Function.Environment` wires WXLESS_TABLE_PREFIX, WXLESS_MEDIA_BUCKET, queue URLs and the
  `<NAME>_PARAM` SSM names into every function (kept out of .chalice/config.json so that
  `chalice local --stage dev`, i.e. `make run`, keeps the environment the local runner sets);
- each SQS trigger's queue ARN is replaced with the declared queue's `${Queue.Arn}`, so the event
  source mapping depends on the queue and uses the stage's queue name;
- each stream handler's placeholder ARN with its table's `StreamArn` (infra/cfn/streams.py), with
  the mapping's retry and failure settings and a dead-letter queue;
- the HTTP API (infra/cfn/http_api.py): the front door, one route per Chalice path into the API
  function; Chalice's REST API stays but with its endpoint switched off;
- alarms on function errors, API latency and 5xx, dead letters and `callback.store_failed`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from chalicelib import config  # noqa: E402
from infra import resources  # noqa: E402
from infra.cfn.bucket import media_bucket_resources  # noqa: E402
from infra.cfn.cognito import PARAMETERS as TEAM_PARAMETERS  # noqa: E402
from infra.cfn.cognito import (  # noqa: E402
    cognito_conditions,
    cognito_environment,
    cognito_outputs,
    cognito_resources,
)
from infra.cfn.common import sub  # noqa: E402
from infra.cfn.functions import (  # noqa: E402
    function_resources,
    function_specs,
    load_app,
    queue_consumers,
)
from infra.cfn.http_api import http_api_outputs, http_api_resources  # noqa: E402
from infra.cfn.iam import build_policy  # noqa: E402
from infra.cfn.queues import queue_resources, queues_by_name  # noqa: E402
from infra.cfn.streams import stream_resources, with_streams  # noqa: E402
from infra.cfn.tables import table_resource, table_specs  # noqa: E402
from infra.resources import APP_NAME, STAGES  # noqa: E402

TEMPLATE_PATH = ROOT / "infra" / "template.json"


def _protected_condition() -> dict[str, Any]:
    tests = [{"Fn::Equals": [{"Ref": "Stage"}, s]} for s in resources.PROTECTED_STAGES]
    return tests[0] if len(tests) == 1 else {"Fn::Or": tests}


def _environment() -> dict[str, Any]:
    env: dict[str, Any] = {
        "WXLESS_TABLE_PREFIX": sub(f"{APP_NAME}-${{Stage}}"),
        "WXLESS_MEDIA_BUCKET": {"Ref": "MediaBucket"},
        # Stated, not defaulted: every message reads it, and an unset variable costs the two
        # failed environment lookups of config.get (~1.3 us) per message.
        "WXLESS_TIMEZONE": {"Ref": "Timezone"},
    }
    for name, param in sorted(resources.SSM_PARAMETERS.items()):
        env[f"{name}_PARAM"] = sub(f"/{APP_NAME}/${{Stage}}/{param}")
    return env


def build_template(app: Any | None = None) -> dict[str, Any]:
    app = app or load_app()
    functions = function_specs(app)
    queues = queues_by_name()
    tables = with_streams(table_specs())
    res: dict[str, Any] = {spec.logical_id: table_resource(spec) for spec in tables}
    res |= media_bucket_resources()
    env = _environment()
    queue_res, queue_env = queue_resources(queues, queue_consumers(functions, queues))
    res |= queue_res
    env |= queue_env
    res |= function_resources(functions, queues)
    stream_res, stream_env = stream_resources(functions, tables)
    res |= stream_res
    env |= stream_env
    res |= http_api_resources(app)
    if app.routes:  # team access: the user pool and the failed sign-in alarm (API function's)
        res |= cognito_resources()
        env |= cognito_environment()
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": (
            "wxless: tables, media bucket, queues, HTTP API, alarms (merged into chalice package)"
        ),
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
            **(TEAM_PARAMETERS if app.routes else {}),
        },
        "Conditions": {
            "Protected": _protected_condition(),
            "HasAlarmTopic": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]},
            **(cognito_conditions() if app.routes else {}),
        },
        "Globals": {"Function": {"Environment": {"Variables": env}}},
        "Resources": res,
        "Outputs": {
            "TablePrefix": {"Value": env["WXLESS_TABLE_PREFIX"]},
            "MediaBucketName": {"Value": {"Ref": "MediaBucket"}},
            **(http_api_outputs() if app.routes else {}),
            **(cognito_outputs() if app.routes else {}),
        },
    }


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
        # The parameters a deploy needs: optional ones may be missing (read as unset).
        required = [p for n, p in resources.SSM_PARAMETERS.items() if n not in config.OPTIONAL]
        print(" ".join(path + name for name in required))
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
