"""The account's template-message templates, synced from WeChat, and the check of a message's
data against its template before anything is scheduled or sent.

    listing(client)                   GET /admin/templates: the templates and their fields
    template_for(template_id, client) one template (a miss syncs once: it may be new)
    check(template_id, data, client)  the template, or InvalidInput naming the field at fault
                                      (find=: another synced list, e.g. subscribe templates)

Campaigns (chalicelib.campaigns.admin) and the notification API call `check`; the rules per
field type are pure functions in chalicelib.wechat.templates.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.errors import InvalidInput, NotFound
from chalicelib.store import wxaccount as store
from chalicelib.wechat.api import WeChatAPIError
from chalicelib.wechat.templates import check_data, template_view

if TYPE_CHECKING:
    from chalicelib.wechat.api import WeChatClient

log = logging.getLogger("wxless.templates")

MAX_AGE = 60.0  # the listing asks WeChat again when its copy is older than this
MISS_MAX_AGE = 10.0  # an unknown template id asks WeChat again when the copy is older than this


def sync(client: WeChatClient, now: float | None = None) -> dict[str, Any]:
    """Read template/get_all_private_template and keep it: {"items", "synced_at"}."""
    items = [template_view(raw) for raw in client.templates.list()]
    return store.put_templates(items, now)


def _fresh(client: WeChatClient, max_age: float, now: float) -> dict[str, Any]:
    """Our copy, synced first when older than `max_age`; when WeChat cannot answer, the copy we
    have (marked stale) or, with none, WeChat's error."""
    kept = store.get_templates()
    if kept is not None and now - float(kept.get("synced_at") or 0) < max_age:
        return kept
    try:
        return sync(client, now)
    except WeChatAPIError as exc:
        if kept is None:
            raise
        log.warning("templates.sync_failed %s", exc)
        return {**kept, "stale": True}


def listing(client: WeChatClient, *, refresh: bool = False) -> dict[str, Any]:
    now = time.time()
    return _fresh(client, 0.0 if refresh else MAX_AGE, now)


def template_for(
    template_id: str, client: WeChatClient, *, id_field: str = "template_id"
) -> dict[str, Any]:
    now = time.time()
    kept = store.get_templates() or {"items": [], "synced_at": 0}
    for template in kept["items"]:
        if template["template_id"] == template_id:
            return template
    # Unknown here: maybe added in WeChat since the last sync.
    for template in _fresh(client, MISS_MAX_AGE, now)["items"]:
        if template["template_id"] == template_id:
            return template
    raise InvalidInput(
        f"{id_field}: {template_id} is not one of the account's templates "
        "(GET /admin/templates lists them)",
        field=id_field,
    )


def check(
    template_id: str,
    data: Mapping[str, Any],
    client: WeChatClient,
    *,
    where: str = "data",
    id_field: str = "template_id",
    fixed_part: Callable[[str], tuple[str, bool]] | None = None,
    find: Callable[..., dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The template, once `data` keeps its rules (InvalidInput naming the field otherwise).
    `where`/`id_field`: how the caller's body names the data and the template id. `find`:
    where the template comes from, `template_for` here by default (subscribe notifications:
    chalicelib.notify.subscriptions.template_for; the same rules apply)."""
    template = (find or template_for)(template_id, client, id_field=id_field)
    check_data(template, data, where=where, fixed_part=fixed_part)
    return template


# --------------------------------------------------------------------------- admin actions


def add(body: Mapping[str, Any], client: WeChatClient) -> dict[str, Any]:
    """Add a template from WeChat's library (template/api_add_template): `template_id_short`
    and, for a category template, the `keyword_name_list` it uses. -> the new template."""
    unknown = sorted(set(body) - {"template_id_short", "keyword_name_list"})
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
    short = body.get("template_id_short")
    if not isinstance(short, str) or not short.strip() or len(short) > 64:
        raise InvalidInput("template_id_short: the library template's id (1..64 characters)")
    names = body.get("keyword_name_list", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise InvalidInput("keyword_name_list: a list of keyword names")
    if len(names) > 5:
        raise InvalidInput("keyword_name_list: at most 5 keywords")
    template_id = client.templates.add(short.strip(), names)
    for template in sync(client)["items"]:
        if template["template_id"] == template_id:
            return template
    return {"template_id": template_id}  # WeChat lists it a moment later


def delete(template_id: str, client: WeChatClient) -> None:
    try:
        client.templates.delete(template_id)
    except WeChatAPIError as exc:
        if exc.errcode == 40037:  # invalid template_id
            raise NotFound(f"template {template_id} not found") from None
        raise
    sync(client)


def check_body(body: Mapping[str, Any], client: WeChatClient) -> dict[str, Any]:
    """POST /admin/templates/check {"template_id", "data"}: the check a send would make, alone
    (the console checks its form with it). -> {"ok": true, "template"}."""
    template_id = body.get("template_id")
    if not isinstance(template_id, str) or not template_id:
        raise InvalidInput("template_id: required", field="template_id")
    data = body.get("data")
    if not isinstance(data, Mapping):
        raise InvalidInput("data: an object of field -> text", field="data")
    return {"ok": True, "template": check(template_id, data, client)}
