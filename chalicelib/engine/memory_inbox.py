"""The inbox port in memory: the same contract as store.messages.DynamoInbox (one shared contract
test runs both), for the benchmark, the fuzzers and unit tests.

Keyed like the table (the follower, the entry's timeline key); an expired entry counts as
absent; a flow step is conditional on the step read, like the transaction's flow-state update,
and a message whose step lost the race is not stored either.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from chalicelib.engine.flows import NO_STATE, FlowState, FlowStep
from chalicelib.engine.pipeline import LogEntry, WriteConflict

RETENTION_SECONDS = 90 * 86400


class MemoryInbox:
    def __init__(
        self, clock: Callable[[], float] = time.time, retention: float = RETENTION_SECONDS
    ) -> None:
        self.clock = clock
        self.retention = retention
        # (openid, timeline key) -> (expiry, entry)
        self.items: dict[tuple[str, str], tuple[float, LogEntry]] = {}
        self.states: dict[str, FlowState] = {}

    def record(self, entry: LogEntry, flow: FlowStep | None = None) -> str | None:
        now = self.clock()
        key = (entry.openid, entry.key)
        found = self.items.get(key)
        if found is not None and found[0] >= now:
            return found[1].reply
        if flow is not None:
            current = self.states.get(entry.openid)
            if flow.expect_step == 0 and current is not None:
                raise WriteConflict("ConditionalCheckFailed")
            if flow.expect_step not in (None, 0) and (current or NO_STATE).step != flow.expect_step:
                raise WriteConflict("ConditionalCheckFailed")
            step = (current or NO_STATE).step + 1
            state = flow.state or NO_STATE
            self.states[entry.openid] = replace(state, step=step, updated_at=now)
        self.items[key] = (now + self.retention, entry)
        return None

    def read_state(self, openid: str) -> FlowState:
        return self.states.get(openid, NO_STATE)

    def entries(self) -> list[LogEntry]:
        return [entry for _expiry, entry in self.items.values()]
