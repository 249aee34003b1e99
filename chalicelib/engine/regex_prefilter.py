"""What a follower's text must hold for a regex to match: cheap tests that skip the search.

A regex search with ``timeout=`` costs about as much as a dozen dictionary lookups even when it
fails at once, and every message would pay it for every regex rule. Two facts read off the
pattern's stdlib parse (regex_parse) let `rules.RuleSet` skip most of them exactly:

- the *required literal*: text every match must contain (``required in text`` is far cheaper
  than a search, and an automaton over all rules' literals finds the candidates at once);
- the *first-character class* of a pattern anchored at the start (``^\\d{6}$``): one ``match``
  of a one-character pattern against the text's first character.

Both are exact: a skipped pattern cannot match. Unsure cases (flags, ``\\p{..}``, classes the
two parsers read differently) get no pre-filter, and the pattern is simply searched.
"""

from __future__ import annotations

from re import _constants as _sc
from typing import Any

from chalicelib.engine.regex_parse import REPEATS as _REPEATS
from chalicelib.engine.regex_parse import parse, stdlib_source


def prefilters(pattern: str) -> tuple[str | None, Any | None]:
    """(required literal, first-character class) of a pattern, from one stdlib parse.

    The required literal is the longest literal text every match must contain, or None. A
    ``required in text`` test (~50 ns) skips most non-matching regexes before the search,
    which with ``timeout=`` costs ~2 us even when it fails at once. Only provably required
    runs count: consecutive literals at the top level, in groups and in repeats that run at
    least once; case-insensitive parts are ignored. The first-character class: _first_char.
    """
    try:
        source = stdlib_source(pattern)
        parsed, caught = parse(source)
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
    if source is None:
        return None
    import regex  # loaded with the first regex rule, not at cold start

    return regex.compile(source)


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
