from __future__ import annotations

import copy
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.errors import InvalidInput
from chalicelib.wechat.replies import MAX_ARTICLES, render_reply, validate_reply
from chalicelib.wechat.xml import parse_xml

OPENID = "oFollower"
ACCOUNT = "gh_abc"


def render(reply: dict, **kw) -> ET.Element:
    out = render_reply(reply, to_user=OPENID, from_user=ACCOUNT, create_time=1700000001, **kw)
    assert isinstance(out, str)
    root = ET.fromstring(out)
    assert root.tag == "xml"
    assert root.findtext("ToUserName") == OPENID
    assert root.findtext("FromUserName") == ACCOUNT
    assert root.findtext("CreateTime") == "1700000001"
    assert root.findtext("MsgType") == reply["type"]
    # Also readable by our own (stricter) parser.
    assert parse_xml(out)["MsgType"] == reply["type"]
    return root


def article(i: int) -> dict:
    return {
        "title": f"标题 {i}",
        "description": f"desc {i}",
        "url": f"https://example.com/{i}",
        "pic_url": f"http://img.example.com/{i}.jpg",
    }


# -- rendering -------------------------------------------------------------------------------------


def test_render_text():
    root = render({"type": "text", "content": "你好，欢迎关注！"})
    assert root.findtext("Content") == "你好，欢迎关注！"
    assert [c.tag for c in root] == [
        "ToUserName",
        "FromUserName",
        "CreateTime",
        "MsgType",
        "Content",
    ]


def test_render_uses_cdata_and_numeric_create_time():
    out = render_reply(
        {"type": "text", "content": "a<b>&c"}, to_user="o", from_user="g", create_time=5
    )
    assert out == (
        "<xml><ToUserName><![CDATA[o]]></ToUserName><FromUserName><![CDATA[g]]></FromUserName>"
        "<CreateTime>5</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[a<b>&c]]></Content></xml>"
    )


@pytest.mark.parametrize("kind", ["image", "voice"])
def test_render_image_and_voice(kind):
    root = render({"type": kind, "media_id": "MEDIA_1"})
    assert root.findtext(f"{kind.capitalize()}/MediaId") == "MEDIA_1"


def test_render_video():
    root = render({"type": "video", "media_id": "V1", "title": "标题", "description": "说明"})
    assert root.findtext("Video/MediaId") == "V1"
    assert root.findtext("Video/Title") == "标题"
    assert root.findtext("Video/Description") == "说明"


def test_render_video_without_optionals():
    root = render({"type": "video", "media_id": "V1"})
    assert root.findtext("Video/Title") == ""


def test_render_music():
    root = render(
        {
            "type": "music",
            "title": "歌",
            "description": "d",
            "music_url": "http://m.example.com/a.mp3",
            "hq_music_url": "https://m.example.com/a-hq.mp3",
            "thumb_media_id": "THUMB",
        }
    )
    music = root.find("Music")
    assert music is not None
    assert {c.tag: c.text for c in music} == {
        "Title": "歌",
        "Description": "d",
        "MusicUrl": "http://m.example.com/a.mp3",
        "HQMusicUrl": "https://m.example.com/a-hq.mp3",
        "ThumbMediaId": "THUMB",
    }


def test_render_news():
    root = render({"type": "news", "articles": [article(1), article(2)]})
    assert root.findtext("ArticleCount") == "2"
    items = root.findall("Articles/item")
    assert len(items) == 2
    assert {c.tag: c.text for c in items[1]} == {
        "Title": "标题 2",
        "Description": "desc 2",
        "PicUrl": "http://img.example.com/2.jpg",
        "Url": "https://example.com/2",
    }


def test_render_news_minimal_article():
    root = render({"type": "news", "articles": [{"title": "only"}]})
    item = root.find("Articles/item")
    assert item is not None
    assert item.findtext("Title") == "only"
    assert item.findtext("Url") == ""


@pytest.mark.parametrize(("limit", "expected"), [(1, 1), (3, 3), (8, 8), (20, 8), (0, 1)])
def test_render_news_truncates_to_max_articles(limit, expected):
    reply = {"type": "news", "articles": [article(i) for i in range(8)]}
    root = render(reply, max_articles=limit)
    assert root.findtext("ArticleCount") == str(expected)
    titles = [i.findtext("Title") for i in root.findall("Articles/item")]
    assert titles == [f"标题 {i}" for i in range(expected)]
    assert len(reply["articles"]) == 8  # input untouched


def test_render_news_default_allows_eight():
    root = render({"type": "news", "articles": [article(i) for i in range(8)]})
    assert root.findtext("ArticleCount") == "8"


def test_render_transfer_customer_service():
    root = render({"type": "transfer_customer_service"})
    assert root.find("TransInfo") is None
    root = render({"type": "transfer_customer_service", "kf_account": "test1@test"})
    assert root.findtext("TransInfo/KfAccount") == "test1@test"


