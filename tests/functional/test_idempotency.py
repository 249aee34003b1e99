"""`Idempotency-Key` on the admin API's writes (chalicelib/handlers/idempotency.py): a retried
create makes one thing, whatever the network did to the first answer."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from chalicelib.store.errors import StoreUnavailable
from tests import wxsim
from tests.conftest import _reset_process_state, empty_store
from tests.faults import KINDS, RESENT, WRITES, injected
from tests.functional.helpers import admin, body_json, text_rule
from tests.functional.test_campaigns import mass_body
from tests.functional.test_stats import dynamodb_calls as _dynamodb_calls

dynamodb_calls = _dynamodb_calls  # the fixture: every DynamoDB request, with its parameters
TOMORROW = int(time.time()) + 86400
CREATES = {
    "rule": ("/admin/rules", text_rule("余额", "100")),
    "campaign": (
        "/admin/campaigns",
        mass_body({"type": "openids", "openids": ["o_idem_1", "o_idem_2"]}, TOMORROW),
    ),
}


def keyed(client, method: str, path: str, body: Any = None, key: str | None = "k-1", **headers):
    """An admin request carrying an Idempotency-Key."""
    data = b"" if body is None else json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {wxsim.ADMIN}",
        **headers,
    }
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.http.request(method, path, headers=headers, body=data)


def _items(client, path: str) -> list[dict]:
    response = admin(client, "GET", path)
    assert response.status_code == 200, response.body
    return body_json(response)["items"]


def _idem_items() -> list[Any]:
    from chalicelib.store import keys
    from chalicelib.store.models import ConfigItem

    return [i for i in ConfigItem.scan() if i.pk.startswith(keys.prefix("idem"))]


@pytest.mark.parametrize("what", CREATES)
def test_same_key_twice_creates_once_and_replays_the_answer(client, what):
    path, body = CREATES[what]
    first = keyed(client, "POST", path, body)
    assert first.status_code == 201, first.body
    assert "Idempotent-Replayed" not in first.headers
    again = keyed(client, "POST", path, body)
    assert again.status_code == 201
    assert again.body == first.body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Content-Type"] == first.headers["Content-Type"]
    assert [i["id"] for i in _items(client, path)] == [body_json(first)["id"]]
    # another key is another request
    other = keyed(client, "POST", path, body, key="k-2")
    assert other.status_code == 201 and body_json(other)["id"] != body_json(first)["id"]
    assert len(_items(client, path)) == 2


def test_same_key_with_another_request_is_422_and_changes_nothing(client):
    first = keyed(client, "POST", "/admin/rules", text_rule("余额", "100"))
    assert first.status_code == 201
    for method, path, body in [
        ("POST", "/admin/rules", text_rule("余额", "200")),  # other body
        ("POST", "/admin/campaigns", mass_body({"type": "all"}, TOMORROW)),  # other path
        ("PUT", f"/admin/rules/{body_json(first)['id']}", text_rule("余额", "100")),
    ]:
        response = keyed(client, method, path, body)
        assert response.status_code == 422, (path, response.body)
        assert "different request" in body_json(response)["error"]
    assert [r["reply"]["content"] for r in _items(client, "/admin/rules")] == ["100"]
    assert _items(client, "/admin/campaigns") == []
    # the key still answers its own request
    assert keyed(client, "POST", "/admin/rules", text_rule("余额", "100")).body == first.body


def test_a_repeat_while_the_first_runs_is_409_retryable(client, monkeypatch):
    from chalicelib.store import rules

    create, seen = rules.create_rule, []

    def slow_create(fields):
        # The client gave up waiting and retries while this request is still working.
        seen.append(keyed(client, "POST", "/admin/rules", text_rule("余额", "100")))
        return create(fields)

    monkeypatch.setattr(rules, "create_rule", slow_create)
    first = keyed(client, "POST", "/admin/rules", text_rule("余额", "100"))
    assert first.status_code == 201
    (during,) = seen
    assert during.status_code == 409
    assert body_json(during)["retryable"] is True
    assert int(during.headers["Retry-After"]) >= 1
    monkeypatch.setattr(rules, "create_rule", create)
    after = keyed(client, "POST", "/admin/rules", text_rule("余额", "100"))
    assert after.body == first.body and after.headers["Idempotent-Replayed"] == "true"
    assert len(_items(client, "/admin/rules")) == 1


def test_a_holder_that_died_loses_the_key_when_its_lease_ends(aws):
    from chalicelib.store import idempotency

    key_id, fp = "0" * 64, "f" * 64
    assert idempotency.reserve(key_id, fp).token is not None
    held = idempotency.reserve(key_id, fp)
    assert (held.token, held.state) == (None, idempotency.PENDING)
    later = time.time() + idempotency.LEASE_SECONDS + 1
    assert idempotency.reserve(key_id, fp, now=later).token is not None  # taken over


@pytest.mark.parametrize("failure", ["store", "bug"])
def test_a_retryable_failure_releases_the_key_and_the_retry_creates_once(
    client, monkeypatch, failure
):
    from chalicelib.campaigns import admin as campaigns

    create, calls = campaigns.create, []

    def flaky(body, **kw):
        calls.append(1)
        if len(calls) == 1:
            if failure == "store":
                raise StoreUnavailable("injected")
            raise RuntimeError("injected bug")
        return create(body, **kw)

    monkeypatch.setattr(campaigns, "create", flaky)
    path, body = CREATES["campaign"]
    first = keyed(client, "POST", path, body)
    assert first.status_code == (503 if failure == "store" else 500)
    if failure == "store":
        assert body_json(first)["retryable"] is True
    assert _idem_items() == []  # released
    retry = keyed(client, "POST", path, body)
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    again = keyed(client, "POST", path, body)
    assert again.body == retry.body and again.headers["Idempotent-Replayed"] == "true"
    assert len(calls) == 2
    assert [c["id"] for c in _items(client, path)] == [body_json(retry)["id"]]


def test_a_validation_error_is_kept_and_replayed(client, monkeypatch):
    from chalicelib.handlers import admin_rules

    bad = {**text_rule("余额", "x"), "match": "fuzzy"}
    first = keyed(client, "POST", "/admin/rules", bad)
    assert first.status_code == 400
    monkeypatch.setattr(admin_rules, "validate_rule", lambda body: pytest.fail("ran again"))
    again = keyed(client, "POST", "/admin/rules", bad)
    assert (again.status_code, again.body) == (400, first.body)
    assert again.headers["Idempotent-Replayed"] == "true"


def test_a_delete_repeated_with_its_key_is_204_again_not_404(client):
    rule = body_json(keyed(client, "POST", "/admin/rules", text_rule("余额", "1"), key="c"))
    path = f"/admin/rules/{rule['id']}"
    first = keyed(client, "DELETE", path, key="d")
    again = keyed(client, "DELETE", path, key="d")
    assert (first.status_code, again.status_code) == (204, 204)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert keyed(client, "DELETE", path, key="d2").status_code == 404  # a new key runs


@pytest.mark.parametrize(
    "key",
    ["", " ", "x" * 256, "ключ", "a\tb", " lead", "trail "],
    ids=["empty", "space", "256", "non-ascii", "tab", "lead", "trail"],
)
def test_a_bad_key_is_400_and_runs_nothing(client, key):
    response = keyed(client, "POST", "/admin/rules", text_rule("余额", "1"), key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in body_json(response)["error"]
    assert _items(client, "/admin/rules") == []


def test_the_longest_and_odd_keys_are_fine_and_reads_ignore_the_header(client):
    for i, key in enumerate(["x" * 255, "a b~!{}", "1"]):
        response = keyed(client, "POST", "/admin/rules", text_rule(f"k{i}", "1"), key=key)
        assert response.status_code == 201, response.body
    assert keyed(client, "GET", "/admin/rules", key="").status_code == 200
    assert _idem_items() and all(
        i.expires_at.timestamp() > time.time() + 86000 for i in _idem_items()
    )


def test_without_the_header_nothing_changes_and_no_storage_call_is_added(client, dynamodb_calls):
    path, body = CREATES["rule"]
    keyed(client, "POST", path, body, key=None)  # clients built, caches warm
    counts = []
    for key in (None, "k-1"):
        dynamodb_calls.clear()
        response = keyed(client, "POST", path, body, key=key)
        assert response.status_code == 201
        counts.append(len(dynamodb_calls))
        idem = [p for _, p in dynamodb_calls if "#idem#" in json.dumps(p, default=str)]
        assert bool(idem) == (key is not None), dynamodb_calls
    assert counts[1] == counts[0] + 2  # with a key: the reservation and the kept answer


def test_a_foreign_origin_may_send_the_key(client, monkeypatch):
    monkeypatch.setenv("WXLESS_ALLOWED_ORIGINS", "https://ops.bank.example")
    origin = {"Origin": "https://ops.bank.example"}
    preflight = client.http.request("OPTIONS", "/admin/rules", headers=origin)
    assert "idempotency-key" in preflight.headers["Access-Control-Allow-Headers"].lower()
    path, body = CREATES["rule"]
    keyed(client, "POST", path, body, **origin)
    again = keyed(client, "POST", path, body, **origin)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" in again.headers["Access-Control-Expose-Headers"]


def test_storage_down_for_the_key_is_503_and_runs_nothing(client):
    path, body = CREATES["campaign"]
    with injected() as faults:
        faults.fail("PutItem", KINDS[0])
        response = keyed(client, "POST", path, body)
    assert response.status_code == 503
    assert body_json(response)["retryable"] is True and response.headers["Retry-After"]
    assert _items(client, path) == []


# -- every write of a keyed create, failed in turn (tests/functional/test_faults_admin.py) ----


def _state(client, path: str) -> list[Any]:
    from tests.functional.test_faults_admin import _stable

    return _stable(_items(client, path))


@pytest.mark.parametrize("kind", [*KINDS, RESENT])
@pytest.mark.parametrize("what", CREATES)
def test_a_fault_at_any_write_of_a_keyed_create_never_makes_two(client, what, kind):
    path, body = CREATES[what]
    with injected() as counting:
        assert keyed(client, "POST", path, body).status_code == 201
    expected = _state(client, path)
    writes = sum(n for op, n in counting.calls.items() if op in WRITES)
    assert writes >= 3  # the reservation, the create's own writes, the kept answer
    for n in range(1, writes + 1):
        empty_store()
        _reset_process_state()
        with injected() as faults:
            faults.fail_nth(n, kind)
            response = keyed(client, "POST", path, body)
        where = f"{what}: {kind} at write {n} of {writes} ({faults.fired})"
        if response.status_code >= 300:
            assert response.status_code == 503, where
            assert body_json(response)["retryable"] is True, where
            assert _items(client, path) == [], where  # nothing half-written
        else:
            assert _state(client, path) == expected, where
        # The client retries with the same key until it has an answer: one thing is made.
        answers = [keyed(client, "POST", path, body) for _ in range(2)]
        codes = [a.status_code for a in answers]
        assert _state(client, path) == expected, (where, codes)
        if response.status_code >= 300:
            assert codes == [201, 201], where
            assert answers[1].body == answers[0].body, where
        else:
            # Only the kept answer failed: the work is done; the key is held until its lease
            # ends, so a repeat is told to wait rather than run again.
            assert set(codes) <= {201, 409}, (where, codes)


def test_openapi_documents_the_key_on_every_write(client):
    doc = body_json(admin(client, "GET", "/admin/openapi.json"))
    assert doc["components"]["parameters"]["IdemKey"]["name"] == "Idempotency-Key"
    error = {"$ref": "#/components/schemas/Error"}
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method == "parameters":  # the path's own, not an operation
                continue
            keyed_op = {"$ref": "#/components/parameters/IdemKey"} in operation.get(
                "parameters", []
            )
            assert keyed_op == (method in ("post", "put", "patch", "delete")), (method, path)
            if keyed_op:
                assert {"409", "422"} <= set(operation["responses"]), (method, path)
                for code in ("409", "422"):  # the key's own answer is {"error"}, before the route
                    answer = operation["responses"][code]
                    if "$ref" in answer:
                        continue
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == error or error in schema.get("anyOf", []), (method, path)


def test_a_wechat_quota_answer_releases_the_key(client, monkeypatch):
    from chalicelib.store import rules
    from chalicelib.wechat.api import RateLimitError

    create, calls = rules.create_rule, []

    def quota_first(fields):
        calls.append(1)
        if len(calls) == 1:
            raise RateLimitError(45011, "api minute-quota reach limit")
        return create(fields)

    monkeypatch.setattr(rules, "create_rule", quota_first)
    first = keyed(client, "POST", "/admin/rules", text_rule("余额", "1"))
    assert first.status_code == 429 and body_json(first)["retryable"] is True
    retry = keyed(client, "POST", "/admin/rules", text_rule("余额", "1"))
    assert retry.status_code == 201 and "Idempotent-Replayed" not in retry.headers
    assert len(_items(client, "/admin/rules")) == 1


def test_an_answer_too_large_to_keep_is_409_on_a_repeat_not_a_second_run(aws):
    import os

    from chalicelib.handlers.idempotency import _repeat
    from chalicelib.store import idempotency

    key_id, fp = "1" * 64, "f" * 64
    claim = idempotency.reserve(key_id, fp)
    body = os.urandom(idempotency.MAX_STORED_BODY + 1)  # does not compress
    assert idempotency.complete(key_id, claim.token, fp, 201, "application/json", body)
    kept = idempotency.reserve(key_id, fp)
    assert (kept.token, kept.state, kept.status, kept.too_large) == (None, "done", 201, True)
    answer = _repeat(kept, fp)
    assert answer.status_code == 409 and "too large" in json.loads(answer.body)["error"]
