"""API mass-send protection (「API群发保护」): with it on, WeChat holds a mass send to all
followers until an administrator confirms it in WeChat; unconfirmed after 30 minutes (or
refused), the send fails. WeChat's API cannot tell us the setting, so an admin declares it
(chalicelib.wxaccount.settings); a campaign to all created while it is declared is marked
`protected`, and what an admin sees of it says where the confirmation stands:

    not_sent   scheduled (or starting): nothing asked of WeChat yet
    waiting    WeChat took the send: "waiting for confirmation in WeChat" until `deadline`
    confirmed  WeChat reported it sent (MASSSENDJOBFINISH, or mass/get: SEND_SUCCESS)
    refused    WeChat reported it not sent (refused, or not confirmed in time)
    failed     WeChat refused the call itself (the batch's errcode)

WeChat's outcome comes with the completion event; when that never arrives the dispatcher's
reconciliation asks mass/get (an hour after the send).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib.campaigns.limits import SENT_STATUSES
from chalicelib.store import campaign_items as items

CONFIRM_WITHIN = 1800  # seconds WeChat waits for the administrator
WAITING = "waiting for confirmation in WeChat"


def confirmation(
    campaign: Mapping[str, Any], batches: Sequence[Mapping[str, Any]], now: float
) -> dict[str, Any] | None:
    """Where a protected campaign's confirmation stands (None: not protected)."""
    if not campaign.get("protected"):
        return None
    batch = batches[0] if batches else {}
    state = batch.get("state")
    if state == items.FAILED_STATE:
        return {
            "state": "failed",
            "message": f"WeChat refused the send: [{batch.get('errcode')}] {batch.get('reason')}",
        }
    if state != items.SENT:
        return {
            "state": "not_sent",
            "message": "once sent, WeChat holds it until an administrator confirms it in WeChat "
            "(API mass-send protection, 30 minutes at most)",
        }
    sent_at = int(float(batch.get("sent_at") or 0))
    status = str(batch.get("finish_status") or "").strip()
    msg_status = str(batch.get("msg_status") or "")
    if status.lower() in SENT_STATUSES or msg_status in ("SEND_SUCCESS", "DELETE"):
        return {"state": "confirmed", "message": "confirmed in WeChat and sent", "sent_at": sent_at}
    if status or msg_status == "SEND_FAIL":
        said = status or msg_status
        return {
            "state": "refused",
            "message": f"WeChat did not send it ({said}): an administrator refused it, or nobody "
            "confirmed it within 30 minutes",
            "sent_at": sent_at,
        }
    out = {"state": "waiting", "message": WAITING, "deadline": sent_at + CONFIRM_WITHIN}
    if now > sent_at + CONFIRM_WITHIN:
        out["message"] = f"{WAITING}: past its 30 minutes, WeChat's outcome is not in yet"
    return out
