"""Lazily built, cached botocore clients.

botocore (not boto3) keeps the cold start short. A client is cached per (service, profile,
endpoint, region) so tests that start a fresh moto, or a local run that sets
`AWS_ENDPOINT_URL`, get a client bound to the right place; `reset()` drops them all.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import botocore.session
from botocore.config import Config

# The callback must answer WeChat within 5 s (we aim for < 1 s even when AWS is failing), so its
# DynamoDB calls fail fast and retry at most once, by hand, with a short jitter (see store.inbox).
FAST = Config(
    connect_timeout=0.3,
    read_timeout=0.8,
    retries={"mode": "standard", "total_max_attempts": 1},
    max_pool_connections=20,
)
# Admin calls and scheduled jobs can wait longer and use botocore's standard retry mode.
STANDARD = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "total_max_attempts": 3},
    max_pool_connections=20,
)

# The stream aggregator writes a batch's items from a thread pool and may wait out throttling:
# more connections, more attempts.
BULK = Config(
    connect_timeout=2,
    read_timeout=5,
    retries={"mode": "standard", "total_max_attempts": 6},
    max_pool_connections=64,
)
_PROFILES = {"fast": FAST, "standard": STANDARD, "bulk": BULK}

_lock = threading.Lock()
_session: Any = None
_clients: dict[tuple[str, str, str, str], Any] = {}


def _key(service: str, profile: str) -> tuple[str, str, str, str]:
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION", "")
    return (service, profile, endpoint, region)


def client(service: str, profile: str = "standard") -> Any:
    key = _key(service, profile)
    found = _clients.get(key)
    if found is not None:
        return found
    with _lock:
        global _session
        if key not in _clients:
            if _session is None:
                _session = botocore.session.get_session()
            config = _PROFILES[profile]
            if service == "dynamodbstreams":
                # Account-based endpoints (<account>.streams-ddb...) are unknown to moto, the
                # only place this client runs (the local stream pump); the regional one works.
                config = config.merge(Config(account_id_endpoint_mode="disabled"))
            region = key[3] or "us-east-1"
            _clients[key] = _session.create_client(service, region_name=region, config=config)
        return _clients[key]


def reset() -> None:
    """Forget every client (tests start a new moto per case)."""
    global _session
    with _lock:
        _clients.clear()
        _session = None
