"""The account's subscribe-notification templates as the admin sees them, synced from WeChat
(`/wxaapi/newtmpl/gettemplate`) into store/consents.py so that senders know each template's kind
(one-time or long-term) and fields without asking WeChat, and a follower's consents.
`template_for` finds the synced template that a notification's data is checked against, with
the template messages' rules (chalicelib.wxaccount.templates.check(..., find=template_for))."""

from __future__ import annotations

import time
from typing import Any

from chalicelib.errors import InvalidInput
from chalicelib.store import consents
from chalicelib.wechat.templates import template_view

KINDS = {consents.ONE_TIME: "one_time", consents.LONG_TERM: "long_term"}
MISS_MAX_AGE = 10.0  # an unknown template id asks WeChat again when the copy is older than this


def item(template: dict[str, Any]) -> dict[str, Any]:
    kind = int(template.get("type") or consents.ONE_TIME)
    view = template_view(template)
    return {
        "template_id": view["template_id"],
        "title": view["title"],
        "content": view["content"],
        "example": template.get("example", ""),
        "kind": KINDS.get(kind, "one_time"),
        "fields": view["fields"],
    }


def sync(api: Any, now: float) -> list[dict[str, Any]]:
    """WeChat's list, kept (the kinds senders need), as the admin sees it."""
    templates = [
        {
            "template_id": str(t["priTmplId"]),
            "title": str(t.get("title") or ""),
            "content": str(t.get("content") or ""),
            "example": str(t.get("example") or ""),
            "type": int(t.get("type") or consents.ONE_TIME),
        }
        for t in api.subscribe.templates()
    ]
    consents.put_templates(templates, now)
    return [item(t) for t in templates]


def template_for(
    template_id: str, api: Any, *, id_field: str = "template_id", now: float | None = None
) -> dict[str, Any]:
    """The synced template as `chalicelib.wechat.templates.template_view` shows it; a miss asks
    WeChat once (the template may be new), unless our copy is only seconds old."""
    found = consents.template(template_id)
    if found is None:
        now = time.time() if now is None else now
        kept = consents.list_templates()
        synced_at = max((float(t.get("synced_at") or 0) for t in kept), default=0.0)
        if now - synced_at >= MISS_MAX_AGE:
            found = next((t for t in sync(api, now) if t["template_id"] == template_id), None)
    if found is None:
        raise InvalidInput(
            f"{id_field}: {template_id} is not one of the account's subscribe templates "
            "(GET /admin/subscribe/templates lists them)",
            field=id_field,
        )
    return template_view(found)


def follower_consents(openid: str) -> list[dict[str, Any]]:
    """Every synced template with what the follower said about it (if anything)."""
    templates = consents.list_templates()
    found = consents.of_follower(openid, [t["template_id"] for t in templates])
    out = []
    for template in templates:
        consent = found.get(template["template_id"]) or {}
        long_term = int(template.get("type") or 0) == consents.LONG_TERM
        status = consent.get("status")
        left = int(consent.get("left") or 0)
        out.append(
            {
                "template_id": template["template_id"],
                "title": template.get("title", ""),
                "kind": KINDS.get(int(template.get("type") or 0), "one_time"),
                "status": status,
                "left": None if long_term else left,
                "accepts": int(consent.get("accepts") or 0),
                "status_at": consent.get("status_at"),
                "may_send": status == consents.ACCEPT if long_term else left > 0,
            }
        )
    return out
