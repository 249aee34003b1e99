"""Unit tests for chalicelib.engine.rules (no network, no AWS)."""

from __future__ import annotations

import logging
import random
import time
from decimal import Decimal
from typing import Any

import pytest
import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.engine import regex_prefilter, regex_safety
from chalicelib.engine import rules as rules_mod
from chalicelib.engine.rules import (
    MATCH_TYPES,
    MAX_KEYWORD_LEN,
    MAX_KEYWORDS,
    MAX_REGEX_KEYWORDS,
    MAX_REGEX_LEN,
    REGEX_TEXT_CAP,
    RuleError,
    check_keywords,
    compile_rules,
)

_seq = iter(range(1, 10**9))


def make_rule(
    match: str,
    keywords: list[str],
    *,
    priority: int = 0,
    seq: int | None = None,
    enabled: bool = True,
    rule_id: str | None = None,
) -> dict[str, Any]:
    seq = next(_seq) if seq is None else seq
    return {
        "id": rule_id or f"r{seq}",
        "name": f"rule {seq}",
        "match": match,
        "keywords": keywords,
        "reply": {"type": "text", "content": f"reply {seq}"},
        "priority": priority,
        "enabled": enabled,
        "seq": seq,
    }


# --------------------------------------------------------------------------------------------
# each match type


def test_match_types_constant() -> None:
    assert MATCH_TYPES == ("exact", "contains", "prefix", "regex", "click")


def test_exact_matches_whole_stripped_text_only() -> None:
    rule = make_rule("exact", ["你好", "hello"])
    rs = compile_rules([rule])
    assert rs.match_text("你好") is rule
    assert rs.match_text("  你好\n") is rule
    assert rs.match_text("\u3000你好\u3000") is rule  # full-width space is whitespace too
    assert rs.match_text("hello") is rule
    assert rs.match_text("你好啊") is None
    assert rs.match_text("说你好") is None
    assert rs.match_text("Hello") is None  # case-sensitive by design


def test_contains_matches_anywhere() -> None:
    rule = make_rule("contains", ["余额", "refund"])
    rs = compile_rules([rule])
    assert rs.match_text("余额") is rule
    assert rs.match_text("我想查一下余额谢谢") is rule
    assert rs.match_text("please refund me") is rule
    assert rs.match_text("余 额") is None
    assert rs.match_text("REFUND") is None


def test_contains_has_no_false_hits_across_utf8_boundaries() -> None:
    # The automaton runs over UTF-8 bytes: "¸" is C2 B8 and "中" is E4 B8 AD; "é" is C3 A9.
    rs = compile_rules([make_rule("contains", ["¸", "\xad", "é"])])
    assert rs.match_text("中文") is None
    assert rs.match_text("中é") is not None


def test_contains_survives_lone_surrogates() -> None:
    rule = make_rule("contains", ["\ud800x"])
    rs = compile_rules([rule])
    assert rs.match_text("a\ud800xb") is rule
    assert rs.match_text("\udc00") is None


def test_prefix_with_several_lengths() -> None:
    short = make_rule("prefix", ["查"], priority=0)
    mid = make_rule("prefix", ["查询"], priority=2)
    long = make_rule("prefix", ["查询余额"], priority=1)
    rs = compile_rules([short, mid, long])
    assert rs.match_text("查快递") is short
    assert rs.match_text("查询订单") is mid
    # "查询余额..." matches all three: priority decides, not length.
    assert rs.match_text("查询余额吧") is mid
    assert rs.match_text("  查询余额") is mid  # leading whitespace stripped
    assert rs.match_text("我要查询") is None
    assert rs.match_text("查") is short


def test_prefix_longer_keyword_can_win_by_priority() -> None:
    short = make_rule("prefix", ["ab"], priority=0)
    long = make_rule("prefix", ["abcd"], priority=3)
    rs = compile_rules([short, long])
    assert rs.match_text("abcdef") is long
    assert rs.match_text("abc") is short


