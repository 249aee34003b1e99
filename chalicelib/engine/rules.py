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
  :data:`MAX_REGEX_LEN` (500) characters, compiling with the ``regex`` module, and passing a
  catastrophic-backtracking check, both static (:func:`_static_regex_check`) and dynamic
  (:func:`_probe_regex`). The static check is deliberately conservative: it also refuses some
  nested quantifiers that are merely slow (``(\\w+\\.)+com`` is quadratic, not exponential);
  the error message suggests the possessive/atomic rewrite (``(\\w++\\.)+com``) that passes.
  Syntax that only the ``regex`` module understands (fuzzy matching, recursion, ``\\X`` ...)
  is refused because it cannot be analysed; ``\\p{...}``/``\\P{...}`` are allowed, and a
  literal ``{`` must be written ``\\{`` (``{e<=1}`` would be fuzzy matching).
  Known gaps of the static check, covered by the probe: the stdlib parser merges
  single-character alternatives into a class (``(\\d|\\w)+`` looks like ``[\\d\\w]+``), and
  polynomial blow-ups without nesting (``\\w+\\w+$``) are not shapes it looks for. The probe runs
  the pattern on ~16 adversarial inputs of :data:`REGEX_TEXT_CAP` characters with
  :data:`PROBE_TIMEOUT` each; a pattern that is only slow on inputs the probe does not build
  can still get through, which is why match time has its own limits.

Limits at match time (they bound CPU per message whatever is stored):

- each regex search gets :data:`REGEX_TIMEOUT` (20 ms) and all regex searches of one message
  share :data:`REGEX_BUDGET` (50 ms); a timeout counts as "no match" and is logged (rule id and
  pattern index only, never the follower's text). When the budget runs out the remaining regex
  rules are skipped, so a lower-priority rule may win: a documented trade-off for a hard
  latency bound.
- the text cap is 1,000 characters, not more: ``search`` is quadratic on long inputs even for
  plain patterns (``[a-z]+\\d`` takes ~4 ms on 1,000 adversarial characters and ~17 ms on
  2,000 here), so a larger cap would push legitimate patterns to the 20 ms limit.

Speed (``python bench/rules_bench.py``, this machine, short Chinese messages, 100,000 rules):
exact/click ~0.15 us, prefix ~0.5 us, contains ~1.5-2 us (Aho-Corasick over UTF-8, see
:func:`_ac_key`), regex ~3.5 us when patterns contain a literal (an automaton over the
required literals picks the candidates, see :func:`_prefilters`) but ~2 us per
literal-free pattern per message, unless it is anchored at the start and the text's first
character cannot begin a match (``^\\d{6}$`` on "你好": ~0.1 us, see :func:`_first_char`).
Build: ~0.2-0.5 s for 100,000 plain keywords, ~10 s for 100,000 regexes (keep regex rules to a
few hundred).
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from collections.abc import Callable, Iterable
from decimal import Decimal
from re import _constants as _sc
from re import _parser as _sp
from typing import Any

import ahocorasick
import regex

from chalicelib.errors import InvalidInput

logger = logging.getLogger(__name__)

MATCH_TYPES = ("exact", "contains", "prefix", "regex", "click")

MAX_KEYWORDS = 10_000
MAX_KEYWORD_LEN = 200
MAX_REGEX_LEN = 500
MAX_REGEX_KEYWORDS = 100  # each pattern costs a search per message: keep the regex list short
REGEX_TEXT_CAP = 1_000  # chars of a message a regex sees; quadratic-but-legal patterns stay < 5 ms
REGEX_TIMEOUT = 0.020  # seconds, per regex search
REGEX_BUDGET = 0.050  # seconds, all regex searches of one message together
PROBE_TIMEOUT = REGEX_TIMEOUT  # a pattern too slow for the probe would time out in production
VALIDATION_BUDGET = 10.0  # seconds for probing all patterns of one check_keywords call

# Static analysis thresholds (see _static_regex_check).
_LARGE_REPEAT = 100  # an inner repeat allowing more than this counts as unbounded
_SMALL_OUTER = 10  # bounded variable repeats may nest in an outer repeat of at most this many

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
                _check_regex(kw, deadline)
            except RuleError as exc:
                raise RuleError(f"regex #{pos} {_show(kw)}: {exc}") from None
        seen.add(kw)
        out.append(kw)
    return out


def _show(pattern: str) -> str:
    return repr(pattern if len(pattern) <= 60 else pattern[:57] + "...")


def _check_regex(pattern: str, deadline: float) -> None:
    try:
        compiled = regex.compile(pattern)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        raise RuleError(f"invalid regular expression ({exc})") from None
    _static_regex_check(pattern)
    _probe_regex(compiled, pattern, deadline)


# --- static check ---------------------------------------------------------------------------
# We walk the stdlib parser's tree (re._parser, formerly sre_parse). It is close enough to the
# `regex` module's VERSION0 syntax; what it cannot parse is refused rather than guessed at.

_REPEATS = (_sc.MAX_REPEAT, _sc.MIN_REPEAT)
_INF = math.inf

# Characters tried when deciding whether two first-character sets overlap; besides these we
# try every literal and range endpoint that occurs in either set, which makes the answer exact
# for literals/ranges and a good approximation for \d, \w, \s.
_REPRESENTATIVES = "aAzZ09_ \t\n中é!-.,@#٣\u3000，。"

_CATEGORIES: dict[Any, Callable[[str], bool]] = {
    _sc.CATEGORY_DIGIT: str.isdecimal,
    _sc.CATEGORY_NOT_DIGIT: lambda c: not c.isdecimal(),
    _sc.CATEGORY_SPACE: str.isspace,
    _sc.CATEGORY_NOT_SPACE: lambda c: not c.isspace(),
    _sc.CATEGORY_WORD: lambda c: c.isalnum() or c == "_",
    _sc.CATEGORY_NOT_WORD: lambda c: not (c.isalnum() or c == "_"),
}


def _static_regex_check(pattern: str) -> None:
    """Refuse catastrophic-backtracking shapes by inspecting the parsed pattern.

    Refused, inside a repeat that may iterate more than once (``*``, ``+``, ``{2,}``, ``{n}``):
    - another repeat with a variable count that is unbounded (``(a+)+``, ``(a*)*``,
      ``(\\w+\\s?)*``, ``(.*a){20}``), or bounded but under an outer repeat of more than
      :data:`_SMALL_OUTER` iterations (``(a?){25}``);
    - an alternation with an empty alternative or with alternatives that can start with the
      same character (``(a|a)*``, ``(a|ab)*``, ``(\\d+|\\w)+``).
    Possessive repeats and atomic groups do not backtrack, so they reset the analysis: that is
    the suggested fix.
    """
    source = _for_static_parse(pattern)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. FutureWarning "possible nested set"
        try:
            parsed = _sp.parse(source)
        except Exception:  # any parser failure means "cannot analyse"
            raise RuleError(
                "uses syntax that cannot be checked for safety (fuzzy matching, recursion and "
                "other regex-module extensions are not allowed)"
            ) from None
    _scan(list(parsed), 1)


def _for_static_parse(pattern: str) -> str:
    r"""Replace \p{..}/\P{..}/\pL (regex-module only) by "any character" for the stdlib parser.

    Over-approximating the property keeps the overlap analysis conservative.
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_body_start = -1
    while i < n:
        ch = pattern[i]
        if ch == "\\" and i + 1 < n:
            if pattern[i + 1] in "pP":
                if i + 2 < n and pattern[i + 2] == "{":
                    close = pattern.find("}", i + 3)
                    end = n if close < 0 else close + 1
                else:
                    end = i + 3
                out.append(r"\s\S" if in_class else r"[\s\S]")
                i = end
                continue
            if pattern[i + 1] in "Nx" and i + 2 < n and pattern[i + 2] == "{":
                close = pattern.find("}", i + 3)  # \N{NAME}, \x{hex}: keep as one token
                end = n if close < 0 else close + 1
                out.append(pattern[i:end])
                i = end
                continue
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if not in_class and ch == "{":
            # In the regex module "{e<=1}" is fuzzy matching, while the stdlib parser reads it
            # as literal text: demand that a literal brace be escaped so both agree.
            close = pattern.find("}", i + 1)
            if close < 0 or not _QUANTIFIER_BODY.fullmatch(pattern[i + 1 : close]):
                raise RuleError(
                    "a literal '{' must be escaped as \\{ (fuzzy matching is not allowed)"
                )
        if in_class:
            if ch == "]" and i != class_body_start:
                in_class = False
        elif ch == "[":
            in_class = True
            class_body_start = i + 1
            if i + 1 < n and pattern[i + 1] == "^":
                class_body_start = i + 2
        out.append(ch)
        i += 1
    return "".join(out)


_QUANTIFIER_BODY = regex.compile(r"\d*(?:,\d*)?")


def _hi(value: int) -> float:
    return _INF if value >= _sc.MAXREPEAT else value


def _scan(seq: list, outer: float) -> None:
    """Walk ``seq``; ``outer`` = how many times enclosing repeats may run it (1 = once)."""
    for op, av in seq:
        if op in _REPEATS:
            lo, hi_raw, body = av
            hi = _hi(hi_raw)
            if outer > 1 and lo != hi:
                if hi > _LARGE_REPEAT:
                    raise RuleError(
                        "nested quantifier (a repeated group contains another unbounded repeat, "
                        "e.g. (a+)+): catastrophic backtracking; use a possessive quantifier "
                        "(a++) or an atomic group (?>...)"
                    )
                if outer > _SMALL_OUTER:
                    raise RuleError(
                        "variable repeat inside a large repeat (e.g. (a?){25}): catastrophic "
                        "backtracking"
                    )
            if hi == 0:
                continue
            if hi > 1:
                _check_branches(list(body))
            _scan(list(body), outer * hi if hi > 1 else outer)
        elif op is _sc.POSSESSIVE_REPEAT:
            _scan(list(av[2]), 1)  # never gives back what it matched: a fresh start
        elif op is _sc.ATOMIC_GROUP:
            _scan(list(av), 1)
        elif op is _sc.SUBPATTERN:
            _scan(list(av[3]), outer)
        elif op is _sc.BRANCH:
            for alt in av[1]:
                _scan(list(alt), outer)
        elif op in (_sc.ASSERT, _sc.ASSERT_NOT):
            _scan(list(av[1]), outer)
        elif op is _sc.GROUPREF_EXISTS:
            for part in av[1:]:
                if part is not None:
                    _scan(list(part), outer)


def _check_branches(seq: list) -> None:
    """Inside a repeated body: every alternation must be unambiguous on its first character."""
    for op, av in seq:
        if op is _sc.BRANCH:
            firsts = []
            for alt in av[1]:
                atoms, nullable = _first(list(alt))
                if nullable:
                    raise RuleError(
                        "alternation with an empty alternative inside a repeat (e.g. (a|)*): "
                        "catastrophic backtracking"
                    )
                firsts.append(atoms)
            for i, left in enumerate(firsts):
                for right in firsts[i + 1 :]:
                    if _overlap(left, right):
                        raise RuleError(
                            "overlapping alternatives inside a repeat (e.g. (a|a)* or "
                            "(\\d|\\w)+): catastrophic backtracking"
                        )
            for alt in av[1]:
                _check_branches(list(alt))
        elif op in _REPEATS:
            _check_branches(list(av[2]))
        elif op is _sc.SUBPATTERN:
            _check_branches(list(av[3]))
        elif op in (_sc.ASSERT, _sc.ASSERT_NOT):
            _check_branches(list(av[1]))
        elif op is _sc.GROUPREF_EXISTS:
            for part in av[1:]:
                if part is not None:
                    _check_branches(list(part))
        # POSSESSIVE_REPEAT / ATOMIC_GROUP: no backtracking into them, nothing to check.


_ANY_ATOM = (_sc.ANY, None)


def _first(seq: list) -> tuple[list[tuple[Any, Any]], bool]:
    """Over-approximate the set of first characters of ``seq``; also say if it can match ""."""
    atoms: list[tuple[Any, Any]] = []
    for op, av in seq:
        if op in (_sc.LITERAL, _sc.NOT_LITERAL, _sc.ANY, _sc.IN):
            atoms.append((op, av))
            return atoms, False
        if op in (_sc.AT, _sc.ASSERT, _sc.ASSERT_NOT):
            continue  # zero-width
        if op is _sc.SUBPATTERN or op is _sc.ATOMIC_GROUP:
            sub, nullable = _first(list(av[3] if op is _sc.SUBPATTERN else av))
        elif op in _REPEATS or op is _sc.POSSESSIVE_REPEAT:
            lo, hi, body = av
            if hi == 0:
                continue
            sub, nullable = _first(list(body))
            nullable = nullable or lo == 0
        elif op is _sc.BRANCH:
            sub, nullable = [], False
            for alt in av[1]:
                alt_atoms, alt_nullable = _first(list(alt))
                sub += alt_atoms
                nullable = nullable or alt_nullable
        else:  # back-references, conditionals...: anything, possibly empty
            sub, nullable = [_ANY_ATOM], True
        atoms += sub
        if not nullable:
            return atoms, False
    return atoms, True


def _atom_matches(atom: tuple[Any, Any], ch: str) -> bool:
    op, av = atom
    code = ord(ch)
    if op is _sc.LITERAL:
        return code == av
    if op is _sc.NOT_LITERAL:
        return code != av
    if op is _sc.IN:
        negate = False
        hit = False
        for item_op, item_av in av:
            if item_op is _sc.NEGATE:
                negate = True
            elif item_op is _sc.LITERAL:
                hit = hit or code == item_av
            elif item_op is _sc.RANGE:
                hit = hit or item_av[0] <= code <= item_av[1]
            elif item_op is _sc.CATEGORY and item_av in _CATEGORIES:
                hit = hit or _CATEGORIES[item_av](ch)
            else:
                return True  # unknown item: assume it may match
        return hit != negate
    return True  # ANY and anything unknown


def _atom_chars(atom: tuple[Any, Any]) -> Iterable[str]:
    op, av = atom
    if op in (_sc.LITERAL, _sc.NOT_LITERAL):
        yield chr(av)
    elif op is _sc.IN:
        for item_op, item_av in av:
            if item_op is _sc.LITERAL:
                yield chr(item_av)
            elif item_op is _sc.RANGE:
                yield chr(item_av[0])
                yield chr(item_av[1])


def _overlap(left: list, right: list) -> bool:
    """Can some character start both ``left`` and ``right`` (case-insensitively, to be safe)?"""
    candidates = set(_REPRESENTATIVES)
    for atom in (*left, *right):
        candidates.update(_atom_chars(atom))
    for base in candidates:
        for ch in {base, base.lower(), base.upper()}:
            if len(ch) != 1:
                continue
            if any(_atom_matches(a, ch) for a in left) and any(_atom_matches(a, ch) for a in right):
                return True
    return False


def _prefilters(pattern: str) -> tuple[str | None, Any | None]:
    """(required literal, first-character class) of a pattern, from one stdlib parse.

    The required literal is the longest literal text every match must contain, or None. A
    ``required in text`` test (~50 ns) skips most non-matching regexes before the search,
    which with ``timeout=`` costs ~2 us even when it fails at once. Only provably required
    runs count: consecutive literals at the top level, in groups and in repeats that run at
    least once; case-insensitive parts are ignored. The first-character class: _first_char.
    """
    try:
        source = _for_static_parse(pattern)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            parsed = _sp.parse(source)
    except Exception:  # unparseable: no pre-filter, the pattern is still searched
        return None, None
    if any(issubclass(w.category, FutureWarning) for w in caught):
        # "Possible nested set / set operation": a class the regex module reads differently
        # ("[[:digit:]]" is a POSIX class there, "[, :, d, i, g, t" then "]" here). A pre-filter
        # read off the stdlib parse would hide matches: none.
        return None, None
    first = None if source != pattern else _first_char(parsed)
    if parsed.state.flags & _sc.SRE_FLAG_IGNORECASE:
        return None, first
    runs: list[str] = []
    _literal_runs(list(parsed), runs)
    return max(runs, key=len, default=None) or None, first


def _literal_runs(seq: list, runs: list[str]) -> None:
    current: list[str] = []
    for op, av in seq:
        if op is _sc.LITERAL:
            current.append(chr(av))
            continue
        if op in (_sc.AT, _sc.ASSERT, _sc.ASSERT_NOT):
            continue  # zero-width: the literals on both sides stay adjacent
        runs.append("".join(current))
        current = []
        if op is _sc.SUBPATTERN and not av[1] & _sc.SRE_FLAG_IGNORECASE:
            _literal_runs(list(av[3]), runs)
        elif op is _sc.ATOMIC_GROUP:
            _literal_runs(list(av), runs)
        elif op in (*_REPEATS, _sc.POSSESSIVE_REPEAT) and av[0] >= 1:
            _literal_runs(list(av[2]), runs)
    runs.append("".join(current))


_CLASS_ESCAPES = {
    _sc.CATEGORY_DIGIT: r"\d",
    _sc.CATEGORY_NOT_DIGIT: r"\D",
    _sc.CATEGORY_SPACE: r"\s",
    _sc.CATEGORY_NOT_SPACE: r"\S",
    _sc.CATEGORY_WORD: r"\w",
    _sc.CATEGORY_NOT_WORD: r"\W",
}
_ZERO_WIDTH = (_sc.AT, _sc.ASSERT, _sc.ASSERT_NOT)


def _first_char(parsed: Any) -> Any | None:
    """For a pattern anchored at the start (``^``/``\\A``), a one-character pattern the text's
    first character must match, or None.

    A search with ``timeout=`` costs ~1.5 us even when it fails at once, and a literal-free
    pattern (``^\\d{6}$``) has no required literal to skip it by: one ``match`` of this class
    (~0.1 us) does. The class is rebuilt from the parsed pattern as ``regex`` syntax
    (``[\\d]``, ``[^a-z]``) and compiled by ``regex``, so it means what the pattern means.
    Patterns with flags, ``\\p{..}``, alternation first or an optional first item get None.
    """
    if parsed.state.flags & ~_sc.SRE_FLAG_UNICODE:
        return None
    items = list(parsed)
    if not items or items[0] not in ((_sc.AT, _sc.AT_BEGINNING), (_sc.AT, _sc.AT_BEGINNING_STRING)):
        return None
    source = _first_class(items[1:])
    return None if source is None else regex.compile(source)


def _first_class(items: list) -> str | None:
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue  # assertions do not consume: the next item meets the first character
        if op is _sc.LITERAL:
            return f"[{_class_char(av)}]"
        if op is _sc.NOT_LITERAL:
            return f"[^{_class_char(av)}]"
        if op is _sc.IN:
            return _class_source(av)
        if op in (*_REPEATS, _sc.POSSESSIVE_REPEAT) and av[0] >= 1:
            return _first_class(list(av[2]))
        if op is _sc.SUBPATTERN and not av[1] and not av[2]:  # a group without flags
            return _first_class(list(av[3]))
        return None  # alternation, an optional item, a back-reference, "." ...
    return None  # nothing consumes a character: any text may match


def _class_char(code: int) -> str:
    return "\\" + chr(code) if chr(code) in "\\]^-[" else chr(code)


def _class_source(members: list) -> str | None:
    parts: list[str] = []
    negate = False
    for op, av in members:
        if op is _sc.NEGATE:
            negate = True
        elif op is _sc.LITERAL:
            parts.append(_class_char(av))
        elif op is _sc.RANGE:
            parts.append(f"{_class_char(av[0])}-{_class_char(av[1])}")
        elif op is _sc.CATEGORY and av in _CLASS_ESCAPES:
            parts.append(_CLASS_ESCAPES[av])
        else:
            return None
    if not parts:
        return None
    return f"[{'^' if negate else ''}{''.join(parts)}]"


# --- dynamic probe --------------------------------------------------------------------------


def _probe_regex(compiled: Any, pattern: str, deadline: float) -> None:
    """Run the pattern on adversarial inputs as long as the longest text it will see.

    Inputs: one character repeated (characters from the pattern first, then a, space, 0, 中),
    and pairs of them alternating, each ending in NUL so anchored patterns must fail late.
    A timeout means the pattern would blow its budget in production, so it is refused.
    """
    alphabet: list[str] = []
    for ch in [*_pattern_chars(pattern), "a", " ", "0", "中"]:
        if ch not in alphabet:
            alphabet.append(ch)
    alphabet = alphabet[:10]
    body = REGEX_TEXT_CAP - 1
    probes = [ch * body + "\x00" for ch in alphabet]
    pair_chars = alphabet[:3]
    for a in pair_chars:
        for b in pair_chars:
            if a != b:
                probes.append(((a + b) * (body // 2 + 1))[:body] + "\x00")
    for probe in probes:
        if time.perf_counter() > deadline:
            raise RuleError("validation took too long; use fewer or simpler patterns in one rule")
        try:
            compiled.search(probe, timeout=PROBE_TIMEOUT)
        except TimeoutError:
            raise RuleError(
                f"too slow on a {len(probe)}-character input (over {PROBE_TIMEOUT * 1000:.0f} "
                "ms): catastrophic backtracking"
            ) from None


def _pattern_chars(pattern: str) -> list[str]:
    """Plain characters of the pattern, in order (a cheap stand-in for its literals)."""
    out: list[str] = []
    for ch in pattern:
        if ch not in "\\()[]{}|*+?.^$-," and ch not in out and not ch.isspace():
            out.append(ch)
    return out[:6]


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
        # character the text does not begin with (see _first_char).
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
            compiled = []
            for index, pattern in enumerate(keywords):
                try:
                    required, first = _prefilters(pattern)
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
