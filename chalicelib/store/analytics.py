"""Message analytics: counters summed from the messages table's stream, read at query time.

The stream aggregator (chalicelib/aggregate) sums a batch of messages and writes each counter
item once per batch, exactly once (store.ledger). Two kinds of counter items in the `analytics`
table (hash `pk`, range `sk`):

- hour counters, `pk = "<account>#h"`, `sk = "<local date>T<HH>"`: one item per local hour,
  attributes `t:<msg type>` (`text`, `event.subscribe`, ...), `o:<outcome>` (`rule`, `default`,
  `unanswered`, `subscribe`, `none`, ...) and `r:<rule id>`, all numeric ADDs. Follower growth
  is `t:event.subscribe` / `t:event.unsubscribe`. A date range is one Query.
- text counters (text messages only), `pk = "<account>#x#<k>"` (k: a hash of the text over
  TEXT_SHARDS, so one text is one item a day and the texts of a busy day spread over several
  partitions), `sk = "<local date>#<normalized text>"`: `hits`, `unanswered` (outcomes default
  and unanswered), `last_at`, `last_unanswered_at`, `rule_id` (last rule that answered it),
  `sample`; they expire after TEXT_RETENTION_DAYS. A range costs TEXT_SHARDS Queries.

Dates are local dates in WXLESS_TIMEZONE (default Asia/Shanghai, UTC+8): the bank's day, not
UTC's. A message is counted at its WeChat CreateTime (unless that is implausibly far from the
time it was received).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import time
import unicodedata
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib import config
from chalicelib.errors import InvalidInput
from chalicelib.store import ddb, keys
from chalicelib.store.guard import guarded
from chalicelib.store.models import register, table

TEXT_SHARDS = 16  # readers query range(TEXT_SHARDS): raising it later re-homes texts
TEXT_MAX_CHARS = 50
SAMPLE_MAX_CHARS = 100
TEXT_RETENTION_DAYS = 400
MAX_RANGE_DAYS = 366
DEFAULT_RANGE_DAYS = 7
# A CreateTime further than this from the server clock is not trusted for bucketing.
MAX_CLOCK_SKEW = 2 * 86400

TIMEZONE = config.TIMEZONE
# Zones that matter here and have had a fixed offset for decades: used when the runtime has no
# tz database (minimal Lambda images), so the bank's dates never silently become UTC.
_FIXED_ZONES = {"Asia/Shanghai": 8, "Asia/Chongqing": 8, "PRC": 8, "Asia/Hong_Kong": 8,
                "Asia/Taipei": 8, "Asia/Singapore": 8, "UTC": 0, "Etc/UTC": 0}  # fmt: skip
_OFFSET_RE = re.compile(r"(?:UTC)?([+-])(\d{1,2})(?::?(\d{2}))?")


@register
class AnalyticsItem(Model):
    """Counter items (see the module doc). Attributes are dynamic, so reads and writes use
    botocore directly; the model declares the table for creation and deployment."""

    Meta = table("analytics")
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    expires_at = TTLAttribute(null=True)


# -- local time ------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _zone(name: str) -> dt.tzinfo:
    match = _OFFSET_RE.fullmatch(name.strip())
    if match:
        sign = -1 if match.group(1) == "-" else 1
        minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
        return dt.timezone(sign * dt.timedelta(minutes=minutes))
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:
        if name in _FIXED_ZONES:
            return dt.timezone(dt.timedelta(hours=_FIXED_ZONES[name]))
        raise ValueError(f"{TIMEZONE}={name!r} is not a known time zone") from None


def zone_name() -> str:
    return config.get(TIMEZONE)


def local_zone() -> dt.tzinfo:
    return _zone(zone_name())


def local_datetime(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, local_zone())


def local_day_hour(ts: float) -> tuple[str, int]:
    """(local date as YYYY-MM-DD, local hour) of an instant: what every message is counted by."""
    zone = zone_name()
    cached = _slot_day_hour(zone, int(ts) // _SLOT)
    if cached is not None:
        return cached
    local = local_datetime(ts)
    return local.date().isoformat(), local.hour


_SLOT = 900  # seconds


@functools.lru_cache(maxsize=64)
def _slot_day_hour(zone: str, slot: int) -> tuple[str, int] | None:
    """The local (date, hour) shared by a whole 15-minute slot, or None when the slot straddles
    a local hour (only zones with odd-minute offsets): messages arrive in bursts, so one
    datetime conversion serves every message of a slot (~2 us saved per message)."""
    first = dt.datetime.fromtimestamp(slot * _SLOT, _zone(zone))
    last = dt.datetime.fromtimestamp(slot * _SLOT + _SLOT - 1, _zone(zone))
    if first.date() != last.date() or first.hour != last.hour:
        return None
    return first.date().isoformat(), first.hour


def today() -> dt.date:
    return local_datetime(time.time()).date()


def day_start(day: dt.date) -> int:
    """Epoch seconds of local midnight starting `day`."""
    return int(dt.datetime.combine(day, dt.time(), local_zone()).timestamp())


def parse_day(value: str, name: str = "date") -> dt.date:
    try:
        return dt.date.fromisoformat(value) if len(value) == 10 else _bad_day(name)
    except ValueError:
        return _bad_day(name)


def _bad_day(name: str) -> dt.date:
    raise InvalidInput(f"{name} must be a date YYYY-MM-DD")


def date_range(
    start: str | None, end: str | None, *, default_days: int = DEFAULT_RANGE_DAYS
) -> tuple[dt.date, dt.date]:
    """`from`/`to` query parameters (inclusive, local dates); defaults: the last `default_days`
    days up to today. ValueError (-> 400) when malformed, reversed or longer than 366 days."""
    last = parse_day(end, "to") if end else today()
    first = parse_day(start, "from") if start else last - dt.timedelta(days=default_days - 1)
    if first > last:
        raise InvalidInput("from must not be after to")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(f"the range may cover at most {MAX_RANGE_DAYS} days")
    return first, last


def days_between(first: dt.date, last: dt.date) -> list[str]:
    return [(first + dt.timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def event_time(create_time: int, now: float) -> int:
    """When a message happened: WeChat's CreateTime, unless it is implausible."""
    return create_time if abs(create_time - now) <= MAX_CLOCK_SKEW else int(now)


