"""A fake ``api.weixin.qq.com`` for tests and the local runner (stdlib only).

It keeps realistic in-memory state (tokens, menus, media, drafts, followers, tags, messages,
mass jobs), answers with WeChat's JSON shapes and error codes, and lets tests inject errors,
HTTP failures and delays per path. Tokens are real: API routes reject unknown or expired ones,
so a client's token handling is exercised, not bypassed.

    with FakeWeChat() as fake:
        client = WeChatClient(fake.url, ...)
        fake.inject_error("/cgi-bin/message/custom/send", 45015)

Script mode (used by ``make run``): ``python -m infra.fake_wechat --port 0`` prints the base URL
as the first stdout line and serves until SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import re
import secrets
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, quote, urlsplit

DEFAULT_APP_ID = "wxdemo0123456789ab"
DEFAULT_APP_SECRET = "demo0123456789abcdef0123456789ab"
TOKEN_TTL = 7200
TOKEN_OVERLAP = (
    300  # old /cgi-bin/token tokens survive 5 min; stable normal mode renews 5 min early
)
MAX_BODY = 32 * 1024 * 1024

KB = 1024
MB = 1024 * KB
# kind -> (max bytes, allowed file extensions); WeChat checks the extension, not the bytes.
TEMP_MEDIA_LIMITS: dict[str, tuple[int, frozenset[str]]] = {
    "image": (10 * MB, frozenset({"png", "jpeg", "jpg", "gif"})),
    "voice": (2 * MB, frozenset({"amr", "mp3"})),
    "video": (10 * MB, frozenset({"mp4"})),
    "thumb": (64 * KB, frozenset({"jpg", "jpeg"})),
}
MATERIAL_LIMITS = {
    **TEMP_MEDIA_LIMITS,
    "image": (10 * MB, frozenset({"bmp", "png", "jpeg", "jpg", "gif"})),
    "voice": (2 * MB, frozenset({"amr", "mp3", "wma", "wav"})),
}
CUSTOM_MSGTYPES = {
    "text",
    "image",
    "voice",
    "video",
    "music",
    "news",
    "mpnews",
    "mpnewsarticle",
    "msgmenu",
    "wxcard",
    "miniprogrampage",
}
MASS_MSGTYPES = {"mpnews": "mpnews", "text": "text", "voice": "voice", "image": "images"}
MASS_MSGTYPES |= {"mpvideo": "mpvideo", "wxcard": "wxcard"}
SYSTEM_TAGS = {0, 1, 2}

# An escaped \uXXXX (odd number of backslashes before the u): WeChat answers 40033.
_UNICODE_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u[0-9a-fA-F]{4}")


class Call(NamedTuple):
    method: str
    path: str
    query: dict[str, str]
    body: Any  # decoded JSON body, or None (GET, multipart, invalid JSON)


@dataclass
class _Injection:
    errcode: int | None
    errmsg: str
    times: int
    status: int
    delay: float
    body: bytes | None


@dataclass
class FilePart:
    name: str
    filename: str | None
    content_type: str
    content: bytes


@dataclass
class _Binary:
    content: bytes
    content_type: str
    filename: str


class ApiError(Exception):
    """Raised by route handlers; becomes ``{"errcode", "errmsg", **extra}``."""

    def __init__(self, errcode: int, errmsg: str, **extra: Any) -> None:
        super().__init__(errcode, errmsg)
        self.errcode = errcode
        self.errmsg = errmsg
        self.extra = extra


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    raw: bytes
    content_type: str
    json: Any = None
    _form: dict[str, FilePart] | None = field(default=None, repr=False)

    def body(self) -> dict[str, Any]:
        if not isinstance(self.json, dict):
            raise ApiError(47001, "data format error")
        return self.json

    def form(self) -> dict[str, FilePart]:
        if self._form is None:
            self._form = _parse_multipart(self.raw, self.content_type)
        return self._form


def _parse_multipart(raw: bytes, content_type: str) -> dict[str, FilePart]:
    # Hand-rolled (cgi is gone in 3.13 and email.parser may touch line endings in binaries).
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if not content_type.lower().startswith("multipart/form-data") or not match:
        raise ApiError(41005, "media data missing")
    delimiter = b"--" + match.group(1).encode("latin-1")
    parts: dict[str, FilePart] = {}
    for chunk in raw.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        headers = head.decode("utf-8", "replace")
        name = re.search(r'\bname="([^"]*)"', headers)
        if not name:
            continue
        filename = re.search(r'\bfilename="([^"]*)"', headers)
        ctype = re.search(r"(?im)^content-type:\s*([^\r\n;]+)", headers)
        parts[name.group(1)] = FilePart(
            name=name.group(1),
            filename=filename.group(1) if filename else None,
            content_type=ctype.group(1).strip() if ctype else "application/octet-stream",
            content=content,
        )
    return parts


def _disposition(filename: str) -> str:
    # Headers are latin-1: non-ASCII names go in RFC 5987 filename*, with an ASCII fallback.
    if filename.isascii():
        return f'attachment; filename="{filename}"'
    fallback = "media." + _extension(filename) if _extension(filename) else "media"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def _extension(filename: str | None) -> str:
    return filename.rsplit(".", 1)[-1].lower() if filename and "." in filename else ""


Route = tuple[str, Callable[[Request], Any], bool]  # (method, handler, needs access_token)


class FakeWeChat:
    """In-memory WeChat API server bound to loopback."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        app_id: str = DEFAULT_APP_ID,
        app_secret: str = DEFAULT_APP_SECRET,
        clock: Callable[[], float] = time.time,
        follower_page_size: int = 10_000,
        reject_unicode_escapes: bool = True,
        verbose: bool = False,
    ) -> None:
        self.host = host
        self.port = port
        self.app_id = app_id
        self.app_secret = app_secret
        self.clock = clock
        #: user/get and user/tag/get page size (10,000 on WeChat; small in paging tests).
        self.follower_page_size = follower_page_size
        self.reject_unicode_escapes = reject_unicode_escapes
        self.verbose = verbose
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._routes = self._build_routes()
        self._tokens: dict[str, float] = {}  # token -> expires_at
        self._reset_state(tokens=True)

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeWeChat:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server((self.host, self.port), _Handler)
        server.fake = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()  # wakes handlers sleeping on an injected delay
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeWeChat:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # ---- test helpers --------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def count(self, path: str) -> int:
        with self._lock:
            return sum(1 for c in self._calls if c.path == path)

    def calls_to(self, path: str) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if c.path == path]

    def raw_bodies(self, path: str) -> list[bytes]:
        """Request bodies exactly as received (to check the bytes on the wire)."""
        with self._lock:
            return [raw for c, raw in zip(self._calls, self._raw, strict=True) if c.path == path]

    def inject_error(
        self,
        path: str,
        errcode: int | None = -1,
        errmsg: str = "injected error",
        times: int = 1,
        *,
        status: int = 200,
        delay: float = 0.0,
        body: bytes | None = None,
    ) -> None:
        """Make the next ``times`` calls to ``path`` fail.

        ``errcode``: answer ``{"errcode", "errmsg"}`` (None: answer normally after ``delay``);
        ``status``: answer this HTTP status instead; ``body``: answer these raw bytes;
        ``delay``: sleep first (longer than the client's timeout gives a timeout).
        """
        with self._lock:
            self._injections.setdefault(path, []).append(
                _Injection(errcode, errmsg, times, status, delay, body)
            )

    def reset(self, *, tokens: bool = False) -> None:
        """Forget calls, injections and API state. Issued tokens stay valid unless ``tokens``."""
        with self._lock:
            self._reset_state(tokens=tokens)

    def issue_token(self) -> str:
        """A valid access_token without an HTTP round trip (for tests of other parts)."""
        with self._lock:
            return self._new_token(self.clock())

    def expire_tokens(self) -> None:
        """Every issued token now answers 42001 (access_token expired)."""
        with self._lock:
            now = self.clock()
            for token in self._tokens:
                self._tokens[token] = now - 1

    def age_tokens(self, seconds: float) -> None:
        """Every issued token has ``seconds`` less to live, as if that much time had passed
        at WeChat (tests of a refresher that runs on the real clock)."""
        with self._lock:
            for token in self._tokens:
                self._tokens[token] -= seconds

    def revoke_tokens(self) -> None:
        """Every issued token now answers 40001, like after a force refresh elsewhere."""
        with self._lock:
            self._tokens.clear()
            self._stable = None
            self._plain = None

    def add_follower(self, openid: str, **profile: Any) -> dict[str, Any]:
        """Seed a subscribed follower; ``profile`` overrides the default user/info fields."""
        with self._lock:
            record = {
                "subscribe": 1,
                "openid": openid,
                "language": "zh_CN",
                "subscribe_time": int(self.clock()),
                "remark": "",
                "groupid": 0,
                "subscribe_scene": "ADD_SCENE_QR_CODE",
                "qr_scene": 0,
                "qr_scene_str": "",
            }
            record.update(profile)
            self._followers[openid] = record
            return dict(record)

    def remove_follower(self, openid: str) -> None:
        """The follower unsubscribes (user/info then answers ``subscribe: 0``)."""
        with self._lock:
            if openid in self._followers:
                self._followers[openid]["subscribe"] = 0
            for members in self._tag_members.values():
                members.pop(openid, None)

    def add_template(self, template_id: str, title: str, content: str, **extra: Any) -> None:
        with self._lock:
            self._templates[template_id] = {
                "template_id": template_id,
                "title": title,
                "primary_industry": extra.pop("primary_industry", "金融业"),
                "deputy_industry": extra.pop("deputy_industry", "银行"),
                "content": content,
                "example": extra.pop("example", ""),
                **extra,
            }

    @property
    def menu(self) -> dict[str, Any] | None:
        with self._lock:
            return json.loads(json.dumps(self._menu)) if self._menu else None

    @property
    def custom_messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._custom_messages)

    @property
    def template_messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._template_messages)

    @property
    def mass_jobs(self) -> dict[int, dict[str, Any]]:
        with self._lock:
            return dict(self._mass_jobs)

    @property
    def errors(self) -> list[str]:
        """Tracebacks of fake-side bugs (each also answered HTTP 500)."""
        with self._lock:
            return list(self._errors)

    # ---- state ---------------------------------------------------------------------------

    def _reset_state(self, *, tokens: bool) -> None:
        self._calls: list[Call] = []
        self._raw: list[bytes] = []
        self._errors: list[str] = []
        self._injections: dict[str, list[_Injection]] = {}
        if tokens:
            self._tokens = {}
            self._stable: str | None = None
            self._plain: str | None = None
        self._ids = itertools.count(1000)
        self._menu: dict[str, Any] | None = None
        self._conditional: dict[str, dict[str, Any]] = {}
        self._media: dict[str, dict[str, Any]] = {}
        self._materials: dict[str, dict[str, Any]] = {}
        self._drafts: dict[str, dict[str, Any]] = {}
        self._publishes: dict[str, dict[str, Any]] = {}
        self._followers: dict[str, dict[str, Any]] = {}
        self._tags: dict[int, str] = {2: "星标组"}
        self._tag_members: dict[int, dict[str, None]] = {2: {}}  # ordered sets
        self._next_tag = itertools.count(100)
        self._templates: dict[str, dict[str, Any]] = {}
        self._custom_messages: list[dict[str, Any]] = []
        self._template_messages: list[dict[str, Any]] = []
        self._mass_jobs: dict[int, dict[str, Any]] = {}
        self._mass_videos: dict[str, dict[str, Any]] = {}  # media/uploadvideo results
        self._clientmsgids: dict[str, int] = {}
        self._tickets: dict[str, str] = {}
        self.add_template(
            "tmpl_txn_notice_0001",
            "交易提醒",
            "{{first.DATA}}\n交易时间：{{keyword1.DATA}}\n交易金额：{{keyword2.DATA}}\n"
            "{{remark.DATA}}",
        )

    def _new_token(self, now: float) -> str:
        token = f"{next(self._ids)}_{secrets.token_urlsafe(108)}"  # ~150 chars, like WeChat's
        self._tokens[token] = now + TOKEN_TTL
        return token

    def _new_id(self, nbytes: int = 32) -> str:
        return secrets.token_urlsafe(nbytes).replace("-", "A")

    def _rid(self) -> str:
        return "-".join(secrets.token_hex(4) for _ in range(3))

    # ---- dispatch ------------------------------------------------------------------------

    def _dispatch(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        path = parts.path
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        ctype = headers.get("content-type", "")
        req = Request(method, path, query, raw, ctype)
        if raw and "multipart/" not in ctype.lower():
            try:
                req.json = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                req.json = None
        with self._lock:
            self._calls.append(Call(method, path, query, req.json))
            self._raw.append(raw)
            injection = self._take_injection(path)
        if injection is not None:
            if injection.delay:
                self._stopping.wait(injection.delay)
            if injection.body is not None:
                return injection.status, {"Content-Type": "text/html"}, injection.body
            if injection.status != 200:
                return injection.status, {"Content-Type": "text/html"}, b"<html>error</html>"
            if injection.errcode is not None:
                return self._json({"errcode": injection.errcode, "errmsg": injection.errmsg})
        with self._lock:
            try:
                result = self._route(req)
            except ApiError as exc:
                return self._json(
                    {"errcode": exc.errcode, "errmsg": f"{exc.errmsg} rid: {self._rid()}"}
                    | exc.extra
                )
            except Exception:
                self._errors.append(traceback.format_exc())
                return 500, {"Content-Type": "text/plain"}, b"fake wechat bug"
        if isinstance(result, _Binary):
            return (
                200,
                {
                    "Content-Type": result.content_type,
                    "Content-disposition": _disposition(result.filename),
                },
                result.content,
            )
        return self._json(result)

    def _take_injection(self, path: str) -> _Injection | None:
        queue = self._injections.get(path)
        if not queue:
            return None
        injection = queue[0]
        injection.times -= 1
        if injection.times <= 0:
            queue.pop(0)
        return injection

    @staticmethod
    def _json(data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        return 200, {"Content-Type": "application/json; encoding=utf-8"}, body

    def _route(self, req: Request) -> Any:
        route = self._routes.get(req.path)
        if route is None:
            raise ApiError(48001, "api unauthorized")
        method, handler, needs_token = route
        if req.method != method:
            raise ApiError(43001 if method == "GET" else 43002, f"require {method} method")
        if needs_token:
            self._check_token(req.query.get("access_token"))
        if (
            self.reject_unicode_escapes
            and method == "POST"
            and req.json is not None
            and _UNICODE_ESCAPE.search(req.raw)
        ):
            raise ApiError(
                40033,
                "invalid charset. please check your request, if include \\uxxxx will create fail!",
            )
        return handler(req)

    def _check_token(self, token: str | None) -> None:
        if not token:
            raise ApiError(41001, "access_token missing")
        expires_at = self._tokens.get(token)
        if expires_at is None:
            raise ApiError(40001, "invalid credential, access_token is invalid or not latest")
        if self.clock() >= expires_at:
            raise ApiError(42001, "access_token expired")

    def _build_routes(self) -> dict[str, Route]:
        g, p = "GET", "POST"
        return {
            "/cgi-bin/token": (g, self._token, False),
            "/cgi-bin/stable_token": (p, self._stable_token, False),
            "/cgi-bin/ticket/getticket": (g, self._getticket, True),
            "/cgi-bin/menu/create": (p, self._menu_create, True),
            "/cgi-bin/menu/get": (g, self._menu_get, True),
            "/cgi-bin/menu/delete": (g, self._menu_delete, True),
            "/cgi-bin/menu/addconditional": (p, self._menu_addconditional, True),
            "/cgi-bin/menu/delconditional": (p, self._menu_delconditional, True),
            "/cgi-bin/menu/trymatch": (p, self._menu_trymatch, True),
            "/cgi-bin/get_current_selfmenu_info": (g, self._selfmenu_info, True),
            "/cgi-bin/media/upload": (p, self._media_upload, True),
            "/cgi-bin/media/get": (g, self._media_get, True),
            "/cgi-bin/media/uploadimg": (p, self._media_uploadimg, True),
            "/cgi-bin/media/uploadvideo": (p, self._media_uploadvideo, True),
            "/cgi-bin/material/add_material": (p, self._material_add, True),
            "/cgi-bin/material/get_material": (p, self._material_get, True),
            "/cgi-bin/material/del_material": (p, self._material_del, True),
            "/cgi-bin/material/get_materialcount": (g, self._material_count, True),
            "/cgi-bin/material/batchget_material": (p, self._material_batchget, True),
            "/cgi-bin/material/add_news": (p, self._material_add_news, True),
            "/cgi-bin/draft/add": (p, self._draft_add, True),
            "/cgi-bin/draft/get": (p, self._draft_get, True),
            "/cgi-bin/draft/delete": (p, self._draft_delete, True),
            "/cgi-bin/freepublish/submit": (p, self._publish_submit, True),
            "/cgi-bin/freepublish/get": (p, self._publish_get, True),
            "/cgi-bin/user/info": (g, self._user_info, True),
            "/cgi-bin/user/info/batchget": (p, self._user_batchget, True),
            "/cgi-bin/user/get": (g, self._user_get, True),
            "/cgi-bin/user/info/updateremark": (p, self._user_remark, True),
            "/cgi-bin/tags/create": (p, self._tags_create, True),
            "/cgi-bin/tags/get": (g, self._tags_get, True),
            "/cgi-bin/tags/update": (p, self._tags_update, True),
            "/cgi-bin/tags/delete": (p, self._tags_delete, True),
            "/cgi-bin/tags/members/batchtagging": (p, self._tags_tag, True),
            "/cgi-bin/tags/members/batchuntagging": (p, self._tags_untag, True),
            "/cgi-bin/tags/getidlist": (p, self._tags_idlist, True),
            "/cgi-bin/user/tag/get": (p, self._tag_followers, True),
            "/cgi-bin/message/custom/send": (p, self._custom_send, True),
            "/cgi-bin/message/template/send": (p, self._template_send, True),
            "/cgi-bin/template/get_all_private_template": (g, self._templates_all, True),
            "/cgi-bin/message/mass/sendall": (p, self._mass_sendall, True),
            "/cgi-bin/message/mass/send": (p, self._mass_send, True),
            "/cgi-bin/message/mass/preview": (p, self._mass_preview, True),
            "/cgi-bin/message/mass/get": (p, self._mass_get, True),
            "/cgi-bin/message/mass/delete": (p, self._mass_delete, True),
        }

    # ---- tokens --------------------------------------------------------------------------

    def _check_app(self, appid: Any, secret: Any) -> None:
        if not appid:
            raise ApiError(41002, "appid missing")
        if not secret:
            raise ApiError(41004, "appsecret missing")
        if appid != self.app_id:
            raise ApiError(40013, "invalid appid")
        if secret != self.app_secret:
            raise ApiError(40125, "invalid appsecret")

    def _token(self, req: Request) -> dict[str, Any]:
        if req.query.get("grant_type") != "client_credential":
            raise ApiError(40002, "invalid grant_type")
        self._check_app(req.query.get("appid"), req.query.get("secret"))
        now = self.clock()
        # Every call rotates; the previous token stays valid for at most 5 more minutes.
        if self._plain in self._tokens:
            self._tokens[self._plain] = min(self._tokens[self._plain], now + TOKEN_OVERLAP)
        self._plain = self._new_token(now)
        return {"access_token": self._plain, "expires_in": TOKEN_TTL}

    def _stable_token(self, req: Request) -> dict[str, Any]:
        body = req.body()
        if body.get("grant_type") != "client_credential":
            raise ApiError(40002, "invalid grant_type")
        self._check_app(body.get("appid"), body.get("secret"))
        force = body.get("force_refresh") in (True, "true", 1)
        now = self.clock()
        current = self._stable
        if force:
            if current is not None:
                self._tokens.pop(current, None)  # force refresh kills the previous token at once
        elif current is not None and self._tokens.get(current, 0) - now > TOKEN_OVERLAP:
            return {"access_token": current, "expires_in": int(self._tokens[current] - now)}
        # Normal mode renews 5 min before expiry; the old token lives until it expires.
        self._stable = self._new_token(now)
        return {"access_token": self._stable, "expires_in": TOKEN_TTL}

    def _getticket(self, req: Request) -> dict[str, Any]:
        kind = req.query.get("type", "jsapi")
        if kind not in ("jsapi", "wx_card"):
            raise ApiError(40097, "invalid args")
        ticket = self._tickets.setdefault(kind, self._new_id(64))
        return {"errcode": 0, "errmsg": "ok", "ticket": ticket, "expires_in": TOKEN_TTL}

    # ---- menu ----------------------------------------------------------------------------

    @staticmethod
    def _check_buttons(body: dict[str, Any]) -> list[dict[str, Any]]:
        buttons = body.get("button")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            raise ApiError(40016, "invalid button size")
        for button in buttons:
            if not isinstance(button, dict):
                raise ApiError(47001, "data format error")
            name = str(button.get("name", ""))
            if not name or len(name.encode()) > 16:
                raise ApiError(40018, "invalid button name size")
            subs = button.get("sub_button") or []
            if len(subs) > 5:
                raise ApiError(40023, "invalid sub button size")
            for sub in subs:
                if not isinstance(sub, dict):
                    raise ApiError(47001, "data format error")
                sub_name = str(sub.get("name", ""))
                if not sub_name or len(sub_name.encode()) > 60:
                    raise ApiError(40022, "invalid sub button name size")
                if sub.get("type") == "view" and not str(sub.get("url", "")).startswith("http"):
                    raise ApiError(40054, "invalid sub button url domain")
            if button.get("type") == "view" and not str(button.get("url", "")).startswith("http"):
                raise ApiError(40055, "invalid button url domain")
        return buttons

    def _menu_create(self, req: Request) -> dict[str, Any]:
        buttons = self._check_buttons(req.body())
        self._menu = {"button": buttons, "menuid": next(self._ids)}
        return {"errcode": 0, "errmsg": "ok"}

    def _menu_get(self, req: Request) -> dict[str, Any]:
        if self._menu is None:
            raise ApiError(46003, "menu no exist")
        data: dict[str, Any] = {"menu": self._menu}
        if self._conditional:
            data["conditionalmenu"] = list(self._conditional.values())
        return data

    def _menu_delete(self, req: Request) -> dict[str, Any]:
        self._menu = None
        self._conditional.clear()
        return {"errcode": 0, "errmsg": "ok"}

    def _menu_addconditional(self, req: Request) -> dict[str, Any]:
        body = req.body()
        if self._menu is None:
            raise ApiError(65303, "there is no selfmenu, please create selfmenu first")
        buttons = self._check_buttons(body)
        rule = body.get("matchrule")
        if not isinstance(rule, dict) or not any(rule.values()):
            raise ApiError(65304, "match rule empty")
        if "tag_id" in rule and int(rule["tag_id"]) not in self._tags:
            raise ApiError(40050, "invalid tag id")
        menuid = str(next(self._ids))
        self._conditional[menuid] = {"button": buttons, "matchrule": rule, "menuid": menuid}
        return {"menuid": menuid}

    def _menu_delconditional(self, req: Request) -> dict[str, Any]:
        menuid = str(req.body().get("menuid", ""))
        if self._conditional.pop(menuid, None) is None:
            raise ApiError(65301, "this menuid does not exist")
        return {"errcode": 0, "errmsg": "ok"}

    def _menu_trymatch(self, req: Request) -> dict[str, Any]:
        user_id = str(req.body().get("user_id", ""))
        if self._menu is None:
            raise ApiError(46003, "menu no exist")
        if user_id not in self._followers:
            raise ApiError(40003, "invalid openid")
        tags = self._user_tag_ids(user_id)
        for menu in reversed(self._conditional.values()):  # the newest matching menu wins
            tag = menu["matchrule"].get("tag_id")
            if tag is not None and int(tag) in tags:
                return {"button": menu["button"]}
        return {"button": self._menu["button"]}

    def _selfmenu_info(self, req: Request) -> dict[str, Any]:
        if self._menu is None:
            return {"is_menu_open": 0}

        def convert(button: dict[str, Any]) -> dict[str, Any]:
            out = {k: v for k, v in button.items() if k != "sub_button"}
            if button.get("sub_button"):
                out["sub_button"] = {"list": [convert(s) for s in button["sub_button"]]}
            return out

        return {
            "is_menu_open": 1,
            "selfmenu_info": {"button": [convert(b) for b in self._menu["button"]]},
        }

    # ---- media / material ----------------------------------------------------------------

    def _file(self, req: Request, limits: dict[str, tuple[int, frozenset[str]]], kind: str):
        part = req.form().get("media")
        if part is None or part.filename is None:
            raise ApiError(41005, "media data missing")
        max_bytes, extensions = limits[kind]
        if _extension(part.filename) not in extensions:
            raise ApiError(40005, "invalid file type")
        if not part.content or len(part.content) > max_bytes:
            raise ApiError(40006, "invalid meida size")
        return part

    def _media_upload(self, req: Request) -> dict[str, Any]:
        kind = req.query.get("type", "")
        if kind not in TEMP_MEDIA_LIMITS:
            raise ApiError(40004, "invalid media type")
        part = self._file(req, TEMP_MEDIA_LIMITS, kind)
        media_id = self._new_id()
        now = int(self.clock())
        self._media[media_id] = {"kind": kind, "part": part, "created_at": now}
        key = "thumb_media_id" if kind == "thumb" else "media_id"
        return {"type": kind, key: media_id, "created_at": now}

    def _media_get(self, req: Request) -> Any:
        item = self._media.get(req.query.get("media_id", ""))
        if item is None:
            raise ApiError(40007, "invalid media_id")
        part: FilePart = item["part"]
        if item["kind"] == "video":
            return {"video_url": f"http://video.example.invalid/{req.query['media_id']}.mp4"}
        return _Binary(part.content, part.content_type, part.filename or "media")

    def _media_uploadimg(self, req: Request) -> dict[str, Any]:
        limits = {"image": (1 * MB, frozenset({"jpg", "jpeg", "png"}))}
        self._file(req, limits, "image")
        return {"url": f"http://mmbiz.qpic.cn/mmbiz_jpg/{self._new_id(24)}/0"}

    def _media_uploadvideo(self, req: Request) -> dict[str, Any]:
        """A video (temporary media or permanent material) made into a mass-send video."""
        body = req.body()
        source = str(body.get("media_id") or "")
        item = self._media.get(source) or self._materials.get(source)
        if item is None or item["kind"] != "video":
            raise ApiError(40007, "invalid media_id")
        media_id = self._new_id()
        now = int(self.clock())
        self._mass_videos[media_id] = {
            "source": source,
            "title": body.get("title"),
            "description": body.get("description"),
        }
        return {"type": "video", "media_id": media_id, "created_at": now}

    def _material_add(self, req: Request) -> dict[str, Any]:
        kind = req.query.get("type", "")
        if kind not in MATERIAL_LIMITS:
            raise ApiError(40004, "invalid media type")
        part = self._file(req, MATERIAL_LIMITS, kind)
        record: dict[str, Any] = {"kind": kind, "part": part, "update_time": int(self.clock())}
        if kind == "video":
            desc = req.form().get("description")
            try:
                info = json.loads(desc.content.decode("utf-8")) if desc else None
            except (UnicodeDecodeError, ValueError):
                info = None
            if not isinstance(info, dict) or not info.get("title"):
                raise ApiError(47001, "data format error")
            record["title"] = info["title"]
            record["introduction"] = info.get("introduction", "")
        media_id = self._new_id()
        answer: dict[str, Any] = {"media_id": media_id}
        if kind == "image":
            record["url"] = f"http://mmbiz.qpic.cn/mmbiz_png/{self._new_id(24)}/0"
            answer["url"] = record["url"]
        self._materials[media_id] = record
        return answer

    def _material(self, media_id: Any) -> dict[str, Any]:
        item = self._materials.get(str(media_id or ""))
        if item is None:
            raise ApiError(40007, "invalid media_id")
        return item

    def _material_get(self, req: Request) -> Any:
        media_id = req.body().get("media_id")
        item = self._material(media_id)
        if item["kind"] == "video":
            return {
                "title": item["title"],
                "description": item["introduction"],
                "down_url": f"http://video.example.invalid/{media_id}.mp4",
            }
        part: FilePart = item["part"]
        return _Binary(part.content, part.content_type, part.filename or "material")

    def _material_del(self, req: Request) -> dict[str, Any]:
        media_id = req.body().get("media_id")
        self._material(media_id)
        del self._materials[str(media_id)]
        return {"errcode": 0, "errmsg": "ok"}

    def _material_count(self, req: Request) -> dict[str, Any]:
        counts = {f"{k}_count": 0 for k in ("voice", "video", "image", "news")}
        for item in self._materials.values():
            if item["kind"] != "thumb":  # thumbs are counted as images by WeChat's console only
                counts[f"{item['kind']}_count"] += 1
        return counts

    def _material_batchget(self, req: Request) -> dict[str, Any]:
        body = req.body()
        kind = body.get("type")
        if kind not in ("image", "video", "voice", "news"):
            raise ApiError(40004, "invalid media type")
        offset, count = int(body.get("offset", 0)), int(body.get("count", 0))
        if not 1 <= count <= 20 or offset < 0:
            raise ApiError(40097, "invalid args")
        matching = [(mid, m) for mid, m in self._materials.items() if m["kind"] == kind]
        page = matching[offset : offset + count]
        items = []
        for mid, m in page:
            item = {"media_id": mid, "name": m["part"].filename, "update_time": m["update_time"]}
            if "url" in m:
                item["url"] = m["url"]
            items.append(item)
        return {"total_count": len(matching), "item_count": len(items), "item": items}

    def _material_add_news(self, req: Request) -> dict[str, Any]:
        raise ApiError(45106, "This API has been unsupported")

    # ---- drafts / publishing -------------------------------------------------------------

    def _draft_add(self, req: Request) -> dict[str, Any]:
        articles = req.body().get("articles")
        if not isinstance(articles, list) or not 1 <= len(articles) <= 8:
            raise ApiError(47001, "data format error")
        for article in articles:
            if not isinstance(article, dict) or not article.get("title"):
                raise ApiError(44003, "empty news data")
            if not article.get("content"):
                raise ApiError(44004, "empty content")
            if article.get("article_type", "news") == "news":
                thumb = self._materials.get(str(article.get("thumb_media_id", "")))
                if thumb is None or thumb["kind"] not in ("thumb", "image"):
                    raise ApiError(40007, "invalid media_id")
        media_id = self._new_id()
        items = []
        for article in articles:
            item = {"url": f"http://mp.weixin.qq.com/s?__biz=demo&tempkey={media_id}"}
            item.update(article)
            items.append(item)
        self._drafts[media_id] = {"news_item": items, "update_time": int(self.clock())}
        return {"media_id": media_id}

    def _draft(self, media_id: Any) -> dict[str, Any]:
        draft = self._drafts.get(str(media_id or ""))
        if draft is None:
            raise ApiError(40007, "invalid media_id")
        return draft

    def _draft_get(self, req: Request) -> dict[str, Any]:
        return {"news_item": self._draft(req.body().get("media_id"))["news_item"]}

    def _draft_delete(self, req: Request) -> dict[str, Any]:
        media_id = req.body().get("media_id")
        self._draft(media_id)
        del self._drafts[str(media_id)]
        return {"errcode": 0, "errmsg": "ok"}

    def _publish_submit(self, req: Request) -> dict[str, Any]:
        media_id = req.body().get("media_id")
        draft = self._draft(media_id)
        publish_id = str(next(self._ids) + 100_000_000)
        article_id = self._new_id(24)
        # Published at once (WeChat takes seconds to minutes and sends PUBLISHJOBFINISH).
        self._publishes[publish_id] = {
            "publish_id": publish_id,
            "publish_status": 0,
            "article_id": article_id,
            "article_detail": {
                "count": len(draft["news_item"]),
                "item": [
                    {"idx": i + 1, "article_url": f"http://mp.weixin.qq.com/s/{article_id}_{i}"}
                    for i in range(len(draft["news_item"]))
                ],
            },
            "fail_idx": [],
        }
        return {"errcode": 0, "errmsg": "ok", "publish_id": publish_id}

    def _publish_get(self, req: Request) -> dict[str, Any]:
        publish = self._publishes.get(str(req.body().get("publish_id", "")))
        if publish is None:
            raise ApiError(40007, "invalid publish_id")
        return publish

    # ---- users ---------------------------------------------------------------------------

    def _user_tag_ids(self, openid: str) -> list[int]:
        return [tag for tag, members in self._tag_members.items() if openid in members]

    def _profile(self, openid: str, lang: str = "zh_CN") -> dict[str, Any]:
        record = self._followers.get(openid)
        if record is None:
            raise ApiError(40003, "invalid openid")
        if not record.get("subscribe"):
            return {"subscribe": 0, "openid": openid}
        return record | {"tagid_list": self._user_tag_ids(openid)}

    def _user_info(self, req: Request) -> dict[str, Any]:
        return self._profile(req.query.get("openid", ""), req.query.get("lang", "zh_CN"))

    def _user_batchget(self, req: Request) -> dict[str, Any]:
        users = req.body().get("user_list")
        if not isinstance(users, list) or not 1 <= len(users) <= 100:
            raise ApiError(40032, "invalid openid list size")
        return {"user_info_list": [self._profile(str(u.get("openid", ""))) for u in users]}

    def _page(self, openids: list[str], next_openid: str) -> tuple[list[str], str]:
        start = 0
        if next_openid:
            if next_openid not in openids:
                raise ApiError(40003, "invalid next_openid")
            start = openids.index(next_openid) + 1
        page = openids[start : start + self.follower_page_size]
        return page, (page[-1] if page else "")

    def _user_get(self, req: Request) -> dict[str, Any]:
        subscribed = [o for o, r in self._followers.items() if r.get("subscribe")]
        page, cursor = self._page(subscribed, req.query.get("next_openid", ""))
        data: dict[str, Any] = {"total": len(subscribed), "count": len(page)}
        if page:
            data["data"] = {"openid": page}
        data["next_openid"] = cursor
        return data

    def _user_remark(self, req: Request) -> dict[str, Any]:
        body = req.body()
        openid, remark = str(body.get("openid", "")), str(body.get("remark", ""))
        if openid not in self._followers:
            raise ApiError(40003, "invalid openid")
        if len(remark) >= 30:
            raise ApiError(45007, "remark too long")
        self._followers[openid]["remark"] = remark
        return {"errcode": 0, "errmsg": "ok"}

    # ---- tags ----------------------------------------------------------------------------

    def _tag_id(self, value: Any) -> int:
        try:
            tag_id = int(value)
        except (TypeError, ValueError):
            raise ApiError(45159, "invalid tag id") from None
        if tag_id not in self._tags:
            raise ApiError(45159, "invalid tag id")
        return tag_id

    def _tag_name(self, name: Any, exclude: int | None = None) -> str:
        name = str(name or "")
        if not name or len(name) > 30:
            raise ApiError(45158, "tag name too long")
        if any(n == name and t != exclude for t, n in self._tags.items()):
            raise ApiError(45157, "invalid tag name")
        return name

    def _tags_create(self, req: Request) -> dict[str, Any]:
        name = self._tag_name((req.body().get("tag") or {}).get("name"))
        if len(self._tags) >= 100:
            raise ApiError(45056, "too many tags")
        tag_id = next(self._next_tag)
        self._tags[tag_id] = name
        self._tag_members[tag_id] = {}
        return {"tag": {"id": tag_id, "name": name}}

    def _tags_get(self, req: Request) -> dict[str, Any]:
        return {
            "tags": [
                {"id": t, "name": n, "count": len(self._tag_members[t])}
                for t, n in self._tags.items()
            ]
        }

    def _tags_update(self, req: Request) -> dict[str, Any]:
        tag = req.body().get("tag") or {}
        tag_id = self._tag_id(tag.get("id"))
        if tag_id in SYSTEM_TAGS:
            raise ApiError(45058, "can't modify sys tag")
        self._tags[tag_id] = self._tag_name(tag.get("name"), exclude=tag_id)
        return {"errcode": 0, "errmsg": "ok"}

    def _tags_delete(self, req: Request) -> dict[str, Any]:
        tag_id = self._tag_id((req.body().get("tag") or {}).get("id"))
        if tag_id in SYSTEM_TAGS:
            raise ApiError(45058, "can't modify sys tag")
        if len(self._tag_members[tag_id]) > 100_000:
            raise ApiError(45057, "too many fans under this tag")
        del self._tags[tag_id]
        del self._tag_members[tag_id]
        return {"errcode": 0, "errmsg": "ok"}

    def _members_request(self, req: Request) -> tuple[int, list[str]]:
        body = req.body()
        openids = body.get("openid_list")
        if not isinstance(openids, list) or not 1 <= len(openids) <= 50:
            raise ApiError(40032, "invalid openid list size")
        tag_id = self._tag_id(body.get("tagid"))
        for openid in openids:
            if openid not in self._followers:
                raise ApiError(40003, "invalid openid")
        return tag_id, openids

    def _tags_tag(self, req: Request) -> dict[str, Any]:
        tag_id, openids = self._members_request(req)
        if any(len(self._user_tag_ids(o)) >= 20 for o in openids):
            raise ApiError(45059, "the fans' tags are out of limit")
        for openid in openids:
            self._tag_members[tag_id][openid] = None
        return {"errcode": 0, "errmsg": "ok"}

    def _tags_untag(self, req: Request) -> dict[str, Any]:
        tag_id, openids = self._members_request(req)
        for openid in openids:
            self._tag_members[tag_id].pop(openid, None)
        return {"errcode": 0, "errmsg": "ok"}

    def _tags_idlist(self, req: Request) -> dict[str, Any]:
        openid = str(req.body().get("openid", ""))
        if openid not in self._followers:
            raise ApiError(40003, "invalid openid")
        return {"tagid_list": self._user_tag_ids(openid)}

    def _tag_followers(self, req: Request) -> dict[str, Any]:
        body = req.body()
        tag_id = self._tag_id(body.get("tagid"))
        page, cursor = self._page(list(self._tag_members[tag_id]), body.get("next_openid") or "")
        data: dict[str, Any] = {"count": len(page)}
        if page:
            data["data"] = {"openid": page}
        data["next_openid"] = cursor
        return data

    # ---- messages ------------------------------------------------------------------------

    def _custom_send(self, req: Request) -> dict[str, Any]:
        body = req.body()
        if not body.get("touser"):
            raise ApiError(40003, "invalid openid")
        msgtype = body.get("msgtype")
        if msgtype not in CUSTOM_MSGTYPES:
            raise ApiError(40008, "invalid message type")
        if not isinstance(body.get(msgtype), dict):
            raise ApiError(47001, "data format error")
        if msgtype == "news" and len(body["news"].get("articles") or []) != 1:
            raise ApiError(45008, "article size out of limit")  # 1 article since 2018-10-12
        self._custom_messages.append(body)
        return {"errcode": 0, "errmsg": "ok"}

    def _template_send(self, req: Request) -> dict[str, Any]:
        body = req.body()
        if not body.get("touser"):
            raise ApiError(40003, "invalid openid")
        if body.get("template_id") not in self._templates:
            raise ApiError(40037, "invalid template_id")
        data = body.get("data")
        if not isinstance(data, dict) or not all(
            isinstance(v, dict) and "value" in v for v in data.values()
        ):
            raise ApiError(47001, "data format error")
        msgid = next(self._ids) + 200_000_000
        self._template_messages.append(body | {"msgid": msgid})
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def _templates_all(self, req: Request) -> dict[str, Any]:
        return {"template_list": list(self._templates.values())}

    def _mass_payload(self, body: dict[str, Any]) -> str:
        msgtype = body.get("msgtype")
        key = MASS_MSGTYPES.get(str(msgtype))
        if key is None:
            raise ApiError(40008, "invalid message type")
        if not isinstance(body.get(key), dict):
            raise ApiError(47001, "data format error")
        if msgtype in ("mpnews",) and str(body[key].get("media_id")) not in self._drafts:
            raise ApiError(40007, "invalid media_id")
        if msgtype == "image" and not (
            isinstance(body[key].get("media_ids"), list) and body[key]["media_ids"]
        ):
            raise ApiError(47001, "data format error")  # images: {media_ids: [...]}
        if msgtype == "mpvideo" and str(body[key].get("media_id")) not in self._mass_videos:
            raise ApiError(40007, "invalid media_id")  # needs media/uploadvideo's media_id
        return key

    def _mass_submit(self, path: str, body: dict[str, Any], audience: list[str]) -> dict:
        key = self._mass_payload(body)
        clientmsgid = body.get("clientmsgid")
        if clientmsgid is not None and len(str(clientmsgid).encode()) > 64:
            raise ApiError(45067, "clientmsgid size out of limit")
        if clientmsgid is None:
            # WeChat's default clientmsgid is a digest of the audience and the content.
            scope = body.get("filter") or body.get("touser")
            digest = json.dumps([scope, body.get(key)], sort_keys=True, ensure_ascii=False)
            clientmsgid = "auto:" + hashlib.sha256(digest.encode()).hexdigest()
        existing = self._clientmsgids.get(str(clientmsgid))
        if existing is not None:
            raise ApiError(45065, "clientmsgid exist", msg_id=existing)
        msg_id = next(self._ids) + 3_000_000_000
        job: dict[str, Any] = {
            "path": path,
            "msg_id": msg_id,
            "msgtype": body["msgtype"],
            "payload": body[key],
            "clientmsgid": body.get("clientmsgid"),
            "audience": audience,
            "msg_status": "SEND_SUCCESS",
        }
        answer: dict[str, Any] = {
            "errcode": 0,
            "errmsg": "send job submission success",
            "msg_id": msg_id,
        }
        if body["msgtype"] == "mpnews":
            job["msg_data_id"] = answer["msg_data_id"] = next(self._ids) + 2_000_000_000
        self._clientmsgids[str(clientmsgid)] = msg_id
        self._mass_jobs[msg_id] = job
        return answer

    def _mass_sendall(self, req: Request) -> dict[str, Any]:
        body = req.body()
        filt = body.get("filter")
        if not isinstance(filt, dict):
            raise ApiError(47001, "data format error")
        subscribed = [o for o, r in self._followers.items() if r.get("subscribe")]
        if filt.get("is_to_all"):
            audience = subscribed
        else:
            tag_id = filt.get("tag_id")
            if tag_id is None:
                raise ApiError(47001, "data format error")
            try:
                members = self._tag_members[int(tag_id)]
            except (KeyError, TypeError, ValueError):
                raise ApiError(40050, "invalid tag id") from None
            audience = [o for o in subscribed if o in members]
        return self._mass_submit(req.path, body, audience)

    def _mass_send(self, req: Request) -> dict[str, Any]:
        body = req.body()
        touser = body.get("touser")
        if not isinstance(touser, list) or len(touser) < 2:
            raise ApiError(40130, "invalid openid list size, at least two openid")
        if len(touser) > 10_000:
            raise ApiError(40032, "invalid openid list size")
        return self._mass_submit(req.path, body, [str(o) for o in touser])

    def _mass_preview(self, req: Request) -> dict[str, Any]:
        body = req.body()
        if not body.get("touser") and not body.get("towxname"):
            raise ApiError(40003, "invalid openid")
        self._mass_payload(body)
        msg_id = next(self._ids) + 3_000_000_000
        self._mass_jobs[msg_id] = {
            "path": req.path,
            "msg_id": msg_id,
            "msgtype": body["msgtype"],
            "audience": [body.get("touser") or body.get("towxname")],
            "msg_status": "SEND_SUCCESS",
        }
        return {"errcode": 0, "errmsg": "preview success", "msg_id": msg_id}

    def _mass_job(self, msg_id: Any) -> dict[str, Any]:
        try:
            return self._mass_jobs[int(msg_id)]
        except (KeyError, TypeError, ValueError):
            raise ApiError(40097, "invalid msg_id") from None

    def _mass_get(self, req: Request) -> dict[str, Any]:
        job = self._mass_job(req.body().get("msg_id"))
        return {"msg_id": job["msg_id"], "msg_status": job["msg_status"]}

    def _mass_delete(self, req: Request) -> dict[str, Any]:
        job = self._mass_job(req.body().get("msg_id"))
        job["msg_status"] = "DELETE"
        return {"errcode": 0, "errmsg": "ok"}


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler sleeping on an injected delay must not block stop()
    allow_reuse_address = True
    fake: FakeWeChat


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the client's connection pool is exercised
    server_version = "FakeWeChat/1.0"
    timeout = 60  # idle keep-alive connections are dropped after this
    # Headers and body go out in two writes; with Nagle on, the client's delayed ACK adds 40 ms.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def _handle(self, method: str) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._send(413, {"Content-Type": "text/plain"}, b"bad length")
            self.close_connection = True
            return
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, reply_headers, body = self.server.fake._dispatch(method, self.path, headers, raw)
        self._send(status, reply_headers, body)

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (timeout tests): nothing to answer.
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake.verbose:
            sys.stderr.write(f"fake-wechat {self.address_string()} {format % args}\n")


def _seed_demo(fake: FakeWeChat, followers: int) -> None:
    for i in range(followers):
        fake.add_follower(f"o_demo_{i:04d}", remark=f"演示用户{i}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fake WeChat API server (loopback only)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--app-id", default=os.environ.get("WECHAT_APP_ID", DEFAULT_APP_ID))
    parser.add_argument(
        "--app-secret", default=os.environ.get("WECHAT_APP_SECRET", DEFAULT_APP_SECRET)
    )
    parser.add_argument("--followers", type=int, default=3, help="demo followers to seed")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    fake = FakeWeChat(
        args.host, args.port, app_id=args.app_id, app_secret=args.app_secret, verbose=args.verbose
    )
    _seed_demo(fake, args.followers)
    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    fake.start()
    print(fake.url, flush=True)
    print(f"fake wechat: app_id={fake.app_id} serving on {fake.url}", file=sys.stderr, flush=True)
    try:
        while not stop.wait(0.2):
            pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
