"""Contract audit, round F, against `make run` over HTTP: the README's curl examples as a
newcomer pastes them. curl sends a Chinese query (`"$B/admin/faq?q=挂失"`) as raw UTF-8, which
API Gateway reads as UTF-8; the local stack must read it the same way."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

from tests import wxsim
from tests.stack import start as start_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def base():
    stack = start_stack()
    yield stack.base
    stack.stop()


def _raw_get(base: str, target: str) -> tuple[int, dict]:
    """GET with the request target's bytes as curl sends them (UTF-8, not percent-encoded)."""
    where = urlsplit(base)
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {where.netloc}\r\n"
        f"Authorization: Bearer {wxsim.ADMIN}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((where.hostname, where.port), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_a_chinese_query_sent_as_raw_utf8_is_read_as_utf8(base):
    status, found = _raw_get(base, "/admin/faq?q=挂失")  # the demo has 银行卡丢了怎么挂失
    assert status == 200
    assert "银行卡丢了怎么挂失" in [e["question"] for e in found["items"]]
    assert _raw_get(base, "/admin/faq?q=%E6%8C%82%E5%A4%B1") == (status, found)
