from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.wechat import xml as wxml
from chalicelib.wechat.errors import InvalidMessageError, PayloadTooLarge
from chalicelib.wechat.messages import Message, parse_message
from chalicelib.wechat.xml import MAX_BODY, MAX_DEPTH, parse_xml

TEXT = (
    b"<xml>\n"
    b"  <ToUserName><![CDATA[gh_abc]]></ToUserName>\n"
    b"  <FromUserName><![CDATA[oFollower]]></FromUserName>\n"
    b"  <CreateTime>1700000000</CreateTime>\n"
    b"  <MsgType><![CDATA[text]]></MsgType>\n"
    b"  <Content><![CDATA[\xe4\xbd\xa0\xe5\xa5\xbd <b>&amp; ]]></Content>\n"
    b"  <MsgId>1234567890123456</MsgId>\n"
    b"</xml>"
)


# -- happy path ------------------------------------------------------------------------------------


def test_parse_flat_message():
    assert parse_xml(TEXT) == {
        "ToUserName": "gh_abc",
        "FromUserName": "oFollower",
        "CreateTime": "1700000000",
        "MsgType": "text",
        "Content": "你好 <b>&amp; ",  # CDATA is verbatim, whitespace kept
        "MsgId": "1234567890123456",
    }


def test_parse_accepts_str_bytearray_and_memoryview():
    expected = parse_xml(TEXT)
    assert parse_xml(TEXT.decode()) == expected
    assert parse_xml(bytearray(TEXT)) == expected
    assert parse_xml(memoryview(TEXT)) == expected


def test_empty_elements_entities_and_char_refs():
    fields = parse_xml(
        b"<xml><A></A><B/><C>a &amp; b &lt;c&gt; &#20013;&#x6587; &quot;&apos;</C>"
        b"<D>  padded  </D></xml>"
    )
    assert fields == {"A": "", "B": "", "C": "a & b <c> 中文 \"'", "D": "  padded  "}


def test_nested_and_repeated_elements():
    fields = parse_xml(
        b"<xml><Event><![CDATA[pic_photo_or_album]]></Event>"
        b"<SendPicsInfo><Count>2</Count><PicList>"
        b"<item><PicMd5Sum><![CDATA[aaa]]></PicMd5Sum></item>"
        b"<item><PicMd5Sum><![CDATA[bbb]]></PicMd5Sum></item>"
        b"</PicList></SendPicsInfo>"
        b"<ScanCodeInfo><ScanType>qrcode</ScanType><ScanResult>1</ScanResult></ScanCodeInfo>"
        b"</xml>"
    )
    assert fields["SendPicsInfo"] == {
        "Count": "2",
        "PicList": {"item": [{"PicMd5Sum": "aaa"}, {"PicMd5Sum": "bbb"}]},
    }
    assert fields["ScanCodeInfo"] == {"ScanType": "qrcode", "ScanResult": "1"}


def test_repeated_top_level_element_becomes_list():
    assert parse_xml(b"<xml><A>1</A><A>2</A><A>3</A></xml>") == {"A": ["1", "2", "3"]}


def test_attributes_comments_and_declaration_are_ignored():
    fields = parse_xml(
        b'<?xml version="1.0" encoding="UTF-8"?><!-- hi --><xml a="1"><A b="2">x</A></xml>'
    )
    assert fields == {"A": "x"}


def test_declared_encoding_is_overridden_to_utf8():
    # A GBK declaration must not change how the (UTF-8) bytes are read.
    fields = parse_xml('<?xml version="1.0" encoding="GBK"?><xml><A>中文</A></xml>'.encode())
    assert fields == {"A": "中文"}


def test_empty_root():
    assert parse_xml(b"<xml/>") == {}
    assert parse_xml(b"<xml>  \n </xml>") == {}


# -- refused documents -----------------------------------------------------------------------------

