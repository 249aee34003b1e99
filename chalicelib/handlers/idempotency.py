"""`Idempotency-Key` on the admin API's writes (POST, PUT, PATCH, DELETE), as Stripe does it.

A client that retries a write after a timeout sends the same key again and gets the first
answer back (`Idempotent-Replayed: true`) instead of a second campaign or rule. The key is bound
to its first request (method, path, query, body bytes): the same key with another request is 422
and changes nothing. A repeat while the first still runs is 409 retryable. Answers below 500 are
kept for 24 h and replayed; after a 5xx (storage unavailable, a bug) or a 429 (WeChat's quota)
the key is released so that the retry runs. Only requests that carry the header pay for it
(store.idempotency).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Callable
from typing import Any

from chalice import Response

from chalicelib.handlers.responses import JSON_TYPE, error, store_unavailable
from chalicelib.store import idempotency as store
from chalicelib.store.errors import StoreUnavailable

log = logging.getLogger("wxless.admin")
HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
#: 1-255 printable ASCII characters, no space at either end (HTTP would strip it).
VALID_KEY = re.compile(r"[!-~](?:[ -~]{0,253}[!-~])?")
BAD_KEY = f"{HEADER} must be 1-255 printable ASCII characters"
OTHER_REQUEST = (
    f"this {HEADER} was already used for a different request (method, path or body); "
    "send a new key for a new request"
)
IN_PROGRESS = f"a request with this {HEADER} is still in progress; retry later"
#: Seconds a client should wait before retrying an in-progress key.
IN_PROGRESS_RETRY_AFTER = 1


def fingerprint(request: Any) -> str:
    """What makes two requests the same: method, route, path and query values, body bytes."""
    query = request.query_params
    parts = {
        "method": request.method,
        "path": request.path,
        "params": sorted((request.uri_params or {}).items()),
        "query": sorted((k, v) for k in query for v in query.getlist(k)) if query else [],
        "body": hashlib.sha256(request.raw_body or b"").hexdigest(),
    }
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def once(request: Any, key: str, run: Callable[[], Response]) -> Response:
    """Answer a write carrying an idempotency key: run it at most once per key."""
    if not VALID_KEY.fullmatch(key):
        return error(400, BAD_KEY)
    key_id = hashlib.sha256(key.encode("ascii")).hexdigest()
    fp = fingerprint(request)
    try:
        claim = store.reserve(key_id, fp)
    except StoreUnavailable as exc:
        return store_unavailable(exc)
    if claim.token is None:
        return _repeat(claim, fp)
    try:
        response = run()
    except Exception:
        _release(key_id, claim.token)  # a 500 from Chalice: the retry may run
        raise
    if response.status_code >= 500 or response.status_code == 429:  # "retry later"
        _release(key_id, claim.token)
        return response
    try:
        store.complete(
            key_id, claim.token, fp, response.status_code, _content_type(response), _body(response)
        )
    except StoreUnavailable:
        # The work is done and answered; a repeat gets 409 until the lease ends, then runs.
        log.warning("idempotency.store_failed key=%s", key_id[:12], exc_info=True)
    return response


def _repeat(claim: store.Claim, fp: str) -> Response:
    if claim.fingerprint != fp:
        return error(422, OTHER_REQUEST)
    if claim.state != store.DONE:
        return error(409, IN_PROGRESS, retryable=True, retry_after=IN_PROGRESS_RETRY_AFTER)
    if claim.too_large:
        return error(
            409,
            f"the request with this {HEADER} was done ({claim.status}); its answer "
            "is too large to replay: read the result with a GET",
        )
    headers = {"Content-Type": claim.content_type, "Cache-Control": "no-store", REPLAYED: "true"}
    body: str | bytes = claim.body
    if claim.content_type.startswith(("application/json", "text/")):
        body = claim.body.decode("utf-8")
    return Response(body, status_code=claim.status, headers=headers)


def _release(key_id: str, token: int) -> None:
    try:
        store.release(key_id, token)
    except StoreUnavailable:
        # The lease ends on its own: a retry gets 409 (retryable) until then.
        log.warning("idempotency.release_failed key=%s", key_id[:12], exc_info=True)


def _content_type(response: Response) -> str:
    for name, value in (response.headers or {}).items():
        if name.lower() == "content-type":
            return str(value)
    return JSON_TYPE  # Chalice's default for a body without one


def _body(response: Response) -> bytes:
    body = response.body
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, separators=(",", ":")).encode("utf-8")  # as Chalice serializes it
