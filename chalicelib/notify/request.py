"""What a caller of `POST /admin/notify` may ask for (pure): one follower, one template or
subscribe notification, now, under the caller's own `client_msg_id`. The data's shape is
checked here; its values against the template's fields by the service (the template is synced
from WeChat)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import InvalidInput
from chalicelib.wechat.templates import value_of

TEMPLATE, SUBSCRIBE = "template", "subscribe"
CHANNELS = (TEMPLATE, SUBSCRIBE)
ALLOWED = ("openid", "template_id", "data", "url", "client_msg_id", "channel")
_CLIENT_MSG_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TEMPLATE_ID = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")


@dataclass(frozen=True, slots=True)
class NotifyRequest:
    client_msg_id: str
    openid: str
    template_id: str
    data: dict[str, dict[str, str]]
    channel: str = TEMPLATE
    url: str | None = None  # a subscribe notification's `page` (a web page) at WeChat

    @property
    def fingerprint(self) -> str:
        """What makes two requests the same notification (a repeat), whatever their order."""
        text = json.dumps(
            [self.openid, self.template_id, self.data, self.channel, self.url],
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def wechat_msg_id(self) -> str:
        """The client_msg_id WeChat deduplicates a template message on (10 minutes, per
        openid): derived, so every attempt of one notification carries the same."""
        digest = hashlib.blake2b(self.client_msg_id.encode(), digest_size=12).hexdigest()
        return f"wxl-n-{digest}"


def _text(body: Mapping[str, Any], key: str, pattern: re.Pattern[str], what: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InvalidInput(f"{key}: {what}")
    return value


def _data(raw: Any) -> dict[str, dict[str, str]]:
    """The data as WeChat takes it, {key: {"value": text}} (text or {"value"}; no colour), so
    that two spellings of one notification are one fingerprint."""
    if not isinstance(raw, Mapping) or not raw:
        raise InvalidInput("data: an object of field -> text or {value}", field="data")
    return {str(key): {"value": value_of(str(key), entry, "data")} for key, entry in raw.items()}


def parse(body: Mapping[str, Any]) -> NotifyRequest:
    unknown = sorted(set(body) - set(ALLOWED))
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
    client_msg_id = _text(body, "client_msg_id", _CLIENT_MSG_ID, "1..64 letters, digits or _ . : -")
    openid = _text(body, "openid", _OPENID, "a WeChat openid (1..64 letters, digits, _ or -)")
    template_id = _text(body, "template_id", _TEMPLATE_ID, "a template id")
    channel = body.get("channel", TEMPLATE)
    if channel not in CHANNELS:
        raise InvalidInput(f"channel: one of {', '.join(CHANNELS)}")
    url = body.get("url")
    if url is not None:
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise InvalidInput("url: an http(s) URL")
        if len(url) > 1024:
            raise InvalidInput("url: at most 1024 characters")
    return NotifyRequest(
        client_msg_id=client_msg_id,
        openid=openid,
        template_id=template_id,
        data=_data(body.get("data")),
        channel=channel,
        url=url,
    )
