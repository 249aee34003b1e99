"""What WeChat's API answers when it refuses: one exception type per errcode family.

Each type is a `chalicelib.errors.AppError`, so an admin route that lets one escape answers what
the refusal means for the admin: 404 for unknown ids, 409 for state conflicts (e.g. 45015
outside the customer-service window), 422 when WeChat refused what was asked for another reason,
429 for quota, and 502 only when the fault is ours or WeChat's (no answer, busy, IP whitelist,
credentials). The body carries WeChat's `errcode` and its own words (`wechat`). `str(exc)` keeps
the path and errcode for logs and job records; it never holds the URL (the access_token).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.errors import AppError

#: Seconds before an admin should retry when WeChat is busy or did not answer.
BUSY_RETRY_AFTER = 5

#: errcode -> (HTTP status, what it means for the admin), for codes without a class of their own.
REFUSALS: dict[int, tuple[int, str]] = {
    40003: (404, "unknown openid (not a follower of this account)"),
    40050: (404, "unknown tag"),
    45159: (404, "unknown tag"),
    45157: (409, "a tag with this name already exists"),
    45158: (400, "tag name too long (30 characters at most)"),
    45058: (409, "the system tags 0, 1 and 2 cannot be changed"),
    45056: (409, "too many tags: WeChat allows 100"),
    45057: (409, "the tag has more than 100,000 followers; untag them first"),
    45059: (409, "a follower already has the maximum of 20 tags"),
    46003: (404, "no menu is published"),
    65301: (404, "unknown conditional menu"),
    65303: (409, "publish a default menu first (PUT /admin/menu): conditional menus need one"),
    40007: (400, "WeChat does not know this media_id"),
    # subscribe notifications (/wxaapi/newtmpl, subscribe/bizsend)
    43101: (409, "the follower refuses this subscribe notification (no consent left)"),
    200011: (409, "this template is banned at WeChat"),
    200012: (409, "too many subscribe templates: WeChat allows 50; delete one first"),
    200013: (409, "this template is banned at WeChat"),
    200014: (400, "unknown template tid"),
    200020: (400, "kid_list does not fit the template's keywords"),
    200021: (400, "scene_desc does not fit WeChat's rules (15 characters at most)"),
    # comments on articles
    88000: (409, "the account has no comment privilege"),
    88001: (404, "WeChat does not know this article (msg_data_id, index)"),
    88002: (409, "this article is restricted for safety"),
    88003: (409, "too many elected comments"),
    88004: (409, "the follower deleted this comment"),
    88005: (409, "this comment already has a reply"),
    88007: (400, "a reply must be 1..1000 characters"),
    88008: (404, "no such comment"),
    88010: (400, "begin/count out of range"),
}


class WeChatAPIError(AppError):
    """WeChat answered with ``errcode != 0`` (or, for TransportError, did not answer usefully).

    Answers 422 (WeChat refused this particular request: bad content, limits) unless its class
    or its errcode (:data:`REFUSALS`) says what else it means.
    """

    #: Whether repeating the same call later may succeed (callers/jobs decide; the client never
    #: repeats on its own except the single token retry).
    retryable: bool = False
    status = 422
    #: What the refusal means for the admin; None: "WeChat refused: [errcode] errmsg".
    meaning: str | None = None

    def __init__(
        self,
        errcode: int,
        errmsg: str,
        path: str = "",
        response: Mapping[str, Any] | None = None,
    ) -> None:
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path
        # The full decoded answer: some errors carry data (45065 carries the existing msg_id).
        self.response: dict[str, Any] = dict(response or {})
        super().__init__(f"{path or '?'}: [{errcode}] {errmsg}", errcode=errcode, wechat=errmsg)
        known = REFUSALS.get(errcode)
        if known is not None:
            self.status, self.meaning = known

    @property
    def message(self) -> str:
        return self.meaning or f"WeChat refused: [{self.errcode}] {self.errmsg}"

    def log_line(self) -> str:
        # errmsg may quote what was sent (an openid, a name): path and errcode only.
        return f"wechat_error path={self.path} errcode={self.errcode}"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the error picklable (logging handlers, multiprocessing) despite the custom __init__.
        return (self.__class__, (self.errcode, self.errmsg, self.path, self.response))


class _WeChatFailed(WeChatAPIError):
    """WeChat itself failed (not this request): 502, try again in a few seconds."""

    status = 502
    retry_after = BUSY_RETRY_AFTER

    @property
    def message(self) -> str:
        return f"WeChat failed: [{self.errcode}] {self.errmsg}"


class InvalidTokenError(_WeChatFailed):
    """40001 / 40014 / 42001: access_token invalid, not the latest, or expired."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The client already retried once with a fresh token, so a job gives up (retryable is
        # False); an admin may try again: another worker's refresh may land meanwhile.
        self.extra["retryable"] = True


