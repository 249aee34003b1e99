"""How an admin request that fails is answered (handlers/common.admin_route): an `AppError`
answers its own status and fields, anything else is a bug (a logged 500 with its traceback,
never a polite 400); a body nested too deep is a 400, one not sent as JSON a 415 in our shape."""

from __future__ import annotations

import json
import logging

import pytest

from chalicelib import errors
from chalicelib.wechat.api import TransportError, error_for
from tests import wxsim
from tests.functional.helpers import admin, body_json, text_rule


def _raise(exc: BaseException):
    def fail(*_args, **_kwargs):
        raise exc

    return fail


def _send(client, method, path, body: bytes, content_type: str | None, token=wxsim.ADMIN, **extra):
    headers = {**extra}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return client.http.request(method, path, headers=headers, body=body)


@pytest.mark.parametrize(
    "exc", [ValueError("boom"), KeyError("boom"), TypeError("boom"), RecursionError("boom")]
)
def test_a_bug_in_a_view_is_a_logged_500(client, monkeypatch, caplog, exc):
    from chalicelib.store import rules

    monkeypatch.setattr(rules, "list_rules", _raise(exc))
    with caplog.at_level(logging.ERROR, logger="wxless.admin"):
        response = admin(client, "GET", "/admin/rules")
    assert response.status_code == 500
    assert body_json(response) == {"error": "internal error"}  # no detail for the caller
    (record,) = [r for r in caplog.records if "admin.internal_error" in r.getMessage()]
    assert record.getMessage() == "admin.internal_error GET /admin/rules"
    assert record.exc_info is not None and record.exc_info[1] is exc  # the traceback is logged


def test_a_bug_logs_the_route_not_the_openid_in_the_path(client, monkeypatch, caplog):
    from chalicelib.store import followers

    monkeypatch.setattr(followers, "get_follower", _raise(KeyError("remark")))
    with caplog.at_level(logging.ERROR, logger="wxless.admin"):
        response = admin(client, "GET", "/admin/followers/o_secret_openid")
    assert response.status_code == 500
    (record,) = [r for r in caplog.records if "admin.internal_error" in r.getMessage()]
    assert record.getMessage() == "admin.internal_error GET /admin/followers/{openid}"


def test_a_bug_in_a_write_frees_its_idempotency_key(client, monkeypatch):
    from chalicelib.store import rules

    key = {"Idempotency-Key": "bug-then-fixed"}
    rule = json.dumps(text_rule("余额", "100")).encode()
    create = rules.create_rule
    monkeypatch.setattr(rules, "create_rule", _raise(ValueError("bug")))
    first = _send(client, "POST", "/admin/rules", rule, "application/json", **key)
    assert first.status_code == 500
    monkeypatch.setattr(rules, "create_rule", create)
    retry = _send(client, "POST", "/admin/rules", rule, "application/json", **key)
    assert retry.status_code == 201, retry.body  # the 500 was not kept for replay
    assert "Idempotent-Replayed" not in retry.headers


# (error, status, body, Retry-After header or None)
APP_ERRORS = [
    (errors.InvalidInput("name is required", field="name"), 400, {"field": "name"}, None),
    (errors.Unauthorized("who are you"), 401, {}, None),
    (errors.Forbidden("not yours"), 403, {}, None),
    (errors.NotFound("no rule abc"), 404, {}, None),
    (
        errors.Conflict("window closed", retryable=False, remaining=0),
        409,
        {"retryable": False, "remaining": 0},  # an explicit retryable wins over the type's
        None,
    ),
    (errors.PayloadTooLarge("too big"), 413, {}, None),
    (errors.UnsupportedMediaType("send JSON"), 415, {}, None),
    (errors.Unprocessable("other request"), 422, {}, None),
    (
        errors.TooManyRequests("slow down", retry_after=7),
        429,
        {"retryable": True, "retry_after": 7},
        "7",
    ),
    (errors.TooManyRequests("slow down"), 429, {"retryable": True}, None),
    (
        errors.Unavailable("WeChat is down", retry_after=30),
        503,
        {"retryable": True, "retry_after": 30},
        "30",
    ),
]


