"""Flows: validation (dangling references, cycles with no way out, ...) and the pure engine."""

from __future__ import annotations

import copy

import pytest

from chalicelib.engine import flow_definitions, flows
from chalicelib.engine.flow_definitions import FlowError, validate_flow
from chalicelib.engine.flows import NO_STATE, FlowState
from chalicelib.engine.replying import build_book, decide
from chalicelib.wechat.messages import parse_message
from tests import wxsim

T0 = 1_700_000_000.0


def text(content: str):
    from chalicelib.wechat.xml import parse_xml

    return parse_message(parse_xml(wxsim.text(content, openid="o_unit").encode()))


def reply(content: str) -> dict:
    return {"type": "text", "content": content}


CARD = {
    "name": "办卡",
    "entry": {"keywords": ["办卡"], "click_keys": ["MENU_CARD"]},
    "nodes": [
        {
            "id": "choose",
            "prompt": reply("选卡：1 借记卡 2 信用卡"),
            "options": [
                {"keywords": ["借记卡"], "next": "debit"},
                {"keywords": ["信用卡"], "next": "credit"},
                {"pattern": "^网点", "number": None, "reply": reply("发位置")},
            ],
        },
        {
            "id": "debit",
            "prompt": reply("借记卡：1 材料"),
            "options": [{"keywords": ["材料"], "next": "docs"}],
        },
        {
            "id": "credit",
            "prompt": reply("信用卡：1 材料"),
            "fallback": reply("信用卡：请回复 1"),
            "options": [{"keywords": ["材料"], "next": "docs"}],
        },
        {"id": "docs", "prompt": reply("带身份证")},
    ],
}


def flow_def(**changes) -> dict:
    out = copy.deepcopy(CARD)
    out.update(changes)
    return out


# -- validation -----------------------------------------------------------------------------


def test_valid_flow_is_normalized_with_defaults():
    flow = validate_flow(CARD)
    assert flow["start"] == "choose"
    assert flow["timeout_seconds"] == 600
    assert flow["back_words"] == ["返回"] and flow["exit_words"] == ["退出"]
    assert flow["max_fallbacks"] == 3 and flow["enabled"] is True and flow["priority"] == 0
    assert flow["entry"] == {"match": "exact", "keywords": ["办卡"], "click_keys": ["MENU_CARD"]}
    options = flow["nodes"][0]["options"]
    assert [o["number"] for o in options] == [1, 2, None]
    assert options[2]["pattern"] == "^网点"


def _nodes(*nodes):
    return flow_def(nodes=list(nodes), start=nodes[0]["id"])


