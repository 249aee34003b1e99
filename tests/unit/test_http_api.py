"""Chalice's handler behind the HTTP API: payload format 1.0 events, shaped as API Gateway v2
sends them for the routes the template declares, go through `app(event, context)`.

The events carry what a 1.0 event of an explicit route carries (AWS's "Working with AWS Lambda
proxy integrations for HTTP APIs": `version`, `resource`, `path`, `httpMethod`, `headers`,
`multiValueHeaders`, `queryStringParameters`, `multiValueQueryStringParameters` (null when there
is no query), `requestContext` with `resourcePath`/`httpMethod`/`stage` `$default`,
`pathParameters`, `stageVariables` null, `body`, `isBase64Encoded`); the route's path comes from
the generated template, so the test breaks when the template stops giving Chalice what it reads.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import parse_qsl

import pytest

from infra import build
from tests import wxsim
from tests.functional.helpers import refresh_rules, text_rule


@pytest.fixture(scope="module")
def routes() -> dict[str, str]:
    """Path -> route key, as the template declares them."""
    res = build.build_template()["Resources"]
    keys = [
        r["Properties"]["RouteKey"]
        for r in res.values()
        if r.get("Type") == "AWS::ApiGatewayV2::Route"
    ]
    return {key.split(" ", 1)[1]: key for key in keys}


class LambdaContext:
    function_name = "wxless-dev-APIHandler"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    memory_limit_in_mb = 512

    def get_remaining_time_in_millis(self) -> int:
        return 9000


def http_api_event(
    routes: dict[str, str],
    method: str,
    route: str,
    *,
    path: str | None = None,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    base64_body: bool = False,
    path_parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    assert routes[route] == f"ANY {route}", f"the template has no route for {route}"
    path = path or route
    headers = {"host": "abc123.execute-api.ap-east-1.amazonaws.com", **(headers or {})}
    pairs = parse_qsl(query, keep_blank_values=True)
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        multi.setdefault(name, []).append(value)
    text = None
    if body is not None:
        text = base64.b64encode(body).decode() if base64_body else body.decode()
    now = time.time()
    return {
        "version": "1.0",
        "resource": route,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
        "multiValueQueryStringParameters": multi or None,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": headers["host"],
            "domainPrefix": "abc123",
            "extendedRequestId": "LgLVzhkfoAMEbVQ=",
            "httpMethod": method,
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "Mozilla/4.0", "caller": None},
            "path": path,
            "protocol": "HTTP/1.1",
            "requestId": "LgLVzhkfoAMEbVQ=",
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "resourceId": None,
            "resourcePath": route,
            "stage": "$default",
        },
        "pathParameters": path_parameters,
        "stageVariables": None,
        "body": text,
        "isBase64Encoded": base64_body,
    }


def call(event: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    from app import app

    answer = app(event, LambdaContext())
    body = answer.get("body") or ""
    raw = base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode()
    headers = {k.lower(): v[-1] for k, v in (answer.get("multiValueHeaders") or {}).items()}
    headers |= {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
    return answer["statusCode"], headers, raw


def admin_event(routes, method, route, body=None, **kwargs) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {wxsim.ADMIN}", "content-type": "application/json"}
    data = None if body is None else json.dumps(body).encode()
    return http_api_event(routes, method, route, headers=headers, body=data, **kwargs)


def test_admin_routes_with_path_parameters(aws, routes):
    rule = text_rule("开户", "请带身份证到网点办理")
    status, _h, body = call(admin_event(routes, "POST", "/admin/rules", rule))
    assert status == 201, body
    rule_id = json.loads(body)["id"]

    item = "/admin/rules/{rule_id}"
    concrete = f"/admin/rules/{rule_id}"
    params = {"rule_id": rule_id}
    status, _h, body = call(admin_event(routes, "GET", item, path=concrete, path_parameters=params))
    assert status == 200 and json.loads(body)["keywords"] == ["开户"]

    status, _h, body = call(admin_event(routes, "GET", "/admin/rules"))  # no query string: null
    assert status == 200 and [r["id"] for r in json.loads(body)["items"]] == [rule_id]

    status, _h, body = call(
        admin_event(routes, "PATCH", item, {"priority": 5}, path=concrete, path_parameters=params)
    )
    assert status == 200 and json.loads(body)["priority"] == 5

    # ANY routes: a method Chalice does not serve on the path is its own 405, not the gateway's.
    status, headers, _b = call(
        admin_event(routes, "POST", item, {}, path=concrete, path_parameters=params)
    )
    assert status == 405 and "PUT" in headers["allow"]

    status, _h, _b = call(
        admin_event(routes, "DELETE", item, path=concrete, path_parameters=params)
    )
    assert status == 204
    status, _h, _b = call(admin_event(routes, "GET", item, path=concrete, path_parameters=params))
    assert status == 404

    status, _h, _b = call(http_api_event(routes, "GET", "/admin/rules"))  # no Authorization
    assert status == 401


@pytest.mark.parametrize("base64_body", [False, True], ids=["text", "base64"])
def test_wechat_callback(aws, routes, base64_body):
    status, _h, body = call(admin_event(routes, "POST", "/admin/rules", text_rule("余额", "A")))
    assert status == 201, body
    refresh_rules()
    query = wxsim.qs(wxsim.signed_query())
    status, headers, body = call(
        http_api_event(
            routes,
            "POST",
            "/wechat",
            query=query,
            headers={"content-type": "text/xml"},
            body=wxsim.text("余额", openid="o_http_api").encode(),
            base64_body=base64_body,
        )
    )
    assert status == 200 and headers["content-type"].startswith("application/xml")
    reply = wxsim.parse(body.decode())
    assert reply["ToUserName"] == "o_http_api" and reply["Content"] == "A"

    # URL verification (GET) answers the echostr; a forged signature is refused.
    verify = wxsim.qs(wxsim.signed_query(echostr="echo-http-api"))
    status, _h, body = call(http_api_event(routes, "GET", "/wechat", query=verify))
    assert (status, body) == (200, b"echo-http-api")
    forged = f"signature={'0' * 40}&timestamp={int(time.time())}&nonce=n&echostr=e"
    status, _h, _b = call(http_api_event(routes, "GET", "/wechat", query=forged))
    assert status == 403


def test_chalices_own_errors_answer_in_the_projects_shape(aws, routes):
    """What Chalice answers before (or around) our views: `{"error": ...}`, same status."""
    item = "/admin/rules/{rule_id}"
    params = {"rule_id": "r1"}
    status, headers, body = call(
        admin_event(routes, "POST", item, {}, path="/admin/rules/r1", path_parameters=params)
    )
    assert status == 405 and "PUT" in headers["allow"] and "GET" in headers["allow"]
    assert headers["content-type"].startswith("application/json")
    assert set(json.loads(body)) == {"error"} and "POST" in json.loads(body)["error"]

    # A route that lists no content types takes JSON only: Chalice's 415, before the view.
    status, _h, body = call(
        http_api_event(routes, "GET", "/health", headers={"content-type": "text/plain"})
    )
    assert status == 415 and set(json.loads(body)) == {"error"}
    assert "text/plain" in json.loads(body)["error"]

    status, headers, body = call(http_api_event(routes, "DELETE", "/wechat"))
    assert status == 405 and set(json.loads(body)) == {"error"}
    assert headers["allow"] == "GET, POST"


def test_an_event_without_a_route_of_ours_is_404(aws, routes):
    unknown = http_api_event(routes, "GET", "/health", path="/nowhere")
    unknown["resource"] = unknown["requestContext"]["resourcePath"] = "/nowhere"
    status, _h, body = call(unknown)
    assert (status, json.loads(body)) == (404, {"error": "not found"})

    # No resourcePath at all (e.g. a `$default` catch-all route): Chalice's 500 "Unknown request."
    bare = http_api_event(routes, "GET", "/health")
    del bare["requestContext"]["resourcePath"]
    status, _h, body = call(bare)
    assert (status, json.loads(body)) == (404, {"error": "not found"})


def test_view_errors_chalice_answers_are_reshaped(capsys):
    """ChaliceViewErrors (a bad JSON body Chalice parses itself) and bugs outside the admin gate,
    on a scratch app with the same middleware."""
    from chalice import Chalice, NotFoundError

    from chalicelib.handlers import chalice_errors

    scratch = Chalice(app_name="scratch")
    chalice_errors.register(scratch)

    @scratch.route("/parsed", methods=["POST"])
    def parsed():
        return scratch.current_request.json_body

    @scratch.route("/missing", methods=["GET"])
    def missing():
        raise NotFoundError("No such thing")

    @scratch.route("/bug", methods=["GET"])
    def bug():
        raise KeyError("oops")

    def event(method: str, route: str, body: str | None = None) -> dict[str, Any]:
        headers = {"content-type": "application/json"}
        return {
            "resource": route,
            "path": route,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": None,
            "multiValueQueryStringParameters": None,
            "requestContext": {"resourcePath": route, "httpMethod": method, "path": route},
            "pathParameters": None,
            "stageVariables": None,
            "body": body,
            "isBase64Encoded": False,
        }

    def answer(ev: dict[str, Any]) -> tuple[int, Any]:
        out = scratch(ev, LambdaContext())
        return out["statusCode"], json.loads(out["body"])

    assert answer(event("POST", "/parsed", '{"a": 1}')) == (200, {"a": 1})
    assert answer(event("POST", "/parsed", "{not json")) == (
        400,
        {"error": "body is not valid JSON"},
    )
    assert answer(event("GET", "/missing")) == (404, {"error": "no such thing"})
    assert answer(event("GET", "/bug")) == (500, {"error": "internal error"})
    assert "KeyError: 'oops'" in capsys.readouterr().out  # Chalice's log line keeps the traceback
