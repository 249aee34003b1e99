"""Thin helpers over chalice.test.Client for the callback and the admin API."""

from __future__ import annotations

import json
from typing import Any

from tests import stream, wxsim


def post_xml(client, xml: str | bytes, query: dict | None = None, content_type: str = "text/xml"):
    query = query if query is not None else wxsim.signed_query()
    body = xml.encode() if isinstance(xml, str) else xml
    return client.http.post(
        f"/wechat?{wxsim.qs(query)}", headers={"Content-Type": content_type}, body=body
    )


def admin(client, method: str, path: str, body: Any = None, token: str | None = wxsim.ADMIN):
    stream.drain()  # what the aggregator has summed by now, in AWS
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    return client.http.request(method, path, headers=headers, body=data)


def body_json(response) -> Any:
    return json.loads(response.body) if response.body else None


def text_rule(keyword: str, content: str, match: str = "exact", **extra) -> dict:
    return {
        "name": f"{match}:{keyword}",
        "match": match,
        "keywords": [keyword],
        "reply": {"type": "text", "content": content},
        **extra,
    }


def make_rule(client, rule: dict) -> dict:
    response = admin(client, "POST", "/admin/rules", rule)
    assert response.status_code == 201, response.body
    return body_json(response)


def refresh_rules() -> None:
    """Make the next message see the latest rules without waiting out the cache's 2 s check."""
    from chalicelib import wiring

    wiring.callback().book.invalidate()


def messages(client, openid: str | None = None, limit: int = 50) -> list[dict]:
    path = "/admin/messages" + (f"?openid={openid}&limit={limit}" if openid else f"?limit={limit}")
    response = admin(client, "GET", path)
    assert response.status_code == 200, response.body
    return body_json(response)["items"]


def follower_writes(client, openid: str, content: str = "您好") -> None:
    """The follower sends a message: their customer-service window opens (5 sends, 48 h)."""
    assert post_xml(client, wxsim.text(content, openid)).status_code == 200
