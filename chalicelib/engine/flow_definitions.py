"""What a flow may be: the admin body of `POST /admin/flows` validated, its replies walked. Pure.
The shape and the semantics are in engine/flows.py's docstring."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from chalicelib.engine.rules import RuleError, check_keywords
from chalicelib.errors import InvalidInput
from chalicelib.wechat.replies import validate_reply

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