@pytest.mark.parametrize(
    ("exc", "status", "extra", "retry_after"),
    APP_ERRORS,
    ids=[f"{type(e[0]).__name__}-{i}" for i, e in enumerate(APP_ERRORS)],
)
def test_each_app_error_answers_its_status_and_fields(
    client, monkeypatch, exc, status, extra, retry_after
):
    from chalicelib.store import rules

    monkeypatch.setattr(rules, "list_rules", _raise(exc))
    response = admin(client, "GET", "/admin/rules")
    assert response.status_code == status
    assert body_json(response) == {"error": str(exc), **extra}
    assert response.headers.get("Retry-After") == retry_after


def test_every_app_error_type_is_covered_above():
    declared = {
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.AppError) and cls is not errors.AppError
    }
    assert declared == {type(e[0]) for e in APP_ERRORS}


# (WeChat's refusal, status, body, Retry-After): what each errcode family means for the admin.
WECHAT_ERRORS = [
    (
        error_for(40003, "invalid openid", "/cgi-bin/user/info"),
        404,
        {"error": "unknown openid (not a follower of this account)", "errcode": 40003},
        None,
    ),
    (
        error_for(45015, "response out of time limit", "/cgi-bin/message/custom/send"),
        409,
        {"errcode": 45015},
        None,
    ),
    (
        error_for(45011, "api minute-quota reach limit", "/cgi-bin/tags/get"),
        429,
        {
            "error": "WeChat API quota reached; retry later",
            "errcode": 45011,
            "retryable": True,
            "retry_after": 60,
        },
        "60",
    ),
    (error_for(45009, "reach max api daily quota limit", "/x"), 429, {"retry_after": 3600}, "3600"),
    (
        error_for(-1, "system error", "/x"),
        502,
        {"error": "WeChat failed: [-1] system error", "retryable": True, "retry_after": 5},
        "5",
    ),
    (
        error_for(40001, "invalid credential", "/x"),
        502,
        {"error": "WeChat failed: [40001] invalid credential", "retryable": True},
        "5",
    ),
    (
        error_for(40125, "invalid appsecret", "/x"),
        502,
        {"error": "WeChat rejected WECHAT_APP_ID / WECHAT_APP_SECRET"},
        None,
    ),
    (error_for(40164, "invalid ip", "/x"), 502, {"errcode": 40164}, None),
    (
        error_for(40008, "invalid message type", "/x"),
        422,
        {"error": "WeChat refused: [40008] invalid message type", "errcode": 40008},
        None,
    ),
]


@pytest.mark.parametrize(
    ("exc", "status", "body", "retry_after"),
    WECHAT_ERRORS,
    ids=[str(e[0].errcode) for e in WECHAT_ERRORS],
)
def test_wechat_refusals_answer_what_they_mean(
    client, monkeypatch, caplog, exc, status, body, retry_after
):
    from chalicelib.store import rules

    monkeypatch.setattr(rules, "list_rules", _raise(exc))
    with caplog.at_level(logging.WARNING, logger="wxless.admin"):
        response = admin(client, "GET", "/admin/rules")
    assert response.status_code == status
    answer = body_json(response)
    assert answer["wechat"] == exc.errmsg and answer["errcode"] == exc.errcode
    assert body.items() <= answer.items(), answer
    if status != 429 and "retryable" not in body:
        assert "retryable" not in answer
    assert response.headers.get("Retry-After") == retry_after
    line = f"admin.wechat_error path={exc.path} errcode={exc.errcode}"
    assert line in [r.getMessage() for r in caplog.records]


