"""Flows: definitions (admin data), per-follower state, and per-day analytics counters.

- `flows`: one item per flow; every change bumps the rules version (store.rules), so the
  callback's cached snapshot, which carries the compiled flows, reloads within ~2 s.
- `flow-state`: one item per follower who ever entered a flow: `step` (a counter bumped by every
  write, never reset, so a conditional write on it cannot be fooled by ABA), `flow_id`/`node_id`/
  `path`/`misses` while in a flow, `updated_at`, and a TTL for cleanup only (timeouts are
  decided in code from `updated_at`; DynamoDB deletes expired items up to days late).
- `flow-stats`: items keyed (flow_id, `<local day>#<shard>`) with flat counters (`entered`,
  `completed`, `exited`, `timed_out`, `abandoned`, and `n:<node>:<counter>` for reached /
  advanced / back / fallback / completed / exited / timed_out / abandoned), added with atomic
  ADDs inside the message's transaction: a WeChat retry cancels them with the inbox put. The
  shard (a hash of the openid over SHARDS) spreads one busy flow's day over several items:
  DynamoDB cancels a transaction that meets another on the same item. A date-range query is
  one Query (the sort key range covers every shard). Days are local dates (WXLESS_TIMEZONE,
  as in store.analytics).

The callback's per-message cost lives here: `read_state` (one strongly consistent GetItem on
the fail-fast client) and `step_writes` (TransactWriteItems entries, no request of their own).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
import zlib
from collections import Counter as Tally
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
from chalicelib.store import rules as rules_store
from chalicelib.store.analytics import local_day_hour
from chalicelib.store.aws import client
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
SHARDS = 8  # readers read every shard by a key range: raising it later is safe


@register
class FlowItem(Model):
    Meta = table("flows")
    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    enabled = BooleanAttribute(default=True)
    definition = JSONAttribute()  # the validated flow (engine.flows.validate_flow)
    created_at = NumberAttribute()
    updated_at = NumberAttribute()

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.definition,
            "id": self.id,
            "created_at": int(self.created_at),
            "updated_at": int(self.updated_at),
        }


@register
class FlowStateItem(Model):
    """Written and read with raw botocore on the hot path; the model creates the table."""

    Meta = table("flow-state")
    openid = UnicodeAttribute(hash_key=True)
    step = NumberAttribute(null=True)
    expires_at = TTLAttribute(null=True)


@register
class FlowStatsItem(Model):
    """Counters are dynamic attribute names, so reads and writes go through botocore."""

    Meta = table("flow-stats")
    flow_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # "<YYYY-MM-DD>#<shard>"


# -- definitions ----------------------------------------------------------------------------


@guarded
def list_flows() -> list[dict[str, Any]]:
    flows = [item.to_dict() for item in FlowItem.scan()]
    flows.sort(key=lambda f: (f["created_at"], f["id"]))
    return flows


@guarded
def get_flow(flow_id: str) -> dict[str, Any]:
    try:
        return FlowItem.get(flow_id).to_dict()
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
        uuid.uuid4().hex,
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
        flow_id,
        name=fields["name"],
        enabled=fields["enabled"],
        definition=fields,
        created_at=current["created_at"],
        updated_at=int(time.time()),
    )
    try:
        item.save(condition=FlowItem.id.exists())
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
        FlowItem(flow_id).delete(condition=FlowItem.id.exists())
    except DeleteError as exc:
        if is_condition_failure(exc):
            raise NotFound(f"flow {flow_id} not found") from None
        raise
    rules_store.bump_version()


# -- per-follower state (hot path) ----------------------------------------------------------


def read_state(openid: str) -> FlowState:
    """One strongly consistent GetItem: the previous message's step must be visible."""
    try:
        response = client("dynamodb", "fast").get_item(
            TableName=config.table_name("flow-state"),
            Key={"openid": {"S": openid}},
            ConsistentRead=True,
        )
    except (ClientError, BotoCoreError) as exc:
        raise StoreUnavailable(f"flow state read failed: {type(exc).__name__}") from exc
    item = response.get("Item")
    if not item:
        return NO_STATE
    return FlowState(
        step=int(item.get("step", {}).get("N", "0")),
        flow_id=item.get("flow_id", {}).get("S"),
        node_id=item.get("node_id", {}).get("S"),
        path=tuple(v.get("S", "") for v in item.get("path", {}).get("L", [])),
        misses=int(item.get("misses", {}).get("N", "0")),
        updated_at=float(item.get("updated_at", {}).get("N", "0")),
    )


