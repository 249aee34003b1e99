from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import struct

import pytest
from Crypto.Cipher import AES
from hypothesis import event, given, settings
from hypothesis import strategies as st

from chalicelib.wechat.crypto import WeChatCrypto
from chalicelib.wechat.errors import InvalidMessageError, PayloadTooLarge, SignatureError
from chalicelib.wechat.xml import parse_xml

# WeChat's official sample (msg_crypt demo): key, appid, fixed random prefix and expected output.
KAT_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
KAT_APPID = "wxb11529c136998cb6"
KAT_PREFIX = b"aaaabbbbccccdddd"
KAT_PLAIN = "我是中文abcd123"
KAT_CIPHER = (
    "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
)

TOKEN = "wxless-token"
NOW = 1_700_000_000.0
TS = "1700000000"
NONCE = "1320562132"

INNER = (
    "<xml><ToUserName><![CDATA[gh_abc]]></ToUserName>"
    "<FromUserName><![CDATA[oFollower]]></FromUserName>"
    "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[你好]]></Content><MsgId>1234567890123456</MsgId></xml>"
)


@pytest.fixture
def crypto() -> WeChatCrypto:
    return WeChatCrypto(TOKEN, KAT_KEY, KAT_APPID)


def _sha1(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def _fresh_cbc(key: str = KAT_KEY):
    k = base64.b64decode(key + "=")
    return AES.new(k, AES.MODE_CBC, k[:16])


def _raw_encrypt(plain: bytes, key: str = KAT_KEY) -> str:
    """Encrypt an arbitrary (already padded) plaintext, to craft malformed payloads."""
    return base64.b64encode(_fresh_cbc(key).encrypt(plain)).decode()


def _frame(msg: bytes, appid: bytes = KAT_APPID.encode(), length: int | None = None) -> bytes:
    n = len(msg) if length is None else length
    return b"x" * 16 + struct.pack(">I", n) + msg + appid


def _pkcs7(data: bytes, block: int = 32) -> bytes:
    pad = block - len(data) % block
    return data + bytes([pad]) * pad


# -- known answer ----------------------------------------------------------------------------------


def test_known_answer_vector(crypto):
    assert crypto.encrypt(KAT_PLAIN, random_prefix=KAT_PREFIX) == KAT_CIPHER
    assert crypto.encrypt(KAT_PLAIN.encode(), random_prefix=KAT_PREFIX) == KAT_CIPHER
    assert crypto.decrypt(KAT_CIPHER) == KAT_PLAIN.encode()


def test_default_prefix_is_random(crypto):
    a, b = crypto.encrypt("same"), crypto.encrypt("same")
    assert a != b
    assert crypto.decrypt(a) == crypto.decrypt(b) == b"same"


def test_random_prefix_must_be_16_bytes(crypto):
    with pytest.raises(ValueError):
        crypto.encrypt("x", random_prefix=b"short")


# -- construction ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        KAT_KEY[:-1],  # 42 chars
        KAT_KEY + "A",  # 44 chars
        "",
        "!" * 43,  # not base64
        KAT_KEY[:-1] + "=",  # padding inside the 43 chars -> not 32 bytes / invalid
        "中" * 43,  # non-ASCII
    ],
)
def test_bad_encoding_aes_key(key):
    with pytest.raises(ValueError):
        WeChatCrypto(TOKEN, key, KAT_APPID)


def test_key_must_be_text():
    with pytest.raises(ValueError):
        WeChatCrypto(TOKEN, None, KAT_APPID)  # type: ignore[arg-type]


# -- round trips -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "msg",
    [
        "",
        "a",
        "你好，世界 🌏 — ünïcødé",
        INNER,
        "x" * 11,  # 16+4+11+18 = 49 -> two blocks
        "x" * 26,  # 16+4+26+18 = 64: exact multiple of 32 -> a full block of padding
        "界" * 20_000,  # 60 KB
    ],
)
def test_round_trip(crypto, msg):
    encrypted = crypto.encrypt(msg)
    raw = base64.b64decode(encrypted)
    assert len(raw) % 32 == 0
    assert crypto.decrypt(encrypted) == msg.encode()


