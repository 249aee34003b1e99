"""The knowledge base: entries, synonyms, the try-it box, import / export, the unanswered
questions grouped, and each entry's quality."""

from __future__ import annotations

from chalicelib.openapi.spec import items_of, op, path_param, query_param, ref, stored
from chalicelib.openapi.wechat import wop  # an answer naming a media item uploads it

_str = {"type": "string"}
_int = {"type": "integer"}
_num = {"type": "number"}
_bool = {"type": "boolean"}
_date = {"type": "string", "format": "date"}
_text = {"type": "string", "minLength": 1, "maxLength": 200}
_texts = {"type": "array", "items": _text, "minItems": 1, "maxItems": 100}
_nf = (400, 401, 404, 503)

SCHEMAS = {
    "FaqInput": {
        "type": "object",
        "required": ["question", "answer"],
        "description": "A text message that no rule and no flow answers is matched against every "
        "enabled entry's question and alternatives (Chinese: characters, bigrams and a banking "
        "synonym list). A confident match answers with `answer` (log outcome `faq`, `rule_id` the "
        "entry id); two or three close ones get a clarifying question (outcome `faq_clarify`) "
        "whose `1` / `2` answers it; otherwise the default reply. Changes reach followers within "
        "5 s. `answer` may name a media item (`media`) or CMS articles (`article_ids`).",
        "properties": {
            "question": _text,
            "alternatives": {"type": "array", "items": _text, "maxItems": 100},
            "answer": ref("Reply"),
            "category": {"type": "string", "maxLength": 40, "default": ""},
            "enabled": {"type": "boolean", "default": True},
        },
    },
    "FaqEntry": stored("FaqInput"),
    "FaqSynonyms": {
        "type": "object",
        "required": ["groups"],
        "description": "Groups of words read as one: the first word of a group is what the "
        'others mean (e.g. ["借记卡", "储蓄卡", "工资卡"]). Applied on top of the built-in '
        "banking list; a change reaches followers within 5 s.",
        "properties": {
            "groups": {
                "type": "array",
                "maxItems": 500,
                "items": {
                    "type": "array",
                    "minItems": 2,
                    "maxItems": 50,
                    "items": {"type": "string", "minLength": 1, "maxLength": 20},
                },
            }
        },
    },
    "FaqCandidate": {
        "type": "object",
        "properties": {
            "id": {**_str, "description": "entry id, or `article:<id>` for an article"},
            "question": _str,
            "score": {**_num, "description": "0..1 (cosine of the two sentences' terms)"},
            "matched": {**_str, "description": "the question or alternative that scored best"},
            "banking_word": {**_bool, "description": "shares a banking word (needed to answer)"},
        },
    },
    "FaqTry": {
        "type": "object",
        "properties": {
            "verdict": {"enum": ["answer", "clarify", "article", "none"]},
            "reply": {**ref("Reply"), "nullable": True},
            "understood": {**_str, "description": "the text after synonyms and fillers"},
            "candidates": {"type": "array", "items": ref("FaqCandidate")},
            "articles": {"type": "array", "items": ref("FaqCandidate")},
            "thresholds": {"type": "object"},
        },
    },
    "FaqImport": {
        "type": "object",
        "description": "A table with the columns question, alternatives (separated by `|` or "
        "new lines), answer (text) and optionally category: CSV (UTF-8, a header row) in `csv`, "
        "or an .xlsx workbook (its first sheet) base64-encoded in `xlsx`. Every row is checked "
        "before anything is written; `replace` deletes every entry not in the import.",
        "properties": {
            "csv": _str,
            "xlsx": {**_str, "format": "byte"},
            "replace": {"type": "boolean", "default": False},
        },
    },
    "FaqExport": {
        "type": "object",
        "properties": {
            "filename": _str,
            "content_type": _str,
            "base64": {**_str, "format": "byte"},
            "entries": _int,
        },
    },
    "FaqCluster": {
        "type": "object",
        "properties": {
            "count": {**_int, "description": "unanswered messages in the group"},
            "texts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"text": _str, "sample": _str, "count": _int},
                },
            },
            "suggestions": {"type": "array", "items": ref("FaqCandidate")},
        },
    },
    "FaqQuality": {
        "type": "object",
        "properties": {
            "id": _str,
            "question": _str,
            "enabled": _bool,
            "answered": {**_int, "description": "messages it answered (picked ones included)"},
            "asked_again": {
                **_int,
                "description": "answers after which the follower asked again within 2 minutes",
            },
            "human": {**_int, "description": "answers after which the follower asked for a human"},
            "bad_rate": {
                **_num,
                "nullable": True,
                "description": "(asked_again + human) / answered",
            },
        },
    },
}

