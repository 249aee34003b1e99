"""The HTTP side of the WeChat API client: token providers, GET/POST with retries by method,
and WeChat's answers turned into data or a typed error (`errors`).

Framework-free on purpose (no Chalice, no boto3): the same client runs in Lambda handlers,
scheduled jobs, scripts and tests against ``infra.fake_wechat``. The API families receive a
:class:`Transport` and use only its verbs; `client.WeChatClient` composes them.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlencode

import urllib3
from urllib3.exceptions import HTTPError as Urllib3HTTPError
from urllib3.filepost import encode_multipart_formdata
from urllib3.util.retry import Retry

from .errors import InvalidTokenError, TransportError, check_response

DEFAULT_BASE_URL = "https://api.weixin.qq.com"
USER_AGENT = "wxless/0.1 (+urllib3)"


# --------------------------------------------------------------------------- token providers


@runtime_checkable
class TokenProvider(Protocol):
    """Source of the access_token the client puts on every API call.

    ``invalidate(bad_token)`` is called when WeChat rejected ``bad_token``; it returns a token to
    retry with (the stored one if another worker already refreshed, else at most one refresh).
    """

    def get(self) -> str: ...

    def invalidate(self, bad_token: str) -> str: ...


class StaticTokenProvider:
    """A fixed token (tests, one-off scripts). Records invalidations; ``refresh`` is optional."""

    def __init__(self, token: str, *, refresh: Callable[[], str] | None = None) -> None:
        self.token = token
        self._refresh = refresh
        self.invalidated: list[str] = []
        self._lock = threading.Lock()

    def get(self) -> str:
        return self.token

    def invalidate(self, bad_token: str) -> str:
        with self._lock:
            self.invalidated.append(bad_token)
            if self._refresh is not None and bad_token == self.token:
                self.token = self._refresh()
            return self.token


# --------------------------------------------------------------------------- raw responses

_FILENAME_RE = re.compile(r'filename="?([^";]+)"?', re.IGNORECASE)
_FILENAME_STAR_RE = re.compile(r"filename\*=([\w-]+)''([^;\s]+)", re.IGNORECASE)


@dataclass(frozen=True)
class RawResponse:
    """A binary answer (media/get, material/get_material)."""

    content: bytes
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_json(self) -> bool:
        return _looks_like_json(self.content_type)

    @property
    def filename(self) -> str | None:
        disposition = self.headers.get("content-disposition", "")
        star = _FILENAME_STAR_RE.search(disposition)  # RFC 5987 form wins (non-ASCII names)
        if star:
            return unquote(star.group(2), encoding=star.group(1) or "utf-8", errors="replace")
        match = _FILENAME_RE.search(disposition)
        return match.group(1) if match else None

    def json(self) -> dict[str, Any]:
        data = json.loads(self.content.decode("utf-8"), strict=False)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return data


def _looks_like_json(content_type: str) -> bool:
    # WeChat labels JSON as application/json, text/plain or "application/json; encoding=utf-8".
    ct = content_type.split(";", 1)[0].strip().lower()
    return ct in ("application/json", "text/plain", "text/json") or ct.endswith("+json")


def dumps(body: Any) -> bytes:
    """UTF-8 JSON, never ``\\uXXXX``: some WeChat APIs (menu/create) reject escaped Chinese."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --------------------------------------------------------------------------- transport


