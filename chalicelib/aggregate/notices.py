"""WeChat's reports on what the account sent one follower, from the stream: the notify API's
delivery status (TEMPLATESENDJOBFINISH, matched by its msg_id pointer in
aggregate/campaign_results.py; subscribe_msg_sent_event). Plain SETs on the notification's
record: a redelivered batch writes the same values again."""

from __future__ import annotations

from typing import Any

from chalicelib.store import campaign_results as results
from chalicelib.store import notify


def notify_delivery(pointer: dict[str, Any], status: str, at: float) -> None:
    """Record WeChat's Status ("success", "failed:user block", ...) on the notification."""
    notify.record_delivery(str(pointer["ref"]), status, results.delivery_outcome(status), at)