def test_regex_rules() -> None:
    code = make_rule("regex", [r"^\d{6}$"])
    balance = make_rule("regex", ["余额|balance"])
    hello = make_rule("regex", ["(?i)hello"])
    rs = compile_rules([code, balance, hello])
    assert rs.match_text("123456") is code
    assert rs.match_text(" 123456 ") is code
    assert rs.match_text("1234567") is None
    assert rs.match_text("my balance") is balance
    assert rs.match_text("查余额") is balance
    assert rs.match_text("HeLLo there") is hello
    assert rs.match_text("nothing") is None


def test_regex_with_required_literal_prefilter_is_exact() -> None:
    rule = make_rule("regex", [r"订单(\d+)号"])
    rs = compile_rules([rule])
    assert rs.match_text("查订单123号") is rule
    assert rs.match_text("查订单号") is None
    assert rs.match_text("查询123号") is None


def test_regex_sees_only_the_text_cap() -> None:
    rule = make_rule("regex", ["needle"])
    rs = compile_rules([rule])
    assert rs.match_text("x" * (REGEX_TEXT_CAP - 6) + "needle") is rule
    assert rs.match_text("x" * REGEX_TEXT_CAP + "needle") is None


def test_click_rules() -> None:
    menu = make_rule("click", ["MENU_ABOUT", "MENU_HELP"])
    other = make_rule("click", ["V1001_GOOD"])
    rs = compile_rules([menu, other])
    assert rs.match_click("MENU_ABOUT") is menu
    assert rs.match_click("MENU_HELP") is menu
    assert rs.match_click("V1001_GOOD") is other
    assert rs.match_click("menu_about") is None
    assert rs.match_click("") is None
    # click rules never answer text, text rules never answer clicks
    assert rs.match_text("MENU_ABOUT") is None
    assert compile_rules([make_rule("exact", ["MENU_ABOUT"])]).match_click("MENU_ABOUT") is None


def test_no_match_and_odd_input() -> None:
    rs = compile_rules([make_rule("exact", ["a"]), make_rule("contains", ["b"])])
    assert rs.match_text("zzz") is None
    assert rs.match_text("") is None
    assert rs.match_text("   ") is None
    assert rs.match_text(None) is None  # type: ignore[arg-type]
    assert rs.match_click(None) is None  # type: ignore[arg-type]
    empty = compile_rules([])
    assert empty.match_text("anything") is None
    assert empty.match_click("KEY") is None
    assert empty.rule_count == 0
    assert empty.keyword_count == 0


# --------------------------------------------------------------------------------------------
# priority, ties, enabled, shared keywords


def test_higher_priority_wins_across_types() -> None:
    exact = make_rule("exact", ["查询余额"], priority=1)
    contains = make_rule("contains", ["余额"], priority=5)
    rs = compile_rules([exact, contains])
    assert rs.match_text("查询余额") is contains


def test_exact_wins_when_it_has_the_higher_priority() -> None:
    exact = make_rule("exact", ["查询余额"], priority=5)
    contains = make_rule("contains", ["余额"], priority=1)
    prefix = make_rule("prefix", ["查询"], priority=4)
    rx = make_rule("regex", ["余额$"], priority=3)
    rs = compile_rules([contains, prefix, rx, exact])
    assert rs.match_text("查询余额") is exact
    assert rs.match_text("查询我的余额") is prefix
    assert rs.match_text("我的余额") is rx
    assert rs.match_text("余额呢") is contains


def test_regex_beats_others_by_priority() -> None:
    rx = make_rule("regex", [r"^\d+$"], priority=9)
    exact = make_rule("exact", ["123"], priority=8)
    rs = compile_rules([exact, rx])
    assert rs.match_text("123") is rx


@pytest.mark.parametrize("match", ["exact", "contains", "prefix", "regex"])
def test_ties_go_to_the_lowest_seq_whatever_the_order(match: str) -> None:
    first = make_rule(match, ["余额"], priority=3, seq=10)
    second = make_rule(match, ["余额"], priority=3, seq=20)
    for order in ([first, second], [second, first]):
        assert compile_rules(order).match_text("余额") is first


