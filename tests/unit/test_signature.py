from __future__ import annotations

import hashlib

import pytest

from chalicelib.wechat import signature as sig_mod
from chalicelib.wechat.errors import SignatureError, WeChatError
from chalicelib.wechat.signature import (
    check_msg_signature,
    check_signature,
    check_timestamp,
    compute_signature,
)

TOKEN = "wxless-token"
NOW = 1_700_000_000.0
TS = "1700000000"
NONCE = "1320562132"


def _sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def test_compute_signature_is_sha1_of_sorted_parts():
    assert compute_signature("b", "c", "a") == hashlib.sha1(b"abc").hexdigest()
    assert compute_signature(TOKEN, TS, NONCE) == _sha1(NONCE, TOKEN, TS)
    # WeChat's documented example (token "AAAAA" from the verification guide is not published with
    # a digest, so pin the scheme: order of the arguments must not matter).
    assert compute_signature(TS, NONCE, TOKEN) == compute_signature(NONCE, TOKEN, TS)


def test_compute_signature_never_raises_on_odd_text():
    assert len(compute_signature("\ud800", "中文")) == 40


def test_valid_signature():
    check_signature(TOKEN, _sha1(TOKEN, TS, NONCE), TS, NONCE, now=NOW)


def test_signature_case_insensitive_hex():
    check_signature(TOKEN, _sha1(TOKEN, TS, NONCE).upper(), TS, NONCE, now=NOW)


def test_wrong_signature():
    good = _sha1(TOKEN, TS, NONCE)
    bad = ("0" if good[0] != "0" else "1") + good[1:]
    with pytest.raises(SignatureError):
        check_signature(TOKEN, bad, TS, NONCE, now=NOW)
    with pytest.raises(SignatureError):
        check_signature("other-token", good, TS, NONCE, now=NOW)
    with pytest.raises(SignatureError):
        check_signature(TOKEN, good, TS, NONCE + "1", now=NOW)


@pytest.mark.parametrize("bad", ["中文签名", "x" * 40, "", "\ud800"])
def test_garbage_signature_is_signature_error(bad):
    with pytest.raises(SignatureError):
        check_signature(TOKEN, bad, TS, NONCE, now=NOW)


@pytest.mark.parametrize("missing", ["token", "signature", "timestamp", "nonce"])
@pytest.mark.parametrize("placeholder", [None, ""])
def test_missing_parameters(missing, placeholder):
    args = {"token": TOKEN, "timestamp": TS, "nonce": NONCE}
    if missing != "signature":
        args[missing] = placeholder
    # The signature a lenient verifier (treating missing as "") would accept.
    args["signature"] = _sha1(*(args[k] or "" for k in ("token", "timestamp", "nonce")))
    if missing == "signature":
        args["signature"] = placeholder
    with pytest.raises(SignatureError):
        check_signature(args["token"], args["signature"], args["timestamp"], args["nonce"], now=NOW)


@pytest.mark.parametrize("delta", [301, -301, 10_000, -10_000])
def test_stale_timestamp_rejected_even_with_valid_signature(delta):
    ts = str(int(NOW) + delta)
    with pytest.raises(SignatureError):
        check_signature(TOKEN, _sha1(TOKEN, ts, NONCE), ts, NONCE, now=NOW)


@pytest.mark.parametrize("delta", [300, -300, 0, 1, -1])
def test_timestamp_window_boundary_is_inclusive(delta):
    ts = str(int(NOW) + delta)
    check_signature(TOKEN, _sha1(TOKEN, ts, NONCE), ts, NONCE, now=NOW)


@pytest.mark.parametrize("ts", ["abc", "12.5", "", " ", "-1700000000", "1e9", "١٧٠٠٠٠٠٠٠٠", "0x10"])
def test_non_integer_timestamp(ts):
    with pytest.raises(SignatureError):
        check_timestamp(ts, now=NOW)
    with pytest.raises(SignatureError):
        check_signature(TOKEN, _sha1(TOKEN, ts, NONCE), ts, NONCE, now=NOW)


def test_check_timestamp_returns_int_and_uses_clock():
    assert check_timestamp(TS, now=NOW) == 1_700_000_000
    assert check_timestamp(" 1700000000 ", now=NOW) == 1_700_000_000
    with pytest.raises(SignatureError):
        check_timestamp(TS)  # real clock: 2023 is long past
    with pytest.raises(SignatureError):
        check_timestamp(None)
    assert check_timestamp(str(int(NOW) + 50), now=NOW, window=60) == int(NOW) + 50
    with pytest.raises(SignatureError):
        check_timestamp(str(int(NOW) + 61), now=NOW, window=60)


def test_valid_msg_signature():
    encrypt = "c2VjcmV0IHBheWxvYWQ="
    good = _sha1(TOKEN, TS, NONCE, encrypt)
    check_msg_signature(TOKEN, good, TS, NONCE, encrypt, now=NOW)
    with pytest.raises(SignatureError):
        check_msg_signature(TOKEN, good, TS, NONCE, encrypt + "x", now=NOW)
    with pytest.raises(SignatureError):
        # the plaintext-mode signature is not a valid msg_signature
        check_msg_signature(TOKEN, _sha1(TOKEN, TS, NONCE), TS, NONCE, encrypt, now=NOW)
    with pytest.raises(SignatureError):
        check_msg_signature(TOKEN, good, TS, NONCE, None, now=NOW)
    with pytest.raises(SignatureError):
        check_msg_signature(TOKEN, None, TS, NONCE, encrypt, now=NOW)
    ts = str(int(NOW) - 301)
    with pytest.raises(SignatureError):
        check_msg_signature(TOKEN, _sha1(TOKEN, ts, NONCE, encrypt), ts, NONCE, encrypt, now=NOW)


def test_comparison_is_constant_time(monkeypatch):
    calls = []
    real = sig_mod.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(sig_mod.hmac, "compare_digest", spy)
    check_signature(TOKEN, _sha1(TOKEN, TS, NONCE), TS, NONCE, now=NOW)
    assert len(calls) == 1


def test_signature_error_maps_to_403():
    assert SignatureError.status == 403
    assert issubclass(SignatureError, WeChatError)
    assert str(SignatureError()) == "invalid signature"