def test_full_padding_block(crypto):
    raw = base64.b64decode(crypto.encrypt("x" * 26, random_prefix=KAT_PREFIX))
    assert len(raw) == 96  # 64 bytes of plaintext + 32 bytes of padding


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_round_trip_property(msg):
    c = WeChatCrypto(TOKEN, KAT_KEY, KAT_APPID)
    assert c.decrypt(c.encrypt(msg)) == msg


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=2, max_value=60), min_size=1, max_size=8))
def test_decryption_equals_a_fresh_cbc_after_the_prefix(sizes):
    # decrypt() uses ONE long-lived CBC context: after the first block (the random prefix,
    # never read) every message, in any sequence, equals a fresh CBC with the fixed IV.
    c = WeChatCrypto(TOKEN, KAT_KEY, KAT_APPID)
    for blocks in sizes:
        data = os.urandom(16 * blocks)
        assert c._decrypt_blocks(data)[16:] == _fresh_cbc().decrypt(data)[16:]


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 31, 33, 47])
def test_ciphertexts_that_are_not_whole_blocks_or_too_short_are_refused(crypto, size):
    # A partial block would stay in the long-lived context; one block has no length field.
    with pytest.raises(InvalidMessageError):
        crypto.decrypt(base64.b64encode(os.urandom(size)).decode())
    assert crypto.decrypt(crypto.encrypt("still in step")) == b"still in step"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=2, max_value=40), min_size=1, max_size=8))
def test_exact_encryption_matches_a_fresh_cbc_every_time(sizes):
    # With a given prefix (tests, known answers) ONE long-lived CBC object is re-based per
    # message: every message, in any sequence, equals a fresh CBC with the fixed IV.
    c = WeChatCrypto(TOKEN, KAT_KEY, KAT_APPID)
    for blocks in sizes:
        data = os.urandom(16 * blocks)
        assert c._encrypt_blocks(data) == _fresh_cbc().encrypt(data)


def _wechat_decrypt(encrypted: str, appid: str = KAT_APPID) -> bytes:
    """WeChat's side, from its published scheme: a fresh CBC with the IV, prefix skipped."""
    plain = _fresh_cbc().decrypt(base64.b64decode(encrypted))
    plain = plain[: -plain[-1]]
    (length,) = struct.unpack(">I", plain[16:20])
    assert plain[20 + length :] == appid.encode()
    return plain[20 : 20 + length]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=600), min_size=1, max_size=8))
def test_random_prefix_encryption_is_what_wechat_decrypts(messages):
    # Without a given prefix nothing is re-based (the random prefix absorbs the chaining):
    # WeChat's own decryption must read every message of any sequence.
    c = WeChatCrypto(TOKEN, KAT_KEY, KAT_APPID)
    for msg in messages:
        assert _wechat_decrypt(c.encrypt(msg)) == msg


def test_random_prefix_encryptions_differ_and_prefixes_look_random():
    c = WeChatCrypto(TOKEN, KAT_KEY, KAT_APPID)
    payloads = [base64.b64decode(c.encrypt("same text")) for _ in range(200)]
    assert len({p[:16] for p in payloads}) == 200  # the first block never repeats
    prefixes = [_fresh_cbc().decrypt(p)[:16] for p in payloads]
    assert len(set(prefixes)) == 200  # what WeChat reads as the prefix is fresh every time
    ones = sum(bin(b).count("1") for p in prefixes for b in p)
    assert 0.45 < ones / (200 * 128) < 0.55  # and unbiased


def test_other_key_cannot_decrypt(crypto):
    other = WeChatCrypto(TOKEN, "A" * 43, KAT_APPID)
    with pytest.raises(InvalidMessageError):
        other.decrypt(crypto.encrypt("hello"))


# -- decrypt failure modes -------------------------------------------------------------------------


