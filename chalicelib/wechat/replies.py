"""Reply objects (CONTRACT.md §3 "Reply object"): validation and passive-reply XML rendering.

``validate_reply`` is the gate for anything an admin stores (rules, special replies, flows): it
returns a normalized copy or raises ``InvalidInput("reply.<field>: <what is wrong>")`` and never any
other exception for JSON-shaped input. ``render_reply`` trusts a validated reply and builds the XML
with plain string concatenation (no XML library on the hot path).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from chalicelib.errors import InvalidInput

MAX_TEXT_BYTES = 2048
MAX_ARTICLES = 8

# Characters XML 1.0 cannot carry even inside CDATA, plus lone surrogates (which cannot be encoded
# as UTF-8 at response time). Refusing them at validation keeps render_reply a pure concatenation.
_BAD_CHARS_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_URL_RE = re.compile(r"https?://[^\s/?#]+[^\s]*", re.IGNORECASE)


def _fail(path: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{path}: {problem}")


def _optional_str(obj: dict[Any, Any], key: str, path: str) -> str | None:
    """The string at ``key``, None when absent or null; InvalidInput when not a clean string."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(f"{path}.{key}", "must be a string")
    if _BAD_CHARS_RE.search(value):
        raise _fail(f"{path}.{key}", "contains characters not allowed in XML")
    return value


def _required_str(obj: dict[Any, Any], key: str, path: str) -> str:
    value = _optional_str(obj, key, path)
    if value is None:
        raise _fail(f"{path}.{key}", "is required")
    # WeChat shows "service unavailable" for an empty Content; blank ids are never valid either.
    if not value.strip():
        raise _fail(f"{path}.{key}", "must not be empty")
    return value


def _url(obj: dict[Any, Any], key: str, path: str) -> str | None:
    value = _optional_str(obj, key, path)
    if value and not _URL_RE.fullmatch(value):
        raise _fail(f"{path}.{key}", "must be an http(s) URL")
    return value


def _check_keys(obj: dict[Any, Any], allowed: frozenset[str], path: str) -> None:
    for key in obj:
        if key not in allowed:
            shown = key if isinstance(key, str) and len(key) <= 40 else "<key>"
            raise _fail(f"{path}.{shown}", "unknown field")


def _put(out: dict[str, Any], key: str, value: str | None) -> None:
    # Normalization drops null optionals so a stored reply only holds what was really given.
    if value is not None:
        out[key] = value


def _v_text(obj: dict[Any, Any], out: dict[str, Any]) -> None:
    content = _required_str(obj, "content", "reply")
    if len(content.encode("utf-8")) > MAX_TEXT_BYTES:
        raise _fail("reply.content", f"must be at most {MAX_TEXT_BYTES} UTF-8 bytes")
    out["content"] = content


def _v_media(obj: dict[Any, Any], out: dict[str, Any]) -> None:
    out["media_id"] = _required_str(obj, "media_id", "reply")


def _v_video(obj: dict[Any, Any], out: dict[str, Any]) -> None:
    out["media_id"] = _required_str(obj, "media_id", "reply")
    _put(out, "title", _optional_str(obj, "title", "reply"))
    _put(out, "description", _optional_str(obj, "description", "reply"))


def _v_music(obj: dict[Any, Any], out: dict[str, Any]) -> None:
    _put(out, "title", _optional_str(obj, "title", "reply"))
    _put(out, "description", _optional_str(obj, "description", "reply"))
    _put(out, "music_url", _url(obj, "music_url", "reply"))
    _put(out, "hq_music_url", _url(obj, "hq_music_url", "reply"))
    out["thumb_media_id"] = _required_str(obj, "thumb_media_id", "reply")


_ARTICLE_KEYS = frozenset({"title", "description", "url", "pic_url"})


_ARTICLE_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _v_article_ids(ids: Any, out: dict[str, Any]) -> None:
    """News built from CMS articles by id: the callback fills in titles and links when it
    answers, so they stay right when an article changes (existence is checked by the admin API)."""
    if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_ARTICLES:
        raise _fail("reply.article_ids", f"must be a list of 1 to {MAX_ARTICLES} article ids")
    for index, article_id in enumerate(ids):
        if not isinstance(article_id, str) or not _ARTICLE_ID_RE.fullmatch(article_id):
            raise _fail(f"reply.article_ids[{index}]", "must be an article id")
    out["article_ids"] = list(dict.fromkeys(ids))


def _v_news(obj: dict[Any, Any], out: dict[str, Any]) -> None:
    articles = obj.get("articles")
    if "article_ids" in obj:
        if articles is not None:
            raise _fail("reply.article_ids", "give either articles or article_ids, not both")
        _v_article_ids(obj["article_ids"], out)
        return
    if articles is None:
        raise _fail("reply.articles", "is required")
    if not isinstance(articles, list):
        raise _fail("reply.articles", "must be a list")
    if not 1 <= len(articles) <= MAX_ARTICLES:
        raise _fail("reply.articles", f"must hold 1 to {MAX_ARTICLES} articles")
    normalized = []
    for index, article in enumerate(articles):
        path = f"reply.articles[{index}]"
        if not isinstance(article, dict):
            raise _fail(path, "must be an object")
        _check_keys(article, _ARTICLE_KEYS, path)
        item: dict[str, Any] = {"title": _required_str(article, "title", path)}
        _put(item, "description", _optional_str(article, "description", path))
        _put(item, "url", _url(article, "url", path))
        _put(item, "pic_url", _url(article, "pic_url", path))
        normalized.append(item)
    out["articles"] = normalized


def _v_transfer(obj: dict[Any, Any], out: dict[str, Any]) -> None:
    _put(out, "kf_account", _optional_str(obj, "kf_account", "reply"))


