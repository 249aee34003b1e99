"""The daily sync of WeChat's own statistics (chalicelib.wxaccount.stats), from the schedule in
app.py (and once at `make run`'s start, scheduled/local.py)."""

from __future__ import annotations

from typing import Any

from chalicelib import wiring
from chalicelib.campaigns.run import budget_from
from chalicelib.wxaccount import stats

#: Seconds of work when the Lambda's context does not say better (its timeout: .chalice/config).
DEFAULT_BUDGET = 100.0


def run(event: Any = None) -> dict[str, Any]:
    budget = budget_from(getattr(event, "context", None), DEFAULT_BUDGET, margin=10.0)
    return stats.sync(wiring.wechat(), budget=budget)
