"""The front door: an HTTP API (API Gateway v2) into the function Chalice builds for the routes.

$1.00 per million requests where Chalice's REST API costs $3.50. The Lambda integration speaks
payload format 1.0, the REST API's event shape, so Chalice's handler serves it unchanged: it reads
`requestContext.resourcePath` (the route's path with its `{name}` parameters, e.g.
`/admin/rules/{rule_id}`), `requestContext.httpMethod`, `pathParameters`, `headers`,
`multiValueQueryStringParameters`, `body`/`isBase64Encoded` and `stageVariables`, all of which a
1.0 event of an explicit route carries. A `$default` or `{proxy+}` route would not do: its
resourcePath names no Chalice route. So there is one route per Chalice path, with method `ANY`:
Chalice answers a method the path lacks (405 with `Allow`), as it does under `chalice local`.

Chalice still emits its REST API (`chalice package` always does, and the merge cannot remove a
resource); the merge switches off its execute-api endpoint, so the HTTP API is the only way in,
and the stack's `EndpointURL` and `CallbackURL` outputs are the HTTP API's.
"""

from __future__ import annotations

import re
from typing import Any

from infra.cfn.common import alarm, lambda_timeout, sub
from infra.resources import APP_NAME

API_FUNCTION = "APIHandler"  # Chalice's logical id of the function behind every route
# The WeChat deadline is 5 s; a p99 above this (the gateway's view: Lambda included) leaves too
# little room.
API_P99_ALARM_MS = 3000
# API Gateway's ceiling for an HTTP API integration.
MAX_INTEGRATION_TIMEOUT_MS = 30_000
BASE_URL = "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/"


def route_logical_id(path: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", path)
    return "HttpApiRoute" + ("".join(w[:1].upper() + w[1:] for w in words) or "Root")


def route_keys(app: Any) -> dict[str, str]:
    """Logical id -> route key (`ANY /path`) for every path of the app's routes."""
    routes: dict[str, str] = {}
    for path in sorted(app.routes):
        logical = route_logical_id(path)
        if logical in routes:
            raise SystemExit(f"routes {routes[logical]!r} and {path!r} share the id {logical}")
        routes[logical] = f"ANY {path}"
    return routes


def _api_metric(name: str, **stat: Any) -> dict[str, Any]:
    return {
        "Namespace": "AWS/ApiGateway",
        "MetricName": name,
        "Dimensions": [{"Name": "ApiId", "Value": {"Ref": "HttpApi"}}],
        **(stat or {"Statistic": "Sum"}),
    }


def http_api_resources(app: Any) -> dict[str, Any]:
    if not app.routes:
        return {}
    timeout_ms = min(MAX_INTEGRATION_TIMEOUT_MS, lambda_timeout("api_handler") * 1000)
    res: dict[str, Any] = {
        "HttpApi": {
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {
                "Name": sub(f"{APP_NAME}-${{Stage}}"),
                "ProtocolType": "HTTP",
                "Description": "wxless: the WeChat callback, the admin API and the public pages",
            },
        },
        "HttpApiIntegration": {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {
                "ApiId": {"Ref": "HttpApi"},
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": {"Fn::GetAtt": [API_FUNCTION, "Arn"]},
                "PayloadFormatVersion": "1.0",
                "TimeoutInMillis": timeout_ms,
            },
        },
        # `$default` is the stage without a path prefix: https://<id>.execute-api.../wechat.
        "HttpApiStage": {
            "Type": "AWS::ApiGatewayV2::Stage",
            "Properties": {
                "ApiId": {"Ref": "HttpApi"},
                "StageName": "$default",
                "AutoDeploy": True,
            },
        },
        "HttpApiInvokePermission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": API_FUNCTION},
                "Principal": "apigateway.amazonaws.com",
                "SourceArn": sub(
                    "arn:${AWS::Partition}:execute-api:${AWS::Region}:${AWS::AccountId}:"
                    "${HttpApi}/*"
                ),
            },
        },
        # Chalice's REST API stays in the template but takes no traffic.
        "RestAPI": {"Properties": {"DisableExecuteApiEndpoint": True}},
        "HttpApiLatencyAlarm": alarm(
            f"p99 latency of the HTTP API above {API_P99_ALARM_MS} ms (WeChat gives up after 5 s)",
            _api_metric("Latency", ExtendedStatistic="p99"),
            API_P99_ALARM_MS,
        ),
        "HttpApi5xxAlarm": alarm(
            "The HTTP API answered 5xx (the function failed, timed out or was throttled)",
            _api_metric("5xx"),
            1,
        ),
    }
    for logical, key in route_keys(app).items():
        res[logical] = {
            "Type": "AWS::ApiGatewayV2::Route",
            "Properties": {
                "ApiId": {"Ref": "HttpApi"},
                "RouteKey": key,
                "Target": sub("integrations/${HttpApiIntegration}"),
            },
        }
    return res


def http_api_outputs() -> dict[str, Any]:
    return {
        "EndpointURL": {"Value": sub(BASE_URL)},  # Chalice's output, now the HTTP API's
        "CallbackURL": {
            "Description": "Register this URL (with the Token) in the WeChat console",
            "Value": sub(BASE_URL + "wechat"),
        },
        "HttpApiId": {"Value": {"Ref": "HttpApi"}},
    }
