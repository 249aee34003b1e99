"""Admin writes under storage faults, at every write each request makes: the admin gets either
success or a clear retryable 503 (with Retry-After), a 503 leaves the data exactly as it was
(nothing half-written), and the retry then leaves exactly what one clean request would have."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from infra.seed_flows import DEMO_FLOW
from tests.conftest import _reset_process_state, empty_store
from tests.faults import KINDS, RESENT, WRITES, injected
from tests.functional.helpers import admin, body_json, text_rule
from tests.functional.test_campaigns import mass_body
from tests.functional.test_media import PNG

TOMORROW = int(time.time()) + 86400
PNG_B64 = base64.b64encode(PNG).decode()

# Values that differ between two otherwise identical requests (fresh ids, clocks).
VOLATILE = {
    "id",
    "created_at",
    "updated_at",
    "published_at",
    "version",
    "etag",
    "rule_id",
    "category_id",
    "flow_id",
    "url",  # public links carry the id
}


# Values that carry fresh ids or signatures: only whether they are set is compared.
PRESENCE = {"cover_key", "cover_url"}


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: bool(v) if k in PRESENCE else _stable(v)
            for k, v in sorted(value.items())
            if k not in VOLATILE
        }
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


@dataclass
class Case:
    name: str
    request: Callable[[Any, dict], tuple[str, str, Any]]  # (client, setup result) -> request
    reads: tuple[str, ...]  # admin GETs whose answers make up the state ("s3": the bucket)
    setup: Callable[[Any], dict] = lambda client: {}


def _created(client, path: str, body: dict) -> dict:
    response = admin(client, "POST", path, body)
    assert response.status_code == 201, response.body
    return body_json(response)


CASES = [
    Case(
        "rule-create",
        lambda c, s: ("POST", "/admin/rules", text_rule("余额", "x")),
        ("/admin/rules",),
    ),
    Case(
        "rule-update",
        lambda c, s: ("PUT", f"/admin/rules/{s['id']}", text_rule("余额", "新的回复")),
        ("/admin/rules",),
        lambda c: _created(c, "/admin/rules", text_rule("余额", "旧的回复")),
    ),
    Case(
        "rule-delete",
        lambda c, s: ("DELETE", f"/admin/rules/{s['id']}", None),
        ("/admin/rules",),
        lambda c: _created(c, "/admin/rules", text_rule("余额", "x")),
    ),
    Case(
        "default-reply",
        lambda c, s: ("PUT", "/admin/replies/default", {"type": "text", "content": "您好"}),
        ("/admin/replies/default",),
    ),
    Case("flow-create", lambda c, s: ("POST", "/admin/flows", DEMO_FLOW), ("/admin/flows",)),
    Case(
        "article-in-category",
        lambda c, s: ("POST", "/admin/articles", {"title": "理财", "category_id": s["id"]}),
        ("/admin/articles", "/admin/categories"),
        lambda c: _created(c, "/admin/categories", {"name": "理财"}),
    ),
    Case(
        "article-publish",
        lambda c, s: ("POST", f"/admin/articles/{s['id']}/publish", None),
        ("/admin/articles",),
        lambda c: _created(c, "/admin/articles", {"title": "开户", "body_html": "<p>x</p>"}),
    ),
    Case(
        "category-create",
        lambda c, s: ("POST", "/admin/categories", {"name": "理财", "position": 1}),
        ("/admin/categories",),
    ),
    Case(
        "campaign-create",
        lambda c, s: ("POST", "/admin/campaigns", mass_body({"type": "all"}, TOMORROW)),
        ("/admin/campaigns",),
    ),
    Case(
        "article-cover",  # S3 PutObject, then the record (and the old cover's delete)
        lambda c, s: ("PUT", f"/admin/articles/{s['id']}/cover", {"data": PNG_B64}),
        ("/admin/articles", "s3"),
        lambda c: _created(c, "/admin/articles", {"title": "封面", "body_html": "<p>x</p>"}),
    ),
    Case(
        "point-create",
        lambda c, s: (
            "POST",
            "/admin/points",
            {"name": "天河支行", "lat": 23.1372, "lng": 113.329, "tags": ["branch"]},
        ),
        ("/admin/points",),
    ),
]


def _bucket_size() -> int:
    from chalicelib import config
    from chalicelib.store.aws import client

    return client("s3").list_objects_v2(Bucket=config.media_bucket()).get("KeyCount", 0)


def _state(client, case: Case) -> list[Any]:
    out = []
    for path in case.reads:
        if path == "s3":  # objects in the media bucket: an orphan would show here
            out.append(_bucket_size())
            continue
        response = admin(client, "GET", path)
        out.append((response.status_code, _stable(body_json(response))))
    return out


def _fresh(client, case: Case) -> tuple[dict, list[Any]]:
    empty_store()
    _reset_process_state()
    setup = case.setup(client)
    return setup, _state(client, case)


@pytest.mark.parametrize("kind", [*KINDS, RESENT])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_admin_write_fault_at_every_write_is_retryable_and_never_half_written(
    client, monkeypatch, case, kind
):
    from chalicelib.cms import index as article_index

    # A clean run: what one successful request leaves, and how many writes it makes.
    setup, before = _fresh(client, case)
    with injected() as counting:
        response = admin(client, *case.request(client, setup))
    assert response.status_code < 300, response.body
    expected = _state(client, case)
    assert expected != before
    writes = sum(n for op, n in counting.calls.items() if op in WRITES)
    assert writes >= 1
    for n in range(1, writes + 1):
        setup, before = _fresh(client, case)
        with injected() as faults:
            faults.fail_nth(n, kind)
            response = admin(client, *case.request(client, setup))
        where = f"{case.name}: {kind} at write {n} of {writes} ({faults.fired})"
        with monkeypatch.context() as patch:
            # Caches heal a lost version bump within their max age, which passes here.
            patch.setattr(article_index, "ADMIN_INDEX_MAX_AGE", 0.0)
            now = _state(client, case)
        if response.status_code < 300:
            # Only a cache-version bump after the data write failed: the admin is told the
            # truth (it succeeded).
            assert now == expected, where
            continue
        if now == expected:
            # A re-sent write found its own first attempt (kind RESENT). A create must then
            # succeed (a retry would make a second item); an update or delete may say 409/404,
            # after which the admin reloads and sees it done.
            method, path, _ = case.request(client, setup)
            creates = method == "POST" and path.count("/") == 2
            assert not creates and response.status_code in (404, 409), (where, response.body)
            continue
        assert response.status_code == 503, where
        assert body_json(response)["retryable"] is True, where
        assert response.headers["Retry-After"] == "2", where
        assert now == before, where  # nothing half-written
        retry = admin(client, *case.request(client, setup))
        assert retry.status_code < 300, (where, retry.body)
        assert _state(client, case) == expected, where  # applied once
