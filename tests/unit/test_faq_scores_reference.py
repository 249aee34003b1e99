"""FaqIndex.scores, which keeps its bar without sorting and makes its partial sums in as few
steps as it can, finds what a straightforward reading of its own docstring finds: the same
texts scored exactly, the same scores to the last bit, the same `unseen`, for every `keep`, on
generated knowledge bases (bench/faq_bench.py) and the evaluation set with published articles.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from chalicelib.engine import faq
from chalicelib.engine.faq_index import MAX_EXACT, MAX_KEYS, FaqIndex

ARTICLES = [
    {"id": "a1", "title": "信用卡办理指南：在线申请"},
    {"id": "a2", "title": "借记卡挂失流程"},
    {"id": "a3", "title": "手机银行转账限额说明|常见问题"},
]


def reference_scores(
    index: FaqIndex, known: list[Any], norm: float, floor: float, keep: int
) -> tuple[dict[int, tuple[float, int, int]], float]:
    """FaqIndex.scores as its docstring reads, one plain step at a time."""
    if not norm:
        return {}, 0.0
    terms = [term for term, _, _ in known]
    weights = [weight / norm for _, weight, _ in known]
    keys = [(r[3] * w, w, t, r) for (t, _, r), w in zip(known, weights, strict=True) if len(t) > 1]
    reach = square = 0.0
    for (term, _, record), w in zip(known, weights, strict=True):
        if len(term) == 1:  # single characters: never walked unless nothing else is known
            reach += record[3] * w
            square += w * w
    if not keys:
        keys = [(r[3] * w, w, t, r) for (t, _, r), w in zip(known, weights, strict=True)]
    if floor and len(keys) > MAX_KEYS:
        keys.sort(key=lambda key: key[0], reverse=True)
        for strength, w, _, _ in keys[MAX_KEYS:]:
            reach += strength
            square += w * w
        del keys[MAX_KEYS:]
    slack = min(reach, math.sqrt(square))
    slack += sum(record[4] * w for _, w, _, record in keys)
    if floor and sum(key[0] for key in keys) + slack < floor:
        return {}, 0.0
    partial: dict[int, float] = {}
    for _, w, term, record in keys:
        docs, values = (record[1], record[2]) if floor else index.postings[term]
        for doc, value in zip(docs, values, strict=True):
            partial[doc] = partial.get(doc, 0.0) + value * w

    def exact(doc: int) -> float:
        vector = index.doc_vectors[doc]
        return sum(vector.get(term, 0.0) * w for term, w in zip(terms, weights, strict=True))

    best: dict[int, tuple[float, int, int]] = {}

    def hold(doc: int, score: float) -> None:
        entry = index.doc_entry[doc]
        if entry not in best or score > best[entry][0]:
            best[entry] = (score, -entry, doc)

    if not floor:
        for doc in partial:
            hold(doc, exact(doc))
        return best, 0.0
    bar = floor
    ranked = sorted(partial, key=lambda doc: partial[doc], reverse=True)
    for scored, doc in enumerate(ranked):
        if partial[doc] + slack < bar:
            return best, 0.0
        if scored == MAX_EXACT:
            return best, min(1.0, partial[doc] + slack)
        hold(doc, exact(doc))
        if len(best) >= keep:
            bar = max(floor, sorted(hit[0] for hit in best.values())[-keep])
    return best, 0.0


def _cases() -> list[tuple[FaqIndex, list[str]]]:
    from bench import faq_bench, faq_eval

    data = faq_eval.load()
    texts = [t for e in data["entries"] for h in ("dev", "test", "holdout") for t in e[h]]
    texts += data["off_topic"] + data["off_topic_holdout"]
    entries = faq_bench.make_entries(1500, seed=3)
    messages = faq_bench.make_messages(entries, 450, seed=4)
    return [
        (FaqIndex(faq_eval.index_entries(data), ARTICLES), texts),
        (FaqIndex(entries, ARTICLES[:1]), list(dict.fromkeys(messages))),
    ]


@pytest.fixture(scope="module")
def cases() -> list[tuple[FaqIndex, list[str]]]:
    return _cases()


@pytest.mark.parametrize("keep", [1, 2, 3])
def test_scores_find_what_the_plain_reading_finds(cases: Any, keep: int) -> None:
    floors = (faq.SUGGEST - faq.SPAN, 0.2)
    checked = 0
    for index, texts in cases:
        for text in texts:
            _terms, norm, known = index.query(text)
            for floor in floors:
                expected = reference_scores(index, known, norm, floor, keep)
                assert index.scores(known, norm, floor, keep) == expected, (text, floor)
                checked += bool(expected[0])
    assert checked > 1000  # most sentences find something to compare
