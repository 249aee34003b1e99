"""Guided conversations ("flows"): validation, compilation and the step engine. Pure.

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

import json
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import regex

from chalicelib.engine.rules import (
    REGEX_TEXT_CAP,
    REGEX_TIMEOUT,
    RuleError,
    RuleSet,
    check_keywords,
    compile_rules,
)
from chalicelib.errors import InvalidInput
from chalicelib.wechat.replies import MAX_TEXT_BYTES, validate_reply

log = logging.getLogger(__name__)

FLOW_FIELDS = (
    "name",
    "enabled",
    "priority",
    "entry",
    "start",
    "nodes",
    "back_words",
    "exit_words",
    "timeout_seconds",
    "max_fallbacks",
    "fallback",
    "exit_reply",
)
READ_ONLY = ("id", "created_at", "updated_at")
ENTRY_MATCHES = ("exact", "contains", "prefix", "regex")
DEFAULT_TIMEOUT = 600
MIN_TIMEOUT, MAX_TIMEOUT = 30, 7 * 86400
DEFAULT_MAX_FALLBACKS = 3
MAX_NODES = 100
MAX_OPTIONS = 20
MAX_WORDS = 50
MAX_PATH = 20  # how many "back" steps a follower can take
MAX_FLOW_BYTES = 256 * 1024  # stored as one DynamoDB item (400 KB at most)
PRIORITY_LIMIT = 1_000_000
_NODE_ID = re.compile(r"[A-Za-z0-9_\-]{1,40}")


class FlowError(InvalidInput):
    """An invalid flow; the message is meant for the admin."""


def normalize(text: str) -> str:
    """How options, back and exit words are compared: `１` == `1`, `EXIT` == `exit`."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


# -- validation -----------------------------------------------------------------------------


def _reply(value: Any, where: str) -> dict[str, Any]:
    try:
        return validate_reply(value)
    except InvalidInput as exc:
        raise FlowError(f"{where}: {exc}") from None