def _failure_payloads() -> dict[str, object]:
    good_plain = _pkcs7(_frame(b"hello"))
    bad_pad_bytes = bytearray(good_plain)
    pad = bad_pad_bytes[-1]
    bad_pad_bytes[-pad] ^= 0x01  # first pad byte differs from the last
    zero_pad = good_plain[: -good_plain[-1]]
    zero_pad += b"\x00" * (32 - len(zero_pad) % 32)
    pad_33 = _frame(b"hello")
    pad_33 += b"A" * (64 - len(pad_33) - 1) + bytes([33])
    return {
        "not base64": "!!!not base64!!!",
        "non-ascii": "中文密文",
        "empty": "",
        "base64 with junk": _raw_encrypt(good_plain)[:-4] + "*===",
        "bad base64 padding": _raw_encrypt(good_plain)[:-1],
        "wrong length (17 bytes)": base64.b64encode(os.urandom(17)).decode(),
        "not block multiple (40 bytes)": base64.b64encode(os.urandom(40)).decode(),
        "one block only": base64.b64encode(os.urandom(16)).decode(),
        "random blocks": base64.b64encode(os.urandom(64)).decode(),
        "bad pad byte": _raw_encrypt(bytes(bad_pad_bytes)),
        "zero padding": _raw_encrypt(zero_pad),
        "pad value 33": _raw_encrypt(pad_33),
        "length field too big": _raw_encrypt(_pkcs7(_frame(b"hello", length=500))),
        "length field huge": _raw_encrypt(_pkcs7(_frame(b"hello", length=0xFFFFFFFF))),
        "too short for header": _raw_encrypt(_pkcs7(b"x" * 10)),
        "appid mismatch": _raw_encrypt(_pkcs7(_frame(b"hello", appid=b"wx0000000000000000"))),
        "appid missing": _raw_encrypt(_pkcs7(_frame(b"hello", appid=b""))),
        "appid prefix only": _raw_encrypt(_pkcs7(_frame(b"hello", appid=KAT_APPID.encode()[:-1]))),
        "None": None,
        "int": 12345,
        "list": ["a"],
    }


@pytest.mark.parametrize("case", sorted(_failure_payloads()))
def test_decrypt_failures_are_invalid_message(crypto, case):
    payload = _failure_payloads()[case]
    with pytest.raises(InvalidMessageError):
        crypto.decrypt(payload)  # type: ignore[arg-type]


def test_crafted_good_payload_decrypts(crypto):
    # Sanity check of the crafting helpers used by the failure cases above.
    assert crypto.decrypt(_raw_encrypt(_pkcs7(_frame(b"hello")))) == b"hello"


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=300))
def test_decrypt_arbitrary_text_only_raises_invalid_message(text):
    c = WeChatCrypto(TOKEN, KAT_KEY, KAT_APPID)
    with contextlib.suppress(InvalidMessageError):
        c.decrypt(text)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300))
def test_decrypt_arbitrary_ciphertext_only_raises_invalid_message(raw):
    # Valid base64 of arbitrary bytes reaches the AES/padding/length/appid checks.
    c = WeChatCrypto(TOKEN, KAT_KEY, KAT_APPID)
    with contextlib.suppress(InvalidMessageError):
        c.decrypt(base64.b64encode(raw).decode())


# -- callback envelopes ----------------------------------------------------------------------------


def _envelope(encrypt: str, extra: str = "") -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[gh_abc]]></ToUserName>{extra}"
        f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    ).encode()


def test_decrypt_message(crypto):
    encrypt = crypto.encrypt(INNER)
    body = _envelope(encrypt)
    inner = crypto.decrypt_message(body, _sha1(TOKEN, TS, NONCE, encrypt), TS, NONCE, now=NOW)
    assert inner == INNER.encode()
    assert parse_xml(inner)["Content"] == "你好"