_Validator = Callable[[dict[Any, Any], dict[str, Any]], None]

# type -> (validator, allowed keys)
_VALIDATORS: dict[str, tuple[_Validator, frozenset[str]]] = {
    "text": (_v_text, frozenset({"type", "content"})),
    "image": (_v_media, frozenset({"type", "media_id"})),
    "voice": (_v_media, frozenset({"type", "media_id"})),
    "video": (_v_video, frozenset({"type", "media_id", "title", "description"})),
    "music": (
        _v_music,
        frozenset({"type", "title", "description", "music_url", "hq_music_url", "thumb_media_id"}),
    ),
    "news": (_v_news, frozenset({"type", "articles", "article_ids"})),
    "transfer_customer_service": (_v_transfer, frozenset({"type", "kf_account"})),
}

REPLY_TYPES = frozenset(_VALIDATORS)


def validate_reply(obj: Any) -> dict[str, Any]:
    """Return a normalized copy of a reply object, or raise InvalidInput("reply.<field>: ...")."""
    if not isinstance(obj, dict):
        raise _fail("reply", "must be an object")
    reply_type = obj.get("type")
    if reply_type is None:
        raise _fail("reply.type", "is required")
    if not isinstance(reply_type, str):
        raise _fail("reply.type", "must be a string")
    entry = _VALIDATORS.get(reply_type)
    if entry is None:
        raise _fail("reply.type", f"must be one of {', '.join(sorted(_VALIDATORS))}")
    validator, allowed = entry
    _check_keys(obj, allowed, "reply")
    out: dict[str, Any] = {"type": reply_type}
    validator(obj, out)
    return out


# -- rendering -------------------------------------------------------------------------------------


def _cdata(value: Any) -> str:
    text = "" if value is None else str(value)
    # "]]>" would end the section early: split it across two CDATA sections.
    if "]]>" in text:
        text = text.replace("]]>", "]]]]><![CDATA[>")
    return f"<![CDATA[{text}]]>"


def _r_text(reply: dict[str, Any], max_articles: int) -> str:
    return f"<Content>{_cdata(reply.get('content'))}</Content>"


def _r_image(reply: dict[str, Any], max_articles: int) -> str:
    return f"<Image><MediaId>{_cdata(reply.get('media_id'))}</MediaId></Image>"


def _r_voice(reply: dict[str, Any], max_articles: int) -> str:
    return f"<Voice><MediaId>{_cdata(reply.get('media_id'))}</MediaId></Voice>"


def _r_video(reply: dict[str, Any], max_articles: int) -> str:
    return (
        f"<Video><MediaId>{_cdata(reply.get('media_id'))}</MediaId>"
        f"<Title>{_cdata(reply.get('title'))}</Title>"
        f"<Description>{_cdata(reply.get('description'))}</Description></Video>"
    )


def _r_music(reply: dict[str, Any], max_articles: int) -> str:
    return (
        f"<Music><Title>{_cdata(reply.get('title'))}</Title>"
        f"<Description>{_cdata(reply.get('description'))}</Description>"
        f"<MusicUrl>{_cdata(reply.get('music_url'))}</MusicUrl>"
        f"<HQMusicUrl>{_cdata(reply.get('hq_music_url'))}</HQMusicUrl>"
        f"<ThumbMediaId>{_cdata(reply.get('thumb_media_id'))}</ThumbMediaId></Music>"
    )


def _r_news(reply: dict[str, Any], max_articles: int) -> str:
    # WeChat rejects a reply with more articles than it allows (1 for an answer to a follower's
    # message, 8 otherwise) and never accepts 0: clamp, then truncate.
    limit = min(max(1, max_articles), MAX_ARTICLES)
    articles = (reply.get("articles") or [])[:limit]
    items = "".join(
        f"<item><Title>{_cdata(a.get('title'))}</Title>"
        f"<Description>{_cdata(a.get('description'))}</Description>"
        f"<PicUrl>{_cdata(a.get('pic_url'))}</PicUrl>"
        f"<Url>{_cdata(a.get('url'))}</Url></item>"
        for a in articles
    )
    return f"<ArticleCount>{len(articles)}</ArticleCount><Articles>{items}</Articles>"


def _r_transfer(reply: dict[str, Any], max_articles: int) -> str:
    account = reply.get("kf_account")
    if not account:
        return ""
    return f"<TransInfo><KfAccount>{_cdata(account)}</KfAccount></TransInfo>"


_RENDERERS: dict[str, Callable[[dict[str, Any], int], str]] = {
    "text": _r_text,
    "image": _r_image,
    "voice": _r_voice,
    "video": _r_video,
    "music": _r_music,
    "news": _r_news,
    "transfer_customer_service": _r_transfer,
}


def render_reply(
    reply: dict[str, Any],
    *,
    to_user: str,
    from_user: str,
    create_time: int,
    max_articles: int = MAX_ARTICLES,
) -> str:
    """Render a validated reply as WeChat passive-reply XML.

    ``to_user`` is the follower's openid and ``from_user`` our account id: the caller swaps the
    incoming message's ToUserName/FromUserName.
    """
    reply_type = reply.get("type")
    renderer = _RENDERERS.get(reply_type) if isinstance(reply_type, str) else None
    if renderer is None:
        raise ValueError(f"reply.type: cannot render {reply_type!r}")
    return (
        f"<xml><ToUserName>{_cdata(to_user)}</ToUserName>"
        f"<FromUserName>{_cdata(from_user)}</FromUserName>"
        f"<CreateTime>{int(create_time)}</CreateTime>"
        f"<MsgType>{_cdata(reply_type)}</MsgType>"
        f"{renderer(reply, max_articles)}</xml>"
    )