def test_ties_across_types_go_to_the_lowest_seq() -> None:
    contains = make_rule("contains", ["余额"], priority=2, seq=5)
    exact = make_rule("exact", ["余额"], priority=2, seq=7)
    assert compile_rules([exact, contains]).match_text("余额") is contains


def test_click_ties_and_priority() -> None:
    low = make_rule("click", ["K"], priority=0, seq=1)
    high = make_rule("click", ["K"], priority=2, seq=9)
    tie = make_rule("click", ["K"], priority=2, seq=3)
    assert compile_rules([low, high, tie]).match_click("K") is tie


def test_disabled_rules_never_match() -> None:
    off = make_rule("exact", ["hi"], priority=99, enabled=False)
    on = make_rule("exact", ["hi"], priority=0)
    rs = compile_rules([off, on])
    assert rs.match_text("hi") is on
    assert rs.rule_count == 1
    only_off = compile_rules(
        [
            make_rule(m, ["x"], enabled=False)
            for m in ("exact", "contains", "prefix", "regex", "click")
        ]
    )
    assert only_off.match_text("x") is None
    assert only_off.match_click("x") is None
    # anything but True counts as disabled; a missing flag means enabled
    not_bool = make_rule("exact", ["y"])
    not_bool["enabled"] = "false"
    missing = make_rule("exact", ["z"])
    del missing["enabled"]
    rs = compile_rules([not_bool, missing])
    assert rs.match_text("y") is None
    assert rs.match_text("z") is missing


@pytest.mark.parametrize("match", ["exact", "contains", "prefix", "click"])
def test_keyword_shared_by_two_rules_picks_the_better(match: str) -> None:
    worse = make_rule(match, ["共享", "其他"], priority=1)
    better = make_rule(match, ["共享"], priority=4)
    rs = compile_rules([worse, better])
    fn = rs.match_click if match == "click" else rs.match_text
    assert fn("共享") is better
    assert fn("其他") is worse


def test_contains_scans_all_hits_and_keeps_the_best() -> None:
    a = make_rule("contains", ["甲"], priority=1)
    b = make_rule("contains", ["乙"], priority=3)
    c = make_rule("contains", ["丙丁"], priority=2)
    rs = compile_rules([a, b, c])
    assert rs.match_text("甲丙丁乙") is b
    assert rs.match_text("甲丙丁") is c
    assert rs.match_text("甲丙") is a


def test_counts() -> None:
    rs = compile_rules(
        [
            make_rule("exact", ["a", "b"]),
            make_rule("contains", ["c"]),
            make_rule("regex", ["d", "e+"]),
            make_rule("click", ["K"]),
            make_rule("prefix", ["p"], enabled=False),
        ]
    )
    assert rs.rule_count == 4
    assert rs.keyword_count == 6


# --------------------------------------------------------------------------------------------
# compile_rules is defensive about stored data


def test_compile_rules_skips_unusable_items(caplog: pytest.LogCaptureFixture) -> None:
    good = make_rule("exact", ["ok"])
    unknown = make_rule("fuzzy", ["ok"], priority=9)
    bad_priority = make_rule("exact", ["ok"], priority=9)
    bad_priority["priority"] = "high"
    bad_regex = make_rule("regex", ["(", "fine"], priority=9)
    no_keywords = make_rule("exact", [], priority=9)
    junk_keywords = make_rule("exact", [None, 3, "  "], priority=9)
    with caplog.at_level(logging.WARNING, logger="chalicelib.engine.rules"):
        rs = compile_rules(
            [good, unknown, bad_priority, bad_regex, no_keywords, junk_keywords, "junk"]  # type: ignore[list-item]
        )
    assert rs.match_text("ok") is good
    assert rs.match_text("fine") is bad_regex  # the good pattern of a rule still works
    assert rs.rule_count == 2
    assert any("does not compile" in r.getMessage() for r in caplog.records)


