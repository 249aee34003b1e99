"""The knowledge base's matcher gives the verdicts (kind, entries, scores to the last bit) that
it gave before its speed work, recorded in data/faq_verdicts.json: the evaluation set's
sentences on its 34 entries (with published articles, and the admin's unpruned ranking), bench
messages on 1,500 synthetic entries, and a synonym list with a word mixing Chinese and Latin.

A change that means to change verdicts (new synonyms, other weights) records them anew:
`python -m tests.unit.test_faq_same_verdicts --write`, and says why in its commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

RECORDED = Path(__file__).resolve().parent / "data" / "faq_verdicts.json"
ARTICLES = [
    {"id": "a1", "title": "信用卡办理指南：在线申请"},
    {"id": "a2", "title": "借记卡挂失流程"},
    {"id": "a3", "title": "手机银行转账限额说明|常见问题"},
    {"id": "a4", "title": "理财产品风险提示——必读"},
]
# "e支付": a canonical word mixing Chinese and Latin, whose "e" may be a Latin word's term too.
MIXED_SYNONYMS = [["e支付", "手机钱包"], ["手机支付", "nfc支付"], ["atm", "取款机"]]
MIXED_ENTRIES = [
    {"id": "pay", "question": "手机支付怎么开通", "answer": {"type": "text", "content": "a"}},
    {"id": "wallet", "question": "e 手机钱包怎么开通", "answer": {"type": "text", "content": "w"}},
    {"id": "nfc", "question": "nfc 是什么", "answer": {"type": "text", "content": "b"}},
    {"id": "atm", "question": "atm 在哪里", "answer": {"type": "text", "content": "c"}},
    {"id": "e", "question": "e 卡怎么办", "answer": {"type": "text", "content": "d"}},
]
MIXED_TEXTS = [
    "e 手机钱包",
    "手机钱包 e",
    "手机钱包怎么开通",
    "nfc支付是什么",
    "e卡",
    "取款机在哪",
    "a e 支付 atm",
]


def _verdicts(index: Any, texts: list[str]) -> list[list[Any]]:
    from chalicelib.engine import faq

    out = []
    for text in texts:
        index.verdicts.clear()
        verdict = faq.judge(index, text)
        found = [[c.entry.id, c.score, list(c.shared)] for c in verdict.candidates]
        out.append([text, verdict.kind, found])
    return out


def _rankings(index: Any, texts: list[str]) -> list[list[Any]]:
    out = []
    for text in texts:
        ranking = index.rank(text, limit=5)
        found = [[c.entry.id, c.score, c.text] for c in ranking.entries + ranking.articles]
        out.append([text, found, ranking.unseen])
    return out


def current() -> dict[str, Any]:
    """What the matcher says now, in the recorded shape."""
    from bench import faq_bench, faq_eval
    from chalicelib.engine import faq
    from chalicelib.engine.faq_index import FaqIndex
    from chalicelib.engine.faq_text import Lexicon

    data = faq_eval.load()
    halves = ("dev", "test", "holdout")
    texts = [t for e in data["entries"] for h in halves for t in e[h]]
    texts += data["off_topic"] + data["off_topic_holdout"] + [a["title"] for a in ARTICLES]
    small = FaqIndex(faq_eval.index_entries(data), ARTICLES)
    entries = faq_bench.make_entries(1500, seed=7)
    messages = list(dict.fromkeys(faq_bench.make_messages(entries, 600, seed=11)))
    mixed = faq.build((MIXED_ENTRIES, MIXED_SYNONYMS, []))
    return {
        "evaluation": _verdicts(small, texts),
        "evaluation_ranked": _rankings(small, texts),
        "synthetic_1500": _verdicts(FaqIndex(entries), messages),
        "mixed_words": _verdicts(mixed, MIXED_TEXTS),
        "mixed_terms": [[t, Lexicon(MIXED_SYNONYMS).terms(t)] for t in MIXED_TEXTS],
    }


def test_the_matcher_gives_the_recorded_verdicts():
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    now = json.loads(json.dumps(current(), ensure_ascii=False))
    assert now.keys() == recorded.keys()
    for part, rows in recorded.items():
        assert len(now[part]) == len(rows), part
        for got, expected in zip(now[part], rows, strict=True):
            assert got == expected, part


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python -m tests.unit.test_faq_same_verdicts --write")
    RECORDED.parent.mkdir(exist_ok=True)
    text = json.dumps(current(), ensure_ascii=False, separators=(",", ":"))
    RECORDED.write_text(text.replace("],[", "],\n[") + "\n", encoding="utf-8")
