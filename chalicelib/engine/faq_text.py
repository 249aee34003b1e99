"""Reading short colloquial Chinese for the knowledge base: normalize, apply the synonym list,
and turn a sentence into weighted terms. Pure.

A sentence becomes pieces: runs of Chinese text, Latin words, and lexicon words (a synonym
group's canonical form, or nothing for a filler). Its terms are:

- `#<concept>` for every lexicon word (weight CONCEPT; question words like 怎么 only QWORD,
  those that narrow a question down, like 多久, POINTED),
- character bigrams and single characters inside every piece (no bigram crosses two pieces),
- whole Latin words (`atm`, `app`).

Character n-grams need no dictionary (nothing to load at cold start, no word list to keep up
to date) and survive the typos and word orders of chat; the lexicon adds what n-grams cannot
see: that 储蓄卡 and 借记卡, or 丢了 and 挂失, mean the same.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

import ahocorasick

from chalicelib.engine import faq_lexicon as lex

# Term weights by kind, before rarity (idf): a lexicon concept says most, a bigram a little
# less, a single character little.
CONCEPT = 1.5
QWORD = 0.3
POINTED = 0.8
BIGRAM = 1.0
UNIGRAM = 0.35
STOP_UNIGRAM = 0.08
LATIN = 1.0
MAX_CHARS = 200  # of a follower's text: a question is short; the rest is not read
PIECE_CACHE = 2048  # pieces whose terms a Lexicon remembers (words recur: 挂失, 怎么, 信用卡)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Runs of Chinese characters or of Latin letters; everything else separates pieces.
_RUNS = re.compile(rf"[{_CJK}]+|[a-z]+")
_TRADITIONAL = re.compile("[" + "".join(chr(c) for c in lex.TRADITIONAL) + "]")


def clean(text: str) -> str:
    """NFKC (full width -> half width), case-folded, traditional -> simplified characters,
    digits dropped (amounts and card numbers say nothing about the question)."""
    text = unicodedata.normalize("NFKC", text[:MAX_CHARS]).casefold()
    if _TRADITIONAL.search(text) is None:  # the common case: translate() costs ~5 us
        return text
    return text.translate(lex.TRADITIONAL)


class Lexicon:
    """The synonym list as one automaton: every surface form -> its canonical word ("" for a
    filler). Admin groups are applied on top of the built-in ones (a surface form they name
    takes their canonical form)."""

    def __init__(self, extra: Iterable[Sequence[str]] = (), *, builtin: bool = True) -> None:
        self.automaton = ahocorasick.Automaton()
        self.groups: list[tuple[str, ...]] = []
        self._piece_terms: dict[tuple[str, bool], dict[str, float]] = {}
        if builtin:
            for word in lex.FILLERS:
                self._add(word, "")
            for word in lex.PROTECTED:
                self._add(word, word)
            for group in lex.SYNONYMS:
                self._group(group)
        for group in extra:
            self._group(group)
        if len(self.automaton):
            self.automaton.make_automaton()

    def _add(self, word: str, canonical: str) -> None:
        key = "".join(_RUNS.findall(clean(word)))
        if key:
            self.automaton.add_word(key, (len(key), canonical))

    def _group(self, group: Sequence[str]) -> None:
        words = [w for w in group if isinstance(w, str) and w.strip()]
        if len(words) < 2:
            return
        canonical = "".join(_RUNS.findall(clean(words[0])))
        if not canonical:
            return
        self.groups.append(tuple(words))
        for word in words:
            self._add(word, canonical)

    def pieces(self, text: str) -> list[tuple[str, bool]]:
        """The sentence as (text, is a lexicon word) pieces, fillers dropped."""
        out: list[tuple[str, bool]] = []
        automaton = self.automaton if len(self.automaton) else None
        for run in _RUNS.findall(clean(text)):
            if run.isascii():
                found = automaton.get(run, None) if automaton is not None else None
                if found is None:
                    out.append((run, False))
                elif found[1]:
                    out.append((found[1], True))
                continue
            at = 0
            if automaton is not None:
                for end, (length, canonical) in automaton.iter_long(run):
                    start = end + 1 - length
                    if start > at:
                        out.append((run[at:start], False))
                    if canonical:
                        out.append((canonical, True))
                    at = end + 1
            if at < len(run):
                out.append((run[at:], False))
        return out

    def canonical(self, text: str) -> str:
        """The sentence as the matcher reads it: fillers gone, synonyms in canonical form."""
        return "".join(piece for piece, _ in self.pieces(text))

    def terms(self, text: str) -> dict[str, float]:
        """term -> weight of its kind (the largest, when a term comes up twice)."""
        return self._terms(self.pieces(text))

    def analyze(self, text: str) -> tuple[str, dict[str, float]]:
        """(the canonical sentence, its terms)."""
        pieces = self.pieces(text)
        return "".join(word for word, _ in pieces), self._terms(pieces)

    def _terms(self, pieces: list[tuple[str, bool]]) -> dict[str, float]:
        terms: dict[str, float] = {}
        known = self._piece_terms
        for piece in pieces:
            found = known.get(piece)
            if found is None:
                if len(known) >= PIECE_CACHE:
                    known.clear()
                found = known[piece] = _piece_terms(*piece)
            if found:
                terms.update(found)
            else:
                _add_terms(terms, *piece)
        return terms


def _add_terms(terms: dict[str, float], word: str, concept: bool) -> None:
    """Add a piece's terms to a sentence's (a term that comes up twice keeps its largest
    weight)."""
    if concept:
        weight = _CONCEPT_WEIGHTS.get(word, CONCEPT)
        terms["#" + word] = weight
        if weight != CONCEPT:  # a question word: its characters say nothing more
            return
    if word.isascii():
        terms[word] = LATIN
        return
    for i in range(len(word) - 1):
        terms[word[i : i + 2]] = BIGRAM
    for char in word:
        if terms.get(char, 0.0) < UNIGRAM:
            terms[char] = STOP_UNIGRAM if char in _STOP else UNIGRAM


def _piece_terms(word: str, concept: bool) -> dict[str, float]:
    """A piece's terms, to add to any sentence's with dict.update; {} when that would not do:
    a word mixing Chinese and Latin letters, whose letter may be a Latin word's term already
    (a Chinese character's or a bigram's weight is the same wherever it comes up)."""
    if not word.isascii() and _LATIN.search(word):
        return {}
    terms: dict[str, float] = {}
    _add_terms(terms, word, concept)
    return terms


_STOP = lex.STOP_CHARS
_LATIN = re.compile("[a-z]")
_CONCEPT_WEIGHTS = {w: QWORD for w in lex.QUESTION_WORDS} | {
    w: POINTED for w in lex.POINTED_QUESTION_WORDS
}


def specific(term: str, background: dict[str, int]) -> bool:
    """Whether sharing `term` says the two sentences are about the same banking matter: a
    lexicon word that is not generic, or a bigram / Latin word everyday sentences never use."""
    if term.startswith("#"):
        return term[1:] not in lex.GENERIC
    if len(term) < 2 or term in background:
        return False
    return not (term.isascii() is False and all(c in lex.STOP_CHARS for c in term))


def looks_like_words(text: str) -> bool:
    """Whether the text has anything the matcher could read (Chinese or Latin letters)."""
    return bool(_RUNS.search(clean(text)))
