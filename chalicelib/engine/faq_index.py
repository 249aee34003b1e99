"""The knowledge base's search index: every entry's question and alternatives (and published
articles' titles), scored against a follower's sentence. Pure; built once per snapshot.

Score: the cosine of the two sentences' term vectors (engine/faq_text.py terms), each term
weighted by its kind and its rarity (BM25's idf). Rarity is counted over the index's texts plus
a background of everyday sentences (faq_lexicon.BACKGROUND), so a knowledge base of five entries
still knows that "怎么" says little and "挂失" a lot; a term the index has never seen weighs as
a rare one, so a sentence about something else scores low. An entry scores its best text.

Speed (the callback's budget is a few microseconds per entry): an inverted index from term to
(text, weight) and MaxScore pruning: terms found in many texts (long posting lists) are not
walked unless the texts found through the rarer terms could still be beaten. What a search
reads of a term is one record made at build (idf, the head of its list, its bounds), and
engine.faq.judge makes Candidates only for what it answers with. Any change here keeps the
verdicts bit for bit unless it means to change them (tests/unit/test_faq_same_verdicts.py).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

from chalicelib.engine import faq_lexicon
from chalicelib.engine.faq_text import BIGRAM, Lexicon, specific

# A posting list is walked along its best MAX_WALK texts (those the term matters most to);
# a text further down is found through another of the sentence's words, or scores too low.
MAX_WALK = 16
MAX_KEYS = 5  # words whose posting lists are walked for candidates (the strongest)
MAX_EXACT = 12  # candidates scored exactly per sentence
# A bigram neither the index nor the background has seen is most often two words' edges
# ("候能" in "什么时候能到"), not a word: it counts this much of a bigram in a question.
OOV_FACTOR = 0.6
ARTICLE_PREFIX = "article:"
#: A term of a sentence the index has: (term, weight, its record in FaqIndex._terms).
Known = tuple[str, float, tuple[Any, ...]]
#: An entry as FaqIndex.ranked finds it: (score, -its number, the number of its best text).
Hit = tuple[float, int, int]


@dataclass(frozen=True, slots=True)
class Entry:
    id: str  # the entry id, or "article:<id>" for a published article
    question: str
    answer: dict[str, Any] | None
    category: str = ""

    @property
    def is_article(self) -> bool:
        return self.id.startswith(ARTICLE_PREFIX)


@dataclass(frozen=True, slots=True)
class Candidate:
    entry: Entry
    score: float
    text: str  # the question or alternative that scored best
    shared: tuple[str, ...] = ()  # the terms it shares with the sentence

    @property
    def specific(self) -> bool:
        """Whether the shared terms include a banking word (not only everyday ones)."""
        return any(map(str.startswith, self.shared, repeat("!")))


@dataclass(frozen=True, slots=True)
class Ranking:
    entries: list[Candidate] = field(default_factory=list)  # best first
    articles: list[Candidate] = field(default_factory=list)
    unseen: float = 0.0  # entries not listed may score up to this (see FaqIndex.scores)


def _split_title(title: str) -> list[str]:
    """An article's title as a question would quote it: the whole, and its parts around
    "：" / "，" / "|" ("信用卡办理指南：在线申请" -> also "信用卡办理指南")."""
    parts = [title]
    for sep in ("：", ":", "，", ",", "|", "丨", "——", " - "):
        if sep in title:
            parts += [p for p in title.split(sep) if p.strip()]
    return list(dict.fromkeys(p.strip() for p in parts))


class FaqIndex:
    def __init__(
        self,
        entries: Iterable[Mapping[str, Any]] = (),
        articles: Iterable[Mapping[str, Any]] = (),
        lexicon: Lexicon | None = None,
    ) -> None:
        self.lexicon = lexicon or Lexicon()
        self.entries: list[Entry] = []
        self.by_id: dict[str, Entry] = {}
        doc_entry: list[int] = []
        doc_text: list[str] = []
        doc_terms: list[dict[str, float]] = []
        analyze = self.lexicon.analyze

        def add(entry: Entry, texts: Iterable[str]) -> None:
            number = len(self.entries)
            self.entries.append(entry)
            self.by_id[entry.id] = entry
            seen: set[str] = set()
            for text in texts:
                key, terms = analyze(text)
                if terms and key not in seen:
                    seen.add(key)
                    doc_entry.append(number)
                    doc_text.append(text)
                    doc_terms.append(terms)

        for raw in entries:
            if raw.get("enabled", True) is not True:
                continue
            texts = [raw["question"], *(raw.get("alternatives") or ())]
            entry = Entry(
                str(raw["id"]), raw["question"], raw.get("answer"), raw.get("category") or ""
            )
            add(entry, texts)
        self.faq_count = len(self.entries)
        self.has_articles = False
        for article in articles:
            self.has_articles = True
            entry = Entry(ARTICLE_PREFIX + str(article["id"]), str(article["title"]), None)
            add(entry, _split_title(str(article["title"])))
        self.doc_entry = doc_entry
        self.doc_text = doc_text
        # Verdicts by sentence (engine.faq.judge): followers ask the same few things over and
        # over; the cache lives and dies with this snapshot.
        self.verdicts: dict[str, Any] = {}
        self._background = _background_df(self.lexicon)
        df: dict[str, int] = {}
        for terms in doc_terms:
            for term in terms:
                df[term] = df.get(term, 0) + 1
        self._docs = len(doc_terms) + _BACKGROUND_SIZE
        self._df = df
        background, docs, log = self._background, self._docs, math.log
        idf = {
            t: log(1.0 + (docs - n - background.get(t, 0) + 0.5) / (n + background.get(t, 0) + 0.5))
            for t, n in df.items()
        }
        self._idf = idf
        postings: dict[str, list[tuple[float, int]]] = {}
        vectors: list[dict[str, float]] = []
        canon = {t: t for t in df}
        for doc, terms in enumerate(doc_terms):
            weighted = {t: k * idf[t] for t, k in terms.items()}
            norm = math.sqrt(sum(w * w for w in weighted.values())) or 1.0
            # Keyed by one string object per term (the sentence's terms are looked up by that
            # object too: a dict then finds a term without comparing strings).
            vector = {canon[t]: w / norm for t, w in weighted.items()}
            vectors.append(vector)
            for term, value in vector.items():
                found = postings.get(term)
                if found is None:
                    postings[term] = [(value, doc)]
                else:
                    found.append((value, doc))
        self.doc_vectors = vectors
        # Each posting list best first, as (texts, values).
        self.postings: dict[str, tuple[list[int], list[float]]] = {}
        for term, plist in postings.items():
            plist.sort(reverse=True)
            self.postings[term] = ([d for _, d in plist], [v for v, _ in plist])
        # What a search reads of a term: its idf, then the texts and values a search with a
        # floor walks, the list's best value, the value where that walk stops (0.0: it walks
        # the whole list), and the term as the vectors hold it.
        self._terms: dict[str, tuple[float, list[int], list[float], float, float, str]] = {}
        for term, (docs_, values) in self.postings.items():
            if len(docs_) > MAX_WALK:
                head = (docs_[:MAX_WALK], values[:MAX_WALK], values[0], values[MAX_WALK - 1])
            else:
                head = (docs_, values, values[0], 0.0)
            self._terms[term] = (idf[term], *head, term)
        # The idf of a term the index has not seen: as rare as the background says.
        self._unseen_idf = {
            t: log(1.0 + (docs - n + 0.5) / (n + 0.5)) for t, n in self._background.items()
        }
        self._new_idf = log(1.0 + (docs + 0.5) / 0.5)  # in neither
        # Every term of the index as Candidate.shared names it: "!" first when specific.
        background = self._background
        self._marked = {t: "!" + t if specific(t, background) else t for t in df}

    def __len__(self) -> int:
        return self.faq_count

    def __bool__(self) -> bool:
        return bool(self.entries)

    def idf(self, term: str) -> float:
        found = self._idf.get(term)
        if found is None:
            n = self._background.get(term, 0)
            found = math.log(1.0 + (self._docs - n + 0.5) / (n + 0.5))
        return found

    def query(self, text: str) -> tuple[dict[str, float], float, list[Known]]:
        """The sentence's terms (term -> weight of its kind, faq_text.Lexicon.terms), the
        norm of its vector (each term weighted by its kind and idf), and the terms the index
        has: (term, weight, its record in _terms), in the sentence's order."""
        records, unseen, new_idf = self._terms, self._unseen_idf, self._new_idf
        terms = self.lexicon.terms(text)
        known: list[Known] = []
        square = 0.0
        for term, kind in terms.items():
            record = records.get(term)
            if record is not None:
                weight = kind * record[0]
                known.append((record[5], weight, record))
            else:
                idf = unseen.get(term)
                if idf is None:  # neither in the index nor in the background
                    idf = new_idf * OOV_FACTOR if kind == BIGRAM and len(term) == 2 else new_idf
                weight = kind * idf
            square += weight * weight
        return terms, math.sqrt(square), known

    def scores(
        self,
        known: list[Known],
        norm: float,
        floor: float = 0.0,
        keep: int = 3,
    ) -> tuple[dict[int, Hit], float]:
        """({entry number n: (its best cosine, -n, the text that scored it)}, `unseen`) of
        the sentence (its `known` terms and norm, as `query` finds them) with the texts that
        could be among the best `keep` entries scoring `floor` or more; with `floor` 0, every
        text that shares a term. `unseen` bounds the score of any text left out (0.0 when none
        could matter). Sorted, the values rank the entries: best first, then the first listed.

        Candidates come from the posting lists of the sentence's words (bigrams, lexicon words,
        Latin words; single characters only when it has nothing else), a long list walked only
        along its MAX_WALK best texts. They are scored exactly from their vectors, best partial
        sum first, until the rest could not enter the best `keep`, or MAX_EXACT were scored:
        then `unseen` says how high the rest might reach, and the caller stays careful."""
        if not norm:
            return {}, 0.0
        terms: list[str] = []
        weights: list[float] = []
        # The words that find candidates: (strength: how much they can add, weight, term,
        # record); a term's strength is its best value times its weight.
        keys: list[tuple[float, float, str, tuple[Any, ...]]] = []
        # The single characters' share of a partial sum (see `slack` below), summed as we go.
        reach = square = 0.0
        for term, weight, record in known:
            w = weight / norm
            terms.append(term)
            weights.append(w)
            if len(term) > 1:
                keys.append((record[3] * w, w, term, record))
            else:
                reach += record[3] * w
                square += w * w
        if not keys:
            keys = [(r[3] * w, w, t, r) for (t, _, r), w in zip(known, weights, strict=True)]
        if floor and len(keys) > MAX_KEYS:  # the strongest words find the candidates
            keys.sort(key=_FIRST, reverse=True)  # stable: equals keep the sentence's order
            for strength, w, _term, _record in keys[MAX_KEYS:]:
                reach += strength
                square += w * w
            del keys[MAX_KEYS:]
        # A partial sum misses the single characters' and the unwalked words' share: at most
        # their best values, and (Cauchy-Schwarz: a text's vector has length 1) at most the
        # length of that part of the sentence's vector; in a long list, at most the value
        # where the walk stopped.
        slack = min(reach, math.sqrt(square))
        stops = peaks = 0.0
        for strength, w, _term, record in keys:
            stops += record[4] * w
            peaks += strength
        slack += stops
        # No text's partial sum exceeds the sum of the walked lists' best values (rounding is
        # monotonic): when even that cannot reach the floor, nothing is found (chatter).
        if floor and peaks + slack < floor:
            return {}, 0.0
        # Partial sums: the first list's made in C (x == 0.0 + x), the others' added to them.
        mul = operator.mul
        postings = self.postings
        acc: dict[int, float] = {}
        get = acc.get
        for _strength, w, term, record in keys:
            docs, values = (record[1], record[2]) if floor else postings[term]
            if acc:
                for doc, value in zip(docs, values, strict=True):
                    acc[doc] = get(doc, 0.0) + value * w
            else:
                acc = dict(zip(docs, map(mul, values, repeat(w)), strict=True))
                get = acc.get
        vectors = self.doc_vectors
        zeros = [0.0] * len(terms)
        doc_entry = self.doc_entry
        best: dict[int, Hit] = {}
        if not floor:
            for doc in acc:  # all in C: a dict lookup per term of the sentence
                score = sum(map(mul, map(vectors[doc].get, terms, zeros), weights))
                entry = doc_entry[doc]
                if entry not in best or score > best[entry][0]:
                    best[entry] = (score, -entry, doc)
            return best, 0.0
        bar = floor
        # The best entry's score and number, and the runner-up's score: the bar (the keep-th
        # best entry's score, once past the floor) without sorting what is held.
        top, top_entry, second = -1.0, -1, -1.0
        ranked = sorted(acc, key=acc.__getitem__, reverse=True)  # stable: equals keep their order
        for doc in ranked[:MAX_EXACT]:
            if acc[doc] + slack < bar:
                return best, 0.0
            score = sum(map(mul, map(vectors[doc].get, terms, zeros), weights))
            entry = doc_entry[doc]
            held = best.get(entry)
            if held is None or score > held[0]:
                best[entry] = (score, -entry, doc)
                if entry == top_entry:
                    top = score
                elif score > top:
                    top, top_entry, second = score, entry, top
                elif score > second:
                    second = score
                # The keep-th best entry's score moves only when one passes the bar.
                if score > bar and len(best) >= keep:
                    if keep <= 2:
                        bar = max(floor, top if keep == 1 else second)
                    else:
                        bar = max(floor, sorted([b[0] for b in best.values()])[-keep])
        if len(ranked) > MAX_EXACT:  # MAX_EXACT were scored: how high might the rest reach?
            partial = acc[ranked[MAX_EXACT]]
            if partial + slack >= bar:
                return best, min(1.0, partial + slack)
        return best, 0.0

    def rank(self, text: str, limit: int = 3, floor: float = 0.0) -> Ranking:
        """The best `limit` entries (and published articles) for `text`, best first; with a
        `floor`, candidates below it may be missing."""
        terms, faq, articles, unseen = self.ranked(text, limit, floor)
        return Ranking(
            [self.candidate(hit, terms) for hit in faq],
            [self.candidate(hit, terms) for hit in articles],
            unseen,
        )

    def ranked(
        self, text: str, limit: int = 3, floor: float = 0.0
    ) -> tuple[dict[str, float], list[Hit], list[Hit], float]:
        """What `rank` finds before it becomes Candidates (engine.faq.judge makes only those
        it answers with): the sentence's terms, the best entries and the best articles as
        hits, and `unseen`."""
        terms, norm, known = self.query(text)
        best, unseen = self.scores(known, norm, floor, keep=min(limit, 2))
        ordered = sorted(best.values(), reverse=True)
        if not self.has_articles:
            return terms, ordered[:limit], [], unseen
        faq: list[Hit] = []
        articles: list[Hit] = []
        faq_count = self.faq_count
        for hit in ordered:
            out = articles if -hit[1] >= faq_count else faq
            if len(out) < limit:
                out.append(hit)
            elif len(faq) >= limit and len(articles) >= limit:
                break
        return terms, faq, articles, unseen

    def candidate(self, hit: Hit, terms: dict[str, float]) -> Candidate:
        """A hit of `ranked` as a Candidate; `terms`: the sentence's, as `ranked` gave them."""
        _score, entry_no, doc = hit
        # The terms it shares with the sentence, marked "!" when specific.
        marked = self._marked
        shared = tuple(map(marked.__getitem__, filter(terms.__contains__, self.doc_vectors[doc])))
        return _new_candidate(self.entries[-entry_no], capped(hit), self.doc_text[doc], shared)


