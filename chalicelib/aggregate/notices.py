"""WeChat's reports on what the account sent one follower or published, from the stream:

- the notify API's delivery status: TEMPLATESENDJOBFINISH (matched by its msg_id pointer in
  aggregate/campaign_results.py) and subscribe_msg_sent_event (matched here, by the msgid
  bizsend answered);
- PUBLISHJOBFINISH: a freepublish job's outcome on its publication.

Plain SETs on the records: a redelivered batch writes the same values again. These events are
rare next to followers' messages: a read or two each is fine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.aggregate.summaries import Logged
from chalicelib.publishing import service as publishing
from chalicelib.store import campaign_results as results
from chalicelib.store import notify
from chalicelib.wechat.notices import PUBLISH_FINISH, SENT


def notify_delivery(pointer: dict[str, Any], status: str, at: float) -> None:
    """Record WeChat's Status ("success", "failed:user block", ...) on the notification."""
    notify.record_delivery(str(pointer["ref"]), status, results.delivery_outcome(status), at)


def record(records: Sequence[Logged]) -> None:
    for logged in records:
        if logged.event == SENT:
            _subscribe_sent(logged)
        elif logged.event == PUBLISH_FINISH and logged.facts.get("notice"):
            publishing.finished(logged.facts["notice"], logged.received_ms / 1000)


def _subscribe_sent(logged: Logged) -> None:
    for _template, msgid, errcode, status in logged.facts.get("notice") or []:
        if not msgid:
            continue  # bizsend gave no msgid: nothing to match it with
        pointer = results.get_pointer(msgid)
        if pointer is None or pointer.get("kind") != "notify":
            continue
        outcome = "delivered" if int(errcode) == 0 else "failed"
        text = status or ("success" if outcome == "delivered" else f"failed:{errcode}")
        notify.record_delivery(str(pointer["ref"]), text, outcome, logged.received_ms / 1000)
