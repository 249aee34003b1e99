"""What an admin sees of a campaign: the campaign, its progress (from the counter shards) and its
results (from WeChat's completion events and mass/get reconciliation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalicelib.campaigns.spec import MASS, stored_spec
from chalicelib.store import campaign_items as items

# What the detail reads of each mass batch (never its openids).
BATCH_FIELDS = (
    *("sk", "state", "count", "sendall", "attempts", "msg_id", "sent_at", "duplicate", "errcode"),
    *("reason", "finish_status", "total_count", "sent_count", "error_count", "filter_count"),
    "msg_status",
)

# Who created a campaign and, with four eyes, who decided on it (chalicelib.campaigns.approval).
APPROVAL_FIELDS = ("created_by", "approved_by", "rejected_by", "decision_comment", "decided_at")


def batch_view(batch: Mapping[str, Any]) -> dict[str, Any]:
    """One mass batch as the admin sees it (its openids stay in the store)."""
    out: dict[str, Any] = {
        "batch": items.seq_of(batch["sk"]),
        "state": batch.get("state"),
        "recipients": None if batch.get("sendall") else int(batch.get("count") or 0),
        "attempts": int(batch.get("attempts") or 0),
    }
    for key in ("msg_id", "errcode", "reason", "msg_status"):
        if batch.get(key) is not None:
            out[key] = str(batch[key])
    if batch.get("sent_at"):
        out["sent_at"] = int(batch["sent_at"])
        out["duplicate"] = bool(batch.get("duplicate"))
    if batch.get("finish_status"):
        out["result"] = {
            "status": batch["finish_status"],
            "total": int(batch.get("total_count") or 0),
            "sent": int(batch.get("sent_count") or 0),
            "error": int(batch.get("error_count") or 0),
            "filtered": int(batch.get("filter_count") or 0),
        }
    return out


def _errors(totals: Mapping[str, int]) -> dict[str, int]:
    return {k[4:]: v for k, v in sorted(totals.items()) if k.startswith("err_") and v}


def report(campaign: Mapping[str, Any], totals: Mapping[str, int], now: float) -> dict[str, Any]:
    """What an admin sees: the campaign, its progress and its results."""
    spec = stored_spec(campaign)
    started, finished = campaign.get("started_at"), campaign.get("finished_at")
    out: dict[str, Any] = {
        "id": campaign["id"],
        "name": campaign.get("name", ""),
        "type": campaign.get("type"),
        "status": campaign.get("status"),
        "send_at": int(float(campaign["send_at"])),
        "created_at": int(float(campaign.get("created_at") or 0)),
        "started_at": int(started) if started else None,
        "finished_at": int(finished) if finished else None,
        "duration_s": round(float((finished or now) - started), 3) if started else None,
        "audience": spec.get("audience"),
    }
    if "content" in spec:
        out["content"] = spec["content"]
        if campaign.get("media_id"):
            # news by article ids: the draft made of them; video: media/uploadvideo's id
            key = "mass_media_id" if spec["content"]["type"] == "video" else "media_id"
            out["content"] = {**spec["content"], key: campaign["media_id"]}
    if "template" in spec:
        out["template"] = spec["template"]
    if campaign.get("fail_reason"):
        out["fail_reason"] = campaign["fail_reason"]
    for key in APPROVAL_FIELDS:  # who made it, and the four eyes' decision
        if campaign.get(key) is not None:
            out[key] = int(campaign[key]) if key == "decided_at" else campaign[key]
    g = totals.get
    recipients = campaign.get("recipients")
    planned = bool(campaign.get("planned"))
    if campaign.get("type") == MASS:
        processed = g("recipients_sent", 0) + g("recipients_failed", 0) + g("recipients_unknown", 0)
        out["progress"] = {
            "planned": planned,
            "batches": int(campaign.get("batches") or 0),
            "batches_sent": g("batches_sent", 0),
            "batches_failed": g("batches_failed", 0),
            "batches_unknown": g("batches_unknown", 0),
            "recipients": int(recipients) if recipients is not None else None,
            "queued": max(0, int(recipients) - processed) if recipients is not None else None,
            "sent": g("recipients_sent", 0),
            "failed": g("recipients_failed", 0),
            "unknown": g("recipients_unknown", 0),
            "errors": _errors(totals),
        }
        out["results"] = {
            "jobs_finished": g("jobs_finished", 0),
            "total": g("result_total", 0),
            "sent": g("result_sent", 0),
            "error": g("result_error", 0),
            "filtered": g("result_filtered", 0),
            "reconciled": {
                k[len("reconciled_") :]: v for k, v in totals.items() if k.startswith("reconciled_")
            },
        }
    else:
        processed = g("sent", 0) + g("failed", 0) + g("unknown", 0) + g("stuck", 0)
        if not planned and campaign.get("audience_size") is not None:
            recipients = campaign["audience_size"]  # an openid list, known before planning
        out["progress"] = {
            "planned": planned,
            "chunks": int(campaign.get("chunks") or 0),
            "chunks_done": g("chunks_done", 0),
            "recipients": int(recipients or 0),
            "queued": max(0, int(recipients or 0) - processed),
            "sent": g("sent", 0),
            "failed": g("failed", 0),
            "unknown": g("unknown", 0),
            "stuck": g("stuck", 0),
            "errors": _errors(totals),
        }
        out["results"] = {
            "delivered": g("delivery_delivered", 0),
            "blocked": g("delivery_blocked", 0),
            "failed": g("delivery_failed", 0),
        }
    return out
