"""Template messages as WeChat shows them since 2023: the fields of a template and the rules
their values must keep. Pure functions, no I/O: the campaign checks and the notification API
both call `check_data` before anything is scheduled or sent.

A template's content names its fields, `{{thing1.DATA}}`; the name's prefix is the field's type
(类目模板, category templates: `thing` at most 20 characters, `amount` a currency amount, ...).
Older industry templates have `first`, `keyword1..n` and `remark`. Since 2023 WeChat shows no
`first`, no `remark` and no colours, each middle field at most 20 characters without line
breaks; a value that breaks its type's rule fails at send time with errcode 47003, per follower.
Checking before scheduling turns that into one 400 for the admin.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import InvalidInput

_FIELD = re.compile(r"\{\{\s*([A-Za-z][A-Za-z0-9_]*)\.DATA\s*\}\}")
_TYPED_KEY = re.compile(r"^([a-z_]*[a-z])_?(\d*)$")
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_IS_CJK = re.compile(f"[{_CJK}]")

DROPPED_IN_2023 = "WeChat stopped showing it in 2023"
COLOR_REFUSED = (
    "color: template messages no longer show colours (WeChat dropped them in 2023); "
    "send the value alone"
)
LEGACY_REFUSED = (
    "{key}: category templates have no '{key}' field, and WeChat stopped showing "
    "first and remark in template messages in 2023; put what matters in the template's own "
    "fields"
)

# Date and time as WeChat accepts them: 2019年10月1日, 2019-10-01, 2019/10/01, 2019.10.01,
# 2019-10, 10-01, 10月1日, optionally followed by HH:MM[:SS]; a range joins two with "~".
_DATE = (
    r"(?:\d{4}年\d{1,2}月(?:\d{1,2}日)?|\d{1,2}月\d{1,2}日"
    r"|\d{4}[-/.]\d{1,2}(?:[-/.]\d{1,2})?|\d{1,2}-\d{1,2})"
)
_TIME = r"(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?"
_DATE_VALUE = re.compile(rf"^{_DATE}(?:\s*{_TIME})?(?:\s*~\s*(?:{_DATE})?(?:\s*{_TIME})?)?$")
_TIME_VALUE = re.compile(
    rf"^(?:{_DATE}\s*)?{_TIME}(?:\s*~\s*(?:{_DATE}\s*)?{_TIME})?$|^{_DATE}\s*{_TIME}$"
)
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")
_AMOUNT = re.compile(r"^-?(?:[¥￥$€£]|HK\$|US\$|[A-Z]{3})?-?\d{1,10}(?:\.\d+)?元?$")
_CAR = re.compile(f"^[{_CJK}]?[A-Za-z0-9]{{1,7}}[{_CJK}]?$")


def _is_symbol(ch: str) -> bool:
    return not ch.isalnum() and not ch.isspace() and not _IS_CJK.match(ch)


def _is_ascii_text(ch: str) -> bool:
    return " " <= ch <= "~"


@dataclass(frozen=True)
class Rule:
    """One field type: its length limit, the characters it takes (checked on any part of a
    value) and the shape of a whole value (checked when the value is known in full)."""

    max: int | None
    what: str
    chars: Callable[[str], bool] | None = None
    shape: re.Pattern[str] | None = None


_WHEN = "e.g. 15:01 or 2019年10月1日 15:01"
RULES: dict[str, Rule] = {
    "thing": Rule(20, "at most 20 characters"),
    "number": Rule(32, "a number (digits, may have decimals), at most 32", None, _NUMBER),
    "letter": Rule(32, "letters only, at most 32", lambda c: c.isascii() and c.isalpha()),
    "symbol": Rule(5, "symbols only, at most 5", _is_symbol),
    "character_string": Rule(32, "digits, letters or symbols, at most 32", _is_ascii_text),
    "time": Rule(None, f"a 24-hour time, {_WHEN}", None, _TIME_VALUE),
    "date": Rule(None, "a date, e.g. 2019年10月1日 or 2019-10-01", None, _DATE_VALUE),
    "amount": Rule(None, "a currency amount, e.g. ¥100.00 or 100.00元", None, _AMOUNT),
    "phone_number": Rule(17, "digits and symbols, at most 17", lambda c: c in "0123456789+-()* "),
    "car_number": Rule(8, "a plate, e.g. 粤A8Z888挂", None, _CAR),
    "name": Rule(20, "10 Chinese characters or 20 letters at most"),
    "phrase": Rule(5, "up to 5 Chinese characters", lambda c: bool(_IS_CJK.match(c))),
    "const": Rule(20, "at most 20 characters"),
    "enum": Rule(None, "one of the values the template allows"),
    # Industry templates (before category templates): the middle fields keep a 20-character
    # limit since 2023; first and remark are accepted but no longer shown.
    "keyword": Rule(20, "at most 20 characters"),
    "first": Rule(None, f"not shown: {DROPPED_IN_2023}"),
    "remark": Rule(None, f"not shown: {DROPPED_IN_2023}"),
}
LEGACY_TYPES = frozenset({"keyword", "first", "remark"})
CATEGORY_TYPES = frozenset(RULES) - LEGACY_TYPES


@dataclass(frozen=True)
class Field:
    key: str
    type: str  # a key of RULES, or "text" for a name we do not know
    max: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "type": self.type, "max": self.max}


def field_of(key: str) -> Field:
    """`thing1` -> thing (max 20), `character_string2` -> character_string, `keyword3` ->
    keyword (an industry template's middle field)."""
    if key in ("first", "remark"):
        return Field(key, key, None)
    match = _TYPED_KEY.match(key)
    kind = match.group(1) if match else ""
    if kind in RULES:
        return Field(key, kind, RULES[kind].max)
    return Field(key, "text", None)


def parse_fields(content: str) -> list[Field]:
    """The fields of a template's content, in order, each once."""
    keys = dict.fromkeys(m.group(1) for m in _FIELD.finditer(content or ""))
    return [field_of(key) for key in keys]


def is_category(fields: Iterable[Field]) -> bool:
    """A category template (类目模板): typed fields, none of the industry template's."""
    types = {f.type for f in fields}
    return bool(types & CATEGORY_TYPES) and not types & LEGACY_TYPES


def template_view(raw: Mapping[str, Any]) -> dict[str, Any]:
    """One entry of template/get_all_private_template as the admin API shows it."""
    content = str(raw.get("content") or "")
    fields = parse_fields(content)
    view: dict[str, Any] = {
        "template_id": str(raw.get("template_id") or ""),
        "title": str(raw.get("title") or ""),
        "content": content,
        "fields": [f.to_dict() for f in fields],
        "category": is_category(fields),
    }
    for name in ("example", "primary_industry", "deputy_industry"):
        if raw.get(name):
            view[name] = str(raw[name])
    return view


def fields_of(template: Mapping[str, Any]) -> list[Field]:
    """The fields of a template view (`template_view`)."""
    return [Field(f["key"], f["type"], f.get("max")) for f in template.get("fields") or []]


def _length(field: Field, text: str) -> int | None:
    """The limit that applies to `text` (a name with Chinese characters: 10)."""
    if field.type == "name" and _IS_CJK.search(text):
        return 10
    return field.max


def check_value(field: Field, text: str, *, partial: bool = False) -> str | None:
    """Why `text` breaks the field's rule, or None. `partial`: `text` is only the fixed part of
    a value completed later (a campaign's per-follower placeholders): its length is a lower
    bound and its characters must fit, but its shape cannot be judged yet."""
    if any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in text):
        return "no line breaks or control characters"
    rule = RULES.get(field.type)
    if rule is None:
        return None
    limit = _length(field, text)
    if limit is not None and len(text) > limit:
        return f"{len(text)} characters; {field.type} fields take {rule.what}"
    if rule.chars is not None and not all(rule.chars(ch) for ch in text):
        return f"{field.type} fields take {rule.what}"
    if field.type == "name" and not _IS_CJK.search(text) and any(ch.isdigit() for ch in text):
        return f"name fields take {rule.what}"
    if not partial and rule.shape is not None and not rule.shape.match(text.strip()):
        return f"{field.type} fields take {rule.what}"
    return None