def test_compile_rules_normalises_keywords_and_numbers() -> None:
    rule = make_rule("exact", ["  hi  ", "hi"])
    rule["priority"] = Decimal("3")  # DynamoDB numbers arrive as Decimal
    rule["seq"] = Decimal("1")
    other = make_rule("exact", ["hi"], priority=3, seq=2)
    rs = compile_rules([other, rule])
    assert rs.match_text("hi") is rule
    assert rs.keyword_count == 2


def test_missing_seq_sorts_after_known_seq() -> None:
    no_seq = make_rule("exact", ["x"], priority=1)
    del no_seq["seq"]
    with_seq = make_rule("exact", ["x"], priority=1, seq=500)
    assert compile_rules([no_seq, with_seq]).match_text("x") is with_seq


def test_missing_priority_is_zero() -> None:
    no_prio = make_rule("exact", ["x"], seq=1)
    del no_prio["priority"]
    neg = make_rule("exact", ["x"], priority=-1, seq=0)
    assert compile_rules([neg, no_prio]).match_text("x") is no_prio


# --------------------------------------------------------------------------------------------
# check_keywords


def test_check_keywords_normalises() -> None:
    assert check_keywords("exact", ["  a ", "b", "a", "\tb\n", "c"]) == ["a", "b", "c"]
    assert check_keywords("click", ["KEY"]) == ["KEY"]
    assert check_keywords("contains", ["x" * MAX_KEYWORD_LEN]) == ["x" * MAX_KEYWORD_LEN]
    assert len(check_keywords("exact", [str(i) for i in range(MAX_KEYWORDS)])) == MAX_KEYWORDS


@pytest.mark.parametrize(
    ("match", "keywords", "message"),
    [
        ("fuzzy", ["a"], "unknown match type"),
        (None, ["a"], "unknown match type"),
        ("exact", "a", "must be a list"),
        ("exact", ("a",), "must be a list"),
        ("exact", None, "must be a list"),
        ("exact", [], "must not be empty"),
        ("exact", [""], "is empty"),
        ("contains", ["ok", "   "], "keyword #2 is empty"),
        ("exact", [1], "must be a string"),
        ("prefix", ["a", None], "must be a string"),
        ("click", [["a"]], "must be a string"),
        ("exact", ["x" * (MAX_KEYWORD_LEN + 1)], "at most 200"),
        ("regex", ["x" * (MAX_REGEX_LEN + 1)], "at most 500"),
        ("exact", ["k"] * (MAX_KEYWORDS + 1), "too many keywords"),
        ("regex", ["("], "invalid regular expression"),
        ("regex", ["[a-"], "invalid regular expression"),
        ("regex", ["a**"], "invalid regular expression"),
    ],
)
def test_check_keywords_rejects(match: Any, keywords: Any, message: str) -> None:
    with pytest.raises(RuleError, match=regex.escape(message)):
        check_keywords(match, keywords)


def test_rule_error_is_a_value_error() -> None:
    assert issubclass(RuleError, ValueError)


def test_regex_keyword_may_be_longer_than_plain_keywords() -> None:
    pattern = "a" * (MAX_KEYWORD_LEN + 50)
    assert check_keywords("regex", [pattern]) == [pattern]


def test_too_many_regex_patterns() -> None:
    with pytest.raises(RuleError, match="too many regex patterns"):
        check_keywords("regex", [f"k{i}" for i in range(MAX_REGEX_KEYWORDS + 1)])


EVIL = [
    r"(a+)+",
    r"(a*)*",
    r"(a|a)*",
    r"(\w+\s?)*",
    r"(.*a){20}",
    r"(a+)+$",
    r"^(a|aa)+$",
    r"(a|ab|b)*c",
    r"(\d+|\w)+",
    r"(a?){25}a{25}",
    r"((ab)+)+",
    r"(?:x|)+",
    r"(?:[a-z]+\d*)*!",
]


