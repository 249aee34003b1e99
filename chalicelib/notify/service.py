"""One notification now, at most once per `client_msg_id` (the notify API's service).

    validate (the data against its template, synced from WeChat) -> the caller's rate ->
    claim the id -> limits (daily quota, consent) -> WeChat -> the msg_id pointer -> the
    answer, kept and replayed to every repeat for 24 h

Why a repeat can never send twice:
- **Concurrent repeats**: the id is claimed with one conditional write; the loser waits a few
  seconds for the holder's answer and returns it (or 409 `retryable`: ask again shortly).
- **A crash between WeChat's answer and our record**: the claim stays `sending` until its lease
  ends; a repeat then takes it over and sends again *with the same WeChat client_msg_id*
  (derived from ours), which WeChat deduplicates for 10 minutes: no second message, and the
  answer is recorded this time. Past WeChat's window (9 minutes, a minute's margin) a resend is
  not safe: the notification is closed as `unknown` (409) instead.
- **No answer from WeChat** (timeout, busy): released as ambiguous, same rule.
- Subscribe notifications have no such key at WeChat: an ambiguous one is never resent.

Per-recipient status: the msg_id pointer (store.campaign_results, kind `notify`) lets the stream
aggregator record TEMPLATESENDJOBFINISH / subscribe_msg_sent_event on the record.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from chalicelib import config
from chalicelib.campaigns.limits import beijing_day, template_daily_quota
from chalicelib.campaigns.quota import DAILY_QUOTA, quota_reset_after
from chalicelib.errors import Conflict, InvalidInput, TooManyRequests, Unprocessable
from chalicelib.notify import consent, subscriptions
from chalicelib.notify.request import SUBSCRIBE, TEMPLATE, NotifyRequest
from chalicelib.store import campaign_limits, campaign_results, notify_limits
from chalicelib.store import notify as store
from chalicelib.wechat.api import (
    DuplicateClientMsgIdError,
    RateLimitError,
    SystemBusyError,
    TransportError,
    WeChatAPIError,
)
from chalicelib.wxaccount import templates

log = logging.getLogger("wxless.notify")

RATE_PER_MINUTE = "WXLESS_NOTIFY_RATE_PER_MINUTE"  # per caller (credential); default 600
DAILY_BUDGET = "WXLESS_NOTIFY_DAILY_QUOTA"  # template messages a day; default: the template quota
DEDUP_WINDOW = 540.0  # WeChat dedups a template's client_msg_id for 10 min; a minute's margin
WAIT_SECONDS = 4.0  # a concurrent repeat waits this long for the first one's answer
POLL_SECONDS = 0.2
POINTER_SECONDS = 30 * 86400
CONSENT_REFUSED = 43101  # WeChat: the follower refuses this subscribe notification


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def _setting(name: str, default: int) -> int:
    try:
        return max(1, int(config.get(name, str(default))))
    except ValueError:
        return default


def rate_limit() -> int:
    return _setting(RATE_PER_MINUTE, 600)


def daily_budget() -> int:
    return _setting(DAILY_BUDGET, template_daily_quota())


def notify(req: NotifyRequest, caller: str, api: Any, now: float | None = None) -> Answer:
    """Send `req` now, or answer what its first request got. Raises AppError for answers that
    are not kept (bad input, limits, retry later)."""
    now = time.time() if now is None else now
    try:
        check(req, api)
    except InvalidInput:
        # A repeat of a notification already answered gets that answer, even if its template
        # has since changed or gone at WeChat: the check was made when it was sent. Another
        # body that breaks its template is a 400 like any, repeat or not.
        record = store.get(req.client_msg_id) or {}
        kept = _kept(req, record) if record.get("fp") == req.fingerprint else None
        if kept is None:
            raise
        return kept
    if not notify_limits.take_request(caller, now, rate_limit()):
        raise TooManyRequests(
            f"at most {rate_limit()} notify requests a minute per caller",
            retry_after=60 - int(now) % 60,
        )
    fields = {
        "openid": req.openid,
        "template_id": req.template_id,
        "channel": req.channel,
        "caller": caller,
    }
    claim = store.claim(req.client_msg_id, req.fingerprint, fields, now)
    if claim.token is None:
        return _repeat(req, claim.record)
    return _attempt(req, claim.token, claim.record, api, now)


def check(req: NotifyRequest, api: Any) -> None:
    """The data against its template as synced from WeChat (an unknown template is asked for
    once): InvalidInput naming the field, before anything is counted or claimed."""
    find = subscriptions.template_for if req.channel == SUBSCRIBE else templates.template_for
    templates.check(req.template_id, req.data, api, find=find)


def _kept(req: NotifyRequest, record: dict[str, Any]) -> Answer | None:
    """The answer `record` keeps for its client_msg_id, if answered: a repeat gets it whatever
    it carries (CONTRACT section 6, and WeChat's own client_msg_id: one message per id)."""
    if record.get("state") != store.DONE:
        return None
    if record.get("fp") != req.fingerprint:  # the caller's bug, most likely: say so in the logs
        log.warning("notify.id_reused client_msg_id=%s: another body", req.client_msg_id)
    return Answer(int(record["answer_status"]), json.loads(record["answer"]), replayed=True)


def _repeat(req: NotifyRequest, record: dict[str, Any]) -> Answer:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        answered = _kept(req, record)
        if answered is not None:
            return answered
        if record.get("fp") != req.fingerprint and record.get("state") != store.SENDING:
            # Its own notification was not sent (a retryable failure): only a repeat of that
            # one may take it over.
            raise Unprocessable(
                f"client_msg_id {req.client_msg_id} is held by another notification (recipient, "
                "template or data differ) that was not sent; repeat that one or use a new id"
            )
        if time.monotonic() >= deadline:
            raise Conflict(
                f"notification {req.client_msg_id} is being sent by another request; ask again "
                "shortly for its answer",
                retryable=True,
                retry_after=1,
            )
        time.sleep(POLL_SECONDS)
        record = store.get(req.client_msg_id) or {}


def _attempt(
    req: NotifyRequest, token: int, record: dict[str, Any], api: Any, now: float
) -> Answer:
    first = float(record.get("first_at") or now)
    if record.get("ambiguous") and (req.channel == SUBSCRIBE or now - first > DEDUP_WINDOW):
        why = (
            "a subscribe notification cannot be resent safely"
            if req.channel == SUBSCRIBE
            else "WeChat's 10-minute deduplication window has passed"
        )
        return _finish(
            req, token, 409,
            {
                "error": f"an earlier attempt got no answer from WeChat and {why}: it may or "
                "may not have been delivered; not sent again",
                "status": "unknown",
                "retryable": False,
            },
            {"status": "unknown"}, now,
        )  # fmt: skip
    if req.channel == TEMPLATE:
        _check_daily_quota(req, token, now)
        return _send_template(req, token, api, now)
    return _send_subscribe(req, token, api, now)


def _check_daily_quota(req: NotifyRequest, token: int, now: float) -> None:
    paused = float((campaign_limits.template_pause() or {}).get("until") or 0)
    if paused > now:
        _release(req, token, ambiguous=False, error="template daily quota paused")
        raise TooManyRequests(
            "the account's daily template quota is spent (WeChat 45009); it resets at 00:00 "
            "Beijing time",
            retry_after=int(paused - now) + 1,
        )
    if notify_limits.sent_today(beijing_day(now)) >= daily_budget():
        _release(req, token, ambiguous=False, error="daily notify budget spent")
        reset = quota_reset_after(now)
        raise TooManyRequests(
            f"the notify API's daily budget of {daily_budget():,} template messages is spent "
            f"({DAILY_BUDGET}); it resets at 00:00 Beijing time",
            retry_after=int(reset - now) + 1,
        )


def _send_template(req: NotifyRequest, token: int, api: Any, now: float) -> Answer:
    try:
        msgid: str | None = str(
            api.messages.send_template(
                req.openid, req.template_id, req.data, url=req.url, client_msg_id=req.wechat_msg_id
            )
        )
    except DuplicateClientMsgIdError as exc:  # WeChat: already sent under this key
        found = exc.response.get("msgid", exc.response.get("msg_id"))
        if found is None:
            return _refused(req, token, exc, now)
        msgid = str(found)
    except RateLimitError as exc:
        _release(req, token, ambiguous=False, error=str(exc))
        if exc.errcode == DAILY_QUOTA:
            until = quota_reset_after(now - 60)
            campaign_limits.pause_template_sends(
                until, now, errcode=exc.errcode, campaign_id="notify"
            )
        raise
    except (TransportError, SystemBusyError) as exc:
        _release(req, token, ambiguous=True, error=str(exc))
        raise
    except WeChatAPIError as exc:
        if exc.status >= 500:  # ours or WeChat's fault (token, IP whitelist): nothing sent
            _release(req, token, ambiguous=False, error=str(exc))
            raise
        return _refused(req, token, exc, now)
    notify_limits.count_sent(beijing_day(now), int(quota_reset_after(now)) + 86400)
    return _sent(req, token, msgid, now)


def _send_subscribe(req: NotifyRequest, token: int, api: Any, now: float) -> Answer:
    if not consent.take(req.template_id, req.openid):
        return _finish(
            req, token, 409,
            {
                "error": "the follower has not accepted this subscribe notification (or has "
                "used up their one-time consents)",
                "status": "refused",
                "retryable": False,
            },
            {"status": "refused"}, now,
        )  # fmt: skip
    try:
        msgid = api.subscribe.send(req.openid, req.template_id, req.data, page=req.url)
    except (TransportError, SystemBusyError) as exc:
        _release(req, token, ambiguous=True, error=str(exc))  # the consent stays used
        raise
    except WeChatAPIError as exc:
        if exc.errcode == CONSENT_REFUSED:
            consent.revoke(req.template_id, req.openid, now)
        else:
            consent.give_back(req.template_id, req.openid)
        if exc.status >= 500 or exc.retryable:
            _release(req, token, ambiguous=False, error=str(exc))
            raise
        return _refused(req, token, exc, now)
    return _sent(req, token, msgid, now)


def _sent(req: NotifyRequest, token: int, msgid: str | None, now: float) -> Answer:
    if msgid:
        campaign_results.put_pointer(
            {
                "msg_id": msgid,
                "kind": "notify",
                "ref": req.client_msg_id,
                "expires_at": int(now) + POINTER_SECONDS,
            }
        )
    body = {
        "client_msg_id": req.client_msg_id,
        "openid": req.openid,
        "template_id": req.template_id,
        "channel": req.channel,
        "status": "sent",
        "msgid": msgid,
        "sent_at": int(now),
    }
    outcome = {"status": "sent", "sent_at": int(now)} | ({"msgid": msgid} if msgid else {})
    return _finish(req, token, 200, body, outcome, now)


def _refused(req: NotifyRequest, token: int, exc: WeChatAPIError, now: float) -> Answer:
    """WeChat refused this notification for good (unsubscribed, unknown openid, bad data...)."""
    body = {"error": exc.message, **exc.extra, "status": "failed"}
    body.pop("retryable", None)
    outcome = {"status": "failed", "errcode": exc.errcode}
    return _finish(req, token, exc.status, body, outcome, now)


def _finish(
    req: NotifyRequest, token: int, status: int, body: dict[str, Any], outcome: dict[str, Any],
    now: float,
) -> Answer:  # fmt: skip
    body = {"client_msg_id": req.client_msg_id, **body}
    if not store.finish(req.client_msg_id, token, status, body, outcome, now):
        # Our lease ran out and another request took over: its answer is the one kept.
        log.warning("notify.lease_lost")
        return _repeat(req, store.get(req.client_msg_id) or {})
    return Answer(status, body)


def _release(req: NotifyRequest, token: int, *, ambiguous: bool, error: str) -> None:
    if not store.release(req.client_msg_id, token, ambiguous=ambiguous, error=error):
        log.warning("notify.release_lost")


def view(record: dict[str, Any], client_msg_id: str) -> dict[str, Any]:
    """A notification as `GET /admin/notify/{client_msg_id}` shows it."""
    state = record.get("state")
    status = record.get("status") or ("sending" if state == store.SENDING else "retry")
    return {
        "client_msg_id": client_msg_id,
        "openid": record.get("openid"),
        "template_id": record.get("template_id"),
        "channel": record.get("channel"),
        "status": status,
        "msgid": record.get("msgid"),
        "errcode": record.get("errcode"),
        "attempts": int(record.get("attempts") or 0),
        "created_at": int(float(record.get("created_at") or 0)),
        "sent_at": record.get("sent_at"),
        "delivery": record.get("delivery"),
        "delivery_status": record.get("delivery_status"),
        "delivered_at": int(record["delivered_at"]) if record.get("delivered_at") else None,
        "last_error": record.get("last_error"),
    }
