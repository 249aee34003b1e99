"""What the knowledge base says to a text message that no rule and no flow answered. Pure.

- Confident (the best entry scores at least ACCEPT, MARGIN above the runner-up): its answer.
- Close between two or three entries, or one that is likely but not certain: a short question
  listing them ("您想问：1. … 2. …"); the follower's "1" / "2" (or "第二个") answers it. What
  was offered is kept in the follower's flow-state item, written with the message like a flow
  step (PENDING_FLOW below); it is understood for CLARIFY_TTL seconds.
- No entry close, but a published article is: the article, as news.
- Otherwise nothing: the caller answers with the default reply.

Precision first: a wrong answer is worse than "I did not understand", so the bar for answering
is high and everything between it and SUGGEST asks instead (engine/faq_index.py scores).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from chalicelib.engine.faq_index import ARTICLE_PREFIX, Candidate, Entry, FaqIndex, capped
from chalicelib.engine.faq_text import Lexicon
from chalicelib.engine.flows import FlowState, FlowStep

ACCEPT = 0.58  # answer when the best entry scores this much ...
MARGIN = 0.12  # ... and this much more than the runner-up
SUGGEST = 0.45  # below this an entry is never offered
SPAN = 0.15  # entries offered together score within this of the best
ARTICLE_ACCEPT = 0.7  # a published article answers only when this close (and no entry is)
MAX_OPTIONS = 3
CLARIFY_TTL = 600  # seconds a "1" / "2" still answers the question
#: The flow-state item's flow id while a follower has a clarifying question to answer (flow
#: ids are uuid hex: "~" never starts one).
PENDING_FLOW = "~faq"
PENDING_NODE = "clarify"
MAX_OPTION_CHARS = 40
VERDICT_CACHE = 4096  # sentences remembered per snapshot

_CHOICE = re.compile(
    r"^(?:选|选择|是)?(?:第)?([1-9一二三四五六七八九])(?:个|条|项|种)?(?:吧|啊|呀)?$"
)
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_STRIP = re.compile(r"[\s.,。，、！!？?~～]+")


@dataclass(frozen=True, slots=True)
class Verdict:
    kind: str  # answer | clarify | article | none
    candidates: tuple[Candidate, ...] = ()

    @property
    def entry(self) -> Entry | None:
        return self.candidates[0].entry if self.candidates else None


NONE = Verdict("none")


def build(data: tuple[Any, ...]) -> FaqIndex:
    """The snapshot's index: `(entries, synonym groups, published articles)` as
    store.faq.load_snapshot loads them."""
    entries, synonyms, articles = data
    return FaqIndex(entries, articles, Lexicon(synonyms))


def judge(index: FaqIndex | None, text: str) -> Verdict:
    """The knowledge base's verdict on a follower's text (remembered per snapshot)."""
    if not index or not text.strip():
        return NONE
    found = index.verdicts.get(text)
    if found is None:
        if len(index.verdicts) >= VERDICT_CACHE:
            index.verdicts.clear()
        found = index.verdicts[text] = _judge(index, text)
    return found


def _judge(index: FaqIndex, text: str) -> Verdict:
    # Candidates are made only for what the verdict holds (and the best entry, whose shared
    # terms say whether it is specific), compared by their Candidates' (capped) scores.
    terms, found, articles, unseen = index.ranked(text, MAX_OPTIONS, SUGGEST - SPAN)
    if found and capped(found[0]) >= SUGGEST:  # else no entry is answered nor offered
        first = index.candidate(found[0], terms)
        best = first.score
        runner_up = max(capped(found[1]) if len(found) > 1 else 0.0, unseen)
        if best >= ACCEPT and best - runner_up >= MARGIN and first.specific:
            return Verdict("answer", (first,))
        if first.specific:
            close = [first] + [
                index.candidate(hit, terms)
                for hit in found[1:]
                if capped(hit) >= SUGGEST and best - capped(hit) <= SPAN
            ]
            return Verdict("clarify", tuple(close[:MAX_OPTIONS]))
    if articles and capped(articles[0]) >= ARTICLE_ACCEPT:
        runner_up = capped(articles[1]) if len(articles) > 1 else 0.0
        if capped(articles[0]) - runner_up >= MARGIN:
            return Verdict("article", (index.candidate(articles[0], terms),))
    return NONE


def clarify_reply(candidates: tuple[Candidate, ...]) -> dict[str, Any]:
    """The clarifying question: the entries' questions, numbered."""
    if len(candidates) == 1:
        question = _short(candidates[0].entry.question)
        return {"type": "text", "content": f"您是想问：\n1. {question}\n\n是的话请回复「1」。"}
    lines = [f"{n}. {_short(c.entry.question)}" for n, c in enumerate(candidates, start=1)]
    return {"type": "text", "content": "您想问：\n" + "\n".join(lines) + "\n\n请回复编号。"}


