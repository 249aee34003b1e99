"""The account's subscribe-notification templates as the admin sees them, synced from WeChat
(`/wxaapi/newtmpl/gettemplate`) into store/consents.py so that senders know each template's kind
(one-time or long-term) without asking WeChat, and a follower's consents."""

from __future__ import annotations

import re
from typing import Any

from chalicelib.notify.fields import RULES, field_type
from chalicelib.store import consents

_FIELD = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\.DATA\s*\}\}")
KINDS = {consents.ONE_TIME: "one_time", consents.LONG_TERM: "long_term"}


def parse_fields(content: str) -> list[dict[str, Any]]:
    """`{{thing3.DATA}}` placeholders -> [{key, type, max}] (max: WeChat's characters, or None)."""
    out = []
    for key in dict.fromkeys(_FIELD.findall(content or "")):
        kind = field_type(key)
        out.append({"key": key, "type": kind, "max": RULES[kind][0] if kind in RULES else None})
    return out


def item(template: dict[str, Any]) -> dict[str, Any]:
    kind = int(template.get("type") or consents.ONE_TIME)
    return {
        "template_id": str(template["template_id"]),
        "title": template.get("title", ""),
        "content": template.get("content", ""),
        "example": template.get("example", ""),
        "kind": KINDS.get(kind, "one_time"),
        "fields": parse_fields(template.get("content", "")),
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
