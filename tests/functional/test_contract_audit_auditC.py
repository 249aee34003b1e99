"""Contract sections 1-3, where an outside tester over HTTP found us disagreeing with the contract
or with our own OpenAPI document (chalice.test.Client on moto, the fake WeChat API)."""

from __future__ import annotations

import time

import pytest
from openapi_schema_validator import OAS30Validator

from tests import wxsim
from tests.functional.helpers import (
    admin,
    body_json,
    make_rule,
    messages,
    post_xml,
    refresh_rules,
    text_rule,
)

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


def _text_without_msg_id(content: str, create_time: int) -> str:
    fields = {
        "ToUserName": wxsim.ACCOUNT,
        "FromUserName": "o_audit_no_msgid",
        "CreateTime": create_time,
        "MsgType": "text",
        "Content": content,
    }
    return wxsim.message_xml(fields)


def test_two_texts_without_msg_id_in_one_second_are_two_messages(client):
    """§2: a retry is the same MsgId. A hand-made text without MsgId has none: two different
    texts of one follower in the same second were taken for a retry, and the second got the
    first's answer and was never logged. An identical document is still one delivery."""
    make_rule(client, text_rule("余额", "余额是 100"))
    make_rule(client, text_rule("账单", "账单已发送"))
    refresh_rules()
    now = int(time.time())
    first = post_xml(client, _text_without_msg_id("余额", now))
    second = post_xml(client, _text_without_msg_id("账单", now))
    assert "余额是 100" in first.body.decode()
    assert "账单已发送" in second.body.decode()
    again = post_xml(client, _text_without_msg_id("账单", now))
    assert again.body == second.body
    logged = messages(client, "o_audit_no_msgid")
    assert [m["content"] for m in logged] == ["账单", "余额"]
    assert len({m["msg_id"] for m in logged}) == 2


@pytest.mark.parametrize(
    "pattern, text",
    [
        (r"\s+(yes|no)$", "say yes"),
        (r"a.*b.*c", "a to b to c"),
        (r"(\d+)\s*(元|块)", "转 100 元"),
        (r"[0-9]+\s*(yuan|rmb)", "200 rmb"),
    ],
)
def test_a_valid_quadratic_regex_is_a_rule(client, pattern, text):
    """§3: an invalid regex is a 400, a valid one is a rule. These are quadratic at worst (tens
    of ms on a 1,000-character adversarial text, more on a loaded machine), not catastrophic,
    yet the save-time probe, as strict as one match-time search (20 ms), refused them: whether
    `(\\d+)\\s*(元|块)` was a 201 or a 400 depended on the machine's load."""
    created = admin(client, "POST", "/admin/rules", text_rule(pattern, "regex ok", match="regex"))
    assert created.status_code == 201, created.body
    refresh_rules()
    answer = post_xml(client, wxsim.text(text, openid="o_audit_regex"))
    assert "regex ok" in answer.body.decode()
