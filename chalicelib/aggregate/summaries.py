"""What a batch of logged messages adds up to: one write per target item.

Each summary turns the batch's message records into targets (store.ledger.Target): the hour
counter of every local hour the batch touched, the counter of every text, the record of every
follower who subscribed or unsubscribed, the day counters of every flow, the listing's pages.
A target carries its records' parts in stream order, so the ledger can drop the ones its item
already holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.aggregate import faq_quality
from chalicelib.engine.pipeline import delivery_of_key
from chalicelib.store import analytics, channel_stats, ddb, followers, listing, messages
from chalicelib.store import flows as flows_store
from chalicelib.store.ledger import Part, Target
from chalicelib.store.stream import StreamRecord


@dataclass(frozen=True, slots=True)
class Logged:
    """One message item, as the stream delivered it."""

    seq: str
    openid: str
    created_at: int
    delivery: str
    kind: str
    content: str
    outcome: str
    rule_id: str | None
    received_ms: int
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def at(self) -> int:
        """When it happened: WeChat's CreateTime unless implausibly far from its arrival."""
        return analytics.event_time(self.created_at, self.received_ms / 1000)

    @property
    def event(self) -> str | None:
        return self.kind[6:] if self.kind.startswith("event.") else None


def logged(record: StreamRecord) -> Logged | None:
    """The message of an INSERT; None for anything else (TTL deletions, other items). Raises on
    a message item it cannot read (a poison record)."""
    item = record.item
    if record.event != "INSERT" or not item or not messages.is_message_key(str(item.get("sk"))):
        return None
    created_at, delivery = int(item["ct"]), delivery_of_key(item["sk"])
    facts = {name: item[attr] for attr, name in messages.FACT_ATTRS if attr in item}
    return Logged(
        seq=record.seq,
        openid=messages.openid_of(item["pk"]),
        created_at=created_at,
        delivery=delivery,
        kind=str(item["t"]),
        content=str(item.get("c", "")),
        outcome=str(item.get("o", "none")),
        rule_id=item.get("r"),
        received_ms=int(item["at"]),
        facts=facts,
    )


def _group(
    records: Iterable[Logged], key_of: Callable[[Logged], Any | None]
) -> dict[Any, list[Logged]]:
    groups: dict[Any, list[Logged]] = {}
    for record in records:
        key = key_of(record)
        if key is not None:
            groups.setdefault(key, []).append(record)
    return groups


# -- hour counters -----------------------------------------------------------------------------


def hour_targets(records: Sequence[Logged]) -> list[Target[Any]]:
    out: list[Target[Any]] = []
    table = analytics.table_name()
    for (day, hour), group in _group(records, lambda r: analytics.local_day_hour(r.at)).items():
        parts = [Part(r.seq, analytics.hour_tally(r.kind, r.outcome, r.rule_id)) for r in group]
        out.append(Target(table, analytics.hour_item_key(day, hour), parts, analytics.hour_update))
    return out


# -- text counters -----------------------------------------------------------------------------


def text_targets(records: Sequence[Logged]) -> list[Target[Any]]:
    hits: dict[tuple[str, str], list[Part[analytics.TextHit]]] = {}
    for r in records:
        if r.kind != "text":
            continue
        found = analytics.text_hit(r.content, r.outcome, r.rule_id, r.at)
        if found is None:
            continue
        text, hit = found
        day, _hour = analytics.local_day_hour(r.at)
        hits.setdefault((day, text), []).append(Part(r.seq, hit))
    table = analytics.table_name()
    return [
        Target(table, analytics.text_item_key(day, text), parts, analytics.text_update)
        for (day, text), parts in hits.items()
    ]


# -- follower records --------------------------------------------------------------------------


STATE_EVENTS = frozenset({"subscribe", "unsubscribe"})