def test_decrypt_message_compatible_mode_uses_encrypt_only(crypto):
    encrypt = crypto.encrypt(INNER)
    forged = (
        "<FromUserName><![CDATA[oAttacker]]></FromUserName><CreateTime>1</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[forged]]></Content>"
    )
    body = _envelope(encrypt, extra=forged)
    inner = crypto.decrypt_message(body, _sha1(TOKEN, TS, NONCE, encrypt), TS, NONCE, now=NOW)
    fields = parse_xml(inner)
    assert fields["Content"] == "你好"
    assert fields["FromUserName"] == "oFollower"


def test_decrypt_message_bad_signature(crypto):
    encrypt = crypto.encrypt(INNER)
    body = _envelope(encrypt)
    with pytest.raises(SignatureError):
        crypto.decrypt_message(body, _sha1(TOKEN, TS, NONCE), TS, NONCE, now=NOW)
    with pytest.raises(SignatureError):
        crypto.decrypt_message(body, None, TS, NONCE, now=NOW)
    with pytest.raises(SignatureError):
        crypto.decrypt_message(body, _sha1("bad", TS, NONCE, encrypt), TS, NONCE, now=NOW)
    stale = str(int(NOW) - 301)
    with pytest.raises(SignatureError):
        crypto.decrypt_message(body, _sha1(TOKEN, stale, NONCE, encrypt), stale, NONCE, now=NOW)


_ODD_PARTS = st.sampled_from(
    ["<", ">", "]", "]]>", "&", "<![CDATA[", "gh_abc", "-", "é", "\r", "\x0c", "<xml>",
     "</xml>", "<ToUserName>", "</ToUserName>", "<Encrypt>", "</Encrypt>", "QUJD", "+/==",
     "<!-- c -->", "<A>1</A>", "<!DOCTYPE xml>"]
)  # fmt: skip
_SPACE = st.sampled_from(["", " ", "\n", "\t", "  \n"])
# Mostly whitespace (the shortcut's territory), else anything.
_GAP = st.one_of(
    st.lists(_SPACE, max_size=3),
    st.lists(_SPACE, max_size=1),
    st.lists(st.one_of(_SPACE, _ODD_PARTS), max_size=4),
).map("".join)


@settings(max_examples=2000, deadline=None)
@given(
    _GAP,
    st.one_of(
        st.sampled_from(["", "gh_abc", "gh_a-b_9"]),
        st.sampled_from(["g h", "é", "a]b", "x" * 65, "a<b", "a&b"]),
    ),
    _GAP,
    st.one_of(st.text(alphabet="QUJD+/=", min_size=1, max_size=12), st.text(max_size=8)),
    _GAP,
)
def test_envelope_shortcut_agrees_with_parse_xml(before, account, middle, payload, after):
    # The safe-mode envelope shortcut may decline (parse_xml decides), but when it accepts a body
    # parse_xml accepts it too and reads the same Encrypt value from it.
    from chalicelib.wechat import crypto as wcrypto

    body = (
        f"{before}<xml><ToUserName><![CDATA[{account}]]></ToUserName>{middle}"
        f"<Encrypt><![CDATA[{payload}]]></Encrypt></xml>{after}"
    ).encode("utf-8", "surrogatepass")
    fast = wcrypto._ENVELOPE.fullmatch(body)
    event("shortcut taken" if fast is not None else "shortcut declined")
    if fast is not None:
        assert parse_xml(body)["Encrypt"] == fast.group(1).decode("ascii")


def test_envelope_shortcut_takes_wechats_envelope_and_nothing_bigger(crypto):
    from chalicelib.wechat import crypto as wcrypto

    encrypt = crypto.encrypt(INNER)
    assert wcrypto._ENVELOPE.fullmatch(_envelope(encrypt)).group(1) == encrypt.encode()
    assert wcrypto._ENVELOPE.fullmatch(_envelope(encrypt, extra="<A>1</A>")) is None
    # Over the body cap the shortcut is not taken: parse_xml refuses the size.
    huge = _envelope("A" * (70 * 1024))
    with pytest.raises(PayloadTooLarge):
        crypto.decrypt_message(huge, "0" * 40, TS, NONCE, now=NOW)


