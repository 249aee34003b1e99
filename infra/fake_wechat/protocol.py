"""The wire side of the fake: what a call looks like, how a request body is read (JSON or
multipart), and the errors a route answers with."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import quote

DEFAULT_APP_ID = "wxdemo0123456789ab"
DEFAULT_APP_SECRET = "demo0123456789abcdef0123456789ab"
MAX_BODY = 32 * 1024 * 1024
# An escaped \uXXXX (odd number of backslashes before the u): WeChat answers 40033.
UNICODE_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u[0-9a-fA-F]{4}")


class Call(NamedTuple):
    method: str
    path: str
    query: dict[str, str]
    body: Any  # decoded JSON body, or None (GET, multipart, invalid JSON)


@dataclass
class Injection:
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
class Binary:
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
            self._form = parse_multipart(self.raw, self.content_type)
        return self._form


def parse_multipart(raw: bytes, content_type: str) -> dict[str, FilePart]:
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


def disposition(filename: str) -> str:
    # Headers are latin-1: non-ASCII names go in RFC 5987 filename*, with an ASCII fallback.
    if filename.isascii():
        return f'attachment; filename="{filename}"'
    fallback = "media." + extension(filename) if extension(filename) else "media"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


def extension(filename: str | None) -> str:
    return filename.rsplit(".", 1)[-1].lower() if filename and "." in filename else ""