@pytest.mark.parametrize("pattern", EVIL)
def test_evil_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(RuleError, match="catastrophic backtracking"):
        check_keywords("regex", ["fine", pattern])


@pytest.mark.parametrize("pattern", EVIL[:5])
def test_evil_patterns_are_caught_by_the_static_check_alone(pattern: str) -> None:
    with pytest.raises(regex_safety.PatternRefused):
        regex_safety.static_check(pattern)


def test_slow_pattern_that_passes_the_static_check_is_caught_by_the_probe() -> None:
    # Cubic, not nested: only running it shows the problem.
    regex_safety.static_check(r"\w+\w+$")
    with pytest.raises(RuleError, match="too slow"):
        check_keywords("regex", [r"\w+\w+$"])


@pytest.mark.parametrize(
    "pattern",
    [
        r"^\d{6}$",
        "余额|balance",
        "(?i)hello",
        r"^(查询|查)\s*(\d+)$",
        r"(余额|balance)+",
        r"(?:\d{1,3}\.){3}\d{1,3}",
        r"(\w++\.)+com",  # the possessive rewrite of a refused nested quantifier
        r"(?>\w+\.)+com",
        r"\p{Han}{2,4}",
        r"[^\p{Han}]+x",
        r"[\w\u4e00-\u9fa5]+@",
        r"(ab|ac)*",
        r"\{literal\}",
        r"a{2,}b{,3}",
        r"\bword\b",
    ],
)
def test_normal_patterns_are_accepted(pattern: str) -> None:
    assert check_keywords("regex", [f" {pattern} "]) == [pattern]


@pytest.mark.parametrize("pattern", [r"(?:foo){e<=1}", "(?r)abc", r"(?V1)[[a-z]--[aeiou]]", r"\X+"])
def test_regex_module_extensions_are_refused(pattern: str) -> None:
    regex.compile(pattern)  # valid for the regex module...
    with pytest.raises(RuleError):  # ...but not analysable, so refused
        check_keywords("regex", [pattern])


def test_regex_error_names_the_keyword() -> None:
    with pytest.raises(RuleError, match=r"regex #2 '\(a\+\)\+'"):
        check_keywords("regex", ["ok", "(a+)+"])


# --------------------------------------------------------------------------------------------
# regex time limits at match time (patterns that bypassed check_keywords)


def test_regex_timeout_counts_as_no_match(caplog: pytest.LogCaptureFixture) -> None:
    evil = make_rule("regex", [r"^(a|aa)+$"], priority=10, rule_id="evil-rule")
    fallback = make_rule("contains", ["a"], priority=1)
    rs = compile_rules([evil, fallback])
    text = "a" * 40 + "!"
    with caplog.at_level(logging.WARNING, logger="chalicelib.engine.rules"):
        started = time.perf_counter()
        result = rs.match_text(text)
        elapsed = time.perf_counter() - started
    assert result is fallback
    assert elapsed < 1.0
    messages = [r.getMessage() for r in caplog.records]
    assert any("timed out" in m and "evil-rule" in m for m in messages)
    assert all("aaaa" not in m for m in messages)  # never log the follower's text


def test_regex_timeout_alone_yields_none() -> None:
    rs = compile_rules([make_rule("regex", [r"(\w+\s?)*$"])])
    started = time.perf_counter()
    assert rs.match_text("a" * 900 + "!") is None
    assert time.perf_counter() - started < 1.0


def test_regex_budget_bounds_the_whole_message(caplog: pytest.LogCaptureFixture) -> None:
    evil = [make_rule("regex", [r"^(a|aa)+$"], priority=5) for _ in range(30)]
    rs = compile_rules(evil)
    with caplog.at_level(logging.WARNING, logger="chalicelib.engine.rules"):
        started = time.perf_counter()
        assert rs.match_text("a" * 40 + "!") is None
        elapsed = time.perf_counter() - started
    assert elapsed < 1.0  # 30 x 20 ms would be 0.6 s; the 50 ms budget stops far earlier
    assert any("budget" in r.getMessage() for r in caplog.records)