@pytest.mark.parametrize(
    ("flow", "message"),
    [
        (
            _nodes(
                {"id": "a", "prompt": reply("a"), "options": [{"keywords": ["x"], "next": "zz"}]}
            ),
            "unknown node 'zz'",
        ),
        (flow_def(start="nowhere"), "start refers to unknown node"),
        (
            _nodes(
                {"id": "a", "prompt": reply("a"), "options": [{"keywords": ["x"], "next": "b"}]},
                {"id": "b", "prompt": reply("b"), "options": [{"keywords": ["y"], "next": "a"}]},
            ),
            "cycle with no way to finish",
        ),
        (
            _nodes(
                {"id": "a", "prompt": reply("a"), "options": [{"keywords": ["x"], "next": "a"}]}
            ),
            "cycle with no way to finish",
        ),
        (
            _nodes(
                {"id": "a", "prompt": reply("a"), "options": [{"keywords": ["x"], "next": "b"}]},
                {"id": "b", "prompt": reply("b")},
                {"id": "c", "prompt": reply("c")},
            ),
            "cannot be reached",
        ),
        (
            _nodes({"id": "a", "prompt": reply("a")}, {"id": "a", "prompt": reply("b")}),
            "used twice",
        ),
        (
            _nodes(
                {
                    "id": "a",
                    "prompt": reply("a"),
                    "options": [{"keywords": ["2"], "reply": reply("x")}, {"reply": reply("y")}],
                }
            ),
            "both answer '2'",
        ),
        (
            _nodes(
                {
                    "id": "a",
                    "prompt": reply("a"),
                    "options": [{"keywords": ["返回"], "reply": reply("x")}],
                }
            ),
            "both answer",
        ),
        (
            _nodes(
                {
                    "id": "a",
                    "prompt": reply("a"),
                    "options": [{"keywords": ["x"], "next": "a", "reply": reply("x")}],
                }
            ),
            "exactly one of next",
        ),
        (_nodes({"id": "a b", "prompt": reply("a")}), "letters, digits"),
        (_nodes({"id": "a", "prompt": {"type": "text"}}), "prompt"),
        (_nodes({"id": "a", "prompt": reply("a"), "extra": 1}), "unknown field"),
        (flow_def(exit_words=[]), "at least one word"),
        (flow_def(back_words=["退出"]), "both a back word and an exit word"),
        (flow_def(entry={"keywords": []}), "at least one keyword or click key"),
        (flow_def(entry={"match": "click", "keywords": ["x"]}), "entry.match"),
        (flow_def(entry={"match": "regex", "keywords": ["(a+)+$"]}), "entry.keywords"),
        (flow_def(timeout_seconds=5), "timeout_seconds"),
        (flow_def(timeout_seconds=True), "timeout_seconds"),
        (flow_def(nodes=[]), "nodes must be a non-empty list"),
        (flow_def(name=""), "name"),
        (flow_def(colour="red"), "unknown field"),
        (
            _nodes(
                {
                    "id": "a",
                    "prompt": reply("a"),
                    "options": [{"pattern": "(x+x+)+y", "reply": reply("x")}],
                }
            ),
            "pattern",
        ),
    ],
    ids=[
        "dangling-next",
        "dangling-start",
        "two-node-cycle-without-exit",
        "self-loop-without-exit",
        "unreachable",
        "duplicate-id",
        "keyword-vs-number",
        "option-vs-back-word",
        "next-and-reply",
        "bad-node-id",
        "bad-prompt",
        "unknown-node-field",
        "no-exit-words",
        "back-equals-exit",
        "no-entry",
        "click-entry-match",
        "catastrophic-entry-regex",
        "timeout-too-short",
        "timeout-bool",
        "no-nodes",
        "empty-name",
        "unknown-field",
        "catastrophic-pattern",
    ],
)
def test_invalid_flows_are_refused(flow, message):
    with pytest.raises(FlowError, match=message):
        validate_flow(flow)


def test_a_cycle_with_a_way_out_is_fine():
    flow = _nodes(
        {
            "id": "a",
            "prompt": reply("a"),
            "options": [{"keywords": ["x"], "next": "b"}, {"keywords": ["done"], "next": "end"}],
        },
        {"id": "b", "prompt": reply("b"), "options": [{"keywords": ["y"], "next": "a"}]},
        {"id": "end", "prompt": reply("end")},
    )
    assert [n["id"] for n in validate_flow(flow)["nodes"]] == ["a", "b", "end"]


def test_update_keeps_fields_left_out():
    stored = {**validate_flow(CARD), "id": "f1", "created_at": 1, "updated_at": 1}
    updated = validate_flow({"timeout_seconds": 60, "id": "f1"}, base=stored)
    assert updated["timeout_seconds"] == 60 and updated["nodes"] == stored["nodes"]


# -- the engine -----------------------------------------------------------------------------


def book(*defs, rules=()):
    stored = [
        {**validate_flow(d), "id": f"f{i}", "created_at": i, "updated_at": i}
        for i, d in enumerate(defs)
    ]
    return build_book((list(rules), {"default": reply("默认")}, stored))


class Follower:
    """Plays messages against decide(), keeping the state the store would keep."""

    def __init__(self, the_book, now: float = T0) -> None:
        self.book = the_book
        self.state: FlowState = NO_STATE
        self.now = now
        self.counters: list = []

    def say(self, content: str):
        decision = decide(text(content), self.book, flow=self.state, now=self.now)
        step = decision.flow
        if step is not None:
            assert step.expect_step == self.state.step
            self.counters += step.counters
            new_step = self.state.step + 1
            if step.state is None:
                self.state = FlowState(step=new_step)
            else:
                self.state = FlowState(
                    new_step,
                    step.state.flow_id,
                    step.state.node_id,
                    step.state.path,
                    step.state.misses,
                    step.state.updated_at,
                )
        self.now += 1
        return decision

    def content(self, content: str) -> str | None:
        reply_ = self.say(content).reply
        return None if reply_ is None else reply_.get("content")


