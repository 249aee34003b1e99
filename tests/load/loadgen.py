"""A bounded load generator for the local stack (127.0.0.1 only; count- and time-limited).

It mixes fresh text messages, WeChat-style retries of earlier messages (sequential and
concurrent), events, and forged requests, then checks against the store that every accepted
message was logged exactly once and that every retry got the first delivery's answer.

    .venv/bin/python -m tests.load.loadgen --seconds 60 --clients 16   (make soak)
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tests import wxsim

KEYWORDS = ["余额", "信用卡怎么办", "转账到他行", "123456", "人工", "随便问问", "营业时间", "hello"]
MAX_REQUESTS = 200_000  # hard cap whatever the duration


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    sent: dict[str, str] = field(default_factory=dict)  # msg_id -> first answer body
    retry_mismatch: int = 0
    retries: int = 0
    forged: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1


def _loopback(base: str) -> tuple[str, int]:
    parts = urlsplit(base)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("the load generator only targets loopback")
    return parts.hostname, parts.port or 80


def _post(conn: http.client.HTTPConnection, query: dict, body: str) -> tuple[int, str]:
    conn.request(
        "POST",
        f"/wechat?{wxsim.qs(query)}",
        body=body.encode(),
        headers={"Content-Type": "text/xml"},
    )
    response = conn.getresponse()
    return response.status, response.read().decode("utf-8", "replace")


def _answer_key(body: str) -> str:
    """What must match between a delivery and its retry (CreateTime may differ by a second)."""
    if body == "success" or not body.startswith("<xml>"):
        return body
    parsed = wxsim.parse(body)
    parsed.pop("CreateTime", None)
    return json.dumps(parsed, sort_keys=True, ensure_ascii=False)


def run(base: str, *, seconds: float, clients: int, seed: int = 7) -> Result:
    host, port = _loopback(base)
    result = Result()
    deadline = time.monotonic() + seconds
    counter = iter(range(MAX_REQUESTS))
    msg_base = random.Random(seed).randrange(10**12, 10**13)
    history: list[tuple[str, str]] = []  # (msg_id, xml) of accepted messages

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        conn = http.client.HTTPConnection(host, port, timeout=10)
        while time.monotonic() < deadline:
            try:
                n = next(counter)
            except StopIteration:
                return
            roll = rng.random()
            started = time.monotonic()
            try:
                if roll < 0.15 and history:  # a WeChat retry of an earlier message
                    with result.lock:
                        msg_id, xml = history[rng.randrange(len(history))]
                    status, body = _post(conn, wxsim.signed_query(), xml)
                    result.record(status, time.monotonic() - started)
                    with result.lock:
                        result.retries += 1
                        if status == 200 and _answer_key(body) != _answer_key(result.sent[msg_id]):
                            result.retry_mismatch += 1
                    continue
                if roll < 0.18:  # forged: must be refused and write nothing
                    query = wxsim.signed_query(token="not-the-token")
                    status, _ = _post(conn, query, wxsim.text("余额", msg_id=msg_base - n - 1))
                    result.record(status, time.monotonic() - started)
                    with result.lock:
                        result.forged += 1
                    continue
                msg_id = str(msg_base + n)
                if roll < 0.25:
                    xml = wxsim.event(
                        "CLICK",
                        "MENU_ACCOUNT",
                        openid=f"o_load_{index}",
                        create_time=int(time.time()) + n,
                    )
                    msg_id = None
                else:
                    xml = wxsim.text(
                        rng.choice(KEYWORDS), openid=f"o_load_{index}", msg_id=int(msg_id)
                    )
                status, body = _post(conn, wxsim.signed_query(), xml)
                result.record(status, time.monotonic() - started)
                if status == 200 and msg_id is not None:
                    with result.lock:
                        result.sent[msg_id] = body
                        history.append((msg_id, xml))
                    if roll > 0.97:  # an immediate concurrent-style duplicate on a new connection
                        other = http.client.HTTPConnection(host, port, timeout=10)
                        status2, body2 = _post(other, wxsim.signed_query(), xml)
                        other.close()
                        result.record(status2, 0.0)
                        with result.lock:
                            result.retries += 1
                            if status2 == 200 and _answer_key(body2) != _answer_key(body):
                                result.retry_mismatch += 1
            except (OSError, http.client.HTTPException):
                with result.lock:
                    result.errors += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 30)
    return result


def logged_ids(endpoint: str, table: str, wanted: set[str]) -> dict[str, int]:
    """How many items the messages table holds for each wanted msg_id (read from moto)."""
    import botocore.session

    ddb = botocore.session.get_session().create_client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    from chalicelib.store import ddb as wire
    from chalicelib.store import messages

    counts = dict.fromkeys(wanted, 0)
    for page in ddb.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            msg_id = messages.to_log(wire.from_raw(item))["msg_id"]
            if msg_id in counts:
                counts[msg_id] += 1
    return counts


def summary(result: Result, seconds: float) -> dict:
    lat = sorted(result.latencies) or [0.0]
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    total = sum(result.statuses.values())
    return {
        "requests": total,
        "rps": round(total / seconds, 1),
        "p50_ms": round(statistics.median(lat) * 1000, 1),
        "p99_ms": round(p99 * 1000, 1),
        "statuses": dict(sorted(result.statuses.items())),
        "5xx": sum(v for k, v in result.statuses.items() if k >= 500),
        "retries": result.retries,
        "retry_mismatch": result.retry_mismatch,
        "forged": result.forged,
        "transport_errors": result.errors,
        "accepted_messages": len(result.sent),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    result = run(args.base, seconds=args.seconds, clients=args.clients)
    print(json.dumps(summary(result, args.seconds), indent=2))


if __name__ == "__main__":
    main()
