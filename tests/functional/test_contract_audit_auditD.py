"""Contract sections 1-3 seen from a test suite built from WeChat's own documentation, where we
disagreed with the contract (chalice.test.Client on moto, the independent simulator)."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize(
    "pattern, text",
    [
        (r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$", "zhang.san@example.com.cn"),
        (r"^\d+(\.\d+)+$", "1.2.3"),
        (r"^(\d{1,3}\.)+\d{1,3}$", "192.168.1.1"),
        (r"(/[\w-]+)+/?$", "打开 /pages/index"),
        (r"([\u4e00-\u9fa5]+，)+", "你好，世界，"),
        (r"^\w+(\s+\w+)*$", "hello  wechat world"),
    ],
)
def test_a_valid_regex_whose_repeats_are_delimited_is_a_rule(client, pattern, text):
    """§3: an invalid regex is a 400, a valid one is a rule. A repeated group that starts or
    ends with a separator its inner repeats cannot match (`(\\.[\\w-]+)+` in the usual email
    pattern) splits the text one way only: it cannot backtrack catastrophically, yet the
    static check refused it as a nested quantifier (and `(\\s+\\w+)*`, words apart)."""
    created = admin(client, "POST", "/admin/rules", text_rule(pattern, "delimited", match="regex"))
    assert created.status_code == 201, created.body
    refresh_rules()
    answer = post_xml(client, wxsim.text(text, openid="o_audit_delimited"))
    assert wxsim.parse(answer.body.decode())["Content"] == "delimited"


@pytest.mark.parametrize(
    "pattern",
    [
        r"(\.\w+|\.\d+)+$",  # the alternatives overlap
        r"(\.[\w.]+)+$",  # the inner repeat eats the separator
        r"(\..+)+$",
        r"((\.a+)+)+$",  # nested twice
        r"(\.(a+)+)+$",
        r"(\s+(?:))+$",  # a run of spaces shared out among iterations: (\s+)+
        r"(\w*\s+)+$",
        "(\u203f\\w+)+$",  # the regex module's \w takes U+203F (a connector), Python's not
    ],
)
def test_a_separator_does_not_excuse_a_catastrophic_regex(client, pattern):
    created = admin(client, "POST", "/admin/rules", text_rule(pattern, "x", match="regex"))
    assert created.status_code == 400, created.body


@pytest.mark.parametrize("headers", [{}, {"Content-Type": "text/plain; charset=utf-8"}])
def test_a_signed_message_without_an_xml_content_type_is_still_answered(client, headers):
    """§2: a valid message always gets 200. A script posting the XML with no Content-Type
    (`requests.post(url, data=xml)` sends none) or a plain-text one got Chalice's 415: the
    signature, not the header, says the message is WeChat's."""
    make_rule(client, text_rule("余额", "您的余额是 100 元"))
    refresh_rules()
    query = wxsim.qs(wxsim.signed_query())
    body = wxsim.text("余额", openid="o_audit_no_type").encode()
    response = client.http.post(f"/wechat?{query}", headers=headers, body=body)
    assert response.status_code == 200, response.body
    assert wxsim.parse(response.body.decode())["Content"] == "您的余额是 100 元"
    assert [m["content"] for m in messages(client, "o_audit_no_type")] == ["余额"]


LONE_SURROGATE_BODIES = [
    ("POST", "/admin/rules", '{"name": "\\ud800", "match": "exact", "keywords": ["k"], '),
    ("POST", "/admin/rules", '{"name": "n", "match": "exact", "keywords": ["\\udfff"], '),
    ("PUT", "/admin/replies/default", '{"type": "text", "content": "\\ud83d"}'),
]


@pytest.mark.parametrize("method, path, text", LONE_SURROGATE_BODIES)
def test_a_body_with_an_unpaired_surrogate_is_a_400_not_a_503(client, method, path, text):
    """§3: a bad body is `400 {"error"}` and changes nothing. JSON may spell a lone UTF-16
    surrogate (`"\\ud800"`), which is no character: the audit entry could not be stored, and
    the write answered `503 retryable` (the audit log "unavailable"), which no retry cures."""
    if path == "/admin/rules":
        text += '"reply": {"type": "text", "content": "x"}}'
    before = admin(client, "GET", "/admin/rules")
    response = admin(client, method, path, text.encode())
    assert response.status_code == 400, response.body
    assert set(body_json(response)) == {"error"}
    assert admin(client, "GET", "/admin/rules").body == before.body
    default = admin(client, "GET", "/admin/replies/default")
    assert default.status_code == 404, default.body
    # the refusal is in the audit log, which still reads
    audit = admin(client, "GET", "/admin/audit?limit=5")
    assert audit.status_code == 200, audit.body
    newest = body_json(audit)["items"][0]
    assert (newest["method"], newest["status"]) == (method, 400)
    # a pair spells one character: that body is fine
    paired = b'{"type": "text", "content": "\\ud83d\\ude00"}'
    assert body_json(admin(client, "PUT", "/admin/replies/default", paired)) == {
        "type": "text",
        "content": "😀",
    }
