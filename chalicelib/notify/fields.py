"""Template data as WeChat accepts it since 2023, checked before anything is sent (pure).

A category template's (and a subscribe notification's) fields carry their type in their name
(`thing3`, `amount2`, `time4`); each type has WeChat's own rule (NOTES.md: `thing` <= 20
characters, `character_string` <= 32, `phrase` <= 5, ...). A value breaking it would fail at
WeChat with 47003; here it is a 400 naming the field. `color` is refused everywhere and
`first` / `remark` on category templates: WeChat stopped showing them in 2023.

This checks by field name only. Once the account's templates are synced with their declared
fields (issue 17 part A, `GET /admin/templates`), `check` is the one place to ask that instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from chalicelib.errors import InvalidInput

MAX_FIELDS = 20
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
_TYPED = re.compile(
    r"^(thing|number|letter|symbol|character_string|time|date|amount|phone_number|car_number"
    r"|name|phrase|const)\d*$"
)
LEGACY_ONLY = ("first", "remark")
# type -> (max characters, a pattern the whole value must match or None, what it takes)
RULES: dict[str, tuple[int, re.Pattern[str] | None, str]] = {
    "thing": (20, None, "text"),
    "number": (32, re.compile(r"^[0-9]+(\.[0-9]+)?$"), "digits (a decimal point allowed)"),
    "letter": (32, re.compile(r"^[A-Za-z]+$"), "letters"),
    "symbol": (5, re.compile(r"^[^\sA-Za-z0-9\u4e00-\u9fff]+$"), "symbols"),
    "character_string": (32, re.compile(r"^[!-~]+$"), "letters, digits and symbols"),
    "time": (32, None, "a time"),
    "date": (32, None, "a date"),
    "amount": (
        20,
        re.compile(r"^[¥$€£]?-?[0-9]{1,10}(\.[0-9]{1,2})?元?$"),
        "an amount (a currency sign, up to 10 digits and 2 decimals)",
    ),
    "phone_number": (17, re.compile(r"^\+?[0-9][0-9 \-]*$"), "a phone number"),
    "car_number": (8, None, "a licence plate"),
    "name": (20, None, "a name"),
    "phrase": (5, None, "a short phrase"),
}


def field_type(key: str) -> str | None:
    """The WeChat type a field name carries (`thing3` -> thing), or None (an old template's
    `keyword1`)."""
    match = _TYPED.match(key)
    return match.group(1) if match else None


def check(data: Any, where: str = "data") -> dict[str, dict[str, str]]:
    """The data as WeChat takes it ({key: {"value": text}}), or InvalidInput naming the field."""
    if not isinstance(data, Mapping) or not data:
        raise InvalidInput(f"{where}: an object of field -> text or {{value}}")
    if len(data) > MAX_FIELDS:
        raise InvalidInput(f"{where}: at most {MAX_FIELDS} fields")
    category = any(field_type(str(k)) for k in data)
    out: dict[str, dict[str, str]] = {}
    for key, raw in data.items():
        name = f"{where}.{key}"
        if not isinstance(key, str) or not _KEY.match(key):
            raise InvalidInput(f"{where}: {str(key)[:40]!r} is not a template field name")
        if isinstance(raw, Mapping):
            if "color" in raw:
                raise InvalidInput(
                    f"{name}.color: WeChat no longer shows colours (2023); send the value only"
                )
            unknown = sorted(set(raw) - {"value"})
            if unknown:
                raise InvalidInput(f"{name}: unknown field(s) {', '.join(unknown)}")
            value = raw.get("value")
        else:
            value = raw
        if not isinstance(value, str):
            raise InvalidInput(f"{name}: text")
        if category and key in LEGACY_ONLY:
            raise InvalidInput(
                f"{name}: category templates have no {key} field (WeChat dropped first and "
                "remark in 2023)"
            )
        kind = field_type(key)
        if kind is not None:
            _check_value(name, kind, value)
        elif len(value) > 200:
            raise InvalidInput(f"{name}: at most 200 characters")
        out[key] = {"value": value}
    return out


def _check_value(name: str, kind: str, value: str) -> None:
    if kind == "const":
        return  # fixed by the template; WeChat ignores what is sent
    if not value.strip():
        raise InvalidInput(f"{name}: a {kind} field must not be empty")
    if "\n" in value or "\r" in value:
        raise InvalidInput(f"{name}: no line breaks (WeChat shows one line per field)")
    limit, pattern, what = RULES[kind]
    if len(value) > limit:
        raise InvalidInput(f"{name}: a {kind} field takes at most {limit} characters")
    if pattern is not None and not pattern.match(value):
        raise InvalidInput(f"{name}: a {kind} field takes {what}")
