"""Scheduled refresh of the access_token and the jsapi_ticket (EventBridge, every RATE_MINUTES).

Why this shape (see README "Access token"):
- `stable_token` in normal mode returns the SAME token while it has more than 5 minutes to live,
  and hands out a new one only inside those last 5 minutes (the old one stays valid until its
  own expiry). Calling earlier buys nothing, it only spends quota; force_refresh would rotate
  early but kills the token every warm container holds (and is limited to 20/day).
- So the job runs often (cheap: one DynamoDB read when there is nothing to do) and calls WeChat
  only when the stored token has less than ACCESS_WINDOW left: one call per token lifetime,
  ~13 per 24 h. The new token is stored while the old one is still valid for 3-5 minutes, and
  containers stop using a token 60 s before its expiry, so no caller ever holds an expired one.
- If WeChat answers with the same token (its clock said more than 5 minutes were left), the
  stored expiry is corrected from `expires_in` and the next run tries again.
- The jsapi_ticket is refreshed after the token when it has less than TICKET_MARGIN left.
- Overlapping invocations (EventBridge delivers at least once; the local scheduler and a manual
  run) are serialised by the token store's lease: at most one WeChat call per credential.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from chalicelib.jobs import schedules

log = logging.getLogger("wxless.jobs.token_refresh")

#: EventBridge rate (declared in chalicelib/jobs/schedules.py, which app.py reads).
RATE_MINUTES = schedules.TOKEN_REFRESH_RATE_MINUTES
RATE_SECONDS = RATE_MINUTES * 60
#: Call stable_token when the stored token has less than this left (WeChat renews at < 300 s;
#: 10 s of slack absorbs the request's own latency).
ACCESS_WINDOW = 290
#: Refresh the jsapi_ticket when it has less than this left.
TICKET_MARGIN = 600


def run(
    event: Any = None,
    *,
    clock: Callable[[], float] = time.time,
    wechat: Any = None,
) -> dict[str, Any]:
    """One scheduled pass. Never raises: failures are logged, kept in the token item's
    `last_error` (GET /admin/token) and retried on the next run (EventBridge's own retries of a
    failed invocation would only add calls)."""
    from chalicelib import config, wiring
    from chalicelib.store import tokens

    api = wechat or wiring.wechat()
    app_id = config.get(config.WECHAT_APP_ID)

    def fetch_access_token() -> tuple[str, int]:
        return api.token.fetch_stable_token(app_id, config.get(config.WECHAT_APP_SECRET))

    def fetch_jsapi_ticket() -> tuple[str, int]:
        return api.token.get_ticket("jsapi")

    result: dict[str, Any] = {}
    access = _refresh_one(tokens.ACCESS, fetch_access_token, ACCESS_WINDOW, clock)
    result["access"] = access
    if access["outcome"] in ("refreshed", "unchanged") and wechat is None:
        # This container's client must not keep serving the token it cached before.
        wiring.token_provider().forget()
    if _has_usable_token(access, clock):
        result["jsapi"] = _refresh_one(tokens.JSAPI, fetch_jsapi_ticket, TICKET_MARGIN, clock)
    else:
        # No access token to ask with: asking anyway would only start a second refresh.
        result["jsapi"] = {"outcome": "skipped"}
    if any(r["outcome"] not in ("fresh", "busy") for r in result.values()):
        log.info("token_refresh %s", json.dumps(result, separators=(",", ":")))
    return result


def _has_usable_token(access: dict[str, Any], clock: Callable[[], float]) -> bool:
    from chalicelib.store import tokens

    if access["outcome"] in ("fresh", "refreshed", "unchanged"):
        return True
    try:
        stored = tokens.read(tokens.ACCESS, consistent=True)
    except Exception:
        return False
    return stored is not None and stored.usable(clock())


def _refresh_one(
    kind: str, fetch: Callable[[], tuple[str, int]], window: float, clock: Callable[[], float]
) -> dict[str, Any]:
    from chalicelib.store import tokens

    try:
        stored = tokens.read(kind, consistent=True)
        now = clock()
        if stored is not None and stored.remaining(now) > window:
            return {"outcome": "fresh", "expires_in": int(stored.remaining(now))}
        refreshed = tokens.refresh(kind, fetch, stored, clock=clock)
    except Exception as exc:
        log.error("token_refresh.failed kind=%s error=%s", kind, tokens.describe(exc))
        return {"outcome": "failed", "error": tokens.describe(exc)}
    if refreshed.token is None:
        return {"outcome": refreshed.outcome}
    token = refreshed.token
    same = stored is not None and stored.value == token.value
    return {
        "outcome": "unchanged" if same else "refreshed",
        "generation": token.generation,
        "expires_in": int(token.remaining(clock())),
    }