def value_of(key: str, entry: Any, where: str) -> str:
    """The text of one data entry: `"text"` or `{"value": "text"}` (colour refused)."""
    if isinstance(entry, Mapping):
        if "color" in entry:
            raise InvalidInput(f"{where}.{key}.{COLOR_REFUSED}", field=key)
        unknown = sorted(set(entry) - {"value"})
        if unknown:
            raise InvalidInput(f"{where}.{key}: unknown field(s) {', '.join(unknown)}", field=key)
        entry = entry.get("value")
    if not isinstance(entry, str):
        raise InvalidInput(f'{where}.{key}: text, or {{"value": text}}', field=key)
    return entry


def check_data(
    template: Mapping[str, Any],
    data: Mapping[str, Any],
    *,
    where: str = "data",
    fixed_part: Callable[[str], tuple[str, bool]] | None = None,
) -> None:
    """Refuse (InvalidInput, naming the field) data that WeChat would drop or refuse with 47003.

    `template` is a `template_view`; `data` maps field keys to text or `{"value": text}`.
    `fixed_part(text)` -> (the text without its placeholders, whether it had any): for data
    filled in per follower later (campaigns); None when the values are final (one notification).
    Fields left out are allowed (WeChat shows them empty)."""
    if not isinstance(data, Mapping) or not data:
        raise InvalidInput(f"{where}: an object of field -> text")
    fields = {f.key: f for f in fields_of(template)}
    category = bool(template.get("category"))
    for key, entry in data.items():
        text = value_of(str(key), entry, where)
        field = fields.get(str(key))
        if field is None:
            if category and key in ("first", "remark"):
                raise InvalidInput(f"{where}.{LEGACY_REFUSED.format(key=key)}", field=str(key))
            known = ", ".join(fields) or "none"
            raise InvalidInput(
                f"{where}.{key}: template {template.get('template_id')} has no field {key!r} "
                f"(its fields: {known})",
                field=str(key),
            )
        partial = False
        if fixed_part is not None:
            text, partial = fixed_part(text)
        reason = check_value(field, text, partial=partial)
        if reason:
            raise InvalidInput(f"{where}.{key}: {reason}", field=str(key))