def test_regex_that_cannot_win_is_not_run(caplog: pytest.LogCaptureFixture) -> None:
    evil = make_rule("regex", [r"^(a|aa)+$"], priority=1)
    exact = make_rule("exact", ["a" * 40 + "!"], priority=2)
    rs = compile_rules([evil, exact])
    with caplog.at_level(logging.WARNING, logger="chalicelib.engine.rules"):
        assert rs.match_text("a" * 40 + "!") is exact
    assert not caplog.records


ANCHORED = [
    r"^\d{6}$",
    r"^[A-Z]{2}\d+",
    r"^(ab)c",
    r"^\bfoo",
    r"^[^\]a-c\\]",
    r"\A卡号",
    r"^[\d\s]",
    r"^(?=\d)\w",
    r"^\W",
    r"^[^\d]x",
    r"^-",
    r"^[-^]",
    r"^\n",
    r"^\S+?z",
]
ODD_TEXT = [
    "",
    "1",
    "１",
    "٣",
    "a",
    "A",
    "Z",
    "_",
    " ",
    "\u3000",
    "\n",
    "]",
    "\\",
    "^",
    "-",
    "卡",
    "d",
    "z",
    "中",
    "é",
    "AB1",
    "ab",
    "abc",
    "foo",
    "卡号",
    "123456",
    "-x",
    "\x00",
]


@pytest.mark.parametrize("pattern", ANCHORED)
def test_first_character_prefilter_never_hides_a_match(pattern: str) -> None:
    # Exact: the class the text must start with rejects only texts the pattern cannot match.
    _required, first = regex_prefilter.prefilters(pattern)
    assert first is not None, pattern
    compiled = regex.compile(pattern)
    for a in ODD_TEXT:
        for b in ODD_TEXT:
            text = a + b
            if first.match(text[:1]) is None:
                assert compiled.search(text) is None, (pattern, text)


@pytest.mark.parametrize(
    "pattern", [r"\d{6}", r"^a|b", r"^(?:x)?y", r"^.", r"^\p{Han}", r"(?m)^a", r"(?i)^a", r"^a*b"]
)
def test_first_character_prefilter_only_where_it_is_sure(pattern: str) -> None:
    assert regex_prefilter.prefilters(pattern)[1] is None


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (r"^[[:digit:]]{6}$", "123456"),  # a POSIX class to the regex module
        (r"[[:alpha:]]+卡", "abc卡"),
        (r"订单[[:digit:]]+号", "订单12号"),
        (r"^[a-c--b]x", "ax"),
    ],
)
def test_no_prefilter_where_the_stdlib_reads_a_class_differently(pattern: str, text: str) -> None:
    # The stdlib parse would take "]" for a required literal and "[, :, d, i, g, t" for the first
    # character: both would hide the match regex finds.
    rule = make_rule("regex", [pattern])
    assert regex.search(pattern, text)
    assert compile_rules([rule]).match_text(text) is rule


def test_anchored_regex_still_answers() -> None:
    code = make_rule("regex", [r"^\d{6}$"], priority=5)
    rs = compile_rules([code, make_rule("contains", ["卡"])])
    assert rs.match_text("123456") is code
    assert rs.match_text(" ١٢٣٤٥٦ ") is code  # Arabic-Indic digits are \d too
    assert rs.match_text("卡123456")["keywords"] == ["卡"]


# --------------------------------------------------------------------------------------------
# property test against a brute-force reference

ALPHABET = "ab中 1"
SAFE_PATTERNS = [
    "a",
    "a+b",
    "^中",
    "b$",
    "a.b",
    "中|b",
    "^a*$",
    r"\s",
    "(?i)A",
    r"^\d{2}$",
    r"^[ab]+$",
    r"^[^中]",
    r"\A(?:b|a)",
    r"^(?=a)\w",
    r"^[\s中]b*",
]