def _stats_key(openid: str, now: float) -> str:
    day, _hour = local_day_hour(now)  # the same per-slot cached local date the counters use
    return f"{day}#{zlib.crc32(openid.encode()) % SHARDS}"


def _counter_attr(node_id: str | None, name: str) -> str:
    return name if node_id is None else f"n:{node_id}:{name}"


def step_writes(openid: str, step: FlowStep | None, now: float) -> list[dict[str, Any]]:
    """TransactWriteItems entries for a flow decision: the state update (conditional on the step
    read) and one ADD update per flow touched. Ride along with the inbox put."""
    if step is None:
        return []
    names = {"#step": "step", "#u": "updated_at", "#e": "expires_at"}
    values: dict[str, Any] = {
        ":zero": {"N": "0"},
        ":one": {"N": "1"},
        ":u": {"N": str(int(now))},
    }
    sets = ["#step = if_not_exists(#step, :zero) + :one", "#u = :u", "#e = :e"]
    state = step.state
    if state is None:
        values[":e"] = {"N": str(int(now) + IDLE_KEEP)}
        expression = "SET " + ", ".join(sets) + " REMOVE flow_id, node_id, #path, misses"
        names["#path"] = "path"
    else:
        values[":e"] = {"N": str(int(now) + step.ttl + GRACE)}
        values.update(
            {
                ":f": {"S": state.flow_id or ""},
                ":n": {"S": state.node_id or ""},
                ":p": {"L": [{"S": p} for p in state.path]},
                ":m": {"N": str(state.misses)},
            }
        )
        names["#path"] = "path"
        sets += ["flow_id = :f", "node_id = :n", "#path = :p", "misses = :m"]
        expression = "SET " + ", ".join(sets)
    update: dict[str, Any] = {
        "TableName": config.table_name("flow-state"),
        "Key": {"openid": {"S": openid}},
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    if step.expect_step == 0:
        update["ConditionExpression"] = "attribute_not_exists(openid)"
    elif step.expect_step is not None:
        update["ConditionExpression"] = "#step = :expect"
        values[":expect"] = {"N": str(step.expect_step)}
    writes: list[dict[str, Any]] = [{"Update": update}]

    per_flow: dict[str, Tally[str]] = {}
    for flow_id, node_id, name in step.counters:
        per_flow.setdefault(flow_id, Tally())[_counter_attr(node_id, name)] += 1
    for flow_id, tally in per_flow.items():
        adds, stat_names, stat_values = [], {}, {}
        for index, (attr, count) in enumerate(sorted(tally.items())):
            stat_names[f"#c{index}"] = attr
            stat_values[f":c{index}"] = {"N": str(count)}
            adds.append(f"#c{index} :c{index}")
        writes.append(
            {
                "Update": {
                    "TableName": config.table_name("flow-stats"),
                    "Key": {"flow_id": {"S": flow_id}, "sk": {"S": _stats_key(openid, now)}},
                    "UpdateExpression": "ADD " + ", ".join(adds),
                    "ExpressionAttributeNames": stat_names,
                    "ExpressionAttributeValues": stat_values,
                }
            }
        )
    return writes


# -- analytics ------------------------------------------------------------------------------


@guarded
def stats(flow_id: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Counters of one flow over [start, end] (local dates): totals, per node, per day."""
    flow = get_flow(flow_id)
    if end < start:
        raise ValueError("from must not be after to")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ValueError(f"the range may span at most {MAX_RANGE_DAYS} days")
    ddb = client("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": config.table_name("flow-stats"),
        "KeyConditionExpression": "flow_id = :f AND sk BETWEEN :a AND :b",
        "ExpressionAttributeValues": {
            ":f": {"S": flow_id},
            ":a": {"S": start.isoformat()},
            ":b": {"S": f"{end.isoformat()}#~"},  # "#~" sorts after every shard of that day
        },
    }
    by_day: dict[str, dict[str, int]] = {}
    while True:
        page = ddb.query(**kwargs)
        for item in page.get("Items", []):
            day = by_day.setdefault(item["sk"]["S"].split("#", 1)[0], {})
            for attr, value in item.items():
                if "N" in value:
                    day[attr] = day.get(attr, 0) + int(value["N"])
        if not page.get("LastEvaluatedKey"):
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
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
