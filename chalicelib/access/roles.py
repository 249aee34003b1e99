"""Roles and permissions: which role may do what (CONTRACT.md section 4).

Every admin route declares one permission next to it (`@admin("rules:write")`, see
chalicelib/handlers/common.py `admin_route`). A permission is `<area>:<action>`; the role table
below grants permissions by area and action, so a new route in a known area needs no change
here, and a new area is one line in `AREAS`.

Pure data and two functions: no AWS, no Chalice.
"""

from __future__ import annotations

from collections.abc import Iterable

OWNER, ADMIN, EDITOR, OPERATOR, ANALYST, AGENT, NOTIFIER = (
    "owner",
    "admin",
    "editor",
    "operator",
    "analyst",
    "agent",
    "notifier",
)
#: Every role, most powerful first. `owner` is whoever holds ADMIN_TOKEN (break-glass): no user
#: or key can be given it.
ROLES: tuple[str, ...] = (OWNER, ADMIN, EDITOR, OPERATOR, ANALYST, AGENT, NOTIFIER)
ASSIGNABLE: tuple[str, ...] = ROLES[1:]

#: A route anyone may call without a credential (signing in). Not an `<area>:<action>`.
PUBLIC = "public"

#: Every area and the actions a route in it may declare.
AREAS: dict[str, tuple[str, ...]] = {
    # content: the editor's
    "rules": ("read", "write"),
    "replies": ("read", "write"),  # the special replies (subscribe, default)
    "faq": ("read", "write"),
    "flows": ("read", "write"),
    "articles": ("read", "write"),
    "categories": ("read", "write"),
    "media": ("read", "write"),
    "menu": ("read", "write"),
    "points": ("read", "write"),
    # reach: the operator's
    "campaigns": ("read", "write", "approve"),
    "followers": ("read", "write"),
    "tags": ("read", "write"),
    "blacklist": ("read", "write"),
    "qrcodes": ("read", "write"),
    "templates": ("read", "write"),
    "notify": ("send", "read"),  # read: a notification's status (an analyst's too)
    # customer service: the agent's
    "messages": ("read",),
    "conversations": ("read", "reply"),
    "kf": ("read", "write"),  # WeChat's customer-service accounts (writes: the admin's)
    # figures and the account
    "stats": ("read",),
    "wechat": ("read",),  # the account's token status, WeChat's own user list
    "docs": ("read",),  # the OpenAPI document
    "self": ("read",),  # who am I (the console's header)
    # team access: the admin's
    "users": ("read", "write"),
    "keys": ("read", "write"),
    "audit": ("read",),
    "settings": ("read", "write"),
}

#: Areas an analyst (and so every role built on it) may not even read.
PRIVATE_AREAS = frozenset({"users", "keys", "audit"})
EDITOR_WRITES = frozenset(
    {"rules", "replies", "faq", "flows", "articles", "categories", "media", "menu", "points"}
)
OPERATOR_WRITES = frozenset({"campaigns", "followers", "tags", "blacklist", "qrcodes", "templates"})
AGENT_PERMISSIONS = frozenset(
    {
        "messages:read",
        "followers:read",
        "conversations:read",
        "conversations:reply",
        "kf:read",  # whom a conversation may be transferred to
        "docs:read",
        "self:read",
    }
)


def permission_names() -> tuple[str, ...]:
    """Every permission a route may declare."""
    return tuple(f"{area}:{action}" for area, actions in AREAS.items() for action in actions)


def is_permission(name: str) -> bool:
    area, _, action = name.partition(":")
    return action in AREAS.get(area, ())


def _analyst(permission: str) -> bool:
    area, _, action = permission.partition(":")
    return action == "read" and area not in PRIVATE_AREAS


def allows(role: str, permission: str) -> bool:
    """Whether `role` may use a route declaring `permission` (an unknown one: owner and admin
    only, so a route that forgot its declaration is shut rather than open)."""
    if role in (OWNER, ADMIN):
        return True
    if not is_permission(permission):
        return False
    area, _, action = permission.partition(":")
    if role == ANALYST:
        return _analyst(permission)
    if role == EDITOR:
        return _analyst(permission) or (action == "write" and area in EDITOR_WRITES)
    if role == OPERATOR:
        return (
            _analyst(permission)
            or (action == "write" and area in OPERATOR_WRITES)
            or permission == "notify:send"
        )
    if role == AGENT:
        return permission in AGENT_PERMISSIONS
    if role == NOTIFIER:
        return area == "notify"
    return False


def roles_for(permission: str) -> list[str]:
    """The roles that may use a route declaring `permission` (for the OpenAPI document)."""
    return [role for role in ROLES if allows(role, permission)]


def permissions_of(role: str, declared: Iterable[str] | None = None) -> list[str]:
    """What `role` may do, among `declared` (default: every known permission)."""
    names = permission_names() if declared is None else declared
    return sorted(p for p in names if allows(role, p))
