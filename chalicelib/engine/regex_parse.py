"""Reading a `regex` pattern with the stdlib parser (re._parser, formerly sre_parse).

The safety analysis (regex_safety) and the match-time pre-filters (regex_prefilter) both walk the
stdlib's parse tree. It is close enough to the `regex` module's VERSION0 syntax once the few
regex-only constructs are rewritten (:func:`stdlib_source`); what it cannot read is refused rather
than guessed at.
"""

from __future__ import annotations

import re
import warnings
from re import _constants as sc
from re import _parser as sp
from typing import Any

from chalicelib.errors import InvalidInput

REPEATS = (sc.MAX_REPEAT, sc.MIN_REPEAT)
_QUANTIFIER_BODY = re.compile(r"\d*(?:,\d*)?")  # stdlib re: `regex` loads with the first pattern


class PatternRefused(InvalidInput):
    """A regex an admin may not store (it does not compile, cannot be analysed, or may
    backtrack catastrophically); the message is safe to show to the admin."""


def stdlib_source(pattern: str) -> str:
    r"""Replace \p{..}/\P{..}/\pL (regex-module only) by "any character" for the stdlib parser.

    Over-approximating the property keeps the overlap analysis conservative. A literal ``{``
    must be escaped: in the regex module ``{e<=1}`` is fuzzy matching, which the stdlib parser
    would read as literal text (:class:`PatternRefused` otherwise).
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
            close = pattern.find("}", i + 1)
            if close < 0 or not _QUANTIFIER_BODY.fullmatch(pattern[i + 1 : close]):
                raise PatternRefused(
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


def parse(source: str) -> tuple[Any, list[warnings.WarningMessage]]:
    """The stdlib parse of :func:`stdlib_source`'s output, and the warnings it raised (a
    FutureWarning "possible nested set" marks a class the regex module reads differently)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parsed = sp.parse(source)
    return parsed, caught