XXE = (
    b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    b"<xml><ToUserName>&xxe;</ToUserName><FromUserName>o</FromUserName>"
    b"<CreateTime>1</CreateTime><MsgType>text</MsgType></xml>"
)
BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b"]><xml><Content>&lol9;</Content></xml>"
)
MALICIOUS = {
    "xxe external entity": XXE,
    "xxe parameter entity": (
        b'<!DOCTYPE xml [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]><xml/>'
    ),
    "billion laughs": BILLION_LAUGHS,
    "internal entity": b'<!DOCTYPE xml [<!ENTITY e "x">]><xml><A>&e;</A></xml>',
    "doctype lower case": b"<!doctype xml><xml><A>1</A></xml>",
    "doctype mixed case": b"<!DocType xml><xml><A>1</A></xml>",
    "doctype no subset": b'<!DOCTYPE xml SYSTEM "http://evil.example/x.dtd"><xml/>',
    "doctype whitespace variant": b"<! DOCTYPE xml><xml/>",
    "doctype newline variant": b"<!\n\tDOCTYPE xml><xml/>",
    "entity lower case": b'<xml><!entity e "x"></xml>',
    "entity inside cdata": b"<xml><A><![CDATA[<!ENTITY x>]]></A></xml>",
    "doctype after root": b"<xml/><!DOCTYPE xml>",
    "undeclared entity reference": b"<xml><A>&xxe;</A></xml>",
    "utf-16 smuggled doctype": (
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY e "x">]><xml>&e;</xml>'
    ).encode("utf-16"),
}


@pytest.mark.parametrize("case", sorted(MALICIOUS))
def test_malicious_documents_are_invalid(case):
    with pytest.raises(InvalidMessageError):
        parse_xml(MALICIOUS[case])


@pytest.mark.parametrize("case", ["xxe external entity", "billion laughs", "internal entity"])
def test_parser_itself_refuses_dtds(case, monkeypatch):
    # Defence in depth: with the textual pre-check disabled, expat must still refuse the DTD,
    # and stop at once instead of expanding anything.
    class NeverMatches:
        @staticmethod
        def search(_data):
            return None

    monkeypatch.setattr(wxml, "_DTD_RE", NeverMatches)
    started = time.perf_counter()
    with pytest.raises(InvalidMessageError):
        parse_xml(MALICIOUS[case])
    assert time.perf_counter() - started < 0.5


def test_parser_refuses_large_entity_expansion_quickly(monkeypatch):
    monkeypatch.setattr(wxml, "_DTD_RE", type("N", (), {"search": staticmethod(lambda d: None)}))
    doc = b'<!DOCTYPE xml [<!ENTITY e "%s">]><xml><A>%s</A></xml>' % (b"x" * 1000, b"&e;" * 5000)
    started = time.perf_counter()
    with pytest.raises(InvalidMessageError):
        parse_xml(doc)
    assert time.perf_counter() - started < 0.5


def test_oversize_body():
    body = b"<xml><A>" + b"a" * MAX_BODY + b"</A></xml>"
    with pytest.raises(PayloadTooLarge):
        parse_xml(body)
    with pytest.raises(PayloadTooLarge):
        parse_xml(body.decode())
    # multi-byte characters count as bytes, not characters
    with pytest.raises(PayloadTooLarge):
        parse_xml("<xml><A>" + "中" * (MAX_BODY // 3 + 1) + "</A></xml>")
    # size is checked before any other problem is looked at
    with pytest.raises(PayloadTooLarge):
        parse_xml(b"\xff" * (MAX_BODY + 1))


def test_body_exactly_at_limit_is_accepted():
    head, tail = b"<xml><A>", b"</A></xml>"
    body = head + b"a" * (MAX_BODY - len(head) - len(tail)) + tail
    assert len(body) == MAX_BODY
    assert len(parse_xml(body)["A"]) == MAX_BODY - len(head) - len(tail)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"success",
        b"\x00\x01\x02garbage\xff\xfe",
        b"<xml>",  # unclosed
        b"<xml><A>1</B></xml>",  # mismatched
        b"<xml></xml><xml></xml>",  # two roots
        b"<Xml><A>1</A></Xml>",  # root is case-sensitive
        b"<root><ToUserName>a</ToUserName></root>",  # non-xml root
        b'{"ToUserName": "a"}',  # JSON
        b"<xml><A>\xff\xfe</A></xml>",  # invalid UTF-8
        b"<xml><A>\xc0\xaf</A></xml>",  # overlong UTF-8
        b"<xml><A>\xed\xa0\x80</A></xml>",  # UTF-8 encoded surrogate
        b"<xml><A>\x00</A></xml>",  # NUL is not an XML character
        b"<xml><A>\x01</A></xml>",
        b"<xml><1A>x</1A></xml>",
        "<xml><A>\ud800</A></xml>",  # lone surrogate in str input
        None,
        12345,
        ["<xml/>"],
    ],
)
def test_malformed_input_is_invalid(body):
    with pytest.raises(InvalidMessageError):
        parse_xml(body)  # type: ignore[arg-type]


