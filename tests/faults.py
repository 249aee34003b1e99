"""Fault injection for AWS calls in tests: make chosen botocore operations fail N times, or
fail the n-th call among a set of operations (to hit every write point of a path in turn).

It wraps `BaseClient._make_api_call`, so it reaches every client (PynamoDB's and ours, DynamoDB,
S3 and SQS) created before or after it, above botocore's own retries (an injected fault is what
the caller sees once those are spent), and it fails the way AWS does: a ClientError with AWS's
error code, or a connection error. `lost_answer` lets the call land, then loses the answer (the
caller cannot know whether it was applied: the hardest case for "never applied twice").
"""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Iterator

import botocore.client
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

KINDS = ("ProvisionedThroughputExceededException", "InternalServerError", "connection")
LOST_ANSWER = "lost_answer"
#: The call lands, its answer is lost, and botocore's retry sends it again: the caller sees the
#: second answer (for a conditional put, a condition failure caused by its own first attempt).
RESENT = "resent"
#: The process dies at the call: before it reaches AWS, or after it landed (before the code sees
#: the answer). A BaseException, so no `except Exception` in the code under test swallows it.
CRASH_BEFORE, CRASH_AFTER = "crash_before", "crash_after"
#: AWS accepts the connection and never answers: the call fails with a read timeout after the
#: client's own read_timeout x its max attempts. Not slept for real: the time it would have cost
#: is added to `Faults.hung_seconds`, which a test adds to the real elapsed time.
HANG = "hang"


#: Faults injected in this process, by kind (RELIABILITY.md's figures are read from it).
TOTALS: collections.Counter[str] = collections.Counter()


class Crash(BaseException):
    """The Lambda container died here."""


#: Every AWS call that changes something, across DynamoDB, S3 and SQS.
WRITES = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "TransactWriteItems",
        "BatchWriteItem",
        "PutObject",
        "CopyObject",
        "DeleteObject",
        "DeleteObjects",
        "SendMessage",
        "SendMessageBatch",
        "DeleteMessage",
    }
)


class Faults:
    def __init__(self) -> None:
        self.plan: dict[str, list] = {}  # operation -> [kind, remaining]
        self.injected: dict[str, int] = {}
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()
        self.nth: tuple[int, str, frozenset[str]] | None = None
        self.counted = 0  # calls seen among the nth plan's operations
        self.fired: list[str] = []  # operations that got the nth fault
        self.hung_seconds = 0.0

    def hang(self, config) -> None:
        retries = config.retries or {}
        attempts = retries.get("total_max_attempts") or (retries.get("max_attempts", 4) + 1)
        with self.lock:
            self.hung_seconds += float(config.read_timeout) * attempts

    def fail_nth(self, n: int, kind: str = KINDS[0], operations: frozenset[str] = WRITES) -> None:
        """Fail only the n-th call (1-based) among `operations`, once."""
        with self.lock:
            self.nth, self.counted = (n, kind, frozenset(operations)), 0

    def fail(
        self, operation: str, kind: str = KINDS[0], times: int = 10**9, after: int = 0
    ) -> None:
        """Fail `operation` `times` times, once its first `after` calls went through (an admin
        write's first PutItem is its audit entry's)."""
        with self.lock:
            self.plan[operation] = [kind, times, after]

    def clear(self) -> None:
        with self.lock:
            self.plan.clear()
            self.nth = None

    def check(self, operation: str) -> str | None:
        """The fault kind to inject into this call, or None."""
        with self.lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            if self.nth is not None and operation in self.nth[2]:
                self.counted += 1
                if self.counted == self.nth[0]:
                    self.fired.append(operation)
                    self.injected[operation] = self.injected.get(operation, 0) + 1
                    TOTALS[self.nth[1]] += 1
                    return self.nth[1]
            entry = self.plan.get(operation)
            if not entry or entry[1] <= 0:
                return None
            if entry[2] > 0:
                entry[2] -= 1
                return None
            entry[1] -= 1
            self.injected[operation] = self.injected.get(operation, 0) + 1
            TOTALS[entry[0]] += 1
            return entry[0]


def _raise(kind: str, operation: str) -> None:
    if kind in (CRASH_BEFORE, CRASH_AFTER):
        raise Crash(f"{kind} {operation}")
    if kind == "connection":
        raise EndpointConnectionError(endpoint_url="https://injected.invalid")
    if kind == LOST_ANSWER:
        raise ConnectionClosedError(endpoint_url="https://injected.invalid")
    raise ClientError({"Error": {"Code": kind, "Message": "injected fault"}}, operation)


@contextlib.contextmanager
def injected() -> Iterator[Faults]:
    faults = Faults()
    original = botocore.client.BaseClient._make_api_call

    def wrapped(self, operation_name, api_params):
        kind = faults.check(operation_name)
        if kind is None:
            return original(self, operation_name, api_params)
        if kind == RESENT:
            original(self, operation_name, api_params)  # landed; botocore sends it again
            return original(self, operation_name, api_params)
        if kind in (LOST_ANSWER, CRASH_AFTER):
            original(self, operation_name, api_params)  # applied; the answer never arrives
        if kind == HANG:
            faults.hang(self.meta.config)
            raise ReadTimeoutError(endpoint_url="https://injected.invalid")
        _raise(kind, operation_name)

    botocore.client.BaseClient._make_api_call = wrapped
    try:
        yield faults
    finally:
        botocore.client.BaseClient._make_api_call = original