_SET_ENTRY, _SET_SCORE, _SET_TEXT, _SET_SHARED = (
    getattr(Candidate, name).__set__ for name in ("entry", "score", "text", "shared")
)


def _new_candidate(entry: Entry, score: float, text: str, shared: tuple[str, ...]) -> Candidate:
    """Candidate(entry, score, text, shared), made without the frozen dataclass's __init__ (an
    object.__setattr__ per field, slow next to the rest of a candidate)."""
    made = object.__new__(Candidate)
    _SET_ENTRY(made, entry)
    _SET_SCORE(made, score)
    _SET_TEXT(made, text)
    _SET_SHARED(made, shared)
    return made


def capped(hit: Hit) -> float:
    """A hit's score as its Candidate shows it (at most 1.0): what the verdict compares."""
    return min(hit[0], 1.0)


_FIRST = operator.itemgetter(0)


_BACKGROUND_SIZE = len(faq_lexicon.BACKGROUND)
_background_cache: dict[int, dict[str, int]] = {}


def _background_df(lexicon: Lexicon) -> dict[str, int]:
    """Document frequencies of the background sentences, read with `lexicon`."""
    key = id(lexicon.automaton)
    found = _background_cache.get(key)
    if found is None:
        found = {}
        for sentence in faq_lexicon.BACKGROUND:
            for term in lexicon.terms(sentence):
                found[term] = found.get(term, 0) + 1
        _background_cache.clear()  # one lexicon at a time is in use
        _background_cache[key] = found
    return found
