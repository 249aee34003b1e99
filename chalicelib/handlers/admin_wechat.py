"""Admin routes that act on WeChat: custom menu, tags, live follower info, customer-service
messages, and the token status.

Every WeChat call goes through `chalicelib.jobs.wechat.client()` (token from the shared store).
WeChat's refusals are typed errors that carry their answer (chalicelib.wechat.api.errors: 404
for unknown ids, 409 for state conflicts, 422 for other refusals, 429 for quota, 502 only when
the fault is ours or WeChat's): `admin_route` answers them with the errcode.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response

from chalicelib import wiring
from chalicelib.errors import InvalidInput
from chalicelib.handlers.common import admin_route, json_response, read_object
from chalicelib.handlers.gate import principal

bp = Blueprint(__name__)
admin = admin_route(bp)

MAX_OPENIDS_PER_REQUEST = 500  # 10 batchtagging calls of 50: well inside the Lambda timeout
_OPENID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def wechat() -> Any:
    from chalicelib.jobs.wechat import client

    return client()


def _openid(value: Any, field: str = "openid") -> str:
    if not isinstance(value, str) or not _OPENID_RE.fullmatch(value):
        raise InvalidInput(f"{field} must be a WeChat openid (1..64 letters, digits, _ or -)")
    return value


def _openids(body: dict[str, Any]) -> list[str]:
    openids = body.get("openids")
    if not isinstance(openids, list) or not openids:
        raise InvalidInput("openids must be a non-empty list")
    if len(openids) > MAX_OPENIDS_PER_REQUEST:
        raise InvalidInput(f"at most {MAX_OPENIDS_PER_REQUEST} openids per request")
    return list(dict.fromkeys(_openid(o, "openids[]") for o in openids))


def _tag_id(raw: str) -> int:
    try:
        tag_id = int(raw)
    except ValueError:
        raise InvalidInput("tag id must be an integer") from None
    if tag_id < 0:
        raise InvalidInput("tag id must be >= 0")
    return tag_id


def _tag_name(body: dict[str, Any]) -> str:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("name must be a non-empty string")
    return name.strip()


# --------------------------------------------------------------------------- menu


def _click_keys(menu: dict[str, Any]) -> list[str]:
    keys = []
    for button in menu.get("button", []):
        for leaf in button.get("sub_button") or [button]:
            if leaf.get("type") == "click":
                keys.append(leaf["key"])
    return keys


def _unanswered(keys: list[str]) -> list[str]:
    """Click keys no enabled click rule answers (a hint for the admin; never blocks)."""
    from chalicelib.store import rules

    answered = {
        k
        for r in rules.list_rules()
        if r["match"] == "click" and r["enabled"]
        for k in r["keywords"]
    }
    return [k for k in keys if k not in answered]


@bp.route("/admin/menu", methods=["PUT"])
@admin("menu:write")
def put_menu() -> dict:
    from chalicelib.store import menu as menu_store
    from chalicelib.wechat.api import validate_menu

    body = read_object(bp.current_request)
    if "matchrule" in body:
        raise InvalidInput(
            "menu.matchrule: a conditional menu goes to POST /admin/menu/conditional"
        )
    unknown = sorted(set(body) - {"button"})
    if unknown:
        raise InvalidInput(f"menu: unknown field(s) {', '.join(unknown)}")
    menu = validate_menu(body)
    wechat().menu.create(menu, validate=False)
    record = menu_store.put_menu(menu)
    return {**record, "unanswered_click_keys": _unanswered(_click_keys(menu))}


@bp.route("/admin/menu", methods=["GET"])
@admin("menu:read")
def get_menu() -> dict:
    from chalicelib.store import menu as menu_store
    from chalicelib.store.errors import NotFound

    record = menu_store.get_menu()
    live = (bp.current_request.query_params or {}).get("live") in ("1", "true", "yes")
    if record is None and not live:
        raise NotFound("no menu has been published through the admin API")
    out: dict[str, Any] = dict(record or {"menu": None, "published_at": None})
    if live:
        out["live"] = wechat().menu.get()
    return out


@bp.route("/admin/menu", methods=["DELETE"])
@admin("menu:write")
def delete_menu() -> Response:
    from chalicelib.store import menu as menu_store

    wechat().menu.delete()
    menu_store.delete_menu()
    return Response("", status_code=204)


# --------------------------------------------------------------------------- conditional menus
# WeChat's menu/get is their record (we keep no copy: deleting the default menu drops them all).


@bp.route("/admin/menu/conditional", methods=["POST"])
@admin("menu:write")
def add_conditional_menu() -> Response:
    from chalicelib.wechat.api import validate_menu

    body = read_object(bp.current_request)
    unknown = sorted(set(body) - {"button", "matchrule"})
    if unknown:
        raise InvalidInput(f"menu: unknown field(s) {', '.join(unknown)}")
    menu = validate_menu(body, conditional=True)
    menuid = wechat().menu.addconditional(menu, validate=False)
    answer = {"menuid": menuid, **menu, "unanswered_click_keys": _unanswered(_click_keys(menu))}
    return json_response(answer, 201)


@bp.route("/admin/menu/conditional", methods=["GET"])
@admin("menu:read")
def list_conditional_menus() -> dict:
    from chalicelib.wechat.api import WeChatAPIError

    try:
        live = wechat().menu.get()
    except WeChatAPIError as exc:
        if exc.errcode != 46003:  # no menu at all: no conditional menu either
            raise
        live = {}
    return {"items": live.get("conditionalmenu") or []}


@bp.route("/admin/menu/conditional/{menuid}", methods=["DELETE"])
@admin("menu:write")
def delete_conditional_menu(menuid: str) -> Response:
    if not (menuid.isascii() and menuid.isdigit()) or len(menuid) > 20:
        raise InvalidInput("menuid must be the digits addconditional answered")
    wechat().menu.delconditional(menuid)
    return Response("", status_code=204)


# --------------------------------------------------------------------------- tags


@bp.route("/admin/tags", methods=["GET"])
@admin("tags:read")
def list_tags() -> dict:
    return {"items": wechat().tags.list()}


@bp.route("/admin/tags", methods=["POST"])
@admin("tags:write")
def create_tag() -> Response:
    name = _tag_name(read_object(bp.current_request))
    return json_response(wechat().tags.create(name), 201)


@bp.route("/admin/tags/{tag_id}", methods=["PUT"])
@admin("tags:write")
def rename_tag(tag_id: str) -> dict:
    tid = _tag_id(tag_id)
    name = _tag_name(read_object(bp.current_request))
    wechat().tags.update(tid, name)
    return {"id": tid, "name": name}


@bp.route("/admin/tags/{tag_id}", methods=["DELETE"])
@admin("tags:write")
def delete_tag(tag_id: str) -> Response:
    wechat().tags.delete(_tag_id(tag_id))
    return Response("", status_code=204)


@bp.route("/admin/tags/{tag_id}/members", methods=["GET"])
@admin("tags:read")
def tag_members(tag_id: str) -> dict:
    cursor = (bp.current_request.query_params or {}).get("next_openid") or ""
    page = wechat().tags.tag_followers(_tag_id(tag_id), cursor)
    return {
        "items": (page.get("data") or {}).get("openid") or [],
        "next_openid": page.get("next_openid") or None,
    }


@bp.route("/admin/tags/{tag_id}/members", methods=["POST"])
@admin("tags:write")
def tag_followers(tag_id: str) -> dict:
    tid = _tag_id(tag_id)
    openids = _openids(read_object(bp.current_request))
    calls = wechat().tags.tag_users(tid, openids)
    return {"tag_id": tid, "tagged": len(openids), "calls": calls}


@bp.route("/admin/tags/{tag_id}/members/remove", methods=["POST"])
@admin("tags:write")
def untag_followers(tag_id: str) -> dict:
    tid = _tag_id(tag_id)
    openids = _openids(read_object(bp.current_request))
    calls = wechat().tags.untag_users(tid, openids)
    return {"tag_id": tid, "untagged": len(openids), "calls": calls}


# --------------------------------------------------------------------------- followers (live)


@bp.route("/admin/wechat/users", methods=["GET"])
@admin("followers:read")
def list_wechat_users() -> dict:
    cursor = (bp.current_request.query_params or {}).get("next_openid") or None
    page = wechat().users.followers(cursor)
    return {
        "total": int(page.get("total") or 0),
        "items": (page.get("data") or {}).get("openid") or [],
        "next_openid": page.get("next_openid") or None,
    }


@bp.route("/admin/wechat/users/{openid}", methods=["GET"])
@admin("followers:read")
def get_wechat_user(openid: str) -> dict:
    return wechat().users.info(_openid(openid))


# --------------------------------------------------------------------------- CS messages

CUSTOM_TYPES = ("text", "image", "voice", "video", "music", "news", "mpnewsarticle")


def send_custom_message(openid: str, message: Any, kf_account: str | None = None) -> str:
    """Validate a Reply-shaped message, resolve media items, send it; return its type. No
    quota check: the route below (and any other sender) goes through chalicelib.cs.quota."""
    mtype, send = prepare_custom_message(openid, message, kf_account)
    send()
    return mtype


def prepare_custom_message(
    openid: str, message: Any, kf_account: str | None = None
) -> tuple[str, Callable[[], None]]:
    """Validate a Reply-shaped message and resolve its media items (a 400 here sends and
    counts nothing); -> (its type, the call that sends it)."""
    from chalicelib.media.replies import resolve_reply
    from chalicelib.wechat.replies import validate_reply

    if not isinstance(message, dict):
        raise InvalidInput("message must be an object")
    mtype = message.get("type")
    if mtype not in CUSTOM_TYPES:
        raise InvalidInput(f"message.type must be one of {', '.join(CUSTOM_TYPES)}")
    api = wechat().messages
    extra = {"kf_account": kf_account} if kf_account else {}
    if mtype == "mpnewsarticle":
        article_id = message.get("article_id")
        if not isinstance(article_id, str) or not article_id:
            raise InvalidInput("message.article_id is required")
        return mtype, lambda: api.send_mpnewsarticle(openid, article_id, **extra)
    # A message goes out now: any currently valid media_id will do (temporary is fine).
    resolved = resolve_reply(message, wechat(), permanent=False, path="message")
    reply = validate_reply(resolved)
    if "article_ids" in reply:  # news from CMS articles by id: today's titles and links
        from chalicelib.cms.links import base_url_from_request

        base = base_url_from_request(bp.current_request)
        reply = wiring.published_articles().expand_reply(reply, base)
        if reply is None:
            raise InvalidInput("message.article_ids: none of these articles is published")
    if mtype == "text":
        return mtype, lambda: api.send_text(openid, reply["content"], **extra)
    if mtype in ("image", "voice"):
        return mtype, lambda: api.send_custom(
            openid, mtype, {"media_id": reply["media_id"]}, **extra
        )
    if mtype == "video":
        return mtype, lambda: api.send_video(
            openid,
            reply["media_id"],
            title=reply.get("title"),
            description=reply.get("description"),
            **extra,
        )
    if mtype == "music":
        if not reply.get("music_url") or not reply.get("hq_music_url"):
            raise InvalidInput("message.music_url and message.hq_music_url are required")
        return mtype, lambda: api.send_music(
            openid,
            musicurl=reply["music_url"],
            hqmusicurl=reply["hq_music_url"],
            thumb_media_id=reply["thumb_media_id"],
            title=reply.get("title"),
            description=reply.get("description"),
            **extra,
        )
    articles = reply["articles"]  # news
    if len(articles) != 1:
        raise InvalidInput("message.articles: a customer-service news message has 1 article")
    article = articles[0]
    if not article.get("url"):
        raise InvalidInput("message.articles[0].url is required")
    news = {
        "title": article["title"],
        "description": article.get("description", ""),
        "url": article["url"],
        "picurl": article.get("pic_url", ""),
    }
    return mtype, lambda: api.send_news(openid, news, **extra)


@bp.route("/admin/messages/custom", methods=["POST"])
@admin("conversations:reply")
def post_custom_message() -> dict:
    """Sends only inside the follower's customer-service window and quota (chalicelib.cs):
    otherwise 409 {error, retryable: false, remaining: 0, window_until}, WeChat not called."""
    from chalicelib.cs import quota
    from chalicelib.desk import service as desk

    body = read_object(bp.current_request)
    unknown = sorted(set(body) - {"openid", "message", "reply", "kf_account"})
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
    if "message" in body and "reply" in body:
        raise InvalidInput("give the Reply as message or as reply, not both")
    openid = _openid(body.get("openid"))
    kf_account = body.get("kf_account")
    if kf_account is not None and (not isinstance(kf_account, str) or not kf_account):
        raise InvalidInput("kf_account must be a non-empty string")
    # `reply` as the desk's POST /admin/conversations/{openid}/reply takes it (CONTRACT §7).
    message = body["reply"] if "reply" in body else body.get("message")
    mtype, send = prepare_custom_message(openid, message, kf_account)
    _, left = quota.send(openid, send)
    # The desk's thread is both ways (CONTRACT §7), whichever route sent the message.
    desk.keep_sent(openid, message, principal(bp.current_request).actor, kf_account)
    return {
        "sent": True,
        "openid": openid,
        "type": mtype,
        "remaining": left.remaining,
        "window_until": left.window_until,
    }


@bp.route("/admin/messages/custom/allowance", methods=["GET"])
@admin("conversations:read")
def custom_message_allowance() -> dict:
    """What may still be sent to a follower now: remaining sends and the open windows."""
    from chalicelib.cs import quota

    openid = _openid((bp.current_request.query_params or {}).get("openid"))
    return {"openid": openid, **quota.allowance(openid).as_dict()}


# --------------------------------------------------------------------------- token status


@bp.route("/admin/token", methods=["GET"])
@admin("wechat:read")
def token_status() -> dict:
    """Expiry, last refresh, generation; never the token or the ticket themselves."""
    from chalicelib.jobs import token_refresh
    from chalicelib.store import tokens

    now = time.time()
    out: dict[str, Any] = {}
    for kind in tokens.KINDS:
        stored = tokens.read(kind, consistent=True)
        out[kind] = stored.status(now) if stored else {"present": False, "generation": 0}
    out["schedule"] = {
        "rate_seconds": token_refresh.RATE_SECONDS,
        "access_refresh_window_seconds": token_refresh.ACCESS_WINDOW,
        "jsapi_refresh_margin_seconds": token_refresh.TICKET_MARGIN,
    }
    return out