def _short(question: str) -> str:
    question = " ".join(question.split())
    return question if len(question) <= MAX_OPTION_CHARS else question[: MAX_OPTION_CHARS - 1] + "…"


def article_reply(entry: Entry) -> dict[str, Any]:
    """A published article as a news reply by article id (expanded when rendered)."""
    return {"type": "news", "article_ids": [entry.id.removeprefix(ARTICLE_PREFIX)]}


def choice(text: str) -> int | None:
    """The number a follower picked ("1", "２", "第二个", "选3"), or None."""
    cleaned = _STRIP.sub("", unicodedata.normalize("NFKC", text or ""))
    if not cleaned or len(cleaned) > 6:
        return None
    match = _CHOICE.match(cleaned)
    if match is None:
        return None
    digit = match.group(1)
    return _CN_DIGITS.get(digit) or int(digit)


def looks_like_choice(text: str) -> bool:
    return choice(text) is not None


def chosen(index: FaqIndex | None, options: tuple[str, ...], text: str) -> Entry | None:
    """The entry a follower picked among `options` (entry ids, in the order offered)."""
    number = choice(text)
    if index is None or number is None or not 1 <= number <= len(options):
        return None
    return index.by_id.get(options[number - 1])


# -- the callback's turn ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Turn:
    """The knowledge base's answer to a text message: what to reply, the log's outcome and
    rule id (the entry id, or "article:<id>"), and the flow-state write that rides along."""

    reply: dict[str, Any]
    outcome: str  # faq | faq_clarify
    entry_id: str | None
    step: FlowStep | None


def pending(state: FlowState | None) -> bool:
    """Whether a follower's flow state is a clarifying question waiting for its answer."""
    return state is not None and state.flow_id == PENDING_FLOW


def answer_choice(index: FaqIndex | None, state: FlowState, text: str, now: float) -> Turn | None:
    """The entry a follower picked ("1", "第二个") after a clarifying question, with the step
    that clears the question; None when the text is no pick, or the question went stale."""
    if now - state.updated_at > CLARIFY_TTL:
        return None
    entry = chosen(index, state.path, text)
    if entry is None or entry.answer is None:
        return None
    return Turn(entry.answer, "faq", entry.id, FlowStep(state.step, None, ()))


def respond(
    index: FaqIndex | None,
    text: str,
    state: FlowState | None,
    now: float,
    carried: FlowStep | None = None,
) -> Turn | None:
    """The knowledge base's turn for a text no rule and no flow answered, or None (the caller
    answers with the default reply). `state`: the flow state as read (None: not read);
    `carried`: a flow step already decided (a timed-out flow) that must still be written."""
    verdict = judge(index, text)
    if verdict.kind == "answer" and verdict.entry and verdict.entry.answer is not None:
        return Turn(verdict.entry.answer, "faq", verdict.entry.id, carried)
    if verdict.kind == "article" and verdict.entry:
        return Turn(article_reply(verdict.entry), "faq", verdict.entry.id, carried)
    if verdict.kind == "clarify":
        expect = carried.expect_step if carried else (None if state is None else state.step)
        asked = FlowState(
            flow_id=PENDING_FLOW,
            node_id=PENDING_NODE,
            path=tuple(c.entry.id for c in verdict.candidates),
            updated_at=now,
        )
        counters = carried.counters if carried else ()
        step = FlowStep(expect, asked, counters, CLARIFY_TTL)
        return Turn(clarify_reply(verdict.candidates), "faq_clarify", None, step)
    return None
