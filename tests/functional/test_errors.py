"""How an admin view's failure becomes an answer (handlers/common.admin_route): an `AppError`
answers its own status and fields, anything else is a bug (a logged 500 with its traceback,
never a polite 400)."""

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

    headers_key = {"Idempotency-Key": "bug-then-fixed"}
    create = rules.create_rule
    monkeypatch.setattr(rules, "create_rule", _raise(ValueError("bug")))
    first = _admin_with(client, "POST", "/admin/rules", text_rule("余额", "100"), headers_key)
    assert first.status_code == 500
    monkeypatch.setattr(rules, "create_rule", create)
    retry = _admin_with(client, "POST", "/admin/rules", text_rule("余额", "100"), headers_key)
    assert retry.status_code == 201, retry.body  # the 500 was not kept for replay
    assert "Idempotent-Replayed" not in retry.headers


def _admin_with(client, method, path, body, extra_headers):
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {wxsim.ADMIN}",
        **extra_headers,
    }
    return client.http.request(method, path, headers=headers, body=json.dumps(body).encode())


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
