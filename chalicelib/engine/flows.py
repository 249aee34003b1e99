"""Guided conversations ("flows"): compilation and the step engine. Pure. What a flow may be
(validation, the admin body) is engine/flow_definitions.py.

A flow is admin data (`POST /admin/flows`)::

    {"name": "办卡", "enabled": true, "priority": 0,
     "entry": {"match": "exact", "keywords": ["办卡"], "click_keys": ["MENU_CARD"]},
     "start": "choose",
     "nodes": [
       {"id": "choose", "prompt": Reply, "fallback": Reply?,
        "options": [{"keywords": ["借记卡"], "next": "debit"},              # number 1
                    {"keywords": ["信用卡"], "number": 2, "next": "credit"},
                    {"pattern": "^网点", "reply": Reply}]},                 # a final answer
       {"id": "debit", "prompt": Reply}, ...],                               # no options: an end
     "back_words": ["返回"], "exit_words": ["退出"], "timeout_seconds": 600,
     "max_fallbacks": 3, "fallback": Reply?, "exit_reply": Reply?}

Semantics:

- A follower enters by an entry keyword (matched like a rule of that `match` type) or a menu
  click on one of `click_keys`, and gets the start node's prompt.
- In a node, a text message is compared (NFKC-normalised, stripped, case-folded) with, in this
  order: the exit words, the back words, each option's keywords and number (an option's number
  is its 1-based position unless set; `"number": null` turns it off), each option's `pattern`
  (a regex, same safety checks and time limits as regex rules). An option leads to its `next`
  node, or answers its `reply` and ends the flow (completed). Reaching a node without options
  shows its prompt and ends the flow (completed).
- Anything else: if it is the entry of a flow, that flow starts over; otherwise the fallback
  (node's, else flow's, else "没有听懂" + the node's text prompt) and the follower stays. After
  `max_fallbacks` fallbacks in a row (0 = never) the next unrecognised message lets the
  follower out and is answered as if no flow were running (keyword rules, default reply).
- "back" goes to the previous node (the start node re-prompts itself); "exit" always ends the
  flow with `exit_reply`.
- A follower whose last step is older than `timeout_seconds` is no longer in the flow: that
  message is answered as if no flow were running, and counted as a timeout at their node.

Precedence against keyword rules: while a follower is in a flow, the flow answers first. Outside
a flow an entry keyword competes with the keyword rules by priority; on equal priority the flow
wins.

Validation refuses dangling node references, nodes unreachable from `start`, and nodes from
which no end can be reached (a cycle without a way out): every node must be able to finish.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

from chalicelib.engine.flow_definitions import (
    DEFAULT_MAX_FALLBACKS,
    DEFAULT_TIMEOUT,
    MAX_PATH,
    normalize,
)
from chalicelib.engine.rules import REGEX_TEXT_CAP, REGEX_TIMEOUT, RuleSet, compile_rules
from chalicelib.wechat.replies import MAX_TEXT_BYTES

log = logging.getLogger(__name__)

# -- compiled flows -------------------------------------------------------------------------


@dataclass(slots=True)
class Option:
    position: int
    next: str | None
    reply: dict[str, Any] | None


@dataclass(slots=True)
class Node:
    id: str
    prompt: dict[str, Any]
    fallback: dict[str, Any]
    terminal: bool
    exact: dict[str, Option] = field(default_factory=dict)
    patterns: list[tuple[Any, Option]] = field(default_factory=list)


@dataclass(slots=True)
class Flow:
    id: str
    name: str
    priority: int
    start: str
    nodes: dict[str, Node]
    back: frozenset[str]
    exits: frozenset[str]
    timeout: int
    max_fallbacks: int
    exit_reply: dict[str, Any]


@dataclass(slots=True, eq=False)  # shared, immutable after build: hashable by id
class FlowBook:
    flows: dict[str, Flow]
    entries: RuleSet  # pseudo-rules: entry keywords and click keys -> flow id

    def __bool__(self) -> bool:
        return bool(self.flows)

    def match_text(self, content: str) -> Flow | None:
        rule = self.entries.match_text(content) if self.flows else None
        return self.flows.get(rule["id"]) if rule else None

    def match_click(self, key: str) -> Flow | None:
        rule = self.entries.match_click(key) if self.flows else None
        return self.flows.get(rule["id"]) if rule else None


EMPTY = FlowBook({}, compile_rules([]))


def _default_fallback(prompt: dict[str, Any], exit_word: str) -> dict[str, Any]:
    hint = f"没有听懂，请回复选项的编号或关键词（回复「{exit_word}」结束）。"
    if prompt.get("type") != "text":
        return {"type": "text", "content": hint}
    text = f"{hint}\n\n{prompt['content']}"
    while len(text.encode()) > MAX_TEXT_BYTES:
        text = text[:-50]
    return {"type": "text", "content": text}


def compile_flow(flow: dict[str, Any]) -> Flow:
    exit_word = flow["exit_words"][0]
    nodes: dict[str, Node] = {}
    for raw in flow["nodes"]:
        fallback = (
            raw.get("fallback")
            or flow.get("fallback")
            or _default_fallback(raw["prompt"], exit_word)
        )
        node = Node(raw["id"], raw["prompt"], fallback, terminal=not raw["options"])
        for pos, option in enumerate(raw["options"], start=1):
            compiled = Option(pos, option.get("next"), option.get("reply"))
            for word in option.get("keywords", ()):
                node.exact.setdefault(normalize(word), compiled)
            if option.get("number") is not None:
                node.exact.setdefault(str(option["number"]), compiled)
            if option.get("pattern"):
                import regex  # loaded with the first flow pattern, not at cold start

                try:
                    node.patterns.append((regex.compile(option["pattern"]), compiled))
                except Exception:  # stored data we can no longer compile: skip the pattern
                    log.warning("flow %s node %s: pattern does not compile", flow["id"], raw["id"])
        nodes[node.id] = node
    return Flow(
        id=flow["id"],
        name=flow["name"],
        priority=int(flow.get("priority", 0)),
        start=flow["start"],
        nodes=nodes,
        back=frozenset(normalize(w) for w in flow.get("back_words", ())),
        exits=frozenset(normalize(w) for w in flow["exit_words"]),
        timeout=int(flow.get("timeout_seconds", DEFAULT_TIMEOUT)),
        max_fallbacks=int(flow.get("max_fallbacks", DEFAULT_MAX_FALLBACKS)),
        exit_reply=flow.get("exit_reply")
        or {"type": "text", "content": f"已退出「{flow['name']}」。"},
    )


def compile_flows(stored: list[dict[str, Any]]) -> FlowBook:
    """Enabled flows, compiled; one broken stored flow is logged and skipped."""
    flows: dict[str, Flow] = {}
    entries: list[dict[str, Any]] = []
    for item in stored:
        if not isinstance(item, dict) or item.get("enabled", True) is not True:
            continue
        try:
            flow = compile_flow(item)
        except Exception:
            log.exception("flow %s cannot be compiled; skipped", item.get("id"))
            continue
        flows[flow.id] = flow
        entry = item.get("entry") or {}
        # seq 0: a flow entry wins a priority tie against any rule (rules count seq from 1).
        common = {"id": flow.id, "priority": flow.priority, "seq": 0, "reply": None}
        if entry.get("keywords"):
            entries.append(
                {**common, "match": entry.get("match", "exact"), "keywords": entry["keywords"]}
            )
        if entry.get("click_keys"):
            entries.append({**common, "match": "click", "keywords": entry["click_keys"]})
    return FlowBook(flows, compile_rules(entries))


# -- state and steps ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlowState:
    """A follower's place in a flow, as read from storage. `step` counts every write (0: the
    follower has no state item yet); writes are conditional on it (optimistic concurrency)."""

    step: int = 0
    flow_id: str | None = None
    node_id: str | None = None
    path: tuple[str, ...] = ()
    misses: int = 0
    updated_at: float = 0.0

    @property
    def active(self) -> bool:
        return bool(self.flow_id and self.node_id)


NO_STATE = FlowState()
Counter = tuple[str, str | None, str]  # (flow id, node id or None for the flow, counter name)


@dataclass(frozen=True, slots=True)
class FlowStep:
    """What a flow decision must write, atomically with the message: the follower's new state
    (None: out of any flow) and the analytics counters to add."""

    expect_step: int | None  # the step read; None: the state was not read (write regardless)
    state: FlowState | None
    counters: tuple[Counter, ...]
    ttl: int = DEFAULT_TIMEOUT  # seconds the state is worth keeping


@dataclass(frozen=True, slots=True)
class Turn:
    """A flow's answer to a message. `reply is None and outcome is None`: the flow let the
    follower go; `step` then only records that (timeout, abandon) and the caller decides."""

    reply: dict[str, Any] | None
    outcome: str | None
    flow_id: str | None
    step: FlowStep | None


def _expect(state: FlowState | None) -> int | None:
    return None if state is None else state.step


def _arrive(
    flow: Flow,
    node_id: str,
    path: tuple[str, ...],
    now: float,
    counters: list[Counter],
) -> tuple[dict[str, Any], FlowState | None, str]:
    """Counters and state for arriving at a node; an end node completes the flow."""
    node = flow.nodes[node_id]
    counters.append((flow.id, node_id, "reached"))
    if node.terminal:
        counters += [(flow.id, node_id, "completed"), (flow.id, None, "completed")]
        return node.prompt, None, "flow.complete"
    return node.prompt, FlowState(0, flow.id, node_id, path[-MAX_PATH:], 0, now), ""


def enter(
    flow: Flow, state: FlowState | None, now: float, carried: tuple[Counter, ...] = ()
) -> Turn:
    """Start `flow` (from an entry keyword or click). `state`: what was read, None if unread."""
    counters: list[Counter] = [*carried, (flow.id, None, "entered")]
    reply, new, outcome = _arrive(flow, flow.start, (), now, counters)
    step = FlowStep(_expect(state), new, tuple(counters), flow.timeout)
    return Turn(reply, outcome or "flow.enter", flow.id, step)


def let_go(state: FlowState, counters: tuple[Counter, ...] = ()) -> FlowStep:
    """Out of the flow without an answer of its own (timeout, stale flow, too many misses)."""
    return FlowStep(state.step, None, counters)


def take_turn(book: FlowBook, state: FlowState, text: str, now: float) -> Turn:
    """The active flow's answer to a text message (`state.active` must be true)."""
    flow = book.flows.get(state.flow_id or "")
    node = flow.nodes.get(state.node_id or "") if flow else None
    if flow is None or node is None:  # flow deleted/disabled, or its node removed since
        return Turn(None, None, None, let_go(state))
    fid, nid = flow.id, node.id
    if now - state.updated_at > flow.timeout:
        counters = ((fid, nid, "timed_out"), (fid, None, "timed_out"))
        return Turn(None, None, None, let_go(state, counters))

    key = normalize(text)
    if key in flow.exits:
        done = ((fid, nid, "exited"), (fid, None, "exited"))
        return Turn(flow.exit_reply, "flow.exit", fid, FlowStep(state.step, None, done))
    if key in flow.back:
        counters: list[Counter] = [(fid, nid, "back")]
        target = state.path[-1] if state.path else flow.start
        reply, new, _ = _arrive(flow, target, state.path[:-1], now, counters)
        step = FlowStep(state.step, new, tuple(counters), flow.timeout)
        return Turn(reply, "flow.back", fid, step)

    option = node.exact.get(key) or _search(node, text)
    if option is not None and option.reply is not None:
        done = ((fid, nid, "completed"), (fid, None, "completed"))
        return Turn(option.reply, "flow.complete", fid, FlowStep(state.step, None, done))
    if option is not None:
        counters = [(fid, nid, "advanced")]
        path = (*state.path, nid)
        reply, new, outcome = _arrive(flow, option.next or "", path, now, counters)
        step = FlowStep(state.step, new, tuple(counters), flow.timeout)
        return Turn(reply, outcome or "flow.next", fid, step)

    other = book.match_text(text)
    if other is not None:  # an entry keyword: start that flow (or this one) over
        abandoned = ((fid, nid, "abandoned"), (fid, None, "abandoned"))
        return enter(other, state, now, abandoned)
    if flow.max_fallbacks and state.misses >= flow.max_fallbacks:
        abandoned = ((fid, nid, "abandoned"), (fid, None, "abandoned"))
        return Turn(None, None, None, let_go(state, abandoned))
    missed = replace(state, step=0, misses=state.misses + 1, updated_at=now)
    step = FlowStep(state.step, missed, ((fid, nid, "fallback"),), flow.timeout)
    return Turn(node.fallback, "flow.fallback", fid, step)


def _search(node: Node, text: str) -> Option | None:
    capped = text.strip()[:REGEX_TEXT_CAP]
    for pattern, option in node.patterns:
        try:
            if pattern.search(capped, timeout=REGEX_TIMEOUT) is not None:
                return option
        except TimeoutError:
            log.warning("flow option pattern timed out (counted as no match)")
    return None


def conflict_fallback(book: FlowBook, state: FlowState | None) -> dict[str, Any] | None:
    """What to say when a step lost a race twice: the current node's fallback, no state change."""
    if state is None or not state.active:
        return None
    flow = book.flows.get(state.flow_id or "")
    node = flow.nodes.get(state.node_id or "") if flow else None
    return node.fallback if node else None