@pytest.mark.parametrize("text", ["]]>", "a]]>b", "]]>]]>", "x]]", "]]]>>", "<![CDATA[x]]>"])
def test_cdata_terminator_is_escaped(text):
    root = render({"type": "text", "content": text})
    assert root.findtext("Content") == text
    root = render({"type": "news", "articles": [{"title": text, "description": text}]})
    assert root.findtext("Articles/item/Title") == text


def test_cdata_escaping_in_user_ids():
    out = render_reply(
        {"type": "text", "content": "x"}, to_user="a]]>b", from_user="g", create_time=1
    )
    assert ET.fromstring(out).findtext("ToUserName") == "a]]>b"


def test_render_unknown_type_is_value_error():
    with pytest.raises(ValueError):
        render_reply({"type": "nope"}, to_user="o", from_user="g", create_time=1)
    with pytest.raises(ValueError):
        render_reply({"type": ["text"]}, to_user="o", from_user="g", create_time=1)


# -- validation: accepted shapes -------------------------------------------------------------------

VALID = [
    {"type": "text", "content": "hi"},
    {"type": "text", "content": "中" * 682},  # 2046 bytes
    {"type": "text", "content": "x" * 2048},
    {"type": "image", "media_id": "m"},
    {"type": "voice", "media_id": "m"},
    {"type": "video", "media_id": "m"},
    {"type": "video", "media_id": "m", "title": "t", "description": "d"},
    {"type": "video", "media_id": "m", "title": "", "description": ""},
    {"type": "music", "thumb_media_id": "t"},
    {
        "type": "music",
        "title": "t",
        "description": "d",
        "music_url": "http://a.example/x.mp3",
        "hq_music_url": "HTTPS://a.example/x.mp3",
        "thumb_media_id": "t",
    },
    {"type": "music", "thumb_media_id": "t", "music_url": ""},
    {"type": "news", "articles": [{"title": "t"}]},
    {"type": "news", "articles": [article(i) for i in range(8)]},
    {"type": "news", "articles": [{"title": "t", "url": "", "pic_url": "", "description": ""}]},
    {"type": "transfer_customer_service"},
    {"type": "transfer_customer_service", "kf_account": "kf2001@gh_abc"},
]


@pytest.mark.parametrize("reply", VALID, ids=lambda r: r["type"])
def test_validate_accepts_valid_shapes(reply):
    original = copy.deepcopy(reply)
    normalized = validate_reply(reply)
    assert normalized == reply
    assert normalized is not reply
    assert reply == original
    render(normalized)


def test_validate_returns_a_deep_copy():
    reply = {"type": "news", "articles": [{"title": "t"}]}
    normalized = validate_reply(reply)
    normalized["articles"][0]["title"] = "changed"
    assert reply["articles"][0]["title"] == "t"


def test_validate_drops_null_optionals():
    assert validate_reply({"type": "video", "media_id": "m", "title": None}) == {
        "type": "video",
        "media_id": "m",
    }
    assert validate_reply({"type": "news", "articles": [{"title": "t", "url": None}]}) == {
        "type": "news",
        "articles": [{"title": "t"}],
    }


# -- validation: rejected shapes -------------------------------------------------------------------

