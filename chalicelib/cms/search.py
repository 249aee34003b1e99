"""Title search, opaque paging cursors and publish-date parsing for the article lists.

Search: every whitespace-separated term of the query must occur in the title, compared after
NFKC normalisation and case folding (so full-width "ＶＩＳＡ" finds "visa"). A term written only in
Latin letters and digits also matches a title word within a small edit distance (1 for 4-7
characters, 2 from 8), so "credt" finds "Credit". Chinese terms match as substrings: a typo in a
two- or three-character word is a different word. This runs over an in-memory list of titles (see
cms.index.ArticleIndex): fine for a bank's few thousand articles, see the README for limits.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import unicodedata
from collections.abc import Callable
from typing import Any

import regex

from chalicelib.errors import InvalidInput

MAX_QUERY = 100
CHINA = dt.timezone(dt.timedelta(hours=8))  # the audience's clock: date-only filters use it

_LATIN_TERM = regex.compile(r"[a-z0-9]+")


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _typos_allowed(term: str) -> int:
    if not _LATIN_TERM.fullmatch(term) or len(term) < 4:
        return 0
    return 1 if len(term) < 8 else 2


def compile_query(query: str) -> Callable[[str], bool]:
    """A predicate over normalised titles; InvalidInput when the query is unusable."""
    if len(query) > MAX_QUERY:
        raise InvalidInput(f"q must be at most {MAX_QUERY} characters")
    terms = normalize(query).split()
    if not terms:
        return lambda _title: True
    checks: list[Callable[[str], bool]] = []
    for term in terms:
        errors = _typos_allowed(term)
        if errors:
            # A whole Latin word within `errors` edits; the lookarounds stand for word edges
            # (\b would not do: Chinese characters count as word characters).
            pattern = regex.compile(
                rf"(?<![a-z0-9])(?:{regex.escape(term)}){{e<={errors}}}(?![a-z0-9])"
            )
            checks.append(
                lambda title, t=term, p=pattern: t in title or p.search(title) is not None
            )
        else:
            checks.append(lambda title, t=term: t in title)
    return lambda title: all(check(title) for check in checks)


# -- cursors -------------------------------------------------------------------------------


def filter_fingerprint(filters: dict[str, Any]) -> str:
    """Ties a cursor to the query that produced it: reusing it with other filters is a 400."""
    raw = json.dumps(filters, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:10]


def encode_cursor(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("cursor is not valid") from None
    if not isinstance(payload, dict):
        raise InvalidInput("cursor is not valid")
    return payload


# -- dates -------------------------------------------------------------------------------


def parse_time(value: str, name: str, *, end_of_day: bool = False) -> int:
    """Epoch seconds from epoch seconds or ISO 8601; dates and naive times are China time.

    A date-only upper bound (`published_to=2026-01-31`) includes the whole day.
    """
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            start = dt.datetime(day.year, day.month, day.day, tzinfo=CHINA)
            if end_of_day:
                start += dt.timedelta(days=1, seconds=-1)
            return int(start.timestamp())
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{name} must be epoch seconds or an ISO 8601 date/time, not {value[:40]!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    return int(moment.timestamp())


def format_day(epoch: int | None) -> str:
    if not epoch:
        return ""
    return dt.datetime.fromtimestamp(int(epoch), CHINA).strftime("%Y-%m-%d")


def format_iso(epoch: int | None) -> str:
    if not epoch:
        return ""
    return dt.datetime.fromtimestamp(int(epoch), CHINA).isoformat()
