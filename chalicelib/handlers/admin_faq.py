"""Admin routes for the knowledge base: entries, the synonym list, the "try it" box and
attaching followers' questions to an entry. (Import, export, the unanswered clusters and the
per-entry quality: handlers/admin_faq_tools.py.)"""

from __future__ import annotations

from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.cms.replies import check_reply_refs
from chalicelib.engine import faq as faq_engine
from chalicelib.engine.faq_entries import (
    MAX_QUESTION,
    clean_alternatives,
    validate_entry,
    validate_synonyms,
)
from chalicelib.errors import Conflict, InvalidInput
from chalicelib.handlers.common import admin_route, json_response, read_object
from chalicelib.media.replies import validated
from chalicelib.store import faq as store

bp = Blueprint(__name__)
admin = admin_route(bp)


def public(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "seq"}


def _matches(entry: dict[str, Any], words: list[str], category: str | None) -> bool:
    if category is not None and entry["category"] != category:
        return False
    haystack = " ".join([entry["question"], *entry["alternatives"], entry["category"]])
    answer = entry["answer"]
    if answer.get("type") == "text":
        haystack += " " + answer.get("content", "")
    haystack = haystack.casefold()
    return all(word in haystack for word in words)


@bp.route("/admin/faq", methods=["GET"])
@admin("faq:read")
def list_entries() -> dict:
    """Every entry, oldest first; `q`: words that must all appear in the question, an
    alternative, the category or a text answer; `category`: exactly this category."""
    params = bp.current_request.query_params or {}
    words = (params.get("q") or "").casefold().split()
    category = params.get("category")
    entries = store.list_entries()
    if words or category is not None:
        entries = [e for e in entries if _matches(e, words, category)]
    return {"items": [public(e) for e in entries]}


def _validated(body: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    # An answer may name a media item ({"media": id}): uploaded as permanent material on save.
    fields = validated(
        lambda b: validate_entry(b, base=base), body, wiring.wechat(), reply_key="answer"
    )
    check_reply_refs(fields["answer"])  # news by article id: the articles must exist
    return fields


@bp.route("/admin/faq", methods=["POST"])
@admin("faq:write")
def create_entry() -> Response:
    fields = _validated(read_object(bp.current_request))
    return json_response(public(store.create_entry(fields)), 201)


@bp.route("/admin/faq/{entry_id}", methods=["GET"])
@admin("faq:read")
def get_entry(entry_id: str) -> dict:
    return public(store.get_entry(entry_id))


@bp.route("/admin/faq/{entry_id}", methods=["PUT", "PATCH"])
@admin("faq:write")
def update_entry(entry_id: str) -> dict:
    body = read_object(bp.current_request)
    current = store.get_entry(entry_id)
    return public(store.replace_entry(entry_id, _validated(body, current)))


@bp.route("/admin/faq/{entry_id}", methods=["DELETE"])
@admin("faq:write")
def delete_entry(entry_id: str) -> Response:
    store.delete_entry(entry_id)
    return Response("", status_code=204)


@bp.route("/admin/faq/{entry_id}/alternatives", methods=["POST"])
@admin("faq:write")
def add_alternatives(entry_id: str) -> dict:
    """{"texts": [...]}: followers' wordings become alternatives of the entry (those it already
    has are skipped), so the next such question is answered."""
    body = read_object(bp.current_request)
    if set(body) - {"texts"} or not isinstance(body.get("texts"), list) or not body["texts"]:
        raise InvalidInput('body must be {"texts": [str, ...]} with at least one text')
    texts = clean_alternatives(body["texts"], name="texts")
    for _attempt in range(3):
        current = store.get_entry(entry_id)
        merged = clean_alternatives(current["alternatives"] + texts, current["question"])
        if merged == current["alternatives"]:
            return public(current)
        try:
            return public(store.set_alternatives(entry_id, merged, current["updated_at"]))
        except store.StaleEntry:
            continue  # changed meanwhile: read again and merge again
    raise Conflict("the entry keeps changing; try again", retryable=True)


@bp.route("/admin/faq/synonyms", methods=["GET"])
@admin("faq:read")
def get_synonyms() -> dict:
    """The admins' synonym groups (applied on top of the built-in banking list)."""
    return {"groups": store.get_synonyms()}


@bp.route("/admin/faq/synonyms", methods=["PUT"])
@admin("faq:write")
def put_synonyms() -> dict:
    groups = validate_synonyms(read_object(bp.current_request))
    store.put_synonyms(groups)
    return {"groups": groups}


@bp.route("/admin/faq/try", methods=["POST"])
@admin("faq:read")
def try_text() -> dict:
    """{"text"}: what the knowledge base would do with it, and its best candidates with
    scores, from the snapshot the callback answers from (current within a few seconds)."""
    body = read_object(bp.current_request)
    text = body.get("text")
    if set(body) - {"text"} or not isinstance(text, str) or not text.strip():
        raise InvalidInput('body must be {"text": "<a follower\'s message>"}')
    if len(text) > MAX_QUESTION:
        raise InvalidInput(f"text must be at most {MAX_QUESTION} characters")
    index = wiring.callback().faq_index()
    verdict = faq_engine.judge(index, text)
    ranking = index.rank(text, limit=5) if index else None
    return {
        "verdict": verdict.kind,
        "reply": _reply_of(verdict),
        "understood": index.lexicon.canonical(text) if index else text,
        "candidates": [_candidate(c) for c in ranking.entries] if ranking else [],
        "articles": [_candidate(c) for c in ranking.articles] if ranking else [],
        "thresholds": {
            "answer": faq_engine.ACCEPT,
            "margin": faq_engine.MARGIN,
            "suggest": faq_engine.SUGGEST,
        },
    }


def _reply_of(verdict: faq_engine.Verdict) -> dict[str, Any] | None:
    if verdict.kind == "answer" and verdict.entry:
        return verdict.entry.answer
    if verdict.kind == "article" and verdict.entry:
        return faq_engine.article_reply(verdict.entry)
    if verdict.kind == "clarify":
        return faq_engine.clarify_reply(verdict.candidates)
    return None


def _candidate(candidate: Any) -> dict[str, Any]:
    entry = candidate.entry
    return {
        "id": entry.id,
        "question": entry.question,
        "score": round(candidate.score, 3),
        "matched": candidate.text,
        "banking_word": candidate.specific,
    }
