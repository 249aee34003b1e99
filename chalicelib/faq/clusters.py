"""Followers' unanswered questions, grouped: the texts that got the default reply (the daily
text counters, store/analytics.py), put together when they mean the same (the knowledge base's
own similarity, engine/faq_index.py), biggest group first, each with the entries it comes
closest to (to attach it to one of them as alternatives, or to start a new entry)."""

from __future__ import annotations

from typing import Any

from chalicelib.engine.faq_index import FaqIndex
from chalicelib.engine.faq_text import Lexicon

SAME = 0.5  # two texts scoring this much with each other are one question
MAX_TEXTS = 2_000  # the most asked unanswered texts considered
MAX_EXAMPLES = 20


def group(
    rows: list[dict[str, Any]],
    lexicon: Lexicon | None = None,
    *,
    known: set[str] | None = None,
) -> list[dict[str, Any]]:
    """`rows`: analytics.text_stats rows. Returns groups {"count", "texts": [{"text", "sample",
    "count"}]} biggest first; a group's texts most asked first. `known`: texts (as
    analytics normalizes them) already in the knowledge base, left out."""
    asked = [r for r in rows if r.get("unanswered") and r["text"] not in (known or set())]
    asked.sort(key=lambda r: (-r["unanswered"], -(r.get("last_unanswered_at") or 0), r["text"]))
    asked = asked[:MAX_TEXTS]
    if not asked:
        return []
    pseudo = [
        {"id": str(n), "question": row.get("sample") or row["text"], "answer": None}
        for n, row in enumerate(asked)
    ]
    index = FaqIndex(pseudo, lexicon=lexicon)
    by_id = {entry.id: n for n, entry in enumerate(index.entries)}
    seen: set[int] = set()
    groups = []
    for n in range(len(asked)):
        if n in seen:
            continue
        seen.add(n)
        members = [n]
        ranking = index.rank(pseudo[n]["question"], limit=50)
        for candidate in ranking.entries:
            other = by_id.get(candidate.entry.id)
            if other is None or other in seen or candidate.score < SAME:
                continue
            seen.add(other)
            members.append(other)
        texts = [
            {
                "text": asked[m]["text"],
                "sample": asked[m].get("sample") or asked[m]["text"],
                "count": asked[m]["unanswered"],
            }
            for m in members
        ]
        # The most asked first, also after the first (an entry made from the group lists its
        # wordings in that order); equally asked ones as close to the first as they come.
        texts[1:] = sorted(texts[1:], key=lambda t: -t["count"])
        groups.append({"count": sum(t["count"] for t in texts), "texts": texts[:MAX_EXAMPLES]})
    groups.sort(key=lambda g: -g["count"])
    return groups
