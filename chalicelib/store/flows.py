"""Flows: definitions (admin data), per-follower state, and per-day analytics counters.

- `flows`: one item per flow (`pk = <account>#<flow id>`); every change bumps the rules version
  (store.rules), so the callback's cached snapshot, which carries the compiled flows, reloads
  within ~2 s.
- `flow-state`: one item per follower who ever entered a flow (`pk = <account>#<openid>`):
  `step` (a counter bumped by every write, never reset, so a conditional write on it cannot be
  fooled by ABA), `flow_id`/`node_id`/`path`/`misses` while in a flow, `updated_at`, and a TTL
  for cleanup only (timeouts are decided in code from `updated_at`; DynamoDB deletes expired
  items up to days late). The callback reads it (one strongly consistent GetItem) and writes it
  in one transaction with the message item, nothing else.
- `flow-stats`: one item per flow and local day (`pk = <account>#<flow id>`, `sk = <day>`)
  with flat counters (`entered`, `completed`, `exited`, `timed_out`, `abandoned`, and
  `n:<node>:<counter>` for reached / advanced / back / fallback / completed / exited /
  timed_out / abandoned). The stream aggregator adds them, once per flow and day per batch
  (chalicelib/aggregate); a date-range query is one Query.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError
from pynamodb.models import Model

from chalicelib import config
from chalicelib.engine.flows import NO_STATE, FlowState, FlowStep
from chalicelib.errors import InvalidInput
from chalicelib.store import ddb, keys
from chalicelib.store import rules as rules_store
from chalicelib.store.errors import Conflict, NotFound, StoreUnavailable
from chalicelib.store.guard import guarded, is_condition_failure, save_new
from chalicelib.store.models import register, table

IDLE_KEEP = 30 * 86400  # an idle state item keeps its step counter this long
GRACE = 86400  # an active state outlives its timeout by this much (to count the timeout)
NODE_COUNTERS = (
    "reached",
    "advanced",
    "back",
    "fallback",
    "completed",
    "exited",
    "timed_out",
    "abandoned",
)
FLOW_COUNTERS = ("entered", "completed", "exited", "timed_out", "abandoned")
MAX_RANGE_DAYS = 366


@register
class FlowItem(Model):
    Meta = table("flows")
    pk = UnicodeAttribute(hash_key=True)  # <account>#<flow id>
    name = UnicodeAttribute()
    enabled = BooleanAttribute(default=True)
    definition = JSONAttribute()  # the validated flow (engine.flow_definitions.validate_flow)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.definition,
            "id": keys.last(self.pk),
            "created_at": int(self.created_at),
            "updated_at": int(self.updated_at),
        }


@register
class FlowStateItem(Model):
    """Written and read through store.ddb on the hot path; the model creates the table."""

    Meta = table("flow-state")
    pk = UnicodeAttribute(hash_key=True)  # <account>#<openid>
    step = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)


@register
class FlowStatsItem(Model):
    """Counters are dynamic attribute names, so reads and writes go through store.ddb."""

    Meta = table("flow-stats")
    pk = UnicodeAttribute(hash_key=True)  # <account>#<flow id>
    sk = UnicodeAttribute(range_key=True)  # <YYYY-MM-DD>


def flow_key(flow_id: str) -> str:
    return keys.scoped(flow_id)


# -- definitions ----------------------------------------------------------------------------


@guarded
def list_flows() -> list[dict[str, Any]]:
    mine = FlowItem.pk.startswith(keys.prefix())
    flows = [item.to_dict() for item in FlowItem.scan(filter_condition=mine)]
    flows.sort(key=lambda f: (f["created_at"], f["id"]))
    return flows


@guarded
def get_flow(flow_id: str) -> dict[str, Any]:
    try:
        return FlowItem.get(flow_key(flow_id)).to_dict()
    except DoesNotExist:
        raise NotFound(f"flow {flow_id} not found") from None


def _entry_keys(flow: dict[str, Any]) -> set[str]:
    entry = flow.get("entry") or {}
    keys = {f"click:{k}" for k in entry.get("click_keys", ())}
    if entry.get("match", "exact") == "exact":
        keys |= {f"text:{k}" for k in entry.get("keywords", ())}
    return keys


def _check_conflicts(fields: dict[str, Any], flow_id: str | None) -> None:
    """Two enabled flows may not share an exact entry keyword or a click key: which one
    starts would depend on creation order, which an admin cannot see."""
    if not fields.get("enabled", True):
        return
    mine = _entry_keys(fields)
    for other in list_flows():
        if other["id"] == flow_id or not other.get("enabled", True):
            continue
        shared = mine & _entry_keys(other)
        if shared:
            shown = ", ".join(sorted(k.split(":", 1)[1] for k in shared))
            raise Conflict(f"flow {other['name']!r} ({other['id']}) already starts on: {shown}")


@guarded
def create_flow(fields: dict[str, Any]) -> dict[str, Any]:
    _check_conflicts(fields, None)
    now = int(time.time())
    item = FlowItem(
        flow_key(uuid.uuid4().hex),
        name=fields["name"],
        enabled=fields["enabled"],
        definition=fields,
        created_at=now,
        updated_at=now,
    )
    save_new(item)
    rules_store.bump_version()
    return item.to_dict()


@guarded
def replace_flow(flow_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    current = get_flow(flow_id)
    _check_conflicts(fields, flow_id)
    item = FlowItem(
        flow_key(flow_id),
        name=fields["name"],
        enabled=fields["enabled"],
        definition=fields,
        created_at=current["created_at"],
        updated_at=int(time.time()),
    )
    try:
        item.save(condition=FlowItem.pk.exists())
    except PutError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"flow {flow_id} not found") from None
        raise
    rules_store.bump_version()
    return item.to_dict()


@guarded
def delete_flow(flow_id: str) -> None:
    """Followers still in it fall out at their next message (the state names a missing flow)."""
    try:
        FlowItem(flow_key(flow_id)).delete(condition=FlowItem.pk.exists())
    except DeleteError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"flow {flow_id} not found") from None
        raise
    rules_store.bump_version()


# -- per-follower state (hot path) ----------------------------------------------------------

_STATE_TABLE = "flow-state"


def read_state(openid: str) -> FlowState:
    """One strongly consistent GetItem: the previous message's step must be visible."""
    try:
        item = ddb.get(
            config.table_name(_STATE_TABLE),
            ddb.key(keys.scoped(openid)),
            consistent=True,
            profile="fast",
        )
    except (ClientError, BotoCoreError) as exc:
        raise StoreUnavailable(f"flow state read failed: {type(exc).__name__}") from exc
    if not item:
        return NO_STATE
    return FlowState(
        step=int(item.get("step", 0)),
        flow_id=item.get("flow_id"),
        node_id=item.get("node_id"),
        path=tuple(item.get("path") or ()),
        misses=int(item.get("misses", 0)),
        updated_at=float(item.get("updated_at", 0)),
    )


