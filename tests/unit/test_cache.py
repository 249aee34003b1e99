from __future__ import annotations

import pytest

from chalicelib.engine.cache import SnapshotCache


class Source:
    def __init__(self) -> None:
        self.version = 1
        self.data = "v1"
        self.version_reads = 0
        self.loads = 0
        self.fail = False

    def read_version(self) -> int:
        self.version_reads += 1
        if self.fail:
            raise ConnectionError("down")
        return self.version

    def load(self) -> tuple[int, str]:
        self.loads += 1
        if self.fail:
            raise ConnectionError("down")
        return self.version, self.data


def make(source: Source, clock: list[float], **kw) -> SnapshotCache[str]:
    return SnapshotCache(source.read_version, source.load, str.upper, clock=lambda: clock[0], **kw)


def test_reads_version_at_most_once_per_ttl_and_reloads_only_on_change():
    source, clock = Source(), [0.0]
    cache = make(source, clock, ttl=2.0)
    assert cache.get() == "V1"
    for _ in range(100):
        assert cache.get() == "V1"
    assert (source.version_reads, source.loads) == (1, 1)
    clock[0] = 2.5
    assert cache.get() == "V1"
    assert (source.version_reads, source.loads) == (2, 1)
    source.version, source.data = 2, "v2"
    clock[0] = 5.0
    assert cache.get() == "V2"
    assert source.loads == 2


def test_failure_serves_the_last_snapshot_and_cold_failure_raises():
    source, clock = Source(), [0.0]
    cache = make(source, clock)
    cache.get()
    source.fail = True
    clock[0] = 10.0
    assert cache.get() == "V1"
    assert cache.last == "V1"
    cold = make(Source(), [0.0])
    cold._read_version = source.read_version
    with pytest.raises(ConnectionError):
        cold.get()


def test_max_age_reloads_even_when_a_version_bump_was_lost():
    source, clock = Source(), [0.0]
    cache = make(source, clock, ttl=2.0, max_age=60.0)
    cache.get()
    source.data = "changed without a bump"
    clock[0] = 30.0
    assert cache.get() == "V1"
    clock[0] = 61.0
    assert cache.get() == "CHANGED WITHOUT A BUMP"