def test_depth_limit():
    ok = b"<xml>" + b"<a>" * (MAX_DEPTH - 1) + b"x" + b"</a>" * (MAX_DEPTH - 1) + b"</xml>"
    parse_xml(ok)
    too_deep = b"<xml>" + b"<a>" * MAX_DEPTH + b"x" + b"</a>" * MAX_DEPTH + b"</xml>"
    with pytest.raises(InvalidMessageError):
        parse_xml(too_deep)
    very_deep = b"<xml>" + b"<a>" * 9_000 + b"</a>" * 9_000 + b"</xml>"
    assert len(very_deep) <= MAX_BODY
    with pytest.raises(InvalidMessageError):
        parse_xml(very_deep)


# -- property tests --------------------------------------------------------------------------------


def _parse_any(data):
    try:
        message = parse_message(parse_xml(data))
    except (InvalidMessageError, PayloadTooLarge):
        return None
    assert isinstance(message, Message)
    assert isinstance(message.summary(), str)
    assert isinstance(message.dedup_key, str)
    return message


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_anything_else(data):
    _parse_any(data)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=2000))
def test_arbitrary_text_never_raises_anything_else(text):
    _parse_any(text)


_NAMES = st.sampled_from(
    [
        "EventKey",
        "MsgId",
        "MsgID",
        "Content",
        "Location_X",
        "Location_Y",
        "Scale",
        "Latitude",
        "Longitude",
        "Precision",
        "TotalCount",
        "SentCount",
        "ScanCodeInfo",
        "SendPicsInfo",
        "item",
        "Status",
        "Label",
        "Ticket",
        # rarely, a duplicate envelope field (becomes a list -> must be rejected)
        "CreateTime",
        "MsgType",
    ]
)
_VALUES = st.one_of(
    st.sampled_from(
        [
            "text",
            "event",
            "image",
            "location",
            "voice",
            "link",
            "video",
            "shortvideo",
            "subscribe",
            "SCAN",
            "LOCATION",
            "CLICK",
            "VIEW",
            "TEMPLATESENDJOBFINISH",
            "MASSSENDJOBFINISH",
            "scancode_push",
            "pic_weixin",
            "location_select",
            "qrscene_42",
            "1700000000",
            "-1",
            "1e999",
            "nan",
            "23.5",
            "",
            "]]>",
        ]
    ),
    st.text(max_size=20),
)


_MSG_TYPES = ["text", "image", "voice", "video", "shortvideo", "location", "link", "event", "x"]
_EVENTS = [
    "subscribe",
    "unsubscribe",
    "SCAN",
    "LOCATION",
    "CLICK",
    "VIEW",
    "TEMPLATESENDJOBFINISH",
    "MASSSENDJOBFINISH",
    "scancode_push",
    "pic_weixin",
    "location_select",
    "new_event",
]


def _one_of_mostly(good: str, *bad: str):
    return st.one_of(st.just(good), st.sampled_from([good, *bad]))


@st.composite
def _wechatish(draw) -> str:
    """Documents shaped like WeChat messages, so the property reaches parse_message's builders:
    the envelope fields are mostly valid, the rest is a random mix of known fields and garbage."""
    parts = [
        f"<ToUserName>{draw(_one_of_mostly('gh_abc', '', ' '))}</ToUserName>",
        f"<FromUserName>{draw(_one_of_mostly('oFollower', ''))}</FromUserName>",
        f"<CreateTime>{draw(_one_of_mostly('1700000000', '-1', 'x', ''))}</CreateTime>",
        f"<MsgType>{draw(st.sampled_from(_MSG_TYPES))}</MsgType>",
        f"<Event>{draw(st.sampled_from(_EVENTS))}</Event>",
    ]
    for name in draw(st.lists(_NAMES, max_size=8)):
        if draw(st.integers(0, 3)):
            value = draw(_VALUES).replace("]]>", "]]]]><![CDATA[>")
            parts.append(f"<{name}><![CDATA[{value}]]></{name}>")
        else:
            inner_name = draw(_NAMES)
            inner = _esc(draw(_VALUES))
            parts.append(f"<{name}><{inner_name}>{inner}</{inner_name}></{name}>")
    draw(st.randoms()).shuffle(parts)
    return "<xml>" + "".join(parts) + "</xml>"


