"""Is a regex safe to run on every follower message? A static check and a probe.

An admin's ``regex`` keyword runs on each message, so a pattern that backtracks
catastrophically would hold every reply hostage. :func:`check_regex` refuses it on save:

- it must compile with the ``regex`` module; syntax only that module understands (fuzzy
  matching, recursion, ``\\X`` ...) is refused because it cannot be analysed; ``\\p{...}``/
  ``\\P{...}`` are allowed, and a literal ``{`` must be written ``\\{`` (``{e<=1}`` would be fuzzy
  matching);
- the static check (:func:`static_check`) walks the stdlib parse tree for nested quantifiers and
  ambiguous alternations inside repeats. It is deliberately conservative: it also refuses some
  nested quantifiers that are merely slow (``(\\d+x)+y`` is quadratic, not exponential); the
  error message suggests the possessive/atomic rewrite (``(\\d++x)+y``) that passes. A
  repeated group that starts or ends with a separator nothing else in it can match
  (``(\\.[\\w-]+)+`` in the usual email pattern, ``(\\d{1,3}\\.)+``, ``(\\s+\\w+)*``) is not a
  nesting: a text splits into its iterations one way only (:func:`_delimited`).
  Known gaps, covered by the probe: the stdlib parser merges single-character alternatives into a
  class (``(\\d|\\w)+`` looks like ``[\\d\\w]+``), and polynomial blow-ups without nesting
  (``\\w+\\w+$``) are not shapes it looks for;
- the probe (:func:`probe`) runs the pattern on ~16 adversarial inputs of :data:`REGEX_TEXT_CAP`
  characters with :data:`PROBE_TIMEOUT` each (catastrophic takes seconds; quadratic passes). A
  pattern that is only slow on inputs the probe does not build can still get through, and a
  quadratic one is slow on the probe's, which is why match time has its own limits
  (:data:`REGEX_TIMEOUT` per search, and a budget per message in `rules`).

The text cap is 1,000 characters, not more: ``search`` is quadratic on long inputs even for plain
patterns (``[a-z]+\\d`` on 2,000 adversarial characters takes about four times as long as on
1,000), so a larger cap would push legitimate patterns to the time limit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from re import _constants as _sc
from typing import Any

from chalicelib.engine.regex_parse import REPEATS as _REPEATS
from chalicelib.engine.regex_parse import PatternRefused, parse, stdlib_source

REGEX_TEXT_CAP = 1_000  # chars of a message a regex sees
REGEX_TIMEOUT = 0.020  # seconds, per regex search
# Catastrophic (exponential) takes seconds to forever on a probe input. A polynomial pattern is
# a legal rule: quadratic `\s+(yes|no)` or `(\d+)\s*(元|块)` take 5-60 ms on these adversarial
# 1,000-character texts, cubic `a.*b.*c` ~0.2-0.3 s on "abab...", twice that on a loaded machine;
# the match-time limits bound them on such a text. A tighter probe made the same pattern a 201
# or a 400 by the machine's load.
PROBE_TIMEOUT = 1.0

# Static analysis thresholds (see static_check).
_LARGE_REPEAT = 100  # an inner repeat allowing more than this counts as unbounded
_SMALL_OUTER = 10  # bounded variable repeats may nest in an outer repeat of at most this many
_INF = math.inf


def check_regex(pattern: str, deadline: float) -> None:
    """Refuse (:class:`PatternRefused`) a pattern that does not compile or may backtrack
    catastrophically; ``deadline`` (perf_counter) bounds the probing of one request."""
    import regex  # loaded with the first regex an admin checks, not at cold start

    try:
        compiled = regex.compile(pattern)
    except (regex.error, ValueError, OverflowError, RecursionError) as exc:
        raise PatternRefused(f"invalid regular expression ({exc})") from None
    static_check(pattern)
    probe(compiled, pattern, deadline)


# --- static check ---------------------------------------------------------------------------

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


def static_check(pattern: str) -> None:
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
    source = stdlib_source(pattern)
    try:
        parsed, _warnings = parse(source)  # e.g. FutureWarning "possible nested set": harmless
    except Exception:  # any parser failure means "cannot analyse"
        raise PatternRefused(
            "uses syntax that cannot be checked for safety (fuzzy matching, recursion and "
            "other regex-module extensions are not allowed)"
        ) from None
    _scan(list(parsed), 1)


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
                    raise PatternRefused(
                        "nested quantifier (a repeated group contains another unbounded repeat, "
                        "e.g. (a+)+): catastrophic backtracking; use a possessive quantifier "
                        "(a++) or an atomic group (?>...)"
                    )
                if outer > _SMALL_OUTER:
                    raise PatternRefused(
                        "variable repeat inside a large repeat (e.g. (a?){25}): catastrophic "
                        "backtracking"
                    )
            if hi == 0:
                continue
            if hi > 1:
                _check_branches(list(body))
            repeated = hi > 1 and not _delimited(list(body))
            _scan(list(body), outer * hi if repeated else outer)
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


def _delimited(body: list) -> bool:
    """Does every iteration of a repeated ``body`` start, or end, with a separator (see
    :func:`_separators`) that nothing else in the body can match? Then a text splits into
    iterations one way only: the repeats inside cannot trade characters across iterations,
    which is what makes nesting catastrophic. What remains is each iteration's own work,
    checked as if it ran once (and probed). A repeated separator (``\\s+``) also needs the rest
    of the body to take a character, or one run could be shared out among iterations
    (``(\\s+(?:))+`` is ``(\\s+)+``)."""
    while len(body) == 1 and body[0][0] is _sc.SUBPATTERN:
        body = list(body[0][1][3])
    if len(body) < 2:
        return False
    for edge, rest in ((body[0], body[1:]), (body[-1], body[:-1])):
        separators = _separators(edge)
        atoms = _atoms(rest) if separators else None
        if atoms is None or any(_atom_matches(atom, ch) for atom in atoms for ch in separators):
            continue
        if edge[0] in (_sc.LITERAL, _sc.IN) or not _first(rest)[1]:
            return True
    return False


# Every character Python's str.isspace() or the regex module's \s takes: \s as a separator.
_WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)


def _separators(node: tuple[Any, Any]) -> list[str]:
    """The characters of a separator: a literal, a class of literals or ``\\s``, once or
    repeated at least once (``\\s+``: an iteration then starts, or ends, with a whole run of
    them). [] for anything else, and for letters, digits, anything with a case and anything
    ``\\w`` takes (case folding and Unicode classes make those hard to tell apart)."""
    op, av = node
    if op in _REPEATS or op is _sc.POSSESSIVE_REPEAT:
        lo, _hi, body = av
        if lo < 1 or len(body) != 1:
            return []
        op, av = body[0]
    if op is _sc.LITERAL:
        chars = [chr(av)]
    elif op is _sc.IN:
        chars = []
        for item_op, item_av in av:
            if item_op is _sc.LITERAL:
                chars.append(chr(item_av))
            elif item_op is _sc.CATEGORY and item_av is _sc.CATEGORY_SPACE:
                chars += _WHITESPACE
            else:
                return []
    else:
        return []
    import regex  # the module the pattern runs in: its \w also takes marks and joiners (U+203F)

    word = regex.compile(r"\w")
    plain = all(
        ch.lower() == ch == ch.upper() and not ch.isalnum() and not word.match(ch) for ch in chars
    )
    return chars if plain else []


def _atoms(seq: list) -> list[tuple[Any, Any]] | None:
    """Every character atom ``seq`` may match anywhere (lookarounds included, to be safe); None
    when it holds something whose characters are unknown (a back-reference, a conditional)."""
    out: list[tuple[Any, Any]] = []
    for op, av in seq:
        if op in (_sc.LITERAL, _sc.NOT_LITERAL, _sc.ANY, _sc.IN):
            out.append((op, av))
            continue
        if op is _sc.AT:
            continue
        if op in _REPEATS or op is _sc.POSSESSIVE_REPEAT:
            parts = [av[2]]
        elif op is _sc.SUBPATTERN:
            parts = [av[3]]
        elif op is _sc.ATOMIC_GROUP:
            parts = [av]
        elif op is _sc.BRANCH:
            parts = list(av[1])
        elif op in (_sc.ASSERT, _sc.ASSERT_NOT):
            parts = [av[1]]
        else:
            return None
        for part in parts:
            found = _atoms(list(part))
            if found is None:
                return None
            out += found
    return out


def _check_branches(seq: list) -> None:
    """Inside a repeated body: every alternation must be unambiguous on its first character."""
    for op, av in seq:
        if op is _sc.BRANCH:
            firsts = []
            for alt in av[1]:
                atoms, nullable = _first(list(alt))
                if nullable:
                    raise PatternRefused(
                        "alternation with an empty alternative inside a repeat (e.g. (a|)*): "
                        "catastrophic backtracking"
                    )
                firsts.append(atoms)
            for i, left in enumerate(firsts):
                for right in firsts[i + 1 :]:
                    if _overlap(left, right):
                        raise PatternRefused(
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


# --- dynamic probe --------------------------------------------------------------------------


def probe(compiled: Any, pattern: str, deadline: float) -> None:
    """Run the pattern on adversarial inputs as long as the longest text it will see.

    Inputs: one character repeated (characters from the pattern first, then a, space, 0, 中),
    and pairs of them alternating, each ending in NUL so anchored patterns must fail late.
    A timeout means the pattern backtracks catastrophically, so it is refused.
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
    for text in probes:
        if time.perf_counter() > deadline:
            raise PatternRefused(
                "validation took too long; use fewer or simpler patterns in one rule"
            )
        try:
            compiled.search(text, timeout=PROBE_TIMEOUT)
        except TimeoutError:
            raise PatternRefused(
                f"too slow on a {len(text)}-character input (over {PROBE_TIMEOUT * 1000:.0f} "
                "ms): catastrophic backtracking"
            ) from None


def _pattern_chars(pattern: str) -> list[str]:
    """Plain characters of the pattern, in order (a cheap stand-in for its literals)."""
    out: list[str] = []
    for ch in pattern:
        if ch not in "\\()[]{}|*+?.^$-," and ch not in out and not ch.isspace():
            out.append(ch)
    return out[:6]
