"""API keys for systems (a core banking notifier, a reporting job): a name, a role, a secret.

The key (`wxk_<id>_<secret>`) is shown once, in the answer that creates it; the team table keeps
only the SHA-256 of its secret. Revoking marks the item (kept for the record: who made it, who
revoked it, when); every container stops accepting the key within REVALIDATE seconds.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from chalicelib.access.credentials import StateCache, new_key
from chalicelib.access.users import check_role
from chalicelib.errors import InvalidInput, NotFound
from chalicelib.store import team

log = logging.getLogger("wxless.access")

# A label for people ("Core banking alerts", "报表任务"): printable, 1..64 characters. Not unique:
# the audit names a key's actions `key:<name>` and records the key's id beside it.
NAME = re.compile(r"[^\x00-\x1f\x7f-\x9f\u2028\u2029]{1,64}")
SHOWN = ("role", "created_at", "created_by", "revoked_at", "revoked_by")


def view(key_id: str, item: dict[str, Any]) -> dict[str, Any]:
    """A key as the API shows it: never the key, never its hash."""
    out = {"id": key_id, "name": item.get("key_name")}
    out.update({k: item.get(k) for k in SHOWN})
    out["revoked"] = bool(item.get("revoked_at"))
    return out


def listing() -> list[dict[str, Any]]:
    items = [view(i["name"], i) for i in team.list_kind(team.APIKEY)]
    return sorted(items, key=lambda k: (k["revoked"], -(k["created_at"] or 0)))


def create(body: Any, *, by: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidInput("body must be a JSON object")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or not NAME.fullmatch(name):
        raise InvalidInput("name: 1..64 printable characters, not only spaces")
    role = check_role(body.get("role"))
    key_id, key, digest = new_key()
    item = {"key_name": name, "role": role, "hash": digest, "created_at": int(time.time())}
    item["created_by"] = by
    team.create(team.APIKEY, key_id, item)
    log.info("access.key_created id=%s name=%s role=%s by=%s", key_id, name, role, by)
    return {**view(key_id, item), "key": key}


def revoke(key_id: str, *, by: str, state: StateCache) -> None:
    item = team.get(team.APIKEY, key_id)
    if item is None:
        raise NotFound(f"API key {key_id} not found")
    if not item.get("revoked_at"):
        team.update(team.APIKEY, key_id, revoked_at=int(time.time()), revoked_by=by)
    state.forget(team.APIKEY, key_id)
    log.info("access.key_revoked id=%s by=%s", key_id, by)


def get(key_id: str) -> dict[str, Any]:
    item = team.get(team.APIKEY, key_id)
    if item is None:
        raise NotFound(f"API key {key_id} not found")
    return view(key_id, item)
