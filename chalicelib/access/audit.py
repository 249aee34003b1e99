"""The audit log: who changed what, when, and how it ended (store.audit keeps the entries).

Every admin write (POST, PUT, PATCH, DELETE) by a known caller gets exactly one entry, allowed or
refused; so do sign-ins and failed sign-ins. A request without a valid credential (401) gets
none: it is nobody, and counting it is the brute-force throttle's job.

Order: the entry is written *before* the change (`begin`: actor, method, path, target, what was
asked, the object as it was), then the change runs, then the entry gets its outcome (`finish`:
status, the object as it became). If the entry cannot be written, nothing is changed and the
caller gets 503. If the outcome cannot be written after the change, the change stands (it was
answered) and the entry keeps `status: null`, which the log shows as "outcome not recorded":
the log never lacks a change, it may at worst lack an outcome. Refusals (403, 415) are one write.

Never a secret in it: values under secret-looking names (password, token, secret, ...) and
anything that looks like an API key, a JWT or a presigned URL are replaced by "[redacted]".
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from chalicelib import config
from chalicelib.errors import InvalidInput
from chalicelib.store import audit as store

REDACTED = "[redacted]"
SECRET_NAMES = frozenset(
    {
        "password",
        "new_password",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "secret",
        "app_secret",
        "session",
        "authorization",
        "encoding_aes_key",
        "hash",
    }
)
_SECRET_VALUE = re.compile(r"^(wxk_\S+|eyJ[\w-]+\.[\w-]+\.[\w-]*)$")
#: A presigned URL (a media upload's): whoever holds it may use it until it expires, and it
#: carries the function's session token.
_SIGNED_URL = re.compile(r"[?&](X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential)=", re.I)
#: Longest JSON text an entry keeps of one request, before or after (a rule, a campaign: a few
#: KB; an article body is cut, its id and the rest of the entry stay).
MAX_PART = 6000
CSV_FIELDS = (
    "at_iso",
    "actor",
    "key_id",
    "role",
    "method",
    "path",
    "target",
    "status",
    "event",
    "ip",
    "id",
)


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: REDACTED if str(k).lower() in SECRET_NAMES else redact(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    if isinstance(value, str) and (_SECRET_VALUE.match(value) or _SIGNED_URL.search(value)):
        return REDACTED
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


def _part(value: Any) -> Any:
    """A redacted value, cut to MAX_PART characters of JSON (then kept as that text)."""
    if value is None:
        return None
    clean = redact(value)
    text = json.dumps(clean, ensure_ascii=False, separators=(",", ":"), default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate, as a refused body may hold: no character
        text = _SURROGATE.sub("\ufffd", text)
    if len(text) <= MAX_PART:
        return text
    return json.dumps({"truncated": text[:MAX_PART]}, ensure_ascii=False)


def ttl_seconds() -> int:
    try:
        days = int(config.get(config.AUDIT_TTL_DAYS))
    except ValueError:
        days = 400
    return max(1, days) * 86400


def _now_ms() -> int:
    return int(time.time() * 1000)


def new_id(ms: int | None = None) -> str:
    return f"{_now_ms() if ms is None else ms:013d}#{secrets.token_hex(4)}"


def _iso(ms: int) -> str:
    stamp = datetime.fromtimestamp(ms / 1000, UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def begin(
    *,
    actor: str,
    role: str,
    method: str,
    path: str,
    ip: str,
    target: str | None = None,
    request: Any = None,
    before: Any = None,
    status: int | None = None,
    event: str | None = None,
    key_id: str | None = None,
) -> str:
    """Write an entry (before the change; with `status` when it is already known, e.g. a
    refusal or a sign-in). Its id, for `finish`. StoreUnavailable when it cannot be written."""
    ms = _now_ms()
    entry_id = new_id(ms)
    fields = {
        "at": ms / 1000,  # epoch seconds, as every time in the admin API
        "at_iso": _iso(ms),
        "actor": actor,
        "role": role,
        "key_id": key_id,
        "method": method,
        "path": path,
        "ip": ip,
        "target": target,
        "status": status,
        "event": event,
        "request": _part(request),
        "before": _part(before),
    }
    store.begin(entry_id, {k: v for k, v in fields.items() if v not in (None, "")}, ttl_seconds())
    return entry_id


def finish(entry_id: str, *, status: int, after: Any = None, target: str | None = None) -> None:
    fields: dict[str, Any] = {"status": status}
    if after is not None:
        fields["after"] = _part(after)
    if target:
        fields["target"] = target
    store.finish(entry_id, fields)


# -- reading -------------------------------------------------------------------------------------


def _epoch_ms(raw: str | None, name: str, default: int) -> int:
    """A date bound: epoch seconds, or an ISO 8601 date or time (UTC unless it says)."""
    if raw is None or raw == "":
        return default
    try:
        return int(float(raw) * 1000)
    except ValueError:
        pass
    try:
        stamp = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name}: an ISO 8601 date (2026-01-31) or epoch seconds") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return int(stamp.timestamp() * 1000)


def _shown(item: dict[str, Any]) -> dict[str, Any]:
    out = dict(item)
    for part in ("request", "before", "after"):
        if isinstance(out.get(part), str):
            with contextlib.suppress(ValueError):
                out[part] = json.loads(out[part])
    out.setdefault("status", None)
    return out


def listing(
    *,
    limit: int,
    actor: str | None = None,
    path_prefix: str | None = None,
    since: str | None = None,
    until: str | None = None,
) -> list[dict[str, Any]]:
    """Entries newest first (`since`/`until`: an ISO date or time, or epoch seconds; a date
    alone as `until` means the end of that day)."""
    now = _now_ms()
    since_ms = _epoch_ms(since, "from", now - ttl_seconds() * 1000)
    until_ms = _epoch_ms(until, "to", now)
    if until and len(until) == 10 and until[4] == "-":  # a date: all of that day
        until_ms += 86_400_000 - 1
    if since_ms > until_ms:
        raise InvalidInput("from must not be after to")
    items = store.newest(
        limit=limit,
        since_ms=since_ms,
        until_ms=until_ms,
        actor=actor or None,
        path_prefix=path_prefix or None,
    )
    return [_shown(item) for item in items]


def to_csv(items: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_FIELDS, "change"])
    for item in items:
        change = {k: item.get(k) for k in ("request", "before", "after") if item.get(k) is not None}
        row = [_cell(item.get(name)) for name in CSV_FIELDS]
        writer.writerow([*row, _cell(json.dumps(change, ensure_ascii=False)) if change else ""])
    return out.getvalue()


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