def _words(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
        raise FlowError(f"{where} must be a list of strings")
    if len(value) > MAX_WORDS:
        raise FlowError(f"{where}: at most {MAX_WORDS} words")
    out: list[str] = []
    for word in value:
        word = word.strip()
        if not word:
            raise FlowError(f"{where}: words must not be empty")
        if len(word) > 100:
            raise FlowError(f"{where}: a word is longer than 100 characters")
        if word not in out:
            out.append(word)
    return out


def _int(value: Any, where: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FlowError(f"{where} must be an integer")
    if not lo <= value <= hi:
        raise FlowError(f"{where} must be between {lo} and {hi}")
    return value


def _entry(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FlowError("entry must be an object with keywords and/or click_keys")
    unknown = sorted(set(value) - {"match", "keywords", "click_keys"})
    if unknown:
        raise FlowError(f"entry: unknown field(s): {', '.join(unknown)}")
    match = value.get("match", "exact")
    if match not in ENTRY_MATCHES:
        raise FlowError(f"entry.match must be one of {', '.join(ENTRY_MATCHES)}")
    keywords: list[str] = []
    if value.get("keywords"):
        try:
            keywords = check_keywords(match, value["keywords"])
        except RuleError as exc:
            raise FlowError(f"entry.keywords: {exc}") from None
    elif "keywords" in value and not isinstance(value["keywords"], list):
        raise FlowError("entry.keywords must be a list of strings")
    clicks: list[str] = []
    if value.get("click_keys"):
        try:
            clicks = check_keywords("click", value["click_keys"])
        except RuleError as exc:
            raise FlowError(f"entry.click_keys: {exc}") from None
    elif "click_keys" in value and not isinstance(value["click_keys"], list):
        raise FlowError("entry.click_keys must be a list of strings")
    if not keywords and not clicks:
        raise FlowError("entry needs at least one keyword or click key")
    return {"match": match, "keywords": keywords, "click_keys": clicks}


def _option(value: Any, position: int, where: str, node_ids: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FlowError(f"{where} must be an object")
    unknown = sorted(set(value) - {"keywords", "number", "pattern", "next", "reply"})
    if unknown:
        raise FlowError(f"{where}: unknown field(s): {', '.join(unknown)}")
    out: dict[str, Any] = {}
    out["keywords"] = _words(value.get("keywords", []), f"{where}.keywords")
    number = value.get("number", position)
    if number is not None:
        number = _int(number, f"{where}.number", 0, 999)
    out["number"] = number
    pattern = value.get("pattern")
    if pattern is not None:
        try:
            out["pattern"] = check_keywords("regex", [pattern])[0]
        except RuleError as exc:
            raise FlowError(f"{where}.pattern: {exc}") from None
    if not out["keywords"] and number is None and pattern is None:
        raise FlowError(f"{where} needs keywords, a number or a pattern")
    has_next, has_reply = value.get("next") is not None, value.get("reply") is not None
    if has_next == has_reply:
        raise FlowError(f"{where} needs exactly one of next (a node id) or reply (a final answer)")
    if has_next:
        target = value["next"]
        if not isinstance(target, str) or target not in node_ids:
            raise FlowError(f"{where}.next refers to unknown node {target!r}")
        out["next"] = target
    else:
        out["reply"] = _reply(value["reply"], f"{where}.reply")
    return out


def _node(value: Any, index: int, node_ids: set[str], reserved: dict[str, str]) -> dict[str, Any]:
    where = f"nodes[{index}]"
    unknown = sorted(set(value) - {"id", "prompt", "fallback", "options"})
    if unknown:
        raise FlowError(f"{where}: unknown field(s): {', '.join(unknown)}")
    node_id = value["id"]
    where = f"node {node_id!r}"
    out: dict[str, Any] = {"id": node_id, "prompt": _reply(value.get("prompt"), f"{where}.prompt")}
    if value.get("fallback") is not None:
        out["fallback"] = _reply(value["fallback"], f"{where}.fallback")
    options = value.get("options", [])
    if not isinstance(options, list):
        raise FlowError(f"{where}.options must be a list")
    if len(options) > MAX_OPTIONS:
        raise FlowError(f"{where}: at most {MAX_OPTIONS} options")
    out["options"] = [
        _option(option, pos, f"{where}.options[{pos - 1}]", node_ids)
        for pos, option in enumerate(options, start=1)
    ]
    # One message must mean one thing in a node: keywords, numbers, back and exit words apart.
    taken = dict(reserved)
    for pos, option in enumerate(out["options"], start=1):
        keys = [normalize(k) for k in option["keywords"]]
        if option["number"] is not None:
            keys.append(str(option["number"]))
        for key in dict.fromkeys(keys):
            if key in taken:
                raise FlowError(f"{where}: option {pos} and {taken[key]} both answer {key!r}")
            taken[key] = f"option {pos}"
    return out


def validate_flow(body: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A normalized flow, or FlowError. `base`: the stored flow (fields left out keep theirs)."""
    if not isinstance(body, dict):
        raise FlowError("flow must be a JSON object")
    unknown = sorted(set(body) - set(FLOW_FIELDS) - set(READ_ONLY))
    if unknown:
        raise FlowError(f"unknown field(s): {', '.join(unknown)}")
    merged: dict[str, Any] = {}
    if base:
        merged.update({k: base[k] for k in FLOW_FIELDS if k in base})
    merged.update({k: body[k] for k in FLOW_FIELDS if k in body})
    for required in ("name", "entry", "nodes"):
        if merged.get(required) is None:
            raise FlowError(f"{required} is required")

    name = merged["name"]
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 100:
        raise FlowError("name must be a non-empty string of at most 100 characters")
    enabled = merged.get("enabled", True)
    if not isinstance(enabled, bool):
        raise FlowError("enabled must be true or false")
    priority = _int(merged.get("priority", 0), "priority", -PRIORITY_LIMIT, PRIORITY_LIMIT)
    timeout = _int(
        merged.get("timeout_seconds", DEFAULT_TIMEOUT), "timeout_seconds", MIN_TIMEOUT, MAX_TIMEOUT
    )
    max_fallbacks = _int(
        merged.get("max_fallbacks", DEFAULT_MAX_FALLBACKS), "max_fallbacks", 0, 100
    )
    back_words = _words(merged.get("back_words", ["返回"]), "back_words")
    exit_words = _words(merged.get("exit_words", ["退出"]), "exit_words")
    if not exit_words:
        raise FlowError("exit_words must hold at least one word: a follower can always leave")
    reserved: dict[str, str] = {}
    for kind, words in (("exit word", exit_words), ("back word", back_words)):
        for word in words:
            key = normalize(word)
            if key in reserved and reserved[key] != kind:
                raise FlowError(f"{word!r} is both a back word and an exit word")
            reserved[key] = kind

    nodes = merged["nodes"]
    if not isinstance(nodes, list) or not nodes:
        raise FlowError("nodes must be a non-empty list")
    if len(nodes) > MAX_NODES:
        raise FlowError(f"at most {MAX_NODES} nodes")
    node_ids: list[str] = []
    for index, node in enumerate(nodes):
        if not isinstance(node, dict):
            raise FlowError(f"nodes[{index}] must be an object")
        node_id = node.get("id")
        if not isinstance(node_id, str) or not _NODE_ID.fullmatch(node_id):
            raise FlowError(f"nodes[{index}].id must be 1-40 letters, digits, _ or -")
        if node_id in node_ids:
            raise FlowError(f"node id {node_id!r} is used twice")
        node_ids.append(node_id)
    known = set(node_ids)
    normalized_nodes = [_node(node, i, known, reserved) for i, node in enumerate(nodes)]

    start = merged.get("start", node_ids[0])
    if not isinstance(start, str) or start not in known:
        raise FlowError(f"start refers to unknown node {start!r}")
    _check_graph(start, normalized_nodes)

    out: dict[str, Any] = {
        "name": name.strip(),
        "enabled": enabled,
        "priority": priority,
        "entry": _entry(merged["entry"]),
        "start": start,
        "nodes": normalized_nodes,
        "back_words": back_words,
        "exit_words": exit_words,
        "timeout_seconds": timeout,
        "max_fallbacks": max_fallbacks,
    }
    for key in ("fallback", "exit_reply"):
        if merged.get(key) is not None:
            out[key] = _reply(merged[key], key)
    size = len(json.dumps(out, ensure_ascii=False).encode())
    if size > MAX_FLOW_BYTES:
        raise FlowError(f"the flow is {size} bytes as JSON; at most {MAX_FLOW_BYTES}")
    return out


def map_replies(body: Any, fn: Callable[[Any, str], Any]) -> Any:
    """`body` (a flow as posted) with `fn(reply, where)` applied to each of its replies: node
    prompts and fallbacks, options' final replies, the flow's fallback and exit reply. Used to
    resolve media items before validation; a body of the wrong shape is returned as it is, for
    validate_flow to refuse."""
    if not isinstance(body, dict):
        return body
    out = dict(body)
    for key in ("fallback", "exit_reply"):
        if out.get(key) is not None:
            out[key] = fn(out[key], key)
    if isinstance(out.get("nodes"), list):
        out["nodes"] = [_map_node(node, i, fn) for i, node in enumerate(out["nodes"])]
    return out


def replies_in(body: Any) -> list[Any]:
    """Every reply of a flow (as posted or stored), in map_replies' order."""
    found: list[Any] = []
    map_replies(body, lambda reply, _where: found.append(reply) or reply)
    return found


def _map_node(node: Any, index: int, fn: Callable[[Any, str], Any]) -> Any:
    if not isinstance(node, dict):
        return node
    out = dict(node)
    where = f"node {out.get('id')!r}" if isinstance(out.get("id"), str) else f"nodes[{index}]"
    for key in ("prompt", "fallback"):
        if out.get(key) is not None:
            out[key] = fn(out[key], f"{where}.{key}")
    if isinstance(out.get("options"), list):
        out["options"] = [
            {**opt, "reply": fn(opt["reply"], f"{where}.options[{pos}].reply")}
            if isinstance(opt, dict) and opt.get("reply") is not None
            else opt
            for pos, opt in enumerate(out["options"])
        ]
    return out


def _check_graph(start: str, nodes: list[dict[str, Any]]) -> None:
    edges = {n["id"]: [o["next"] for o in n["options"] if "next" in o] for n in nodes}
    # A node can finish if it is an end (no options), has a final option, or leads to one.
    finishing = {
        n["id"] for n in nodes if not n["options"] or any("reply" in o for o in n["options"])
    }
    changed = True
    while changed:
        changed = False
        for node_id, targets in edges.items():
            if node_id not in finishing and any(t in finishing for t in targets):
                finishing.add(node_id)
                changed = True
    reachable = {start}
    todo = [start]
    while todo:
        for target in edges[todo.pop()]:
            if target not in reachable:
                reachable.add(target)
                todo.append(target)
    order = [n["id"] for n in nodes]
    unreachable = [i for i in order if i not in reachable]
    if unreachable:
        raise FlowError(f"node(s) {', '.join(unreachable)} cannot be reached from start {start!r}")
    stuck = [i for i in order if i not in finishing]
    if stuck:
        raise FlowError(
            f"node(s) {', '.join(stuck)} form a cycle with no way to finish: "
            "add an option with a final reply or a node without options"
        )


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