_entry_id = path_param("entry_id")
_range = [query_param("from", _date), query_param("to", _date)]

PATHS = {
    "/admin/faq": {
        "get": op(
            "List entries (oldest first)",
            tag="faq",
            params=[
                query_param("q", _str, "words that must all appear (question, alternatives, …)"),
                query_param("category", _str, "only this category"),
            ],
            returns=items_of(ref("FaqEntry")),
        ),
        "post": wop(
            "Create an entry", tag="faq", body=ref("FaqInput"), ok=201, returns=ref("FaqEntry")
        ),
    },
    "/admin/faq/{entry_id}": {
        "parameters": [_entry_id],
        "get": op("Get an entry", tag="faq", returns=ref("FaqEntry"), errors=(401, 404, 503)),
        "put": wop(
            "Update an entry (fields left out keep their value)",
            tag="faq",
            body={"type": "object"},
            returns=ref("FaqEntry"),
            errors=_nf,
        ),
        "patch": wop(
            "Update some fields of an entry",
            tag="faq",
            body={"type": "object"},
            returns=ref("FaqEntry"),
            errors=_nf,
        ),
        "delete": op("Delete an entry", tag="faq", ok=204, errors=(401, 404, 503)),
    },
    "/admin/faq/{entry_id}/alternatives": {
        "parameters": [_entry_id],
        "post": op(
            "Attach followers' wordings to an entry as alternatives",
            tag="faq",
            body={"type": "object", "required": ["texts"], "properties": {"texts": _texts}},
            returns=ref("FaqEntry"),
            errors=(400, 401, 404, 409, 503),
        ),
    },
    "/admin/faq/synonyms": {
        "get": op("The synonym list", tag="faq", returns=ref("FaqSynonyms"), errors=(401, 503)),
        "put": op(
            "Replace the synonym list",
            tag="faq",
            body=ref("FaqSynonyms"),
            returns=ref("FaqSynonyms"),
        ),
    },
    "/admin/faq/try": {
        "post": op(
            "What the knowledge base would answer to a sentence, with its best candidates",
            tag="faq",
            body={"type": "object", "required": ["text"], "properties": {"text": _text}},
            returns=ref("FaqTry"),
        ),
    },
    "/admin/faq/import": {
        "post": op(
            "Bulk import from CSV or XLSX",
            tag="faq",
            body=ref("FaqImport"),
            returns={
                "type": "object",
                "properties": {"imported": _int, "deleted": _int},
            },
        ),
    },
    "/admin/faq/export": {
        "get": op(
            "Every entry as CSV or XLSX (base64, for a download)",
            tag="faq",
            params=[query_param("format", {"enum": ["csv", "xlsx"], "default": "csv"})],
            returns=ref("FaqExport"),
            errors=(400, 401, 503),
        ),
    },
    "/admin/faq/unanswered": {
        "get": op(
            "Unanswered questions, grouped by similarity, biggest group first",
            tag="faq",
            params=[
                *_range,
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
            ],
            returns=items_of(ref("FaqCluster")),
        ),
    },
    "/admin/faq/quality": {
        "get": op(
            "Per entry: answers, offers, and signs of a bad answer (asked again, asked for a "
            "human), summed from the message stream (seconds behind)",
            tag="faq",
            params=_range,
            returns={
                **items_of(ref("FaqQuality")),
                "description": "`articles`: the same counters for published articles that "
                "answered; `as_of`: every message before it is counted",
            },
        ),
    },
}
