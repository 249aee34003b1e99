"""What an admin may schedule: validation of a campaign body (bad input is InvalidInput, a 400),
the WeChat message it becomes, template data from follower fields, and the spec as stored with
the campaign. Pure functions (WeChat's sending limits, which read the other campaigns, are in
chalicelib.campaigns.limits).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from chalicelib.errors import InvalidInput
from chalicelib.wechat.templates import COLOR_REFUSED

MASS, TEMPLATE = "mass", "template"
AUDIENCES = ("all", "tag", "openids", "query")
CONTENT_TYPES = ("text", "image", "voice", "video", "news")
MAX_OPENIDS = 100_000  # larger audiences: a tag or a follower query
MASS_BATCH = 10_000  # message/mass/send takes 2..10,000 openids
MAX_TEXT = 2_000
MAX_NEWS_ARTICLES = 8
PAST_GRACE = 300  # a send time this far in the past still means "now" (clock skew)
MAX_AHEAD = 366 * 86400
BEIJING = timezone(timedelta(hours=8))  # WeChat's quotas reset on Beijing days and months

# Follower fields a template value may use as {field}; from the follower records when they are
# there, else from WeChat's user-info API.
FOLLOWER_FIELDS = frozenset(
    {
        "openid",
        "remark",
        "nickname",
        "language",
        "country",
        "province",
        "city",
        "region",
        "subscribe_time",
        "subscribe_scene",
        "tags",
    }
)
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(\w*)\}")
_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_TEMPLATE_KEY = re.compile(r"^[A-Za-z0-9_.]{1,64}$")


# --------------------------------------------------------------------------- validation


def _str(body: Mapping[str, Any], key: str, *, where: str, max_len: int = 200) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{where}{key}: required non-empty string")
    if len(value) > max_len:
        raise InvalidInput(f"{where}{key}: at most {max_len} characters")
    return value.strip()


def _only(body: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidInput(f"{where}unknown field(s): {', '.join(unknown)}")


def parse_time(value: Any, now: float) -> float:
    """Epoch seconds, or ISO 8601; a time without an offset is Beijing time (the account's)."""
    if value is None:
        return now
    if isinstance(value, bool):
        raise InvalidInput("send_at: epoch seconds or an ISO 8601 time")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise InvalidInput("send_at: not a finite number")
        when = float(value)
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput("send_at: epoch seconds or an ISO 8601 time") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=BEIJING)
        when = parsed.timestamp()
    else:
        raise InvalidInput("send_at: epoch seconds or an ISO 8601 time")
    if when < now - PAST_GRACE:
        raise InvalidInput("send_at is in the past")
    if when > now + MAX_AHEAD:
        raise InvalidInput("send_at is more than a year ahead")
    return max(when, now)


def validate_audience(body: Any) -> tuple[dict[str, Any], list[str]]:
    """-> (audience without the openid list, the openid list or [])."""
    if not isinstance(body, Mapping):
        raise InvalidInput("audience: an object with type all | tag | openids | query")
    kind = body.get("type")
    if kind not in AUDIENCES:
        raise InvalidInput(f"audience.type: one of {', '.join(AUDIENCES)}")
    if kind == "all":
        _only(body, ("type",), "audience: ")
        return {"type": "all"}, []
    if kind == "tag":
        _only(body, ("type", "tag_id"), "audience: ")
        tag_id = body.get("tag_id")
        if isinstance(tag_id, bool) or not isinstance(tag_id, int) or tag_id < 0:
            raise InvalidInput("audience.tag_id: a WeChat tag id (integer)")
        return {"type": "tag", "tag_id": tag_id}, []
    if kind == "openids":
        _only(body, ("type", "openids"), "audience: ")
        raw = body.get("openids")
        if not isinstance(raw, list) or not raw:
            raise InvalidInput("audience.openids: a non-empty list of openids")
        if len(raw) > MAX_OPENIDS:
            raise InvalidInput(
                f"audience.openids: at most {MAX_OPENIDS:,} openids; use a tag or a query"
            )
        for openid in raw:
            if not isinstance(openid, str) or not _OPENID.fullmatch(openid):
                raise InvalidInput(f"audience.openids: {str(openid)[:40]!r} is not an openid")
        openids = list(dict.fromkeys(raw))  # a follower listed twice gets one message
        return {"type": "openids", "count": len(openids)}, openids
    _only(body, ("type", "query"), "audience: ")
    query = body.get("query")
    if not isinstance(query, Mapping) or not query:
        raise InvalidInput("audience.query: an object with tag, region, active_since and/or q")
    _only(query, ("tag", "region", "active_since", "q"), "audience.query: ")
    out: dict[str, Any] = {}
    for key in ("tag", "region", "q"):
        if key in query:
            out[key] = _str(query, key, where="audience.query.", max_len=100)
    if "active_since" in query:
        since = query["active_since"]
        if isinstance(since, bool) or not isinstance(since, int) or since < 0:
            raise InvalidInput("audience.query.active_since: epoch seconds")
        out["active_since"] = since
    return {"type": "query", "query": out}, []


