"""The tests' stand-in for the event source mapping: moto's stream of the messages table, pumped
through the same consumer Lambda runs (infra/stream_pump.py, chalicelib/jobs/aggregate.py).

`drain()` delivers everything sent so far: the admin helpers call it before each request, so a
test reads counters, follower records and the cross-follower listing as they are once the
aggregator has caught up (seconds, in AWS).
"""

from __future__ import annotations

from typing import Any

from infra.stream_pump import StreamPump

_pump: StreamPump | None = None


def _consume(event: dict[str, Any]) -> dict[str, Any]:
    from chalicelib.jobs import aggregate

    return aggregate.handle(event)


def pump() -> StreamPump:
    global _pump
    if _pump is None:
        from chalicelib.store.messages import table_name

        _pump = StreamPump(table_name, _consume)
    return _pump


def drain() -> int:
    return pump().drain()


def forget() -> None:
    """A new moto: positions of the old one mean nothing."""
    global _pump
    _pump = None