def test_decrypt_message_signature_checked_before_decryption(crypto, monkeypatch):
    def boom(*_a):
        raise AssertionError("decrypted before the signature was checked")

    monkeypatch.setattr(WeChatCrypto, "decrypt", boom)
    with pytest.raises(SignatureError):
        crypto.decrypt_message(_envelope("AAAA"), "0" * 40, TS, NONCE, now=NOW)


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><ToUserName>gh</ToUserName></xml>",  # no Encrypt
        b"<xml><Encrypt></Encrypt></xml>",  # empty Encrypt
        b"<xml><Encrypt><a>x</a></Encrypt></xml>",  # nested Encrypt
        b"<xml><Encrypt>a</Encrypt><Encrypt>b</Encrypt></xml>",  # repeated -> list
        b"not xml at all",
        b'<!DOCTYPE xml [<!ENTITY e "x">]><xml><Encrypt>&e;</Encrypt></xml>',
    ],
)
def test_decrypt_message_malformed_envelope(crypto, body):
    with pytest.raises(InvalidMessageError):
        crypto.decrypt_message(body, "0" * 40, TS, NONCE, now=NOW)


def test_decrypt_message_signed_but_undecryptable(crypto):
    encrypt = base64.b64encode(os.urandom(64)).decode()
    body = _envelope(encrypt)
    with pytest.raises(InvalidMessageError):
        crypto.decrypt_message(body, _sha1(TOKEN, TS, NONCE, encrypt), TS, NONCE, now=NOW)


def test_decrypt_message_wrong_appid(crypto):
    other = WeChatCrypto(TOKEN, KAT_KEY, "wx0000000000000000")
    encrypt = other.encrypt(INNER)
    body = _envelope(encrypt)
    with pytest.raises(InvalidMessageError):
        crypto.decrypt_message(body, _sha1(TOKEN, TS, NONCE, encrypt), TS, NONCE, now=NOW)


def test_encrypt_reply_parses_back_and_verifies(crypto):
    reply = "<xml><Content><![CDATA[回复 ]]]]><![CDATA[>]]></Content></xml>"
    out = crypto.encrypt_reply(reply, timestamp=TS, nonce=NONCE, random_prefix=KAT_PREFIX)
    assert out.startswith("<xml><Encrypt><![CDATA[")
    fields = parse_xml(out)
    assert set(fields) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert fields["TimeStamp"] == TS
    assert fields["Nonce"] == NONCE
    assert fields["MsgSignature"] == _sha1(TOKEN, TS, NONCE, fields["Encrypt"])
    assert crypto.decrypt(fields["Encrypt"]) == reply.encode()
    # The reply envelope is exactly what decrypt_message accepts.
    assert crypto.decrypt_message(out.encode(), fields["MsgSignature"], TS, NONCE, now=NOW) == (
        reply.encode()
    )
    # Deterministic given the same inputs.
    assert out == crypto.encrypt_reply(reply, timestamp=TS, nonce=NONCE, random_prefix=KAT_PREFIX)


def test_encrypt_reply_defaults_timestamp_and_nonce(crypto):
    out = crypto.encrypt_reply(INNER)
    fields = parse_xml(out)
    ts = fields["TimeStamp"]
    assert ts.isdigit()
    assert fields["Nonce"]
    # Verifies against the real clock with the generated timestamp and nonce.
    assert crypto.decrypt_message(out.encode(), fields["MsgSignature"], ts, fields["Nonce"]) == (
        INNER.encode()
    )
    assert crypto.encrypt_reply(INNER) != out  # fresh randomness each time


def test_decrypt_message_refuses_a_replay_before_reading_the_body(crypto):
    stale = str(int(NOW) - 301)
    for body in (b"not xml at all", b"<xml><Encrypt>", _envelope("AAAA")):
        with pytest.raises(SignatureError):
            crypto.decrypt_message(body, "0" * 40, stale, NONCE, now=NOW)
