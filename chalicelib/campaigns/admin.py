"""The admin API's campaign services: create, cancel, detail, listing and preview.

`create` validates the body (chalicelib.campaigns.spec), checks WeChat's limits
(chalicelib.campaigns.limits) and writes the campaign with its audience in one go; nothing is sent
until the dispatcher starts it at `send_at`. Bad input is InvalidInput (400), a clash with the
limits or the campaign's state Conflict (409), an unknown id NotFound (404).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.campaigns import channel, mass
from chalicelib.campaigns.audience import follower_profiles, list_parts
from chalicelib.campaigns.confirmation import confirmation
from chalicelib.campaigns.limits import check_limits
from chalicelib.campaigns.quota import quota_pause
from chalicelib.campaigns.report import BATCH_FIELDS, batch_view, report
from chalicelib.campaigns.run import Run
from chalicelib.campaigns.spec import (
    MASS,
    MASS_BATCH,
    TEMPLATE,
    fixed_part,
    mass_message,
    render_template_data,
    spec_json,
    stored_spec,
    template_fields,
    validate_campaign,
)
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.notify import subscriptions
from chalicelib.store import campaign_items as items
from chalicelib.store import campaigns as table
from chalicelib.store.errors import StoreUnavailable
from chalicelib.wechat.api import TransportError, WeChatAPIError
from chalicelib.wxaccount import settings, templates

if TYPE_CHECKING:
    from chalicelib.wechat.api import WeChatClient

log = logging.getLogger("wxless.campaigns")

MAX_PREVIEW = 5  # mass previews are paced by the shared limiter: ~1 s each
PREVIEW_BUDGET = 7.0  # inside the admin Lambda's 10 s


def _balanced(openids: list[str], limit: int) -> list[list[str]]:
    """Split into the fewest parts of <= limit, as even as possible (never a part of 1 when
    there are >= 2: message/mass/send needs 2..10,000)."""
    parts = max(1, -(-len(openids) // limit))
    size, extra = divmod(len(openids), parts)
    out, start = [], 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        out.append(openids[start:end])
        start = end
    return out


def create(
    body: Any,
    *,
    now: float | None = None,
    client: WeChatClient | None = None,
    created_by: str | None = None,
    needs_approval: bool = False,
) -> dict[str, Any]:
    """Schedule a campaign; with `needs_approval` (four eyes) it waits in pending_approval
    until another person approves it (chalicelib.campaigns.approval). `client`: the WeChat
    client a template campaign's data is checked with (against the account's templates, synced
    from WeChat on a miss); mass campaigns do not need it."""
    now = time.time() if now is None else now
    spec, openids = validate_campaign(body, now)
    campaign_id = uuid.uuid4().hex
    audience = spec["audience"]
    item: dict[str, Any] = {
        "id": campaign_id,
        "name": spec["name"],
        "type": spec["type"],
        "status": table.PENDING_APPROVAL if needs_approval else table.SCHEDULED,
        "created_by": created_by,
        "send_at": float(spec["send_at"]),
        "created_at": now,
        "audience_type": audience["type"],
        "spec": spec_json(spec),
    }
    children: list[tuple[str, dict[str, Any]]] = []
    if openids:
        item["audience_size"] = len(openids)
    if spec["type"] == MASS:
        if audience["type"] == "all" and settings.mass_send_protection():
            item["protected"] = True  # WeChat will wait for an administrator's confirmation
        if audience["type"] in ("all", "tag"):
            children = [_batch(campaign_id, 1, sendall=True)]
        elif audience["type"] == "openids":
            children = [
                _batch(campaign_id, i + 1, openids=part)
                for i, part in enumerate(_balanced(openids, MASS_BATCH))
            ]
        if children:
            item.update(planned=True, batches=len(children), recipients=len(openids))
    elif openids:
        children = list_parts(openids)
        item["parts"] = len(children)
    # WeChat's sending limits first: what they refuse needs no call to WeChat.
    guard = check_limits(spec, openids, now)
    if spec["type"] == TEMPLATE:
        _check_template(spec["template"], client)
    for attempt in (0, 1):
        try:
            table.create_campaign(item, children if attempt == 0 else (), guard)
            break
        except Conflict:
            if attempt == 1:
                raise
            # Another campaign was scheduled for the same period meanwhile: check again.
            guard = check_limits(spec, openids, now)
    log.info(
        "campaigns.created id=%s type=%s send_at=%s", campaign_id, spec["type"], item["send_at"]
    )
    return detail(campaign_id, now=now)


def _check_template(template: dict[str, Any], client: WeChatClient | None) -> None:
    """The data against the account's template as synced from WeChat (template messages:
    chalicelib.wxaccount.templates; subscribe notifications: chalicelib.notify.subscriptions;
    the same field rules): a value over its field's limit, a colour, first/remark on a category
    template, an unknown template -> 400 naming the field."""
    if client is None:
        raise TypeError("a template campaign is checked against WeChat's templates: pass client")
    subscribe = channel.is_subscribe(template)
    templates.check(
        template["template_id"],
        template["data"],
        client,
        where="template.data",
        id_field="template.template_id",
        fixed_part=fixed_part,
        find=subscriptions.template_for if subscribe else templates.template_for,
    )


def _batch(
    campaign_id: str, seq: int, *, sendall: bool = False, openids: list[str] | None = None
) -> tuple[str, dict[str, Any]]:
    sk = items.batch_sk(seq)
    fields: dict[str, Any] = {
        "state": items.PENDING,
        "count": len(openids or ()),
        "not_before": 0,
        **items.open_attrs(campaign_id, items.OPEN_PENDING, 0, sk),
    }
    if sendall:
        fields["sendall"] = True
    else:
        fields["openids"] = items.encode_openids(openids or [])
    return sk, fields


def cancel(campaign_id: str, *, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    done, found = table.transition(
        campaign_id, (table.SCHEDULED, table.PENDING_APPROVAL), table.CANCELLED, cancelled_at=now
    )
    if not done:
        if found is None:
            raise NotFound(f"campaign {campaign_id} not found")
        raise Conflict(
            f"campaign {campaign_id} is {found.get('status')}: only a scheduled or pending "
            "campaign (not yet started) can be cancelled"
        )
    return detail(campaign_id, now=now)


def detail(campaign_id: str, *, now: float | None = None) -> dict[str, Any]:
    campaign = table.get_campaign(campaign_id)
    now = time.time() if now is None else now
    out = report(campaign, items.totals(campaign_id), now)
    if campaign.get("type") == MASS:
        batches = items.parts(campaign_id, items.BATCH, BATCH_FIELDS)
        out["batches"] = [batch_view(b) for b in batches]
        _add_confirmation(out, campaign, batches, now)
    elif campaign.get("status") in (table.SCHEDULED, table.RUNNING):
        try:
            paused = quota_pause(now)
        except StoreUnavailable:  # a side note: not worth failing the answer (create's too)
            log.warning("campaigns.template_pause_unread id=%s", campaign_id)
            paused = None
        if paused:
            out["paused"] = paused
    return out


def listing(status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    if status is not None and status not in table.STATUSES:
        raise InvalidInput(f"status: one of {', '.join(table.STATUSES)}")
    campaigns = [c for c in table.list_campaigns() if status is None or c["status"] == status]
    campaigns.sort(key=lambda c: (-float(c.get("created_at") or 0), c["id"]))
    now = time.time()
    out = []
    for campaign in campaigns[:limit]:
        shown = report(campaign, items.totals(campaign["id"]), now)
        if campaign.get("protected"):  # rare (one send to all a day at most): its batch too
            batches = items.parts(campaign["id"], items.BATCH, BATCH_FIELDS)
            _add_confirmation(shown, campaign, batches, now)
        out.append(shown)
    return out


def _add_confirmation(
    out: dict[str, Any], campaign: Mapping[str, Any], batches: list[dict[str, Any]], now: float
) -> None:
    found = confirmation(campaign, batches, now)
    if found is not None:
        out["confirmation"] = found


def preview(campaign_id: str, body: Any, client: WeChatClient) -> dict[str, Any]:
    """Send the campaign's message now to a few listed openids (any status; not counted)."""
    if not isinstance(body, Mapping):
        raise InvalidInput("body must be a JSON object with openids")
    openids = body.get("openids")
    if not isinstance(openids, list) or not 1 <= len(openids) <= MAX_PREVIEW:
        raise InvalidInput(f"openids: a list of 1..{MAX_PREVIEW} openids")
    if not all(isinstance(o, str) and o.strip() for o in openids):
        raise InvalidInput("openids: strings")
    openids = list(dict.fromkeys(o.strip() for o in openids))
    campaign = table.get_campaign(campaign_id)
    spec = stored_spec(campaign)
    run = Run(client, budget=PREVIEW_BUDGET)
    results = []
    if campaign["type"] == MASS:
        media_id = mass.prepared_media_id(campaign, spec, run)
        msgtype, payload = mass_message(spec["content"], media_id)
        for openid in openids:
            # Previews share the mass-send rate limit with the campaigns.
            if not mass.take_slot(run):
                results.append({"openid": openid, "ok": False, "error": "rate limited; retry"})
                continue
            results.append(
                _attempt(
                    openid,
                    lambda o=openid: run.client.messages.mass_preview(msgtype, payload, openid=o),
                )
            )
    else:
        template = spec["template"]
        fields = template_fields(template["data"]) - {"openid"}
        profiles = follower_profiles(openids, fields, run.client)
        for openid in openids:
            data = render_template_data(template["data"], profiles.get(openid, {"openid": openid}))
            if not channel.may_send(template, openid):  # subscribe: only with consent
                results.append(
                    {"openid": openid, "ok": False, "errcode": channel.NO_CONSENT,
                     "error": "the follower has not consented to this subscribe template"}
                )  # fmt: skip
                continue
            results.append(
                _attempt(
                    openid,
                    lambda o=openid, d=data: channel.send(run.client, template, o, d),
                    lambda code, o=openid: channel.unspent(template, o, code, run.now()),
                )
            )
    return {"id": campaign_id, "results": results}


def _attempt(
    openid: str, call: Callable[[], Any], refused: Callable[[int], None] | None = None
) -> dict[str, Any]:
    try:
        msg_id = call()
    except WeChatAPIError as exc:
        if refused is not None and not isinstance(exc, TransportError):
            refused(exc.errcode)
        return {"openid": openid, "ok": False, "errcode": exc.errcode, "error": exc.errmsg}
    out: dict[str, Any] = {"openid": openid, "ok": True}
    if msg_id is not None:
        out["msg_id"] = str(msg_id)
    return out