# -- text normalization ----------------------------------------------------------------------

_SPACE = re.compile(r"\s+")
# Runs of 4+ digits (card and phone numbers, verification codes, amounts) become "#": they are
# personal data we must not keep in analytics, and "转账5000元" / "转账8000元" are one question.
_DIGITS = re.compile(r"\d(?:[\s\-]?\d){3,}")


def _drop(char: str) -> bool:
    if char == "#":  # the digit mask
        return False
    category = unicodedata.category(char)
    return category[0] == "P" or category in ("Cc", "Cf")


def clean_text(text: str) -> str:
    """NFKC (full-width -> half-width), digits masked, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _DIGITS.sub("#", text)
    return _SPACE.sub(" ", text).strip()


def normalize_text(text: str) -> str:
    """The grouping key of a message text: cleaned, case-folded, punctuation removed, at most
    TEXT_MAX_CHARS characters. "余额？", " 余额 " and "余额!" are one key. Text made only of
    punctuation keeps its punctuation ("？？" stays a question). "" for empty text."""
    cleaned = clean_text(text).casefold()
    # Letters and digits only (the common case, "我想办信用卡"): nothing to drop, and no
    # per-character scan. No alphanumeric character is in a dropped category.
    if cleaned.replace(" ", "").isalnum():
        return cleaned[:TEXT_MAX_CHARS]
    stripped = _SPACE.sub(" ", "".join(c for c in cleaned if not _drop(c))).strip()
    return (stripped or cleaned)[:TEXT_MAX_CHARS]


def sample_text(text: str) -> str:
    """What the admin sees as an example: as written, but with digit runs masked and
    whitespace collapsed; at most SAMPLE_MAX_CHARS. (`\\d` also matches full-width digits.)"""
    return _SPACE.sub(" ", _DIGITS.sub("#", text or "")).strip()[:SAMPLE_MAX_CHARS]


# -- counter items ---------------------------------------------------------------------------

UNANSWERED_OUTCOMES = ("default", "unanswered")


def table_name() -> str:
    return config.table_name("analytics")


def text_shard(text: str) -> int:
    return zlib.crc32(text.encode("utf-8")) % TEXT_SHARDS


def message_kind(kind: str) -> str:
    """`text`, `image`, ... for messages; `event.<name>` for events (as in the message log)."""
    return (kind or "unknown")[:40]


def hour_key(day: str, hour: int) -> str:
    return f"{day}T{hour:02d}"


def hour_item_key(day: str, hour: int) -> dict[str, Any]:
    return ddb.key(keys.scoped("h"), hour_key(day, hour))


def hour_update(tallies: Sequence[dict[str, int]]) -> ddb.Update:
    """ADD every tally (attribute -> count) of a batch to one hour item."""
    total: dict[str, int] = {}
    for tally in tallies:
        for attr, n in tally.items():
            total[attr] = total.get(attr, 0) + n
    return ddb.Update().add_attrs(total)


def hour_tally(kind: str, outcome: str, rule_id: str | None) -> dict[str, int]:
    """What one message adds to its hour: its type, its outcome ("flow.<step>" -> "flow": a
    bounded set) and, when a keyword or click rule answered, the rule (a flow's id also arrives
    as rule_id; flow analytics count flows)."""
    outcome = (outcome or "none").partition(".")[0][:20]
    tally = {f"t:{message_kind(kind)}": 1, f"o:{outcome}": 1}
    if rule_id and outcome == "rule":
        tally[f"r:{rule_id}"] = 1
    return tally


def text_item_key(day: str, text: str) -> dict[str, Any]:
    return ddb.key(keys.scoped("x", str(text_shard(text))), f"{day}#{text}")


@dataclass(frozen=True, slots=True)
class TextHit:
    """One text message, as its day's text counter counts it."""

    at: int
    unanswered: bool
    rule_id: str | None
    sample: str