def step_update(openid: str, step: FlowStep, now: float) -> dict[str, Any]:
    """The follower's new flow state as an Update request, conditional on the step read: it
    rides in the message's transaction (store.messages), so a WeChat retry, which fails the
    message put, writes no step either. Its counters travel in the message item instead."""
    upd = ddb.Update()
    step_attr = upd.name("step")
    upd.sets.append(f"{step_attr} = if_not_exists({step_attr}, {upd.value(0)}) + {upd.value(1)}")
    upd.set(updated_at=int(now))
    state = step.state
    if state is None:
        upd.set(expires_at=int(now) + IDLE_KEEP).remove("flow_id", "node_id", "path", "misses")
    else:
        upd.set(
            expires_at=int(now) + step.ttl + GRACE,
            flow_id=state.flow_id or "",
            node_id=state.node_id or "",
            path=list(state.path),
            misses=state.misses,
        )
    if step.expect_step == 0:
        upd.where("attribute_not_exists({pk})")
    elif step.expect_step is not None:
        upd.where("{step} = :expect", expect=step.expect_step)
    return upd.request(config.table_name(_STATE_TABLE), ddb.key(keys.scoped(openid)))


def counter_attr(node_id: str | None, name: str) -> str:
    return name if not node_id else f"n:{node_id}:{name}"


def stats_key(flow_id: str, day: str) -> dict[str, Any]:
    """The flow-stats item of one flow and local day (the aggregator adds to it)."""
    return ddb.key(flow_key(flow_id), day)


def stats_table() -> str:
    return config.table_name("flow-stats")


# -- analytics ------------------------------------------------------------------------------


@guarded
def stats(flow_id: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Counters of one flow over [start, end] (local dates): totals, per node, per day."""
    flow = get_flow(flow_id)
    if end < start:
        raise InvalidInput("from must not be after to")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise InvalidInput(f"the range may span at most {MAX_RANGE_DAYS} days")
    request = {
        "TableName": stats_table(),
        "KeyConditionExpression": "pk = :f AND sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {
            ":f": ddb.ser(flow_key(flow_id)),
            ":a": ddb.ser(start.isoformat()),
            ":b": ddb.ser(end.isoformat()),
        },
    }
    by_day: dict[str, dict[str, int]] = {}
    for item in ddb.query(request):
        day = by_day.setdefault(item["sk"], {})
        for attr, value in item.items():
            if isinstance(value, int) and not isinstance(value, bool):
                day[attr] = day.get(attr, 0) + value
    days = [{"day": day, **counts} for day, counts in sorted(by_day.items())]

    totals = dict.fromkeys(FLOW_COUNTERS, 0)
    nodes: dict[str, dict[str, int]] = {
        n["id"]: dict.fromkeys(NODE_COUNTERS, 0) for n in flow["nodes"]
    }
    for day in days:
        for attr, count in day.items():
            if attr in totals:
                totals[attr] += count
            elif attr.startswith("n:"):
                node_id, _, name = attr[2:].rpartition(":")
                node = nodes.setdefault(node_id, dict.fromkeys(NODE_COUNTERS, 0))
                node[name] = node.get(name, 0) + count
    node_rows = []
    for node_id, counts in nodes.items():
        # Every arrival at a node ends in one departure: moving on, back, completing, or
        # dropping off (exit, timeout, abandon, or silence, which nothing records).
        dropped = counts["reached"] - counts["advanced"] - counts["back"] - counts["completed"]
        node_rows.append({"id": node_id, **counts, "dropped": max(dropped, 0)})
    entered = totals["entered"]
    return {
        "flow_id": flow_id,
        "name": flow["name"],
        "from": start.isoformat(),
        "to": end.isoformat(),
        "totals": {
            **totals,
            "completion_rate": round(totals["completed"] / entered, 4) if entered else None,
        },
        "nodes": node_rows,
        "days": [{"day": d["day"], **{k: d.get(k, 0) for k in FLOW_COUNTERS}} for d in days],
    }