def reference_match(rule_list: list[dict[str, Any]], content: str) -> dict[str, Any] | None:
    """Linear scan: the obviously-correct (and slow) definition of match_text."""
    text = content.strip()
    best_key = None
    best_rule = None
    for order, rule in enumerate(rule_list):
        if rule["enabled"] is not True:
            continue
        keywords = [k.strip() for k in rule["keywords"] if k.strip()]
        match = rule["match"]
        if match == "exact":
            hit = any(text == k for k in keywords)
        elif match == "contains":
            hit = any(k in text for k in keywords)
        elif match == "prefix":
            hit = any(text.startswith(k) for k in keywords)
        elif match == "regex":
            hit = any(regex.search(k, text[:REGEX_TEXT_CAP]) for k in keywords)
        else:
            hit = False
        key = (-rule["priority"], rule["seq"], order)
        if hit and (best_key is None or key < best_key):
            best_key, best_rule = key, rule
    return best_rule


keyword_st = st.text(alphabet=ALPHABET, min_size=1, max_size=3)


@st.composite
def rule_sets(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(min_value=0, max_value=12))
    seqs = draw(st.permutations(list(range(count))))
    out = []
    for i in range(count):
        match = draw(st.sampled_from(["exact", "contains", "prefix", "regex"]))
        if match == "regex":
            keywords = draw(st.lists(st.sampled_from(SAFE_PATTERNS), min_size=1, max_size=2))
        else:
            keywords = draw(st.lists(keyword_st, min_size=1, max_size=3))
        out.append(
            {
                "id": f"r{i}",
                "name": f"r{i}",
                "match": match,
                "keywords": keywords,
                "reply": {"type": "text", "content": str(i)},
                "priority": draw(st.integers(min_value=0, max_value=3)),
                "enabled": draw(st.booleans()),
                "seq": seqs[i],
            }
        )
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rule_list=rule_sets(), texts=st.lists(st.text(alphabet=ALPHABET, max_size=6), max_size=8))
def test_match_text_agrees_with_brute_force(
    rule_list: list[dict[str, Any]], texts: list[str]
) -> None:
    rs = compile_rules(rule_list)
    # Correctness only: on a starved CI machine a 20 ms wall-clock regex timeout can fire and
    # count as "no match" (by design; the time limits have their own tests), so lift them here.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rules_mod, "REGEX_TIMEOUT", 5.0)
        patch.setattr(rules_mod, "REGEX_BUDGET", 10.0)
        for text in texts:
            assert rs.match_text(text) is reference_match(rule_list, text), text


# --------------------------------------------------------------------------------------------
# scale


def test_100k_contains_keywords_are_correct() -> None:
    rng = random.Random(20240601)
    span = 3_500

    def cjk(length: int) -> str:
        return "".join(chr(0x4E00 + rng.randrange(span)) for _ in range(length))

    rule_list = [
        make_rule("contains", [cjk(rng.randint(2, 4))], priority=rng.randrange(5), seq=i)
        for i in range(100_000)
    ]
    rs = compile_rules(rule_list)
    assert rs.rule_count == 100_000
    assert rs.keyword_count == 100_000

    # Independent reference: best rule per keyword, then every substring of the message.
    best: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}
    for rule in rule_list:
        key = (-rule["priority"], rule["seq"])
        kw = rule["keywords"][0]
        if kw not in best or key < best[kw][0]:
            best[kw] = (key, rule)

    def reference(text: str) -> dict[str, Any] | None:
        found = [
            best[text[i : i + n]]
            for n in (2, 3, 4)
            for i in range(len(text) - n + 1)
            if text[i : i + n] in best
        ]
        return min(found, key=lambda item: item[0])[1] if found else None

    hits = 0
    for i in range(1_000):
        if i % 2:
            text = cjk(rng.randint(4, 24))
        else:
            text = cjk(rng.randint(0, 8)) + rng.choice(rule_list)["keywords"][0] + cjk(3)
        expected = reference(text)
        hits += expected is not None
        assert rs.match_text(text) is expected, text
    assert hits >= 500