def _esc(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;")


@settings(max_examples=1000, deadline=None)
@given(_wechatish())
def test_wechat_shaped_documents_never_raise_anything_else(doc):
    _parse_any(doc)


def test_wechat_shaped_strategy_reaches_the_builders():
    # Guard against a strategy that only ever produces rejected documents.
    kinds = set()

    @settings(max_examples=300, deadline=None, derandomize=True, database=None)
    @given(_wechatish())
    def collect(doc):
        message = _parse_any(doc)
        if message is not None:
            kinds.add(type(message).__name__)

    collect()
    assert len(kinds) >= 5, kinds


# -- the flat fast path -------------------------------------------------------------------------

# Characters and spacing the fast path takes, and those that must make it decline.
_GOOD_CHARS = ["a", "中", " ", "x", "1", "\n", "\t", ">", "]", "\U0001fffe"]
_BAD_CHARS = ["\r", "\u3000", "]]", "]]>", "<", "&", "&amp;", "\x01", "\ufffe", "<![CDATA["]
_GOOD_SPACE = ["", " ", "\n  ", "\t"]
_BAD_SPACE = ["\r\n", "\u3000"]


@st.composite
def _flatish(draw) -> str:
    """Nearly flat documents with the values and spacing that could trip the fast path; half
    of them are clean (the fast path must take them), half may hold anything."""
    clean = draw(st.booleans())
    chars = st.sampled_from(_GOOD_CHARS if clean else _GOOD_CHARS + _BAD_CHARS)
    space = st.sampled_from(_GOOD_SPACE if clean else _GOOD_SPACE + _BAD_SPACE)
    names = ["A", "MsgId", "b_1", "Content"] if clean else ["A", "MsgId", "b_1", "A"]
    parts = [draw(space), "<xml>"]
    for name in draw(st.lists(st.sampled_from(names), max_size=6, unique=clean)):
        value = "".join(draw(st.lists(chars, max_size=6)))
        if draw(st.booleans()):
            value = f"<![CDATA[{value}]]>"
        parts += [draw(space), f"<{name}>{value}</{name}>"]
    parts += [draw(space), "</xml>", draw(space)]
    return "".join(parts)


def _expat(doc: str):
    try:
        return wxml._parse(doc.encode("utf-8", "surrogatepass"))
    except Exception as exc:  # any expat refusal
        return type(exc)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(_flatish(), _wechatish(), st.text(max_size=200)))
def test_flat_fast_path_agrees_with_expat(doc):
    # The fast path may decline (None: expat decides), but what it returns is expat's answer.
    flat = wxml._parse_flat(doc)
    if flat is not None:
        assert flat == _expat(doc)


def test_flat_fast_path_takes_wechats_real_shapes():
    assert wxml._parse_flat(TEXT.decode()) == parse_xml(TEXT)
    envelope = (
        "<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[QUJD+/==]]></Encrypt></xml>"
    )
    assert wxml._parse_flat(envelope) == {"ToUserName": "gh", "Encrypt": "QUJD+/=="}


@pytest.mark.parametrize(
    "doc",
    [
        "<xml><A><![CDATA[x]]]]><![CDATA[>y]]></A></xml>",  # split CDATA: expat joins it
        "<xml><A>a&amp;b</A></xml>",  # entity
        "<xml><A>a\r\nb</A></xml>",  # CR: expat normalises it
        "<xml><A>1</A><A>2</A></xml>",  # repeated: a list
        "<xml><A><B>1</B></A></xml>",  # nested
        '<?xml version="1.0"?><xml><A>1</A></xml>',  # declaration
        "<xml><A x='1'>1</A></xml>",  # attribute
        "<xml><!-- c --><A>1</A></xml>",  # comment
        "\u3000<xml><A>1</A></xml>",  # not XML whitespace
    ],
)
def test_flat_fast_path_leaves_everything_else_to_expat(doc):
    assert wxml._parse_flat(doc) is None
