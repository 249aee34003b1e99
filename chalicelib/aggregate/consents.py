"""Subscribe-notification consents, from the stream: a follower's popup answers and refusals
(subscribe_msg_popup_event, subscribe_msg_change_event) summed into one consent item per
follower and template per batch (store/consents.py), exactly once through the ledger.

A consent item is touched only by its follower's records, which come through one shard lineage
in order: the ledger's `own` watermark suffices, as for follower records.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chalicelib.aggregate.summaries import Logged
from chalicelib.store import consents, outbound
from chalicelib.store.ledger import Part, Target
from chalicelib.wechat.notices import CHANGE, POPUP


def targets(records: Sequence[Logged]) -> list[Target[Any]]:
    changes: dict[tuple[str, str], list[Part[tuple[str, int, str]]]] = {}
    for record in records:
        if record.event not in (POPUP, CHANGE):
            continue
        for template_id, status, scene in record.facts.get("notice") or []:
            part = Part(record.seq, (str(status), record.at, str(scene)))
            changes.setdefault((str(template_id), record.openid), []).append(part)
    table, build = outbound.table_name(), consents.change_update
    return [
        Target(table, consents.consent_key(template_id, openid), parts, build, own=True)
        for (template_id, openid), parts in changes.items()
    ]