def validate_content(body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidInput("content: an object with type text | image | voice | video | news")
    kind = body.get("type")
    if kind not in CONTENT_TYPES:
        raise InvalidInput(f"content.type: one of {', '.join(CONTENT_TYPES)}")
    if kind == "text":
        _only(body, ("type", "content"), "content: ")
        return {
            "type": "text",
            "content": _str(body, "content", where="content.", max_len=MAX_TEXT),
        }
    if kind in ("image", "voice"):
        _only(body, ("type", "media_id"), "content: ")
        return {"type": kind, "media_id": _str(body, "media_id", where="content.")}
    if kind == "video":
        # A video's media_id (media/upload or permanent material): when the campaign starts it
        # becomes a mass video (media/uploadvideo, with the title and description).
        _only(body, ("type", "media_id", "title", "description"), "content: ")
        out = {"type": "video", "media_id": _str(body, "media_id", where="content.")}
        for key in ("title", "description"):
            if body.get(key) is not None:
                out[key] = _str(body, key, where="content.")
        return out
    _only(
        body,
        ("type", "media_id", "article_ids", "thumb_media_id", "send_ignore_reprint"),
        "content: ",
    )
    out = {"type": "news", "send_ignore_reprint": bool(body.get("send_ignore_reprint", False))}
    if ("media_id" in body) == ("article_ids" in body):
        raise InvalidInput(
            "content: give either media_id (a draft made with draft/add) or article_ids"
        )
    if "media_id" in body:
        out["media_id"] = _str(body, "media_id", where="content.")
        return out
    ids = body.get("article_ids")
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_NEWS_ARTICLES:
        raise InvalidInput(f"content.article_ids: 1..{MAX_NEWS_ARTICLES} article ids")
    if not all(isinstance(i, str) and i.strip() for i in ids):
        raise InvalidInput("content.article_ids: strings")
    out["article_ids"] = [i.strip() for i in ids]
    # draft/add needs a cover from permanent material for every news article.
    out["thumb_media_id"] = _str(body, "thumb_media_id", where="content.")
    return out


def template_fields(data: Mapping[str, Any]) -> set[str]:
    fields: set[str] = set()
    for value in data.values():
        text = value["value"] if isinstance(value, Mapping) else value
        fields.update(m.group(1) for m in _PLACEHOLDER.finditer(text) if m.group(1) is not None)
    return fields


def fixed_part(text: str) -> tuple[str, bool]:
    """A template value without its {field} placeholders (`{{`/`}}` as the braces they stand
    for), and whether it had any: what can be checked before the followers fill it in."""
    had = False

    def one(match: re.Match[str]) -> str:
        nonlocal had
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        had = True
        return ""

    return _PLACEHOLDER.sub(one, text), had


def validate_template(body: Any) -> dict[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidInput("template: an object with template_id and data")
    _only(body, ("template_id", "data", "url", "miniprogram", "channel"), "template: ")
    out: dict[str, Any] = {"template_id": _str(body, "template_id", where="template.")}
    channel = body.get("channel", "template")
    if channel not in ("template", "subscribe"):
        raise InvalidInput("template.channel: template or subscribe (only to consenting followers)")
    if channel == "subscribe":
        out["channel"] = channel
    data = body.get("data")
    if not isinstance(data, Mapping) or not data:
        raise InvalidInput("template.data: an object of field -> text or {value}")
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if not _TEMPLATE_KEY.fullmatch(str(key)):
            raise InvalidInput(f"template.data: {key!r} is not a template keyword")
        if isinstance(value, Mapping):
            if "color" in value:
                raise InvalidInput(f"template.data.{key}.{COLOR_REFUSED}", field=str(key))
            _only(value, ("value",), f"template.data.{key}: ")
            text = value.get("value")
            entry: dict[str, Any] = {"value": text}
        else:
            text, entry = value, {"value": value}
        if not isinstance(text, str):
            raise InvalidInput(f"template.data.{key}: text")
        if len(text) > 200:
            raise InvalidInput(f"template.data.{key}: at most 200 characters")
        clean[str(key)] = entry
    unknown = template_fields(clean) - FOLLOWER_FIELDS
    if "" in unknown:
        raise InvalidInput("template.data: '{}' names no field; write '{{' for a literal brace")
    if unknown:
        raise InvalidInput(
            f"template.data: unknown follower field(s) {', '.join(sorted(unknown))}; "
            f"use {', '.join(sorted(FOLLOWER_FIELDS))}"
        )
    out["data"] = clean
    if body.get("url") is not None:
        url = _str(body, "url", where="template.", max_len=1024)
        if not url.startswith(("https://", "http://")):
            raise InvalidInput("template.url: an http(s) URL")
        out["url"] = url
    if body.get("miniprogram") is not None:
        mini = body["miniprogram"]
        if not isinstance(mini, Mapping):
            raise InvalidInput("template.miniprogram: {appid, pagepath}")
        _only(mini, ("appid", "pagepath"), "template.miniprogram: ")
        out["miniprogram"] = {"appid": _str(mini, "appid", where="template.miniprogram.")}
        if mini.get("pagepath") is not None:
            out["miniprogram"]["pagepath"] = _str(mini, "pagepath", where="template.miniprogram.")
    return out


def validate_campaign(body: Any, now: float) -> tuple[dict[str, Any], list[str]]:
    """-> (normalized spec, the openid list of an `openids` audience or [])."""
    if not isinstance(body, Mapping):
        raise InvalidInput("body must be a JSON object")
    kind = body.get("type", TEMPLATE if "template" in body else MASS)
    if kind not in (MASS, TEMPLATE):
        raise InvalidInput("type: mass or template")
    allowed = ["name", "type", "send_at", "audience"]
    allowed.append("content" if kind == MASS else "template")
    _only(body, allowed, "")
    spec: dict[str, Any] = {
        "name": _str(body, "name", where="", max_len=100),
        "type": kind,
        "send_at": parse_time(body.get("send_at"), now),
    }
    spec["audience"], openids = validate_audience(body.get("audience"))
    if kind == MASS:
        spec["content"] = validate_content(body.get("content"))
        if spec["audience"]["type"] == "openids" and len(openids) < 2:
            raise InvalidInput(
                "audience.openids: a mass send needs at least 2 followers "
                "(use a template campaign for one)"
            )
    else:
        spec["template"] = validate_template(body.get("template"))
    return spec, openids


# --------------------------------------------------------------------------- the WeChat message


def mass_message(content: Mapping[str, Any], media_id: str | None = None) -> tuple[str, dict]:
    """Campaign content -> (mass msgtype, payload) for message/mass/send|sendall|preview."""
    kind = content["type"]
    if kind == "text":
        return "text", {"content": content["content"]}
    if kind == "image":
        # {"msgtype": "image", "images": {"media_ids": [...]}} (the client picks the key)
        return "image", {"media_ids": [content["media_id"]]}
    if kind == "voice":
        return "voice", {"media_id": content["media_id"]}
    if kind == "video":
        if not media_id:
            raise ValueError("video content has no media/uploadvideo media_id yet")  # a bug: 500
        video = {"media_id": media_id}
        # message/mass/send takes the title and description too; sendall ignores them.
        video.update({k: content[k] for k in ("title", "description") if content.get(k)})
        return "mpvideo", video
    chosen = media_id or content.get("media_id")
    if not chosen:
        raise ValueError("news content has no draft media_id yet")  # a bug: 500
    return "mpnews", {"media_id": chosen}


def render_template_data(data: Mapping[str, Any], follower: Mapping[str, Any]) -> dict:
    """Fill {field} placeholders from a follower record; `{{`/`}}` are literal braces, a field
    the record lacks becomes "". Plain substitution, never str.format (no attribute access)."""

    def fill(text: str) -> str:
        def one(match: re.Match[str]) -> str:
            token = match.group(0)
            if token == "{{":
                return "{"
            if token == "}}":
                return "}"
            value = follower.get(match.group(1))
            if value is None:
                return ""
            if isinstance(value, (list, tuple, set)):
                return ",".join(str(v) for v in value)
            return str(value)

        return _PLACEHOLDER.sub(one, text)

    out: dict[str, Any] = {}
    for key, entry in data.items():
        rendered = dict(entry) if isinstance(entry, Mapping) else {"value": entry}
        rendered["value"] = fill(str(rendered["value"]))
        out[key] = rendered
    return out


# --------------------------------------------------------------------------- as stored

STORED_PARTS = ("audience", "content", "template")


def spec_json(spec: Mapping[str, Any]) -> str:
    """The campaign's audience/content/template, stored with it as one JSON string."""
    stored = {k: spec[k] for k in STORED_PARTS if k in spec}
    return json.dumps(stored, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def stored_spec(campaign: Mapping[str, Any]) -> dict[str, Any]:
    """The campaign's audience/content/template, as `spec_json` stored them."""
    spec = campaign.get("spec")
    return json.loads(spec) if isinstance(spec, str) else dict(spec or {})