def fold_follower(group: Sequence[Logged]) -> followers.FollowerChange:
    """A follower's subscribes and unsubscribes of one batch (in stream order) as one change."""
    change = followers.FollowerChange(
        first_at=min(r.at for r in group), last_at=max(r.at for r in group)
    )
    for r in group:
        if r.event == "unsubscribe":
            change.state, change.state_ms, change.scene = "unsubscribe", r.received_ms, None
            continue
        change.state, change.state_ms = "subscribe", r.received_ms
        change.subscribes += 1
        if change.first_subscribed_at is None:
            change.first_subscribed_at = r.at
        change.last_subscribed_at = r.at
        change.scene = r.facts.get("scene") or None
        if change.first_channel is None:  # "" when they came without a code
            change.first_channel = change.scene or ""
    return change


def follower_targets(records: Sequence[Logged]) -> list[Target[Any]]:
    """One write per follower who subscribed or unsubscribed in the batch; messages and other
    events write no follower record (their activity is read from the timeline)."""

    def follower(r: Logged) -> str | None:
        return r.openid if r.event in STATE_EVENTS else None

    table = followers.table_name()
    out: list[Target[Any]] = []
    for openid, group in _group(records, follower).items():

        def build(values: Sequence[Logged], openid: str = openid) -> Any:
            return followers.change_update(openid, fold_follower(values))

        parts = [Part(r.seq, r) for r in group]
        key = ddb.key(followers.follower_key(openid))
        out.append(Target(table, key, parts, build, own=True))
    return out


# -- flow statistics ---------------------------------------------------------------------------


def flow_targets(records: Sequence[Logged]) -> list[Target[Any]]:
    tallies: dict[tuple[str, str], list[Part[dict[str, int]]]] = {}
    for r in records:
        counters = r.facts.get("flow")
        if not counters:
            continue
        day, _hour = analytics.local_day_hour(r.at)
        per_flow: dict[str, dict[str, int]] = {}
        for flow_id, node_id, name in counters:
            tally = per_flow.setdefault(str(flow_id), {})
            attr = flows_store.counter_attr(node_id or None, str(name))
            tally[attr] = tally.get(attr, 0) + 1
        for flow_id, tally in per_flow.items():
            tallies.setdefault((flow_id, day), []).append(Part(r.seq, tally))
    table = flows_store.stats_table()
    return [
        Target(table, flows_store.stats_key(flow_id, day), parts, analytics.hour_update)
        for (flow_id, day), parts in tallies.items()
    ]


# -- channels (QR code scenes) ------------------------------------------------------------------


def channel_scene(record: Logged) -> str | None:
    """The QR code scene a record came through: a subscribe's `qrscene_<scene>`, a SCAN's
    EventKey; None for anything else (scenes longer than WeChat's 64 are no code of ours)."""
    event = record.event
    if event == "subscribe":
        scene = record.facts.get("scene")
    elif event == "scan":
        scene = record.facts.get("key")
    else:
        return None
    return scene if scene and len(scene) <= 64 else None


def channel_targets(records: Sequence[Logged]) -> list[Target[Any]]:
    """Scans and subscribes per scene, per local day and all time (store.channel_stats)."""
    parts: dict[tuple[str, str], list[Part[dict[str, int]]]] = {}
    for r in records:
        scene = channel_scene(r)
        tally = channel_stats.tally(r.event) if scene else None
        if scene is None or tally is None:
            continue
        day, _hour = analytics.local_day_hour(r.at)
        for sk in (day, channel_stats.TOTAL):
            parts.setdefault((scene, sk), []).append(Part(r.seq, tally))
    table = analytics.table_name()
    return [
        Target(table, ddb.key(channel_stats.scene_pk(scene), sk), tallies, analytics.hour_update)
        for (scene, sk), tallies in parts.items()
    ]


# -- the cross-follower listing ---------------------------------------------------------------


def listing_pages(shard_tag: str, records: Sequence[Logged]) -> list[dict[str, Any]]:
    rows = [
        (
            r.seq,
            listing.row(
                r.received_ms, r.openid, r.created_at, r.delivery, r.kind, r.content,
                r.rule_id, r.outcome,
            ),
        )
        for r in records
    ]  # fmt: skip
    return listing.page_items(shard_tag, rows)


SUMMARIES: tuple[Callable[[Sequence[Logged]], list[Target[Any]]], ...] = (
    follower_targets,
    hour_targets,
    text_targets,
    flow_targets,
    faq_quality.targets,
    channel_targets,
)
