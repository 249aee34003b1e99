"""The desk list's per-container walk of the listing (chalicelib.desk.walk), on moto: what a warm
walk answers equals what a fresh walk of the listing answers, whatever came between (messages,
agent actions, time passing, pages written late, rewritten or overlapping), and a warm request
reads what is new, not the window.

Pages are written as the aggregator writes them (listing.page_items, listing.put_page) with
receipt times on a test clock that the walk and the page writer share."""

from __future__ import annotations

import itertools
import random
from typing import Any

import pytest

from chalicelib.desk import conversations
from chalicelib.desk.walk import ListingWalk
from chalicelib.store import desk, listing

START = 1_790_000_000.0
HOUR = 3600


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(aws, monkeypatch) -> Clock:
    found = Clock()
    monkeypatch.setattr(listing, "now_ms", lambda: int(found.now * 1000))
    return found


class Writer:
    """The aggregator's listing side: pages of rows, by batch, with sequence numbers."""

    def __init__(self) -> None:
        self.seq = itertools.count(10**20, 7919)
        self.received_ms = int(START * 1000) - 1  # distinct and growing: no ties per follower
        self.skew = random.Random(7)  # WeChat's CreateTime, a little behind our receipt

    def rows(self, clock: Clock, found: list[tuple[str, str, str]]) -> list[tuple[str, list]]:
        """Rows of messages received just now, one ms apart: (openid, kind, content) each."""
        out = []
        for openid, kind, content in found:
            self.received_ms = max(self.received_ms + 1, int(clock.now * 1000))
            created_at = self.received_ms // 1000 - self.skew.randint(0, 3)
            seq = str(next(self.seq))
            delivery = f"m:{seq}" if not kind.startswith("event.") else f"e:{kind}:{seq}"
            row = listing.row(self.received_ms, openid, created_at, delivery, kind, content,
                              None, "no_match")  # fmt: skip
            out.append((seq, row))
        return out

    @staticmethod
    def put(rows: list[tuple[str, list]], shard: str = "s0") -> None:
        for page in listing.page_items(shard, rows):
            listing.put_page(page)


def fresh(now: float) -> list[conversations.Trail]:
    """The list as a fresh walk finds it: every row since the window's start, newest first, each
    message once (listing.newest_first, the merge `GET /admin/messages` reads)."""
    since_ms = conversations.window_start_ms(now)
    trails: dict[str, conversations.Trail] = {}
    rows = itertools.takewhile(lambda r: int(r[0]) >= since_ms, listing.newest_first())
    for received, openid, created_at, _delivery, kind, content, *_ in rows:
        trail = trails.setdefault(openid, conversations.Trail(openid))
        trail.add(int(received), int(created_at), str(kind), str(content))
    return [t for t in trails.values() if t.window_until > now]


def answer(trails: list[conversations.Trail], **filters: Any) -> tuple[list[dict], int]:
    return conversations.open_conversations(trails, limit=500, **filters)


def same_as_fresh(walk: ListingWalk, clock: Clock) -> list[dict]:
    cached, reference = walk.open_trails(clock.now), fresh(clock.now)
    for filters in ({}, {"status": "closed"}, {"assigned_to": "wang"}):
        assert answer(cached, **filters) == answer(reference, **filters)
    return answer(cached)[0]


KINDS = ["text"] * 6 + ["image", "event.subscribe", "event.click", "event.unsubscribe",
                        "event.view", "event.location"]  # fmt: skip


def traffic(rng: random.Random, n: int) -> list[tuple[str, str, str]]:
    return [
        (f"o_{rng.randrange(25):02d}", rng.choice(KINDS), f"消息{rng.randrange(10**6)}" * 9)
        for _ in range(n)
    ]


def test_a_late_page_and_one_behind_the_newest_read_are_found(clock):
    writer, walk = Writer(), ListingWalk(clock)
    first = writer.rows(clock, [("o_a", "text", "在吗")])
    writer.put(first)
    late = writer.rows(clock, [("o_late", "text", "我的卡被锁了")])  # its shard lags
    clock.advance(600)  # past the margin the next reads look back
    writer.put(writer.rows(clock, [("o_b", "text", "你好")]))
    clock.advance(10)
    # a batch whose page will come again longer, under the same key (same first record, same
    # newest message: o_f's came before it)
    longer = writer.rows(
        clock, [("o_e", "text", "先到"), ("o_e", "text", "后到"), ("o_f", "text", "再来")]
    )
    longer[2][1][0] = longer[0][1][0]
    writer.put(longer[:2], shard="s2")
    clock.advance(600)
    assert [c["openid"] for c in same_as_fresh(walk, clock)] == ["o_e", "o_b", "o_a"]

    # behind the newest page read, written after the read: within the margin
    behind = writer.rows(clock, [("o_c", "text", "还在吗")])
    behind[0][1][0] -= 20_000  # received 20 s before the read began
    clock.advance(3)
    writer.put(behind)
    # two hours behind (a lagging shard): a late marker
    clock.advance(2 * HOUR)
    writer.put(late)
    writer.put(longer, shard="s2")  # late too
    # a retried batch split otherwise: its page overlaps one already read
    writer.put([*first, *writer.rows(clock, [("o_d", "image", "")])], shard="s1")
    found = same_as_fresh(walk, clock)
    assert {"o_c", "o_late", "o_d", "o_f"} <= {c["openid"] for c in found}
    assert next(c for c in found if c["openid"] == "o_a")["unread"] == 1


