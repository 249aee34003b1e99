"""Public routes that let this app's pages know the follower (no admin token):

- `GET /p/jssdk?url=<a page of this app>`: the JS-SDK `wx.config` values (from the jsapi_ticket
  the token refresher keeps fresh); 400 for any other URL.
- `GET /p/oauth?next=<path under /p/>[&scope=snsapi_userinfo]`: 302 to WeChat's authorize page.
- `GET /p/oauth/callback?code&state&next`: checks the signed state, exchanges the code, sets the
  signed follower cookie and sends the browser to `next` (chalicelib.webauth.oauth says how).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from chalice import Blueprint, Response

from chalicelib import config, wiring
from chalicelib.cms import links
from chalicelib.errors import AppError, InvalidInput
from chalicelib.webauth import oauth, pages
from chalicelib.wechat.api.errors import WeChatAPIError
from chalicelib.wechat.api.oauth import authorize_url

bp = Blueprint(__name__)
log = logging.getLogger("wxless.pages")

NO_STORE = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _json(body: dict[str, Any], status: int = 200) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status_code=status,
        headers={"Content-Type": "application/json; charset=utf-8", **NO_STORE},
    )


def _refuse(exc: AppError) -> Response:
    body: dict[str, Any] = {"error": exc.message}
    if exc.retryable:
        body["retryable"] = True
    return _json(body, exc.status)


def _params() -> dict[str, str]:
    return dict(bp.current_request.query_params or {})


def _base() -> str:
    return links.base_url_from_request(bp.current_request)


@bp.route("/p/jssdk", methods=["GET"])
def jssdk_config() -> Response:
    try:
        url = pages.check_page_url(_params().get("url"), _base())
    except AppError as exc:
        return _refuse(exc)
    try:
        ticket = wiring.ticket_provider().get()
    except Exception:  # WeChat or the token store: the page tries again later
        log.warning("pages.jssdk_ticket_unavailable", exc_info=True)
        return _json({"error": "the JS-SDK ticket is not available; retry", "retryable": True}, 503)
    return _json(pages.config(config.get(config.WECHAT_APP_ID), ticket, url))


@bp.route("/p/oauth", methods=["GET"])
def oauth_start() -> Response:
    params = _params()
    try:
        next_path = oauth.check_next(params.get("next"))
        scope = oauth.check_scope(params.get("scope"))
        state = oauth.new_state(next_path, scope)
    except AppError as exc:
        return _refuse(exc)
    redirect = oauth.callback_uri(_base(), next_path, scope)
    location = authorize_url(config.get(config.WECHAT_APP_ID), redirect, scope, state)
    return Response("", status_code=302, headers={"Location": location, **NO_STORE})


@bp.route("/p/oauth/callback", methods=["GET"])
def oauth_callback() -> Response:
    params = _params()
    try:
        next_path = oauth.check_next(params.get("next"))
        scope = oauth.check_scope(params.get("scope"))
        oauth.check_state(params.get("state"), next_path, scope)
    except AppError as exc:
        return _refuse(exc)
    target = _base() + oauth.location(next_path)
    code = params.get("code")
    if not code:  # the follower declined snsapi_userinfo: the page, without knowing them
        return Response("", status_code=302, headers={"Location": target, **NO_STORE})
    try:
        grant = wiring.wechat().oauth.exchange_code(
            config.get(config.WECHAT_APP_ID), config.get(config.WECHAT_APP_SECRET), code
        )
        cookie = oauth.cookie_value(grant.openid, grant.scope)
    except WeChatAPIError as exc:
        if exc.retryable:
            return _json({"error": "WeChat did not answer; retry", "retryable": True}, 503)
        return _refuse(InvalidInput("the authorization code is invalid or used: start again"))
    except AppError as exc:  # storage down, an openid we cannot keep
        return _refuse(exc)
    secure = target.startswith("https://")
    headers = {"Location": target, "Set-Cookie": oauth.set_cookie(cookie, secure=secure)}
    return Response("", status_code=302, headers={**headers, **NO_STORE})