def test_enter_choose_by_keyword_and_number_then_complete():
    f = Follower(book(CARD))
    decision = f.say("办卡")
    assert decision.outcome == "flow.enter" and decision.rule_id == "flow:f0"
    assert decision.reply["content"].startswith("选卡")
    assert f.state.node_id == "choose"
    assert f.content("2") == "信用卡：1 材料"
    assert f.state.node_id == "credit" and f.state.path == ("choose",)
    decision = f.say("  材料 ")
    assert decision.outcome == "flow.complete" and decision.reply["content"] == "带身份证"
    assert not f.state.active
    assert f.content("2") == "默认"  # out of the flow: the default reply
    assert ("f0", None, "entered") in f.counters
    assert ("f0", "docs", "completed") in f.counters and ("f0", None, "completed") in f.counters


def test_regex_option_gives_a_final_reply():
    f = Follower(book(CARD))
    f.say("办卡")
    decision = f.say("网点在哪")
    assert decision.outcome == "flow.complete" and decision.reply["content"] == "发位置"
    assert not f.state.active


def test_options_are_compared_normalized():
    f = Follower(book(flow_def(exit_words=["Exit"])))
    f.say("办卡")
    assert f.content("２") == "信用卡：1 材料"  # full-width digit
    assert f.say(" EXIT ").outcome == "flow.exit"


def test_fallback_back_and_exit():
    f = Follower(book(CARD))
    f.say("办卡")
    decision = f.say("随便说说")
    assert decision.outcome == "flow.fallback"
    assert "没有听懂" in decision.reply["content"] and "选卡" in decision.reply["content"]
    assert f.state.node_id == "choose" and f.state.misses == 1
    f.say("信用卡")
    assert f.content("??") == "信用卡：请回复 1"  # the node's own fallback
    decision = f.say("返回")
    assert decision.outcome == "flow.back" and decision.reply["content"].startswith("选卡")
    assert f.state.node_id == "choose" and f.state.path == ()
    assert f.say("返回").outcome == "flow.back"  # at the start: the start again
    assert f.state.node_id == "choose"
    decision = f.say("退出")
    assert decision.outcome == "flow.exit" and decision.reply["content"] == "已退出「办卡」。"
    assert not f.state.active
    assert ("f0", "choose", "exited") in f.counters and ("f0", None, "exited") in f.counters


def test_the_flow_answers_before_keyword_rules_and_exit_always_works():
    rules = [
        {"id": "r1", "match": "exact", "keywords": ["退出"], "reply": reply("规则"), "seq": 1},
        {"id": "r2", "match": "exact", "keywords": ["1"], "reply": reply("规则1"), "seq": 2},
    ]
    f = Follower(book(CARD, rules=rules))
    assert f.content("1") == "规则1"  # not in a flow: the rule
    f.say("办卡")
    assert f.content("1") == "借记卡：1 材料"  # in the flow: the option
    assert f.say("退出").outcome == "flow.exit"


def test_entry_competes_with_rules_by_priority_and_wins_ties():
    rule = {"id": "r", "match": "exact", "keywords": ["办卡"], "reply": reply("规则"), "seq": 1}
    assert Follower(book(CARD, rules=[rule])).say("办卡").outcome == "flow.enter"
    higher = {**rule, "priority": 5}
    assert Follower(book(CARD, rules=[higher])).content("办卡") == "规则"
    assert Follower(book(flow_def(priority=6), rules=[higher])).say("办卡").outcome == "flow.enter"


def test_timeout_means_out_of_the_flow_and_is_counted():
    f = Follower(book(flow_def(timeout_seconds=60)))
    f.say("办卡")
    f.now += 61
    decision = f.say("1")
    assert decision.outcome == "default"
    assert decision.flow is not None and decision.flow.state is None
    assert ("f0", "choose", "timed_out") in decision.flow.counters
    assert not f.state.active


def test_just_before_the_timeout_the_flow_still_answers():
    f = Follower(book(flow_def(timeout_seconds=60)))
    f.say("办卡")
    f.now += 58  # say() added 1 already
    assert f.say("1").outcome == "flow.next"


def test_timeout_then_entry_starts_again_in_one_step():
    f = Follower(book(flow_def(timeout_seconds=60)))
    f.say("办卡")
    f.say("1")
    f.now += 120
    decision = f.say("办卡")
    assert decision.outcome == "flow.enter"
    assert ("f0", "debit", "timed_out") in decision.flow.counters
    assert ("f0", None, "entered") in decision.flow.counters


def test_entry_keyword_inside_a_flow_starts_over():
    f = Follower(book(CARD))
    f.say("办卡")
    f.say("1")
    decision = f.say("办卡")
    assert decision.outcome == "flow.enter" and f.state.node_id == "choose"
    assert ("f0", "debit", "abandoned") in decision.flow.counters


