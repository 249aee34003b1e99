"""People: create, list, change role, disable or enable, delete; and signing in.

Two places hold a user: Amazon Cognito (the identity: password, MFA, group = role) and our team
table (the state every request checks: role, disabled, revoked). Every change writes both, in
the order that is safe if the second fails, and undoes the first when it does: a failure
answers 503 (or 4xx) and leaves the user as it was.

- create: team item first (claims the name; 409 if taken), then Cognito; undo: delete the item.
- disable, delete: team item first (requests stop within seconds), then Cognito (new sign-ins
  stop); undo: restore the item.
- enable, role change: Cognito first, then the team item; undo: restore Cognito.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

from chalicelib.access import roles
from chalicelib.access.credentials import StateCache
from chalicelib.access.directory import Directory
from chalicelib.errors import Conflict, InvalidInput, NotFound, Unauthorized
from chalicelib.store import team

log = logging.getLogger("wxless.access")

USERNAME = re.compile(r"[a-z0-9._-]{3,64}")
MAX_PASSWORD = 256
#: A session can live at most this long (the contract's `expires_in` <= 43200).
MAX_EXPIRES_IN = 43_200
SIGN_IN_REFUSED = "invalid username or password"
SHOWN = ("username", "role", "disabled", "created_at", "created_by", "updated_at", "updated_by")


def check_username(value: Any) -> str:
    if not isinstance(value, str) or not USERNAME.fullmatch(value):
        raise InvalidInput("username: 3..64 characters of a-z 0-9 . _ -")
    if value == roles.OWNER:
        # The audit log's and a campaign's `owner` is ADMIN_TOKEN's holder: a user of that name
        # would pass for them (and be taken for the creator of the owner's campaigns).
        raise Conflict("username: 'owner' is taken (it names ADMIN_TOKEN's holder)")
    return value


def check_role(value: Any) -> str:
    if value not in roles.ASSIGNABLE:
        raise InvalidInput(f"role: one of {', '.join(roles.ASSIGNABLE)} (owner is ADMIN_TOKEN's)")
    return str(value)


def view(username: str, item: dict[str, Any]) -> dict[str, Any]:
    """A user as the API shows it (never a password, never a hash)."""
    out = {"username": username, **{k: item.get(k) for k in SHOWN if k != "username"}}
    out["disabled"] = bool(item.get("disabled"))
    return out


def _live(username: str) -> dict[str, Any]:
    item = team.get(team.USER, username)
    if item is None or item.get("deleted"):
        raise NotFound(f"user {username!r} not found")
    return item


def get(username: str) -> dict[str, Any]:
    return view(username, _live(username))


def listing() -> list[dict[str, Any]]:
    return [view(i["name"], i) for i in team.list_kind(team.USER) if not i.get("deleted")]


def _undoing(step: Callable[[], None], undo: Callable[[], None], what: str) -> None:
    """Run `step`; if it fails, run `undo` (the first half of the change) and re-raise."""
    try:
        step()
    except Exception:
        try:
            undo()
        except Exception:
            log.exception("access.undo_failed %s", what)
        raise


def create(body: Any, *, by: str, directory: Directory) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    username = check_username(body.get("username"))
    role = check_role(body.get("role"))
    password = body.get("password")
    if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD:
        raise InvalidInput(f"password: a string of 1..{MAX_PASSWORD} characters")
    now = int(time.time())
    item = {"role": role, "disabled": False, "created_at": now, "created_by": by}
    existing = team.get(team.USER, username)
    if existing is not None and existing.get("deleted"):
        team.delete(team.USER, username)  # a deleted user's name may be used again
    team.create(team.USER, username, item)  # Conflict (409) when the name is taken
    _undoing(
        lambda: directory.create_user(username, password, role),
        lambda: team.delete(team.USER, username),
        f"create user={username}",
    )
    log.info("access.user_created user=%s role=%s by=%s", username, role, by)
    return view(username, item)


def change(
    username: str, body: Any, *, by: str, directory: Directory, state: StateCache
) -> dict[str, Any]:
    """PATCH {"role"?, "disabled"?}."""
    if not isinstance(body, dict) or not body or set(body) - {"role", "disabled"}:
        raise InvalidInput('body: {"role"?, "disabled"?} with at least one of them')
    role = check_role(body["role"]) if "role" in body else None
    disabled = body.get("disabled")
    if "disabled" in body and not isinstance(disabled, bool):
        raise InvalidInput("disabled: true or false")
    current = _live(username)
    now = int(time.time())
    stamp = {"updated_at": now, "updated_by": by}
    old_role = str(current.get("role"))
    if role is not None and role != old_role:
        directory.add_to_group(username, role)
        _undoing(
            lambda: directory.remove_from_group(username, old_role),
            lambda: directory.remove_from_group(username, role),
            f"role user={username}",
        )
        _undoing(
            lambda: team.update(team.USER, username, role=role, **stamp),
            lambda: _regroup(directory, username, role, old_role),
            f"role user={username}",
        )
    if disabled is True and not current.get("disabled"):
        team.update(team.USER, username, disabled=True, revoked_before=now, **stamp)
        _undoing(
            lambda: _cognito_disable(directory, username),
            lambda: team.put(team.USER, username, current),
            f"disable user={username}",
        )
    elif disabled is False and current.get("disabled"):
        directory.set_enabled(username, True)
        _undoing(
            lambda: team.update(team.USER, username, disabled=False, **stamp),
            lambda: directory.set_enabled(username, False),
            f"enable user={username}",
        )
    state.forget(team.USER, username)
    log.info("access.user_changed user=%s by=%s fields=%s", username, by, sorted(body))
    return get(username)


def _regroup(directory: Directory, username: str, new: str, old: str) -> None:
    directory.add_to_group(username, old)
    directory.remove_from_group(username, new)


def _cognito_disable(directory: Directory, username: str) -> None:
    directory.set_enabled(username, False)
    directory.sign_out_everywhere(username)


def delete(username: str, *, by: str, directory: Directory, state: StateCache) -> None:
    current = _live(username)
    now = int(time.time())
    # A tombstone, not a deletion: a token the user still holds must keep failing (without an
    # item, a token's own groups would be believed; see access.credentials).
    tombstone = {
        "role": current.get("role"),
        "deleted": True,
        "disabled": True,
        "revoked_before": now,
        "updated_at": now,
        "updated_by": by,
    }
    team.put(team.USER, username, tombstone)
    _undoing(
        lambda: directory.delete_user(username),
        lambda: team.put(team.USER, username, current),
        f"delete user={username}",
    )
    state.forget(team.USER, username)
    log.info("access.user_deleted user=%s by=%s", username, by)


# -- signing in ----------------------------------------------------------------------------------


def signed_in(username: str, result: dict[str, Any], state: StateCache) -> dict[str, Any]:
    """Cognito's answer to a sign-in (or a challenge) as ours: the token, or the next
    challenge. A user our table says is disabled or deleted is refused like a wrong password."""
    if "AuthenticationResult" not in result:
        return {
            "challenge": result.get("ChallengeName"),
            "session": result.get("Session"),
            "parameters": result.get("ChallengeParameters") or {},
        }
    state.forget(team.USER, username)
    item = state.get(team.USER, username)
    if item is not None and (item.get("deleted") or item.get("disabled")):
        raise Unauthorized(SIGN_IN_REFUSED)
    auth = result["AuthenticationResult"]
    role = str(item.get("role")) if item else None
    if role not in roles.ASSIGNABLE:
        raise Unauthorized(SIGN_IN_REFUSED)  # no role: nothing this user could do
    return {
        "token": auth["AccessToken"],
        "expires_in": min(int(auth.get("ExpiresIn") or MAX_EXPIRES_IN), MAX_EXPIRES_IN),
        "token_type": "Bearer",
        "role": role,
        "username": username,
    }