INVALID = [
    (None, "reply"),
    ("text", "reply"),
    (["text"], "reply"),
    (5, "reply"),
    ({}, "reply.type"),
    ({"type": None}, "reply.type"),
    ({"type": 5}, "reply.type"),
    ({"type": ["text"]}, "reply.type"),
    ({"type": {"a": 1}}, "reply.type"),
    ({"type": "TEXT", "content": "x"}, "reply.type"),
    ({"type": "nope"}, "reply.type"),
    ({"type": "text"}, "reply.content"),
    ({"type": "text", "content": ""}, "reply.content"),
    ({"type": "text", "content": "   \n"}, "reply.content"),
    ({"type": "text", "content": 5}, "reply.content"),
    ({"type": "text", "content": ["a"]}, "reply.content"),
    ({"type": "text", "content": True}, "reply.content"),
    ({"type": "text", "content": "x" * 2049}, "reply.content"),
    ({"type": "text", "content": "中" * 683}, "reply.content"),  # 2049 bytes
    ({"type": "text", "content": "a\x00b"}, "reply.content"),
    ({"type": "text", "content": "a\x1bb"}, "reply.content"),
    ({"type": "text", "content": "\ud800"}, "reply.content"),
    ({"type": "text", "content": "x", "extra": 1}, "reply.extra"),
    ({"type": "text", "content": "x", "media_id": "m"}, "reply.media_id"),
    ({"type": "image"}, "reply.media_id"),
    ({"type": "image", "media_id": ""}, "reply.media_id"),
    ({"type": "voice", "media_id": 1}, "reply.media_id"),
    ({"type": "video"}, "reply.media_id"),
    ({"type": "video", "media_id": "m", "title": 1}, "reply.title"),
    ({"type": "video", "media_id": "m", "description": ["d"]}, "reply.description"),
    ({"type": "music"}, "reply.thumb_media_id"),
    ({"type": "music", "thumb_media_id": "t", "music_url": "ftp://x/y"}, "reply.music_url"),
    (
        {"type": "music", "thumb_media_id": "t", "music_url": "javascript:alert(1)"},
        "reply.music_url",
    ),
    ({"type": "music", "thumb_media_id": "t", "hq_music_url": "http://"}, "reply.hq_music_url"),
    ({"type": "music", "thumb_media_id": "t", "hq_music_url": "http://a b"}, "reply.hq_music_url"),
    ({"type": "music", "thumb_media_id": "t", "title": 3}, "reply.title"),
    ({"type": "news"}, "reply.articles"),
    ({"type": "news", "articles": "x"}, "reply.articles"),
    ({"type": "news", "articles": {"title": "t"}}, "reply.articles"),
    ({"type": "news", "articles": []}, "reply.articles"),
    ({"type": "news", "articles": [article(i) for i in range(9)]}, "reply.articles"),
    ({"type": "news", "articles": ["x"]}, "reply.articles[0]"),
    ({"type": "news", "articles": [None]}, "reply.articles[0]"),
    ({"type": "news", "articles": [{}]}, "reply.articles[0].title"),
    ({"type": "news", "articles": [{"title": ""}]}, "reply.articles[0].title"),
    ({"type": "news", "articles": [{"title": 1}]}, "reply.articles[0].title"),
    ({"type": "news", "articles": [{"title": "t"}, {"title": "t", "x": 1}]}, "reply.articles[1].x"),
    ({"type": "news", "articles": [{"title": "t", "url": "example.com"}]}, "reply.articles[0].url"),
    ({"type": "news", "articles": [{"title": "t", "pic_url": 5}]}, "reply.articles[0].pic_url"),
    (
        {"type": "news", "articles": [{"title": "t", "description": 5}]},
        "reply.articles[0].description",
    ),
    ({"type": "transfer_customer_service", "kf_account": 5}, "reply.kf_account"),
    ({"type": "transfer_customer_service", "content": "x"}, "reply.content"),
    ({"type": "text", "content": "x", 5: "y"}, "reply.<key>"),
    ({"type": "text", "content": "x", "k" * 100: "y"}, "reply.<key>"),
    ({"type": "text", "content": "x", ("a",): "y"}, "reply.<key>"),
]


@pytest.mark.parametrize(("reply", "field"), INVALID, ids=[f for _, f in INVALID])
def test_validate_rejects_malformed(reply, field):
    with pytest.raises(InvalidInput) as excinfo:
        validate_reply(reply)
    assert type(excinfo.value) is InvalidInput
    message = str(excinfo.value)
    assert message.startswith(f"{field}: "), message
    assert len(message) < 200


# -- properties ------------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
_reply_keys = st.sampled_from(
    [
        "type",
        "content",
        "media_id",
        "title",
        "description",
        "music_url",
        "hq_music_url",
        "thumb_media_id",
        "articles",
        "kf_account",
        "url",
        "pic_url",
    ]
)
_types = st.sampled_from(
    ["text", "image", "voice", "video", "music", "news", "transfer_customer_service", "x"]
)
_replyish = st.fixed_dictionaries(
    {"type": _types},
    optional={
        "content": _json,
        "media_id": _json,
        "title": _json,
        "thumb_media_id": _json,
        "music_url": _json,
        "kf_account": _json,
        "articles": st.lists(
            st.dictionaries(_reply_keys, st.text(max_size=10) | _json, max_size=4), max_size=9
        )
        | _json,
    },
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(_json, _replyish))
def test_validate_only_raises_invalid_input(obj):
    try:
        normalized = validate_reply(obj)
    except ValueError as exc:
        assert type(exc) is InvalidInput
        assert str(exc).startswith("reply")
        return
    # Anything accepted renders to well-formed XML.
    render(normalized)


def _xml_text(value: str) -> str:
    # XML parsers normalize line ends; this is what a reader of any reply sees.
    return value.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=300), st.text(max_size=50), st.integers(1, 8))
def test_any_valid_text_round_trips_through_render(content, title, count):
    try:
        reply = validate_reply({"type": "text", "content": content})
    except ValueError:
        return
    assert render(reply).findtext("Content") == _xml_text(content)
    try:
        news = validate_reply(
            {"type": "news", "articles": [{"title": content, "description": title}]}
        )
    except ValueError:
        return
    root = render({**news, "articles": news["articles"] * count})
    assert root.findtext("ArticleCount") == str(count)
    assert root.findtext("Articles/item/Title") == _xml_text(content)
    assert root.findtext("Articles/item/Description") == _xml_text(title)


def test_max_articles_constant():
    assert MAX_ARTICLES == 8
