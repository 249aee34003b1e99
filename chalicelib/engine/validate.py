"""Validation of admin-written rule bodies: one clear message per mistake, nothing stored."""

from __future__ import annotations

from typing import Any

from chalicelib.engine.rules import MATCH_TYPES, check_keywords
from chalicelib.errors import InvalidInput
from chalicelib.wechat.replies import validate_reply

RULE_FIELDS = ("name", "match", "keywords", "reply", "priority", "enabled")
READ_ONLY = ("id", "seq", "created_at", "updated_at")
PRIORITY_LIMIT = 1_000_000


def validate_rule(body: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """`base` is the stored rule when updating: fields absent from `body` keep their value."""
    if not isinstance(body, dict):
        raise InvalidInput("rule must be a JSON object")
    unknown = sorted(set(body) - set(RULE_FIELDS) - set(READ_ONLY))
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
    merged: dict[str, Any] = {"priority": 0, "enabled": True}
    if base:
        merged.update({k: base[k] for k in RULE_FIELDS if k in base})
    merged.update({k: body[k] for k in RULE_FIELDS if k in body})

    for required in ("name", "match", "keywords", "reply"):
        if required not in merged:
            raise InvalidInput(f"{required} is required")
    name = merged["name"]
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("name must be a non-empty string")
    if len(name) > 100:
        raise InvalidInput("name must be at most 100 characters")
    match = merged["match"]
    if match not in MATCH_TYPES:
        raise InvalidInput(f"match must be one of {', '.join(MATCH_TYPES)}")
    keywords = check_keywords(match, merged["keywords"])
    reply = validate_reply(merged["reply"])
    priority = merged["priority"]
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise InvalidInput("priority must be an integer")
    if abs(priority) > PRIORITY_LIMIT:
        raise InvalidInput(f"priority must be between -{PRIORITY_LIMIT} and {PRIORITY_LIMIT}")
    enabled = merged["enabled"]
    if not isinstance(enabled, bool):
        raise InvalidInput("enabled must be true or false")
    return {
        "name": name.strip(),
        "match": match,
        "keywords": keywords,
        "reply": reply,
        "priority": priority,
        "enabled": enabled,
    }
