"""What a knowledge-base entry and the synonym list may be: validation of admin bodies, one
clear message per mistake, nothing stored. Pure.

Entry: {"question": str, "alternatives": [str], "answer": Reply, "category": str,
"enabled": bool}. Synonyms: {"groups": [[canonical, synonym, ...], ...]}.
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import InvalidInput
from chalicelib.wechat.replies import validate_reply

ENTRY_FIELDS = ("question", "alternatives", "answer", "category", "enabled")
READ_ONLY = ("id", "created_at", "updated_at")
MAX_QUESTION = 200
MAX_ALTERNATIVES = 100
MAX_CATEGORY = 40
MAX_GROUPS = 500
MAX_GROUP_WORDS = 50
MAX_WORD = 20


def _text(value: Any, name: str, limit: int, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string")
    text = " ".join(value.split())
    if not text and not empty:
        raise InvalidInput(f"{name} must not be empty")
    if len(text) > limit:
        raise InvalidInput(f"{name} must be at most {limit} characters")
    return text


def clean_alternatives(value: Any, question: str = "", name: str = "alternatives") -> list[str]:
    """Alternatives as stored: trimmed, without repeats (nor the question itself)."""
    if not isinstance(value, list):
        raise InvalidInput(f"{name} must be a list of strings")
    out: list[str] = []
    seen = {question.casefold()} if question else set()
    for n, raw in enumerate(value):
        text = _text(raw, f"{name}[{n}]", MAX_QUESTION)
        if text.casefold() not in seen:
            seen.add(text.casefold())
            out.append(text)
    if len(out) > MAX_ALTERNATIVES:
        raise InvalidInput(f"{name} may hold at most {MAX_ALTERNATIVES} phrasings")
    return out


def validate_entry(body: Any, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """`base`: the stored entry when updating (fields absent from `body` keep their value)."""
    if not isinstance(body, dict):
        raise InvalidInput("entry must be a JSON object")
    unknown = sorted(set(body) - set(ENTRY_FIELDS) - set(READ_ONLY))
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
    merged: dict[str, Any] = {"alternatives": [], "category": "", "enabled": True}
    if base:
        merged.update({k: base[k] for k in ENTRY_FIELDS if k in base})
    merged.update({k: body[k] for k in ENTRY_FIELDS if k in body})
    for required in ("question", "answer"):
        if merged.get(required) is None:
            raise InvalidInput(f"{required} is required")
    question = _text(merged["question"], "question", MAX_QUESTION)
    alternatives = clean_alternatives(merged["alternatives"], question)
    category = _text(merged["category"] or "", "category", MAX_CATEGORY, empty=True)
    enabled = merged["enabled"]
    if not isinstance(enabled, bool):
        raise InvalidInput("enabled must be true or false")
    try:
        answer = validate_reply(merged["answer"])
    except InvalidInput as exc:
        raise InvalidInput(str(exc).replace("reply", "answer", 1)) from None
    return {
        "question": question,
        "alternatives": alternatives,
        "answer": answer,
        "category": category,
        "enabled": enabled,
    }


def validate_synonyms(body: Any) -> list[list[str]]:
    """{"groups": [[word, synonym, ...], ...]}: the first word of a group is the one the
    others are read as."""
    if not isinstance(body, dict) or set(body) - {"groups"} or "groups" not in body:
        raise InvalidInput('body must be {"groups": [[word, synonym, ...], ...]}')
    groups = body["groups"]
    if not isinstance(groups, list):
        raise InvalidInput("groups must be a list of lists of words")
    if len(groups) > MAX_GROUPS:
        raise InvalidInput(f"at most {MAX_GROUPS} groups")
    out: list[list[str]] = []
    for n, group in enumerate(groups):
        if not isinstance(group, list) or not 2 <= len(group) <= MAX_GROUP_WORDS:
            raise InvalidInput(f"groups[{n}] must list 2 to {MAX_GROUP_WORDS} words")
        words = [_text(w, f"groups[{n}][{i}]", MAX_WORD) for i, w in enumerate(group)]
        out.append(list(dict.fromkeys(words)))
    return out
