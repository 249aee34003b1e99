"""Which WeChat channel a template campaign sends through: template messages (default) or
subscribe notifications (`template.channel: subscribe`), which reach only followers who
consented to the template (chalicelib.notify.consent): each recipient's one-time consent is
spent with a conditional write before the call, given back when WeChat refuses the message for
another reason, and revoked on 43101. A recipient without consent is recorded failed with
errcode `no_consent`, and WeChat is not called. bizsend has no client_msg_id: a recipient whose
first attempt got no answer is recorded unknown, never sent again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.notify import consent

TEMPLATE, SUBSCRIBE = "template", "subscribe"
CHANNELS = (TEMPLATE, SUBSCRIBE)
NO_CONSENT = "no_consent"
CONSENT_REFUSED = 43101


def is_subscribe(template: Mapping[str, Any]) -> bool:
    return template.get("channel") == SUBSCRIBE


def may_send(template: Mapping[str, Any], openid: str) -> bool:
    """True for template messages; for subscribe notifications, spends the follower's consent
    (False: none)."""
    return not is_subscribe(template) or consent.take(str(template["template_id"]), openid)


def unspent(template: Mapping[str, Any], openid: str, errcode: int | None, now: float) -> None:
    """The message did not go out (WeChat refused it, or will be asked again): its consent is
    given back, or revoked when WeChat says the follower refuses (43101)."""
    if not is_subscribe(template):
        return
    if errcode == CONSENT_REFUSED:
        consent.revoke(str(template["template_id"]), openid, now)
    else:
        consent.give_back(str(template["template_id"]), openid)


def send(
    client: Any,
    template: Mapping[str, Any],
    openid: str,
    data: dict,
    client_msg_id: str | None = None,
) -> str | None:
    """One message through the template's channel -> WeChat's msgid (bizsend may give none)."""
    if is_subscribe(template):
        return client.subscribe.send(
            openid,
            template["template_id"],
            data,
            page=template.get("url"),
            miniprogram=template.get("miniprogram"),
        )
    return str(
        client.messages.send_template(
            openid,
            template["template_id"],
            data,
            url=template.get("url"),
            miniprogram=template.get("miniprogram"),
            client_msg_id=client_msg_id,
        )
    )
