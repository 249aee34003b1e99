"""Keyword rules: validate admin-entered keywords and match follower text fast.

Framework-free on purpose (no AWS, no Chalice): the handler builds a :class:`RuleSet` once per
rule-set version with :func:`compile_rules` and then calls :meth:`RuleSet.match_text` /
:meth:`RuleSet.match_click` per message.

A rule is a dict::

    {"id": str, "name": str, "match": "exact"|"contains"|"prefix"|"regex"|"click",
     "keywords": [str, ...], "reply": {...}, "priority": int, "enabled": bool, "seq": int}

Winner among matching rules: highest ``priority``; ties go to the lowest ``seq`` (created
first); a rule without ``seq`` sorts after every rule that has one, and a remaining tie goes to
the rule that came first in the iterable given to :func:`compile_rules`. Rules whose ``enabled``
is not ``True`` never match.

Matching semantics (all text types see ``content.strip()``, i.e. surrounding whitespace,
including the full-width space U+3000, is ignored):

- ``exact``: the stripped content equals a keyword.
- ``prefix``: the stripped content starts with a keyword.
- ``contains``: a keyword occurs anywhere in the content (stripping makes no difference here
  because keywords are stripped too).
- ``regex``: ``pattern.search`` on the first :data:`REGEX_TEXT_CAP` characters of the stripped
  content, with the ``regex`` module's default (VERSION0, ``re``-compatible) syntax.
- ``click``: a menu ``CLICK`` event's ``EventKey`` (stripped) equals a keyword.

Matching is case-sensitive everywhere: most keywords are Chinese (no case), a case fold would
also fold e.g. product codes an admin wants kept apart, and an admin who wants
case-insensitive English can write a ``regex`` rule with ``(?i)``.

Limits enforced by :func:`check_keywords` (admin input):

- at most :data:`MAX_KEYWORDS` (10,000) keywords per rule, each non-empty after strip and at most
  :data:`MAX_KEYWORD_LEN` (200) characters;
- ``regex`` rules: at most :data:`MAX_REGEX_KEYWORDS` (100) patterns, each at most
  :data:`MAX_REGEX_LEN` (500) characters and passing `regex_safety.check_regex` (it compiles,
  and neither a static check nor a probe finds catastrophic backtracking).

Limits at match time (they bound CPU per message whatever is stored):

- each regex search gets :data:`REGEX_TIMEOUT` (20 ms) and all regex searches of one message
  share :data:`REGEX_BUDGET` (50 ms); a timeout counts as "no match" and is logged (rule id and
  pattern index only, never the follower's text). When the budget runs out the remaining regex
  rules are skipped, so a lower-priority rule may win: a documented trade-off for a hard
  latency bound.

How matching stays fast with 100,000 rules (``python bench/rules_bench.py`` measures it):
exact and click are one dict lookup, prefix one lookup per distinct keyword length, contains an
Aho-Corasick automaton over UTF-8 (see :func:`_ac_key`). A regex is searched only when the text
holds its required literal or, for a pattern anchored at the start, begins with a character
that can start a match (`regex_prefilter`); literal-free unanchored patterns are searched for
every message, so keep regex rules to a few hundred (they also take longest to build).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import ahocorasick

from chalicelib.engine.regex_prefilter import prefilters
from chalicelib.engine.regex_safety import (
    REGEX_TEXT_CAP,
    REGEX_TIMEOUT,
    PatternRefused,
    check_regex,
)
from chalicelib.errors import InvalidInput

__all__ = [
    "MATCH_TYPES",
    "MAX_KEYWORDS",
    "MAX_KEYWORD_LEN",
    "MAX_REGEX_KEYWORDS",
    "MAX_REGEX_LEN",
    "REGEX_BUDGET",
    "REGEX_TEXT_CAP",
    "REGEX_TIMEOUT",
    "VALIDATION_BUDGET",
    "Rule",
    "RuleError",
    "RuleSet",
    "check_keywords",
    "compile_rules",
]

logger = logging.getLogger(__name__)

MATCH_TYPES = ("exact", "contains", "prefix", "regex", "click")

MAX_KEYWORDS = 10_000
MAX_KEYWORD_LEN = 200
MAX_REGEX_LEN = 500
MAX_REGEX_KEYWORDS = 100  # each pattern costs a search per message: keep the regex list short
REGEX_BUDGET = 0.050  # seconds, all regex searches of one message together
VALIDATION_BUDGET = 5.0  # s probing one check_keywords call: well inside the 10 s Lambda timeout
_INF = math.inf

Rule = dict[str, Any]
# (-priority, seq, order, rule): a plain tuple so "better" is just "<". ``order`` (position in the
# input) is unique per rule, so comparisons never reach the dict.
Entry = tuple[int, float, int, Rule]
# (entry, literal every match must contain or None, compiled pattern, pattern index in the rule,
# one-character class the text must start with or None)
_Regex = tuple[Entry, str | None, Any, int, Any]


class RuleError(InvalidInput):
    """An invalid rule keyword list; the message is safe to show to the admin."""


# --------------------------------------------------------------------------------------------
# validation


def check_keywords(match: str, keywords: Any) -> list[str]:
    """Validate ``keywords`` for ``match`` and return them stripped and de-duplicated (order kept).

    Raises :class:`RuleError` with an admin-readable message on the first problem.
    """
    if not isinstance(match, str) or match not in MATCH_TYPES:
        raise RuleError(f"unknown match type {match!r}; expected one of {', '.join(MATCH_TYPES)}")
    if not isinstance(keywords, list):
        raise RuleError("keywords must be a list of strings")
    if not keywords:
        raise RuleError("keywords must not be empty")
    if len(keywords) > MAX_KEYWORDS:
        raise RuleError(f"too many keywords: {len(keywords)} (at most {MAX_KEYWORDS})")
    is_regex = match == "regex"
    limit = MAX_REGEX_LEN if is_regex else MAX_KEYWORD_LEN
    deadline = time.perf_counter() + VALIDATION_BUDGET
    out: list[str] = []
    seen: set[str] = set()
    for pos, raw in enumerate(keywords, start=1):
        if not isinstance(raw, str):
            raise RuleError(f"keyword #{pos} must be a string, not {type(raw).__name__}")
        kw = raw.strip()
        if not kw:
            raise RuleError(f"keyword #{pos} is empty")
        if len(kw) > limit:
            raise RuleError(f"keyword #{pos} is {len(kw)} characters long (at most {limit})")
        if kw in seen:
            continue
        if is_regex:
            if len(out) >= MAX_REGEX_KEYWORDS:
                raise RuleError(f"too many regex patterns (at most {MAX_REGEX_KEYWORDS} per rule)")
            try:
                check_regex(kw, deadline)
            except PatternRefused as exc:
                raise RuleError(f"regex #{pos} {_show(kw)}: {exc}") from None
        seen.add(kw)
        out.append(kw)
    return out


def _show(pattern: str) -> str:
    return repr(pattern if len(pattern) <= 60 else pattern[:57] + "...")


# --------------------------------------------------------------------------------------------
# compiled rule set


def _ac_key(text: str) -> str:
    """UTF-8 bytes of ``text`` as a str of code points < 256, for the Aho-Corasick automaton.

    pyahocorasick finds a node's child by a linear scan of its transitions. Over raw Chinese
    text the root has thousands of children (one per distinct first character), and every
    mismatch falls back to it: 100,000 keywords cost ~6 us/message over 3,500 common
    characters and ~36 us over the whole CJK block. In UTF-8 a node has at most 64-256
    children and the cost drops to ~2.5-4 us. UTF-8 is self-synchronising, so a keyword's
    bytes can only occur in the text's bytes at a character boundary: no false hits.
    ``surrogatepass`` keeps lone surrogates (possible in a Python str) from raising.
    """
    return text.encode("utf-8", "surrogatepass").decode("latin-1")


class RuleSet:
    """Immutable match structures built by :func:`compile_rules`; safe to share across threads."""

    __slots__ = (
        "_automaton",
        "_click",
        "_contains_floor",
        "_exact",
        "_keyword_count",
        "_prefix",
        "_prefix_floor",
        "_prefix_lengths",
        "_regex_ac",
        "_regex_anchored",
        "_regex_free",
        "_regexes",
        "_rule_count",
    )

    def __init__(
        self,
        *,
        exact: dict[str, Entry],
        prefix: dict[str, Entry],
        contains: dict[str, Entry],
        regexes: list[_Regex],
        click: dict[str, Entry],
        rule_count: int,
        keyword_count: int,
    ) -> None:
        self._exact = exact
        self._prefix = prefix
        # One dict lookup per distinct keyword length, not per keyword.
        self._prefix_lengths = tuple(sorted({len(k) for k in prefix}))
        # Best entry a type can offer at all: skip the type when it cannot beat what we have.
        self._prefix_floor = min(prefix.values()) if prefix else None
        self._contains_floor = min(contains.values()) if contains else None
        self._automaton: Any = None
        if contains:
            automaton = ahocorasick.Automaton()
            for kw, entry in contains.items():
                automaton.add_word(_ac_key(kw), entry)
            automaton.make_automaton()
            self._automaton = automaton
        # Regexes best-first. Those with a required literal are found through an automaton over
        # the literals, so a message only pays for the regexes it could match (the others are
        # "free": always candidates).
        ordered = sorted(regexes, key=lambda item: item[0])
        self._regexes = [(entry, pattern, index) for entry, _req, pattern, index, _f in ordered]
        # Literal-free regexes: always candidates, unless anchored at the start with a first
        # character the text does not begin with (see regex_prefilter).
        self._regex_free = tuple(
            pos for pos, item in enumerate(ordered) if item[1] is None and item[4] is None
        )
        self._regex_anchored = tuple(
            (pos, item[4])
            for pos, item in enumerate(ordered)
            if item[1] is None and item[4] is not None
        )
        by_literal: dict[str, list[int]] = {}
        for pos, (_entry, required, _pattern, _index, _first) in enumerate(ordered):
            if required is not None:
                by_literal.setdefault(required, []).append(pos)
        self._regex_ac: Any = None
        if by_literal:
            automaton = ahocorasick.Automaton()
            for literal, positions in by_literal.items():
                automaton.add_word(_ac_key(literal), tuple(positions))
            automaton.make_automaton()
            self._regex_ac = automaton
        self._click = click
        self._rule_count = rule_count
        self._keyword_count = keyword_count

    @property
    def rule_count(self) -> int:
        """Enabled rules that have at least one usable keyword."""
        return self._rule_count

    @property
    def keyword_count(self) -> int:
        """(rule, keyword) pairs compiled, over all match types."""
        return self._keyword_count

    def match_text(self, content: str) -> Rule | None:
        """Return the winning rule dict for a text message (exact/prefix/contains/regex) or None.

        ``content`` is stripped of surrounding whitespace first; matching is case-sensitive
        (see the module docstring for why). The returned object is the caller's original dict.
        """
        if not isinstance(content, str):
            return None
        text = content.strip()
        best: Entry | None = self._exact.get(text)
        floor = self._prefix_floor
        if floor is not None and (best is None or floor < best):
            size = len(text)
            table = self._prefix
            for length in self._prefix_lengths:
                if length > size:
                    break
                entry = table.get(text[:length])
                if entry is not None and (best is None or entry < best):
                    best = entry
        floor = self._contains_floor
        if floor is not None and (best is None or floor < best):
            for _end, entry in self._automaton.iter(_ac_key(text)):
                if best is None or entry < best:
                    best = entry
        if self._regexes and (best is None or self._regexes[0][0] < best):
            best = self._match_regex(text, best)
        return None if best is None else best[3]

    def _match_regex(self, text: str, best: Entry | None) -> Entry | None:
        text = text[:REGEX_TEXT_CAP]
        # Candidates: regexes whose required literal occurs in the text, plus those without one.
        # Skipping the rest is exact (they cannot match) and saves the ~2 us that a search with
        # timeout= costs even when it fails at once.
        candidates = set(self._regex_free)
        if self._regex_anchored:
            head = text[:1]
            candidates.update(pos for pos, first in self._regex_anchored if first.match(head))
        if self._regex_ac is not None:
            for _end, positions in self._regex_ac.iter(_ac_key(text)):
                candidates.update(positions)
        if not candidates:
            return best
        deadline = time.perf_counter() + REGEX_BUDGET
        ordered = sorted(candidates)
        for done, pos in enumerate(ordered):
            entry, pattern, index = self._regexes[pos]
            if best is not None and not entry < best:
                break  # sorted best-first: nothing further can win
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                logger.warning(
                    "regex budget of %.0f ms exhausted; up to %d pattern(s) skipped",
                    REGEX_BUDGET * 1000,
                    len(ordered) - done,
                )
                break
            limit = min(REGEX_TIMEOUT, remaining)
            try:
                hit = pattern.search(text, timeout=limit)
            except TimeoutError:
                if limit < REGEX_TIMEOUT:  # cut short by the budget, not the pattern's fault
                    logger.warning(
                        "regex budget of %.0f ms exhausted; up to %d pattern(s) skipped",
                        REGEX_BUDGET * 1000,
                        len(ordered) - done,
                    )
                    break
                # Never log the text: it is the follower's message.
                logger.warning(
                    "regex timed out (counted as no match): rule %s pattern #%d",
                    entry[3].get("id"),
                    index + 1,
                )
                continue
            if hit is not None:
                return entry  # the first hit in best-first order beats everything after it
        return best

    def match_click(self, event_key: str) -> Rule | None:
        """Return the winning ``click`` rule for a menu CLICK event's EventKey, or None."""
        if not isinstance(event_key, str):
            return None
        entry = self._click.get(event_key.strip())
        return None if entry is None else entry[3]


