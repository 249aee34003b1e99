"""The fake's HTTP server and what every API family shares: the lifecycle, the call log, injected
failures, and dispatch to the routes the families declare.

An API family is a mixin (tokens.py, menu.py, ...) with a ``ROUTES`` table
(path -> (method, handler name, needs access_token)), its own state set in ``_reset_state``
(cooperatively: each family calls ``super()._reset_state`` first) and its test helpers. Every
handler runs under ``self._lock``.
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Self
from urllib.parse import parse_qsl, urlsplit

from infra.fake_wechat import state
from infra.fake_wechat.protocol import (
    DEFAULT_APP_ID,
    DEFAULT_APP_SECRET,
    MAX_BODY,
    UNICODE_ESCAPE,
    ApiError,
    Binary,
    Call,
    Injection,
    Request,
    disposition,
)

# path -> (HTTP method, handler method name, needs a valid access_token)
Routes = dict[str, tuple[str, str, bool]]
Route = tuple[str, Callable[[Request], Any], bool]


class Server:
    """In-memory WeChat API server bound to loopback."""

    ROUTES: ClassVar[Routes] = {}
    SAVED: ClassVar[tuple[str, ...]] = ("_ids",)

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
        self._changes = 0  # API calls answered without error: any of them may change the state
        self._reset_state(tokens=True)

    # ---- lifecycle -----------------------------------------------------------------------

    def start(self) -> Self:
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

    def __enter__(self) -> Self:
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
                Injection(errcode, errmsg, times, status, delay, body)
            )

    def reset(self, *, tokens: bool = False) -> None:
        """Forget calls, injections and API state. Issued tokens stay valid unless ``tokens``."""
        with self._lock:
            self._reset_state(tokens=tokens)

    @property
    def errors(self) -> list[str]:
        """Tracebacks of fake-side bugs (each also answered HTTP 500)."""
        with self._lock:
            return list(self._errors)

    # ---- state ---------------------------------------------------------------------------

    @property
    def changes(self) -> int:
        """Grows with every API call that may have changed the state (for savers)."""
        return self._changes

    def export_state(self) -> dict[str, Any]:
        """Every family's API state (not the call log), as JSON (state.py)."""
        with self._lock:
            return {name: state.encode(getattr(self, name)) for name in self._saved()}

    def load_state(self, saved: dict[str, Any]) -> None:
        """Put back what `export_state` gave; names it lacks keep their fresh state."""
        decoded = {name: state.decode(saved[name]) for name in self._saved() if name in saved}
        with self._lock:
            for name, value in decoded.items():
                setattr(self, name, value)

    def _saved(self) -> list[str]:
        return [n for family in type(self).__mro__ for n in vars(family).get("SAVED", ())]

    def _reset_state(self, *, tokens: bool) -> None:
        self._ids = state.Sequence(1000)
        self._calls: list[Call] = []
        self._raw: list[bytes] = []
        self._errors: list[str] = []
        self._injections: dict[str, list[Injection]] = {}

    def _check_token(self, token: str | None) -> None:
        raise NotImplementedError  # the tokens family knows which tokens are valid

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
                self._changes += 1
            except ApiError as exc:
                return self._json(
                    {"errcode": exc.errcode, "errmsg": f"{exc.errmsg} rid: {self._rid()}"}
                    | exc.extra
                )
            except Exception:
                self._errors.append(traceback.format_exc())
                return 500, {"Content-Type": "text/plain"}, b"fake wechat bug"
        if isinstance(result, Binary):
            return (
                200,
                {
                    "Content-Type": result.content_type,
                    "Content-disposition": disposition(result.filename),
                },
                result.content,
            )
        return self._json(result)

    def _take_injection(self, path: str) -> Injection | None:
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
            and UNICODE_ESCAPE.search(req.raw)
        ):
            raise ApiError(
                40033,
                "invalid charset. please check your request, if include \\uxxxx will create fail!",
            )
        return handler(req)

    def _build_routes(self) -> dict[str, Route]:
        routes: dict[str, Route] = {}
        for family in reversed(type(self).__mro__):
            for path, (method, name, needs_token) in vars(family).get("ROUTES", {}).items():
                routes[path] = (method, getattr(self, name), needs_token)
        return routes


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a handler sleeping on an injected delay must not block stop()
    allow_reuse_address = True
    fake: Server


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
