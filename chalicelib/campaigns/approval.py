"""Four eyes on campaigns: a campaign created while approvals are on waits in
`pending_approval` (it never fires: the dispatcher starts only `scheduled` ones) until a person
who did not create it approves it (-> scheduled; it then starts at its `send_at`, or at once if
that has passed) or rejects it (-> rejected, with a comment). Each decision is one conditional
write, so two deciders racing cannot both win; the audit log records who decided
(chalicelib/access/audit.py, through the admin route).

Approving news made of CMS articles freezes them: the WeChat draft the send uses is made then,
from the articles as the approver sees them (replacing one a preview made), so an article edited
after the approval does not go out unreviewed.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from chalicelib.campaigns import mass
from chalicelib.campaigns.admin import PREVIEW_BUDGET, detail
from chalicelib.campaigns.limits import check_late_start
from chalicelib.campaigns.run import Run
from chalicelib.campaigns.spec import MASS, stored_spec
from chalicelib.errors import Conflict, Forbidden, InvalidInput, NotFound
from chalicelib.store import campaigns as table

if TYPE_CHECKING:
    from chalicelib.wechat.api import WeChatClient

log = logging.getLogger("wxless.campaigns")

MAX_COMMENT = 1000


def _comment(body: Any, *, required: bool) -> str | None:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise InvalidInput('body: {"comment": "..."}')
    comment = body.get("comment")
    if comment is None and not required:
        return None
    if not isinstance(comment, str) or not comment.strip() or len(comment) > MAX_COMMENT:
        raise InvalidInput(f"comment: a text of 1..{MAX_COMMENT} characters saying why")
    return comment.strip()


def frozen_news(campaign: dict[str, Any], client: WeChatClient | None) -> str | None:
    """The draft of a news campaign made of CMS articles, made now (None for other content)."""
    if campaign.get("type") != MASS:
        return None
    content = stored_spec(campaign)["content"]
    if content["type"] != "news" or not content.get("article_ids"):
        return None
    if client is None:
        raise ValueError("approving news made of articles needs the WeChat client")
    return mass.news_draft(content, Run(client, budget=PREVIEW_BUDGET))


def decide(
    campaign_id: str,
    body: Any,
    *,
    by: str,
    approve: bool,
    client: WeChatClient | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    """Approve (comment optional) or reject (comment required) a pending campaign. `client`:
    WeChat's, for the draft an approval freezes news made of articles in. Approved after its
    send time, it starts at once: WeChat's day and month rules are checked again for today, and
    its `send_at` becomes now (later campaigns count it on the day it sends)."""
    now = time.time() if now is None else now
    comment = _comment(body, required=not approve)
    campaign = table.get_campaign(campaign_id)  # NotFound: 404
    if campaign.get("status") != table.PENDING_APPROVAL:
        raise Conflict(
            f"campaign {campaign_id} is {campaign.get('status')}: only a campaign pending "
            "approval can be approved or rejected"
        )
    if campaign.get("created_by") == by:
        raise Forbidden("the creator of a campaign may not approve or reject it: ask another admin")
    fields: dict[str, Any] = {"decided_at": int(now)}
    fields["approved_by" if approve else "rejected_by"] = by
    if approve and float(campaign["send_at"]) < now:
        check_late_start(campaign, now)
        fields["send_at"] = now
    media_id = frozen_news(campaign, client) if approve else None
    if media_id:
        fields["media_id"] = media_id
    if comment:
        fields["decision_comment"] = comment
    to = table.SCHEDULED if approve else table.REJECTED
    done, found = table.transition(campaign_id, table.PENDING_APPROVAL, to, **fields)
    if not done:
        if found is None:
            raise NotFound(f"campaign {campaign_id} not found")
        raise Conflict(f"campaign {campaign_id} is {found.get('status')} now: decided meanwhile")
    log.info("campaigns.%s id=%s by=%s", "approved" if approve else "rejected", campaign_id, by)
    return detail(campaign_id)
