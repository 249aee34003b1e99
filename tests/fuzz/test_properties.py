"""Property tests: hostile input never escapes as an unhandled exception or a 5xx."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.engine.validate import validate_rule
from tests import wxsim
from tests.fuzz.harness import make_callback

CALLBACK = make_callback()
ALLOWED = {200, 400, 403, 413}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=6)
    ),
    max_leaves=25,
)
rule_like = st.fixed_dictionaries(
    {},
    optional={
        "name": st.one_of(st.text(max_size=5), json_values),
        "match": st.sampled_from(["exact", "contains", "prefix", "regex", "click", "x"])
        | json_values,
        "keywords": st.lists(st.text(max_size=8), max_size=4) | json_values,
        "reply": st.fixed_dictionaries(
            {
                "type": st.sampled_from(
                    [
                        "text",
                        "news",
                        "image",
                        "music",
                        "video",
                        "voice",
                        "transfer_customer_service",
                        "bad",
                    ]
                )
            },
            optional={
                "content": json_values,
                "articles": json_values,
                "media_id": json_values,
                "thumb_media_id": json_values,
                "title": json_values,
            },
        )
        | json_values,
        "priority": json_values,
        "enabled": json_values,
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(rule_like, json_values))
def test_rule_validation_returns_a_rule_or_raises_value_error(body):
    try:
        rule = validate_rule(body)
    except ValueError as exc:
        assert str(exc)
        return
    assert set(rule) == {"name", "match", "keywords", "reply", "priority", "enabled"}
    json.dumps(rule)  # storable


def _signed(extra: dict | None = None) -> dict:
    return wxsim.signed_query(**(extra or {}))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_any_signed_plaintext_body_gets_a_contract_status(body):
    answer = CALLBACK.receive(_signed(), body)
    assert answer.status in ALLOWED


fields = st.dictionaries(
    st.sampled_from(
        [
            "ToUserName",
            "FromUserName",
            "CreateTime",
            "MsgType",
            "Content",
            "MsgId",
            "Event",
            "EventKey",
            "Location_X",
            "Location_Y",
            "Scale",
            "Label",
            "PicUrl",
            "Latitude",
            "Longitude",
            "Precision",
            "Status",
            "TotalCount",
            "MsgID",
        ]
    ),
    st.text(max_size=12) | st.integers(min_value=-(2**70), max_value=2**70).map(str),
    max_size=10,
)


@settings(max_examples=400, deadline=None)
@given(fields, st.sampled_from(["text", "event", "image", "location", "link", "voice", "x"]))
def test_any_message_shaped_document_gets_a_contract_status(extra, msg_type):
    doc = {"ToUserName": "gh", "FromUserName": "o", "CreateTime": 1, "MsgType": msg_type, **extra}
    answer = CALLBACK.receive(_signed(), wxsim.message_xml(doc).encode())
    assert answer.status in ALLOWED
    if answer.status == 200:
        assert answer.body == "success" or answer.body.startswith("<xml>")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.binary(max_size=64))
def test_any_aes_envelope_gets_a_contract_status(encrypt, noise):
    body = f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>".encode() + noise
    query = _signed({"encrypt_type": "aes"})
    query["msg_signature"] = wxsim.sha1(wxsim.TOKEN, query["timestamp"], query["nonce"], encrypt)
    answer = CALLBACK.receive(query, body)
    assert answer.status in ALLOWED


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_encrypted_text_message_round_trips(content):
    sim = wxsim.Crypto()
    xml = wxsim.text(content.replace("]]>", ""))
    query, body = sim.envelope(xml)
    answer = CALLBACK.receive(query, body.encode())
    assert answer.status in ALLOWED
    if answer.status == 200 and answer.body != "success":
        assert sim.open_reply(answer.body)["MsgType"] in {"text", "news"}


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            [
                "signature",
                "timestamp",
                "nonce",
                "echostr",
                "encrypt_type",
                "msg_signature",
                "openid",
            ]
        ),
        st.text(max_size=50),
        max_size=7,
    )
)
def test_any_query_string_gets_a_contract_status(query):
    assert CALLBACK.receive(query, wxsim.text("余额").encode()).status in ALLOWED
    assert CALLBACK.verify(query).status in {200, 403}