def test_too_many_fallbacks_let_the_follower_out():
    f = Follower(book(flow_def(max_fallbacks=2)))
    f.say("办卡")
    assert f.say("a").outcome == "flow.fallback"
    assert f.say("b").outcome == "flow.fallback"
    decision = f.say("c")
    assert decision.outcome == "default"
    assert ("f0", "choose", "abandoned") in decision.flow.counters
    assert not f.state.active


def test_a_deleted_or_changed_flow_lets_the_follower_go():
    f = Follower(book(CARD))
    f.say("办卡")
    f.book = book()  # the flow was deleted
    decision = f.say("1")
    assert decision.outcome == "default" and decision.flow.state is None
    assert decision.flow.counters == ()


def test_click_enters_without_reading_state():
    from chalicelib.wechat.xml import parse_xml

    click = parse_message(parse_xml(wxsim.event("CLICK", "MENU_CARD").encode()))
    decision = decide(click, book(CARD), now=T0)
    assert decision.outcome == "flow.enter"
    assert decision.flow.expect_step is None  # written regardless of what was there


def test_terminal_start_node_completes_at_once():
    one = flow_def(nodes=[{"id": "only", "prompt": reply("just this")}], start="only")
    decision = Follower(book(one)).say("办卡")
    assert decision.outcome == "flow.complete" and decision.flow.state is None


def test_disabled_flows_do_not_start():
    assert Follower(book(flow_def(enabled=False))).content("办卡") == "默认"


def test_path_is_bounded():
    loop = _nodes(
        {
            "id": "a",
            "prompt": reply("a"),
            "options": [{"keywords": ["x"], "next": "a"}, {"keywords": ["done"], "next": "end"}],
        },
        {"id": "end", "prompt": reply("end")},
    )
    f = Follower(book(loop))
    f.say("办卡")
    for _ in range(flows.MAX_PATH + 5):
        f.say("x")
    assert len(f.state.path) == flows.MAX_PATH


def test_compile_skips_a_broken_stored_flow():
    good = {**validate_flow(CARD), "id": "ok", "created_at": 1, "updated_at": 1}
    compiled = flows.compile_flows([{"id": "bad", "nodes": "garbage"}, good])
    assert list(compiled.flows) == ["ok"]


def test_a_flow_too_big_for_one_item_is_refused():
    long = "长" * 600  # 1,800 bytes per prompt
    nodes = [
        {
            "id": f"n{i}",
            "prompt": reply(long),
            "options": [{"keywords": [f"k{j}"], "reply": reply(long)} for j in range(2)],
        }
        for i in range(60)
    ]
    nodes[0]["options"] += [{"keywords": [f"go{i}"], "next": f"n{i}"} for i in range(1, 17)]
    for i in range(1, 59):
        nodes[i]["options"].append({"keywords": ["more"], "next": f"n{i + 1}"})
    with pytest.raises(FlowError, match="bytes as JSON"):
        validate_flow(flow_def(nodes=nodes, start="n0"))


def test_map_replies_visits_every_reply_and_leaves_bad_shapes_alone():
    body = flow_def(fallback=reply("F"), exit_reply=reply("X"))
    body["nodes"][2]["options"].append("not an option")
    body["nodes"].append("not a node")
    seen: list[tuple[str, str]] = []

    def mark(value, where):
        seen.append((where, value["content"]))
        return {**value, "content": value["content"] + "!"}

    out = flow_definitions.map_replies(body, mark)
    assert seen == [
        ("fallback", "F"),
        ("exit_reply", "X"),
        ("node 'choose'.prompt", "选卡：1 借记卡 2 信用卡"),
        ("node 'choose'.options[2].reply", "发位置"),
        ("node 'debit'.prompt", "借记卡：1 材料"),
        ("node 'credit'.prompt", "信用卡：1 材料"),
        ("node 'credit'.fallback", "信用卡：请回复 1"),
        ("node 'docs'.prompt", "带身份证"),
    ]
    assert out["nodes"][3]["prompt"] == reply("带身份证!") and out["exit_reply"] == reply("X!")
    assert body["nodes"][3]["prompt"] == reply("带身份证")  # the input is not changed
    assert out["nodes"][-1] == "not a node" and out["nodes"][2]["options"][-1] == "not an option"
    assert flow_definitions.map_replies([1], mark) == [1]
    assert [r["content"] for r in flow_definitions.replies_in(out)][:2] == ["F!", "X!"]