def test_wechat_not_answering_is_a_retryable_502_without_errcode(client, monkeypatch):
    from chalicelib.store import rules

    exc = TransportError("HTTP 500", "/cgi-bin/tags/get", http_status=500)
    monkeypatch.setattr(rules, "list_rules", _raise(exc))
    response = admin(client, "GET", "/admin/rules")
    assert response.status_code == 502
    assert body_json(response) == {
        "error": "WeChat did not answer usefully: HTTP 500",
        "retryable": True,
        "retry_after": 5,
    }
    assert response.headers["Retry-After"] == "5"


# -- bodies the admin API cannot take ----------------------------------------------------------

DEEP = {
    "array-65": "[" * 65 + "]" * 65,
    "object-65": '{"a":' * 65 + "1" + "}" * 65,
    "array-1000": "[" * 1000 + "]" * 1000,
    "object-1200": '{"a":' * 1200 + "1" + "}" * 1200,
    "array-100000": "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/admin/rules"),
        ("PUT", "/admin/replies/default"),
        ("POST", "/admin/flows"),
        ("POST", "/admin/points/import"),
    ],
)
@pytest.mark.parametrize("body", DEEP.values(), ids=DEEP.keys())
def test_a_deeply_nested_body_is_a_400_and_stores_nothing(client, method, path, body):
    response = admin(client, method, path, body.encode())
    assert response.status_code == 400, response.body
    assert body_json(response) == {"error": "body nests arrays and objects deeper than 64 levels"}
    assert body_json(admin(client, "GET", "/admin/rules"))["items"] == []
    assert admin(client, "GET", "/admin/replies/default").status_code == 404


def test_64_levels_are_read_and_judged_like_any_body(client):
    response = admin(client, "PUT", "/admin/replies/default", ("[" * 64 + "]" * 64).encode())
    assert response.status_code == 400
    assert "deeper" not in body_json(response)["error"]  # the reply validator's own answer


def _admin_writes() -> list[tuple[str, str]]:
    from chalicelib.handlers import routing

    writes = {"POST", "PUT", "PATCH", "DELETE"}
    return [(r["method"], r["path"]) for r in routing.manifest_routes() if r["method"] in writes]


FORM = "application/x-www-form-urlencoded"  # what `curl -d` sends without -H


@pytest.mark.parametrize(("method", "path"), _admin_writes())
def test_every_admin_write_answers_415_in_our_shape_for_a_body_not_sent_as_json(
    client, method, path
):
    path = path.replace("{", "").replace("}", "")  # any id: the type is refused first
    response = _send(client, method, path, b'{"name":"x"}', FORM)
    assert response.status_code == 415, response.body
    assert body_json(response) == {"error": "send JSON with Content-Type: application/json"}


@pytest.mark.parametrize("content_type", [FORM, "text/plain", "application/octet-stream"])
def test_a_rule_sent_without_the_json_type_is_refused_and_not_stored(client, content_type):
    rule = json.dumps(text_rule("余额", "100")).encode()
    response = _send(client, "POST", "/admin/rules", rule, content_type)
    assert response.status_code == 415
    assert body_json(response)["error"] == "send JSON with Content-Type: application/json"
    assert body_json(admin(client, "GET", "/admin/rules"))["items"] == []
    # The token is checked first: no hint for a caller without it.
    assert _send(client, "POST", "/admin/rules", rule, content_type, token=None).status_code == 401


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", None])
def test_json_with_a_charset_or_without_a_content_type_is_read(client, content_type):
    rule = json.dumps(text_rule("余额", "100")).encode()
    assert _send(client, "POST", "/admin/rules", rule, content_type).status_code == 201


def test_a_write_without_a_body_is_not_asked_for_a_type(client):
    response = _send(client, "POST", "/admin/campaigns/nope/cancel", b"", FORM)
    assert response.status_code == 404


def test_a_415_is_not_kept_for_its_idempotency_key(client):
    rule = json.dumps(text_rule("余额", "100")).encode()
    key = {"Idempotency-Key": "type-then-fixed"}
    assert _send(client, "POST", "/admin/rules", rule, FORM, **key).status_code == 415
    retry = _send(client, "POST", "/admin/rules", rule, "application/json", **key)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