def text_update(hits: Sequence[TextHit]) -> ddb.Update:
    """One text counter's share of a batch: hits and unanswered ADDed, the latest times,
    sample and answering rule SET."""
    upd = ddb.Update()
    last = max(hits, key=lambda h: h.at)
    upd.add(hits=len(hits), unanswered=sum(1 for h in hits if h.unanswered))
    upd.set(last_at=last.at)
    upd.set_if_absent(expires_at=last.at + TEXT_RETENTION_DAYS * 86400)
    asked = [h for h in hits if h.unanswered]
    if asked:  # the sample shows the latest unanswered wording
        latest = max(asked, key=lambda h: h.at)
        upd.set(last_unanswered_at=latest.at, sample=latest.sample)
    else:
        upd.set_if_absent(sample=hits[0].sample)
    answered = [h for h in hits if h.rule_id]
    if answered:
        upd.set(rule_id=max(answered, key=lambda h: h.at).rule_id)
    return upd


def text_hit(
    content: str, outcome: str, rule_id: str | None, at: int
) -> tuple[str, TextHit] | None:
    """(normalized text, hit) of a text message, or None when nothing is left to count."""
    key = normalize_text(content)
    if not key:
        return None
    unanswered = outcome in UNANSWERED_OUTCOMES
    hit = TextHit(
        at, unanswered, rule_id if outcome == "rule" else None, sample_text(content) or key
    )
    return key, hit


# -- queries ---------------------------------------------------------------------------------


def _query(pk: str, low: str, high: str) -> Iterator[dict[str, Any]]:
    return ddb.query(
        {
            "TableName": table_name(),
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":pk": ddb.ser(pk),
                ":lo": ddb.ser(low),
                ":hi": ddb.ser(high),
            },
        }
    )


