"""An EncodingAESKey change (CONTRACT.md §6): with WECHAT_ENCODING_AES_KEY_PREVIOUS set, a
safe-mode message encrypted with the previous key is answered and its reply encrypted with that
key; the current key keeps working; any other key is refused and writes nothing."""

from __future__ import annotations

import logging

import boto3
import pytest

from chalicelib import config
from tests import wxsim
from tests.functional.helpers import make_rule, messages, post_xml, text_rule

OLD = wxsim.AES_KEY
NEW = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
OTHER = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFG"


@pytest.fixture
def rotated(client, monkeypatch):
    """The container knows the new key as current and the old one as previous."""
    monkeypatch.setenv("WECHAT_ENCODING_AES_KEY", NEW)
    monkeypatch.setenv("WECHAT_ENCODING_AES_KEY_PREVIOUS", OLD)
    make_rule(client, text_rule("余额", "您的余额是 100 元"))
    return client


def _ask(client, key: str, openid: str):
    query, body = wxsim.Crypto(key).envelope(wxsim.text("余额", openid=openid))
    return post_xml(client, body, query)


def _opens(key: str, reply: bytes) -> bool:
    try:
        return wxsim.Crypto(key).open_reply(reply.decode())["Content"] == "您的余额是 100 元"
    except Exception:
        return False


def test_a_message_with_the_previous_key_is_answered_with_that_key(rotated, caplog):
    caplog.set_level(logging.INFO, logger="wxless.callback")
    response = _ask(rotated, OLD, "o_old_key")
    assert response.status_code == 200, response.body
    assert _opens(OLD, response.body)
    assert not _opens(NEW, response.body)  # only the key that worked opens the reply
    assert "callback.previous_aes_key" in caplog.text  # the operator sees which key served
    assert [m["content"] for m in messages(rotated, "o_old_key")] == ["余额"]


def test_the_current_key_still_works_and_replies_with_itself(rotated, caplog):
    caplog.set_level(logging.INFO, logger="wxless.callback")
    response = _ask(rotated, NEW, "o_new_key")
    assert response.status_code == 200, response.body
    assert _opens(NEW, response.body)
    assert not _opens(OLD, response.body)
    assert "previous_aes_key" not in caplog.text


def test_a_third_key_is_refused_and_writes_nothing(rotated):
    response = _ask(rotated, OTHER, "o_other_key")
    assert response.status_code == 400
    assert messages(rotated, "o_other_key") == []


def test_without_a_previous_key_the_old_one_is_refused(rotated, monkeypatch):
    monkeypatch.delenv("WECHAT_ENCODING_AES_KEY_PREVIOUS")
    assert _ask(rotated, OLD, "o_no_previous").status_code == 400
    assert _ask(rotated, NEW, "o_no_previous").status_code == 200


def test_a_mistyped_previous_key_leaves_the_current_one_working(rotated, monkeypatch, caplog):
    monkeypatch.setenv("WECHAT_ENCODING_AES_KEY_PREVIOUS", "too-short")
    assert _ask(rotated, NEW, "o_mistyped").status_code == 200
    assert _ask(rotated, OLD, "o_mistyped").status_code == 400
    assert "WECHAT_ENCODING_AES_KEY_PREVIOUS is not a valid key" in caplog.text


def test_a_changed_previous_key_is_picked_up(rotated, monkeypatch):
    assert _ask(rotated, OLD, "o_change").status_code == 200
    monkeypatch.setenv("WECHAT_ENCODING_AES_KEY_PREVIOUS", OTHER)
    assert _ask(rotated, OLD, "o_change").status_code == 400
    response = _ask(rotated, OTHER, "o_change")
    assert response.status_code == 200 and _opens(OTHER, response.body)


def test_a_forged_signature_is_refused_before_either_key_is_tried(rotated):
    query, body = wxsim.Crypto(OLD).envelope(wxsim.text("余额", openid="o_forged"))
    assert post_xml(rotated, body, dict(query, msg_signature="0" * 40)).status_code == 403
    assert messages(rotated, "o_forged") == []


def test_the_previous_key_parameter_is_optional_in_ssm(aws, monkeypatch):
    """Deployed, the name comes from SSM: a missing parameter reads as unset (not an error),
    a present one as its value; a required setting's missing parameter still fails loudly."""
    ssm = boto3.client("ssm", region_name="us-east-1")
    monkeypatch.delenv("WECHAT_ENCODING_AES_KEY_PREVIOUS", raising=False)
    monkeypatch.setenv("WECHAT_ENCODING_AES_KEY_PREVIOUS_PARAM", "/wxless/test/previous")
    monkeypatch.setenv("WECHAT_APP_SECRET_PARAM", "/wxless/test/missing-secret")
    monkeypatch.delenv("WECHAT_APP_SECRET", raising=False)
    config.clear_cache()
    try:
        assert config.get(config.WECHAT_ENCODING_AES_KEY_PREVIOUS) == ""
        with pytest.raises(Exception, match="ParameterNotFound"):
            config.get(config.WECHAT_APP_SECRET)
        config.clear_cache()
        ssm.put_parameter(Name="/wxless/test/previous", Value=OLD, Type="SecureString")
        assert config.get(config.WECHAT_ENCODING_AES_KEY_PREVIOUS) == OLD
    finally:
        config.clear_cache()
