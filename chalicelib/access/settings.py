"""Team settings: which actions need a second person's approval (four eyes).

`approvals`: {"campaigns": bool}. When campaigns need approval, a new campaign waits in
`pending_approval` until an admin or the owner who did not create it approves it
(chalicelib/campaigns/approval.py). Read consistently at each campaign creation.
"""

from __future__ import annotations

import time
from typing import Any

from chalicelib.errors import InvalidInput
from chalicelib.store import team

APPROVALS = "approvals"
APPROVAL_KINDS = ("campaigns",)


def approvals() -> dict[str, bool]:
    item = team.get(team.SETTING, APPROVALS) or {}
    return {kind: bool(item.get(kind)) for kind in APPROVAL_KINDS}


def put_approvals(body: Any, *, by: str) -> dict[str, bool]:
    if not isinstance(body, dict) or not body or set(body) - set(APPROVAL_KINDS):
        raise InvalidInput(f"body: {{{', '.join(repr(k) for k in APPROVAL_KINDS)}: bool}}")
    if not all(isinstance(v, bool) for v in body.values()):
        raise InvalidInput("each setting is true or false")
    merged = {**approvals(), **body}
    team.put(team.SETTING, APPROVALS, {**merged, "updated_at": int(time.time()), "updated_by": by})
    return merged


def campaigns_need_approval() -> bool:
    return approvals()["campaigns"]