def _number(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _hour_items(first: dt.date, last: dt.date) -> Iterator[tuple[str, int, dict[str, Any]]]:
    # "U" sorts after every "<date>T<HH>" of `last`.
    for item in _query(keys.scoped("h"), first.isoformat(), f"{last.isoformat()}U"):
        day, _, hour = item["sk"].partition("T")
        yield day, int(hour), item


def _empty_counts() -> dict[str, Any]:
    return {"total": 0, "messages": 0, "events": 0, "by_type": {}}


def _count_into(bucket: dict[str, Any], kind: str, n: int) -> None:
    bucket["total"] += n
    bucket["events" if kind.startswith("event.") else "messages"] += n
    bucket["by_type"][kind] = bucket["by_type"].get(kind, 0) + n


@guarded
def message_stats(first: dt.date, last: dt.date) -> dict[str, Any]:
    """Messages and events per day and per hour of day (local), by type, and reply outcomes."""
    days = {
        day: {"date": day, **_empty_counts(), "outcomes": {}} for day in days_between(first, last)
    }
    hours = [{"hour": h, **_empty_counts()} for h in range(24)]
    totals: dict[str, Any] = {**_empty_counts(), "outcomes": {}}
    for day, hour, item in _hour_items(first, last):
        if day not in days:
            continue
        for name, value in item.items():
            n = _number(value)
            if name.startswith("t:"):
                kind = name[2:]
                for bucket in (days[day], hours[hour], totals):
                    _count_into(bucket, kind, n)
            elif name.startswith("o:"):
                outcome = name[2:]
                for bucket in (days[day], totals):
                    bucket["outcomes"][outcome] = bucket["outcomes"].get(outcome, 0) + n
    return {"days": list(days.values()), "hours": hours, "totals": totals}


@guarded
def follower_growth(first: dt.date, last: dt.date) -> dict[str, Any]:
    """New (subscribe events, re-subscribes included, as in WeChat's own statistics) and lost
    (unsubscribe events) followers per local day; net = new - lost."""
    days = {day: {"date": day, "new": 0, "lost": 0, "net": 0} for day in days_between(first, last)}
    for day, _hour, item in _hour_items(first, last):
        if day not in days:
            continue
        days[day]["new"] += _number(item.get("t:event.subscribe"))
        days[day]["lost"] += _number(item.get("t:event.unsubscribe"))
    totals = {"new": 0, "lost": 0, "net": 0}
    for row in days.values():
        row["net"] = row["new"] - row["lost"]
        for name in totals:
            totals[name] += row[name]
    return {"days": list(days.values()), "totals": totals}


@guarded
def rule_hits(first: dt.date, last: dt.date) -> dict[str, dict[str, int]]:
    """rule id -> {date: hits} (dates with hits only)."""
    hits: dict[str, dict[str, int]] = {}
    for day, _hour, item in _hour_items(first, last):
        for name, value in item.items():
            if name.startswith("r:"):
                per_day = hits.setdefault(name[2:], {})
                per_day[day] = per_day.get(day, 0) + _number(value)
    return hits


@guarded
def text_stats(first: dt.date, last: dt.date) -> list[dict[str, Any]]:
    """Every normalized text seen in the range, summed over days and shards: text, hits,
    unanswered, last_at, last_unanswered_at, sample (of the latest unanswered occurrence when
    there is one), rule_id (of the latest item that a rule answered)."""
    texts: dict[str, dict[str, Any]] = {}
    rule_at: dict[str, int] = {}
    for shard in range(TEXT_SHARDS):
        pk = keys.scoped("x", str(shard))
        for item in _query(pk, f"{first.isoformat()}#", f"{last.isoformat()}$"):
            text = item["sk"].split("#", 1)[1]
            row = texts.setdefault(
                text,
                {"text": text, "hits": 0, "unanswered": 0, "last_at": 0,
                 "last_unanswered_at": None, "sample": "", "rule_id": None},
            )  # fmt: skip
            row["hits"] += _number(item.get("hits"))
            row["unanswered"] += _number(item.get("unanswered"))
            last_at = _number(item.get("last_at"))
            row["last_at"] = max(row["last_at"], last_at)
            sample = item.get("sample") or ""
            rule_id = item.get("rule_id")
            if rule_id and last_at >= rule_at.get(text, -1):
                row["rule_id"], rule_at[text] = rule_id, last_at
            last_unanswered = _number(item.get("last_unanswered_at"))
            if last_unanswered > (row["last_unanswered_at"] or 0):
                row["last_unanswered_at"] = last_unanswered
                row["sample"] = sample or row["sample"]
            elif not row["sample"] and not row["last_unanswered_at"]:
                row["sample"] = sample
    return list(texts.values())


def top_texts(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (-r["hits"], -r["last_at"], r["text"]))[:limit]


def top_unanswered(rows: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    asked = [r for r in rows if r["unanswered"]]
    return sorted(
        asked, key=lambda r: (-r["unanswered"], -(r["last_unanswered_at"] or 0), r["text"])
    )[:limit]