class Transport:
    """Thin synchronous HTTP client for ``api.weixin.qq.com``: the verbs every API family uses."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        token_provider: TokenProvider | None = None,
        timeout: float = 3.0,
        http: urllib3.PoolManager | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token_provider = token_provider
        # WeChat's callback deadline is 5 s, so a request-path call must give up well before.
        self.timeout = urllib3.Timeout(connect=timeout, read=timeout)
        # One pool reused across calls (and across warm Lambda invocations if kept at module
        # level); retries are decided per request below, never by the pool.
        self.http = http or urllib3.PoolManager(
            num_pools=4, maxsize=10, retries=False, headers={"User-Agent": USER_AGENT}
        )

    # ---- public verbs --------------------------------------------------------------------

    def get(
        self, path: str, params: Mapping[str, Any] | None = None, *, with_token: bool = True
    ) -> dict[str, Any]:
        return self._call("GET", path, params, None, None, with_token=with_token)

    def post(
        self,
        path: str,
        json_body: Any = None,
        *,
        params: Mapping[str, Any] | None = None,
        with_token: bool = True,
    ) -> dict[str, Any]:
        body = dumps(json_body if json_body is not None else {})
        return self._call(
            "POST",
            path,
            params,
            body,
            "application/json; charset=utf-8",
            with_token=with_token,
        )

    def post_multipart(
        self,
        path: str,
        field_name: str,
        filename: str,
        content: bytes,
        content_type: str,
        extra_fields: Mapping[str, str] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        fields: dict[str, Any] = {field_name: (filename, content, content_type)}
        for name, value in (extra_fields or {}).items():
            fields[name] = value
        # Encoded once: the token retry resends the very same bytes.
        body, multipart_type = encode_multipart_formdata(fields)
        return self._call("POST", path, params, body, multipart_type)

    def get_raw(
        self, path: str, params: Mapping[str, Any] | None = None, *, with_token: bool = True
    ) -> RawResponse:
        return self._call("GET", path, params, None, None, raw=True, with_token=with_token)

    def post_raw(self, path: str, json_body: Any = None) -> RawResponse:
        body = dumps(json_body if json_body is not None else {})
        return self._call("POST", path, None, body, "application/json; charset=utf-8", raw=True)

    # ---- internals -----------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        body: bytes | None,
        content_type: str | None,
        *,
        raw: bool = False,
        with_token: bool = True,
    ) -> Any:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        if not with_token:
            return self._send(method, path, query, body, content_type, raw=raw)
        provider = self.token_provider
        if provider is None:
            raise RuntimeError(f"{path} needs an access_token but the client has no token_provider")
        token = provider.get()
        try:
            return self._send(
                method, path, {**query, "access_token": token}, body, content_type, raw=raw
            )
        except InvalidTokenError:
            # Another worker may have refreshed, or the token expired early: ask the provider
            # for a fresh one (it refreshes at most once) and retry exactly once.
            fresh = provider.invalidate(token)
            return self._send(
                method, path, {**query, "access_token": fresh}, body, content_type, raw=raw
            )

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, Any],
        body: bytes | None,
        content_type: str | None,
        *,
        raw: bool = False,
    ) -> Any:
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        url = self.base_url + path
        if query:
            url += "?" + urlencode(query)
        headers = {"Content-Type": content_type} if content_type else {}
        # GETs may be retried once on a connect failure (the request never left); POSTs never,
        # because a POST that reached WeChat (a message, a mass send) must not be repeated blindly.
        retries: Retry | bool = (
            Retry(total=1, connect=1, read=0, status=0, other=0, redirect=0)
            if method == "GET"
            else False
        )
        try:
            resp = self.http.request(
                method,
                url,
                body=body,
                headers=headers,
                timeout=self.timeout,
                retries=retries,
                redirect=False,
            )
        except Urllib3HTTPError as exc:
            # Never include ``url``: it carries the access_token.
            raise TransportError(_describe(exc), path) from None
        if not 200 <= resp.status < 300:
            raise TransportError(f"HTTP {resp.status}", path, http_status=resp.status)
        resp_type = resp.headers.get("Content-Type", "")
        data: bytes = resp.data
        if raw and not _looks_like_json(resp_type):
            return RawResponse(data, resp_type, {k.lower(): v for k, v in resp.headers.items()})
        try:
            # strict=False: WeChat may put raw control characters in nicknames/remarks.
            decoded = json.loads(data.decode("utf-8"), strict=False)
        except (UnicodeDecodeError, ValueError):
            if raw:  # labelled text/plain but not JSON: hand it back as content
                return RawResponse(data, resp_type, {k.lower(): v for k, v in resp.headers.items()})
            raise TransportError(
                f"non-JSON answer ({resp_type or 'no content-type'}, {len(data)} bytes)",
                path,
                http_status=resp.status,
            ) from None
        checked = check_response(decoded, path)
        if raw:
            return RawResponse(data, resp_type, {k.lower(): v for k, v in resp.headers.items()})
        return checked


# urllib3 logs request URLs: "Retrying (...) after connection broken by ...: /path?access_token=..."
# at WARNING, every request line at DEBUG. Those URLs carry the access_token (and /cgi-bin/token
# the AppSecret), so its records are scrubbed before any handler sees them.
_SECRET_PARAM = re.compile(r"\b(access_token|secret)=[^&\s'\"]+")


class _RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is logging's problem, not a leak
            return True
        if "=" in message:
            record.msg, record.args = _SECRET_PARAM.sub(r"\1=***", message), None
        return True


_URLLIB3_LOG = logging.getLogger("urllib3.connectionpool")
if not any(isinstance(f, _RedactSecrets) for f in _URLLIB3_LOG.filters):
    _URLLIB3_LOG.addFilter(_RedactSecrets())


def _describe(exc: Exception) -> str:
    # Class names only: MaxRetryError's str() contains the full URL, i.e. the access_token.
    inner = getattr(exc, "reason", None)
    if isinstance(inner, Exception):
        return f"{type(exc).__name__} ({type(inner).__name__})"
    return type(exc).__name__