class InvalidCredentialError(WeChatAPIError):
    """40013 / 40125: wrong AppID or AppSecret when fetching a token (retrying cannot help)."""

    status = 502
    meaning = "WeChat rejected WECHAT_APP_ID / WECHAT_APP_SECRET"


class RateLimitError(WeChatAPIError):
    """45009 daily API limit / 45011 minute quota."""

    retryable = True
    status = 429
    meaning = "WeChat API quota reached; retry later"

    @property
    def retry_after(self) -> int:  # type: ignore[override]
        # 45011 is a per-minute quota; 45009 a daily one (reset at midnight, Beijing time).
        return 60 if self.errcode == 45011 else 3600


class QuotaExhaustedError(WeChatAPIError):
    """45028: no mass-send quota left."""


class OutOfWindowError(WeChatAPIError):
    """45015: customer-service message outside the 48 h / 1 min interaction window."""

    status = 409
    meaning = (
        "outside the customer-service window: the follower must have written within the last "
        "48 hours (or clicked the menu, subscribed or scanned within the last minute)"
    )


class TooManyMessagesError(WeChatAPIError):
    """45047: customer-service message count inside the window exceeded."""

    status = 409
    meaning = (
        "too many customer-service messages: at most 5 within 48 hours of the follower's last "
        "message (3 within a minute of a click, subscribe or scan)"
    )


class UserUnsubscribedError(WeChatAPIError):
    """43004: the follower has unsubscribed."""

    status = 409
    meaning = "the follower has unsubscribed"


class IPNotWhitelistedError(WeChatAPIError):
    """40164: the caller's egress IP is not on the account's whitelist."""

    status = 502
    meaning = "WeChat refused this server's IP: add it to the account's IP whitelist"


class SystemBusyError(_WeChatFailed):
    """-1: WeChat is busy; try again later."""

    retryable = True


class DuplicateClientMsgIdError(WeChatAPIError):
    """45065: a mass send with this clientmsgid exists (``response['msg_id']`` is the old one)."""


class TransportError(WeChatAPIError):
    """No usable WeChat answer: network error, timeout, non-2xx status or a non-JSON body.

    ``errcode`` is 0 because WeChat never said anything; ``http_status`` holds WeChat's HTTP
    status if any (``status`` is this error's own answer: 502).
    """

    retryable = True
    status = 502
    retry_after = BUSY_RETRY_AFTER

    def __init__(
        self,
        errmsg: str,
        path: str = "",
        *,
        http_status: int | None = None,
    ) -> None:
        super().__init__(0, errmsg, path)
        self.http_status = http_status
        self.extra.clear()  # no errcode: WeChat said nothing

    @property
    def message(self) -> str:
        return f"WeChat did not answer usefully: {self.errmsg}"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_transport_error, (self.errmsg, self.path, self.http_status))


def _rebuild_transport_error(errmsg: str, path: str, http_status: int | None) -> TransportError:
    return TransportError(errmsg, path, http_status=http_status)


#: errcode -> exception class. Adding a mapping is one line.
ERROR_CLASSES: dict[int, type[WeChatAPIError]] = {
    -1: SystemBusyError,
    40001: InvalidTokenError,
    40014: InvalidTokenError,
    42001: InvalidTokenError,
    40013: InvalidCredentialError,
    40125: InvalidCredentialError,
    40164: IPNotWhitelistedError,
    43004: UserUnsubscribedError,
    45009: RateLimitError,
    45011: RateLimitError,
    45015: OutOfWindowError,
    45028: QuotaExhaustedError,
    45047: TooManyMessagesError,
    45065: DuplicateClientMsgIdError,
}


def error_for(
    errcode: int, errmsg: str, path: str = "", response: Mapping[str, Any] | None = None
) -> WeChatAPIError:
    """Build the most specific exception for a WeChat ``errcode``."""
    cls = ERROR_CLASSES.get(errcode, WeChatAPIError)
    return cls(errcode, errmsg, path, response)


def check_response(data: Any, path: str) -> dict[str, Any]:
    """Return ``data`` if it is a successful WeChat answer, else raise the mapped error."""
    if not isinstance(data, dict):
        raise TransportError(f"expected a JSON object, got {type(data).__name__}", path)
    errcode = data.get("errcode", 0)  # many success answers omit errcode entirely
    try:
        errcode = int(errcode)
    except (TypeError, ValueError):
        raise TransportError(f"non-integer errcode {errcode!r}", path) from None
    if errcode != 0:
        raise error_for(errcode, str(data.get("errmsg", "")), path, data)
    return data