def compile_rules(rules: Iterable[Rule]) -> RuleSet:
    """Build a :class:`RuleSet` from rule dicts (typically all rules from storage).

    Stored rules were validated by :func:`check_keywords` on write; here we only normalise
    defensively (strip, skip non-strings/empties, de-duplicate) and skip with a log line what
    cannot be used (unknown match type, bad priority, a regex that fails to compile), so one
    corrupt item never takes the whole rule set down. Regexes are not re-probed here.
    """
    tables: dict[str, dict[str, Entry]] = {
        "exact": {},
        "prefix": {},
        "contains": {},
        "click": {},
    }
    regexes: list[_Regex] = []
    rule_count = 0
    keyword_count = 0
    for order, rule in enumerate(rules):
        if not isinstance(rule, dict) or rule.get("enabled", True) is not True:
            continue
        entry = _entry(rule, order)
        if entry is None:
            continue
        keywords = _usable_keywords(rule.get("keywords"))
        if not keywords:
            continue
        match = rule.get("match")
        if match == "regex":
            import regex  # loaded with the first regex rule, not at cold start

            compiled = []
            for index, pattern in enumerate(keywords):
                try:
                    required, first = prefilters(pattern)
                    compiled.append((entry, required, regex.compile(pattern), index, first))
                except Exception:  # one bad stored pattern must not stop the rest
                    logger.warning("rule %s: regex #%d does not compile", rule.get("id"), index + 1)
            if not compiled:
                continue
            regexes.extend(compiled)
            added = len(compiled)
        else:
            table = tables.get(match) if isinstance(match, str) else None
            if table is None:
                logger.warning("rule %s: unknown match type, skipped", rule.get("id"))
                continue
            for kw in keywords:
                current = table.get(kw)
                if current is None or entry < current:
                    table[kw] = entry
            added = len(keywords)
        rule_count += 1
        keyword_count += added
    return RuleSet(
        exact=tables["exact"],
        prefix=tables["prefix"],
        contains=tables["contains"],
        regexes=regexes,
        click=tables["click"],
        rule_count=rule_count,
        keyword_count=keyword_count,
    )


def _entry(rule: Rule, order: int) -> Entry | None:
    raw = rule.get("priority")
    priority = 0 if raw is None else _as_int(raw)
    if priority is None:
        logger.warning("rule %s: priority is not an integer, skipped", rule.get("id"))
        return None
    seq = _as_int(rule.get("seq"))
    # Unknown creation order sorts after every rule that has one.
    return (-priority, _INF if seq is None else seq, order, rule)


def _as_int(value: Any) -> int | None:
    """int, or an integral Decimal/float (DynamoDB numbers arrive as Decimal); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal | float):
        try:
            if value == int(value):
                return int(value)
        except (ValueError, OverflowError, ArithmeticError):  # NaN, infinity
            pass
    return None


def _usable_keywords(keywords: Any) -> list[str]:
    if not isinstance(keywords, list | tuple):
        return []
    out: list[str] = []
    seen: set[str] = set()
    for kw in keywords:
        if isinstance(kw, str):
            kw = kw.strip()
            if kw and kw not in seen:
                seen.add(kw)
                out.append(kw)
    return out