def test_the_cached_list_equals_a_fresh_walk_through_traffic_actions_and_time(clock):
    rng = random.Random(14)
    writer, walk = Writer(), ListingWalk(clock)
    held: list[list[tuple[str, list]]] = []  # batches whose pages come late
    written: list[tuple[list[tuple[str, list]], str]] = []
    for step in range(36):
        batch = writer.rows(clock, traffic(rng, rng.randint(1, 12)))
        if rng.random() < 0.2:
            held.append(batch)
        else:
            writer.put(batch, shard=f"s{step % 3}")
            written.append((batch, f"s{step % 3}"))
        if held and rng.random() < 0.3:  # a lagging shard or a retried batch, at last
            writer.put(held.pop(0), shard="s9")
        if written and rng.random() < 0.2:  # a batch retried halved: pages overlap, new keys
            again = rng.choice(written)[0]
            half = len(again) // 2 or 1
            writer.put(again[:half], shard="s8")
            writer.put(again[half:], shard="s8")
        if written and rng.random() < 0.2:  # redelivered whole: the same pages again
            writer.put(*rng.choice(written))
        openid = f"o_{rng.randrange(25):02d}"
        action = rng.randrange(4)
        now_ms = int(clock.now * 1000)
        if action == 0:
            desk.set_state(openid, clock.now, status="closed", status_ms=now_ms,
                           closed_at=int(clock.now))  # fmt: skip
        elif action == 1:
            desk.set_state(openid, clock.now, read_ms=now_ms - rng.randrange(0, 3 * HOUR * 1000))
        elif action == 2:
            desk.set_state(openid, clock.now, assigned_to=rng.choice(["wang", "li", None]))
        same_as_fresh(walk, clock)
        # time passes: the poll interval, minutes, hours, or past the whole window
        clock.advance(rng.choice([3, 3, 45, 600, 5 * HOUR, 20 * HOUR, 49 * HOUR]))
    for batch in held:
        writer.put(batch, shard="s9")
    same_as_fresh(walk, clock)
    assert walk.warm


class Reads:
    """DynamoDB requests of one kind of work and the items they returned, counted at botocore."""

    def __init__(self) -> None:
        self.requests = 0
        self.items = 0

    def count(self, operation: str, response: dict[str, Any]) -> None:
        self.requests += 1
        self.items += response.get("Count", 0)
        self.items += sum(len(found) for found in response.get("Responses", {}).values())


def _counted(monkeypatch) -> Reads:
    from botocore.client import BaseClient

    reads = Reads()
    real = BaseClient._make_api_call

    def counting(self: Any, operation: str, params: dict[str, Any]) -> Any:
        response = real(self, operation, params)
        reads.count(operation, response)
        return response

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    return reads


@pytest.mark.parametrize("in_window", [400, 4000])
def test_a_warm_request_reads_what_is_new_not_the_window(clock, monkeypatch, in_window):
    rng = random.Random(in_window)
    writer, walk = Writer(), ListingWalk(clock)
    for start in range(0, in_window, 200):  # spread over the 47 hours before
        writer.put(writer.rows(clock, traffic(rng, min(200, in_window - start))))
        clock.advance(47 * HOUR / (in_window / 200))
    walk.open_trails(clock.now)  # cold: the whole window
    assert walk.held > in_window // 2
    clock.advance(3)  # the console polls again: five messages came meanwhile, in one page
    writer.put(writer.rows(clock, traffic(rng, 5)))
    reads = _counted(monkeypatch)
    trails = walk.open_trails(clock.now)
    # the buckets' 16 queries and the late markers' one, whatever the window holds: they
    # return the new page only (the margin holds nothing older here)
    assert (reads.requests, reads.items) == (listing.BUCKETS + 1, 1)
    assert answer(trails) == answer(fresh(clock.now))
