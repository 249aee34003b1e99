"""Fault injection for AWS calls in tests: make chosen botocore operations fail N times.

It wraps `BaseClient._make_api_call`, so it reaches every client (PynamoDB's and ours) created
before or after it, and it fails the way AWS does: a ClientError with AWS's error code, or a
connection error.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import botocore.client
from botocore.exceptions import ClientError, EndpointConnectionError

KINDS = ("ProvisionedThroughputExceededException", "InternalServerError", "connection")


class Faults:
    def __init__(self) -> None:
        self.plan: dict[str, list] = {}  # operation -> [kind, remaining]
        self.injected: dict[str, int] = {}
        self.calls: dict[str, int] = {}
        self.lock = threading.Lock()

    def fail(self, operation: str, kind: str = KINDS[0], times: int = 10**9) -> None:
        with self.lock:
            self.plan[operation] = [kind, times]

    def clear(self) -> None:
        with self.lock:
            self.plan.clear()

    def check(self, operation: str) -> None:
        with self.lock:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            entry = self.plan.get(operation)
            if not entry or entry[1] <= 0:
                return
            entry[1] -= 1
            self.injected[operation] = self.injected.get(operation, 0) + 1
            kind = entry[0]
        if kind == "connection":
            raise EndpointConnectionError(endpoint_url="https://injected.invalid")
        raise ClientError({"Error": {"Code": kind, "Message": "injected fault"}}, operation)


@contextlib.contextmanager
def injected() -> Iterator[Faults]:
    faults = Faults()
    original = botocore.client.BaseClient._make_api_call

    def wrapped(self, operation_name, api_params):
        faults.check(operation_name)
        return original(self, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = wrapped
    try:
        yield faults
    finally:
        botocore.client.BaseClient._make_api_call = original
