"""The knowledge base's evaluation: a bank FAQ of 34 entries (bench/data/faq_eval.json), and
sentences the matcher never indexes: paraphrases of each entry (a tuning half, `dev`, and a
held-out half, `test`) and off-topic chatter. Run by tests/unit/test_faq_eval.py and
`make bench`; `python -m bench.faq_eval` prints every sentence's verdict.

The `holdout` paraphrases and `off_topic_holdout` were written after the matcher was tuned on
`dev` and `test`, and nothing was tuned against them: they are the honest figure.

Counted per paraphrase: right (answered with its entry), clarified (a clarifying question that
offers its entry), wrong (answered with another entry, or a question that does not offer it),
not answered (the default reply). Per off-topic sentence: answered (any answer: a failure),
clarified (asked back), ignored (the default reply: what it should get).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent / "data" / "faq_eval.json"


def load() -> dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))


def index_entries(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The entries as the knowledge base stores them (what the matcher may see)."""
    return [
        {
            "id": e["id"],
            "question": e["question"],
            "alternatives": e["alternatives"],
            "answer": {"type": "text", "content": e["answer"]},
            "category": e["category"],
            "enabled": True,
        }
        for e in data["entries"]
    ]


@dataclass
class Score:
    right: int = 0
    clarified: int = 0
    wrong: int = 0
    unanswered: int = 0
    off_answered: int = 0
    off_clarified: int = 0
    off_ignored: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def asked(self) -> int:
        return self.right + self.clarified + self.wrong + self.unanswered

    @property
    def off_topic(self) -> int:
        return self.off_answered + self.off_clarified + self.off_ignored

    def rate(self, n: int, of: int) -> float:
        return n / of if of else 0.0

    def summary(self) -> dict[str, float]:
        return {
            "right": self.rate(self.right, self.asked),
            "right_or_clarified": self.rate(self.right + self.clarified, self.asked),
            "wrong": self.rate(self.wrong, self.asked),
            "not_answered": self.rate(self.unanswered, self.asked),
            "off_topic_answered": self.rate(self.off_answered, self.off_topic),
            "off_topic_clarified": self.rate(self.off_clarified, self.off_topic),
        }


def evaluate(
    halves: Iterable[str] = ("dev", "test"),
    off_topic: Iterable[str] = ("off_topic",),
    index: Any = None,
) -> Score:
    """`halves`: which paraphrases (dev, test, holdout); `off_topic`: which chatter lists."""
    from chalicelib.engine import faq
    from chalicelib.engine.faq_index import FaqIndex

    data = load()
    index = index or FaqIndex(index_entries(data))
    score = Score()
    for entry in data["entries"]:
        for half in halves:
            for text in entry[half]:
                verdict = faq.judge(index, text)
                offered = [c.entry.id for c in verdict.candidates]
                if verdict.kind == "answer" and offered[0] == entry["id"]:
                    score.right += 1
                    continue
                if verdict.kind == "clarify" and entry["id"] in offered:
                    score.clarified += 1
                elif verdict.kind in ("answer", "clarify", "article"):
                    score.wrong += 1
                else:
                    score.unanswered += 1
                score.misses.append(f"{half} {entry['id']}: {text} -> {verdict.kind} {offered}")
    for text in [t for key in off_topic for t in data[key]]:
        verdict = faq.judge(index, text)
        if verdict.kind in ("answer", "article"):
            score.off_answered += 1
        elif verdict.kind == "clarify":
            score.off_clarified += 1
        else:
            score.off_ignored += 1
            continue
        offered = [c.entry.id for c in verdict.candidates]
        score.misses.append(f"off-topic: {text} -> {verdict.kind} {offered}")
    return score


def main() -> None:
    for halves, off in (
        ("dev", "off_topic"),
        ("test", "off_topic"),
        ("holdout", "off_topic_holdout"),
    ):
        score = evaluate((halves,), (off,))
        rates = {k: f"{v:.1%}" for k, v in score.summary().items()}
        print(halves, score.asked, "paraphrases:", rates)
        for line in score.misses:
            print("   ", line)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
