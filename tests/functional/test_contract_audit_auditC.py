"""Contract sections 1-3, where an outside tester over HTTP found us disagreeing with the contract
or with our own OpenAPI document (chalice.test.Client on moto, the fake WeChat API)."""

from __future__ import annotations

import pytest
from openapi_schema_validator import OAS30Validator

from tests.functional.helpers import admin, body_json

# The contract's Reply objects (section 3), one of each type.
CONTRACT_REPLIES = [
    {"type": "text", "content": "hi"},
    {"type": "image", "media_id": "MEDIA_1"},
    {"type": "voice", "media_id": "MEDIA_2"},
    {"type": "video", "media_id": "MEDIA_3", "title": "t", "description": "d"},
    {
        "type": "music",
        "title": "t",
        "description": "d",
        "music_url": "https://example.com/a.mp3",
        "hq_music_url": "https://example.com/a-hq.mp3",
        "thumb_media_id": "THUMB_1",
    },
    {
        "type": "news",
        "articles": [
            {
                "title": "t",
                "description": "d",
                "url": "https://example.com/1",
                "pic_url": "https://example.com/1.jpg",
            }
        ],
    },
    {"type": "transfer_customer_service"},
]


def _validator(client, name: str) -> OAS30Validator:
    response = admin(client, "GET", "/admin/openapi.json")
    assert response.status_code == 200
    doc = body_json(response)
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    return OAS30Validator(schema)


@pytest.mark.parametrize("reply", CONTRACT_REPLIES, ids=lambda r: r["type"])
def test_the_documented_reply_schema_accepts_every_contract_reply(client, reply):
    """§3: the OpenAPI document served at /admin/openapi.json describes the Reply object. Two
    fragments both named a schema "Article" and the CMS one (id, status, ...) replaced the news
    reply's article, so a contract news reply did not validate against our own document."""
    errors = [e.message for e in _validator(client, "Reply").iter_errors(reply)]
    assert errors == []


def test_a_created_rule_validates_against_the_documented_rule(client):
    """§3: what POST /admin/rules answers is what the document says a Rule is."""
    rule = {
        "name": "news",
        "match": "exact",
        "keywords": ["新闻"],
        "reply": CONTRACT_REPLIES[5],
    }
    created = admin(client, "POST", "/admin/rules", rule)
    assert created.status_code == 201, created.body
    errors = [e.message for e in _validator(client, "Rule").iter_errors(body_json(created))]
    assert errors == []


def test_schema_names_are_unique_across_the_documents_fragments():
    """One name, one schema: a later fragment must never silently replace an earlier one's."""
    from chalicelib.openapi import FRAGMENTS

    seen: dict[str, str] = {}
    clashes = []
    for fragment in FRAGMENTS:
        for name in fragment.SCHEMAS:
            if name in seen:
                clashes.append((name, seen[name], fragment.__name__))
            seen[name] = fragment.__name__
    assert clashes == []
