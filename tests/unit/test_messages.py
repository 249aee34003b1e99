from __future__ import annotations

import pytest

from chalicelib.records import Record
from chalicelib.wechat import messages as msgs
from chalicelib.wechat.errors import InvalidMessageError
from chalicelib.wechat.messages import (
    ClickEvent,
    ImageMessage,
    LinkMessage,
    LocationEvent,
    LocationMessage,
    MassSendJobFinishEvent,
    MenuEvent,
    Message,
    ScanEvent,
    ShortVideoMessage,
    SubscribeEvent,
    TemplateSendJobFinishEvent,
    TextMessage,
    UnknownEvent,
    UnknownMessage,
    UnsubscribeEvent,
    VideoMessage,
    ViewEvent,
    VoiceMessage,
    parse_message,
)
from chalicelib.wechat.xml import parse_xml

ACCOUNT = "gh_1234567890ab"
OPENID = "oXyZ-abcdEFGH1234567890ijkl"
CT = "1700000000"


def wx(msg_type: str, body: str, *, create_time: str = CT) -> bytes:
    """A callback body laid out the way WeChat sends it (CDATA strings, newlines)."""
    return (
        "<xml>\n"
        f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>\n"
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>\n"
        f"<CreateTime>{create_time}</CreateTime>\n"
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>\n"
        f"{body}\n"
        "</xml>"
    ).encode()


def event(name: str, body: str = "", *, create_time: str = CT) -> bytes:
    return wx("event", f"<Event><![CDATA[{name}]]></Event>\n{body}", create_time=create_time)


def parse(body: bytes) -> Message:
    return parse_message(parse_xml(body))


# -- ordinary messages -----------------------------------------------------------------------------


def test_text():
    m = parse(
        wx(
            "text",
            "<Content><![CDATA[你好 hello]]></Content><MsgId>23456789012345678</MsgId>"
            "<MsgDataId><![CDATA[]]></MsgDataId><Idx><![CDATA[]]></Idx>",
        )
    )
    assert isinstance(m, TextMessage)
    assert (m.to_user, m.from_user, m.create_time, m.msg_type) == (
        ACCOUNT,
        OPENID,
        1_700_000_000,
        "text",
    )
    assert m.content == "你好 hello"
    assert m.msg_id == "23456789012345678"
    assert m.dedup_key == "23456789012345678"
    assert not m.is_event
    assert m.event is None
    assert m.event_key == ""
    assert m.summary() == "你好 hello"
    assert m.raw["MsgDataId"] == ""


def test_image():
    m = parse(
        wx(
            "image",
            "<PicUrl><![CDATA[http://mmbiz.qpic.cn/abc/0]]></PicUrl>"
            "<MediaId><![CDATA[media_img_1]]></MediaId><MsgId>1000000000000000001</MsgId>",
        )
    )
    assert isinstance(m, ImageMessage)
    assert m.pic_url == "http://mmbiz.qpic.cn/abc/0"
    assert m.media_id == "media_img_1"
    assert m.msg_id == m.dedup_key == "1000000000000000001"
    assert m.summary() == "[image] http://mmbiz.qpic.cn/abc/0"


def test_voice_with_recognition():
    m = parse(
        wx(
            "voice",
            "<MediaId><![CDATA[media_v]]></MediaId><Format><![CDATA[amr]]></Format>"
            "<Recognition><![CDATA[腾讯微信团队]]></Recognition><MsgId>1000000000000000002</MsgId>",
        )
    )
    assert isinstance(m, VoiceMessage)
    assert (m.media_id, m.format, m.recognition) == ("media_v", "amr", "腾讯微信团队")
    assert m.summary() == "[voice] 腾讯微信团队"


def test_voice_without_recognition():
    m = parse(wx("voice", "<MediaId>v</MediaId><Format>speex</Format><MsgId>3</MsgId>"))
    assert isinstance(m, VoiceMessage)
    assert m.recognition == ""
    assert m.summary() == "[voice]"


@pytest.mark.parametrize(
    ("msg_type", "cls"), [("video", VideoMessage), ("shortvideo", ShortVideoMessage)]
)
def test_video_and_short_video(msg_type, cls):
    m = parse(
        wx(
            msg_type,
            "<MediaId><![CDATA[media_vid]]></MediaId>"
            "<ThumbMediaId><![CDATA[thumb_1]]></ThumbMediaId><MsgId>1000000000000000003</MsgId>",
        )
    )
    assert type(m) is cls
    assert (m.media_id, m.thumb_media_id) == ("media_vid", "thumb_1")
    assert m.summary() == f"[{msg_type}] media_vid"


def test_location():
    m = parse(
        wx(
            "location",
            "<Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y>"
            "<Scale>20</Scale><Label><![CDATA[广州市海珠区]]></Label><MsgId>1000000000000000004</MsgId>",
        )
    )
    assert isinstance(m, LocationMessage)
    assert m.latitude == pytest.approx(23.134521)
    assert m.longitude == pytest.approx(113.358803)
    assert m.scale == 20
    assert m.label == "广州市海珠区"
    assert m.summary() == "[location] 广州市海珠区 (23.1345,113.359)"


def test_link():
    m = parse(
        wx(
            "link",
            "<Title><![CDATA[公众平台官网链接]]></Title>"
            "<Description><![CDATA[公众平台官网链接]]></Description>"
            "<Url><![CDATA[https://mp.weixin.qq.com]]></Url><MsgId>1000000000000000005</MsgId>",
        )
    )
    assert isinstance(m, LinkMessage)
    assert (m.title, m.description, m.url) == (
        "公众平台官网链接",
        "公众平台官网链接",
        "https://mp.weixin.qq.com",
    )
    assert m.summary() == "[link] 公众平台官网链接 https://mp.weixin.qq.com"


def test_unknown_message_type_is_kept_not_rejected():
    m = parse(wx("miniprogrampage", "<Title>t</Title><AppId>wx1</AppId><MsgId>77</MsgId>"))
    assert type(m) is UnknownMessage
    assert m.msg_type == "miniprogrampage"
    assert m.raw["AppId"] == "wx1"
    assert m.msg_id == m.dedup_key == "77"
    assert m.summary() == "[miniprogrampage]"


def test_msg_type_is_case_insensitive():
    m = parse(wx("TEXT", "<Content>hi</Content><MsgId>5</MsgId>"))
    assert isinstance(m, TextMessage)
    assert m.msg_type == "text"


def test_message_without_msg_id_gets_composite_dedup_key():
    m = parse(wx("text", "<Content>hi</Content>"))
    assert m.msg_id is None
    assert m.dedup_key == f"{OPENID}:{CT}:text:"


# -- events ----------------------------------------------------------------------------------------


def test_subscribe_plain():
    m = parse(event("subscribe"))
    assert isinstance(m, SubscribeEvent)
    assert m.is_event
    assert m.event == "subscribe"
    assert (m.event_key, m.ticket, m.scene) == ("", "", None)
    assert m.msg_id is None
    assert m.dedup_key == f"{OPENID}:{CT}:subscribe:"
    assert m.summary() == "[event] subscribe"


def test_subscribe_with_empty_event_key_element():
    m = parse(event("subscribe", "<EventKey><![CDATA[]]></EventKey>"))
    assert isinstance(m, SubscribeEvent)
    assert m.scene is None


def test_subscribe_from_qr_code():
    m = parse(
        event(
            "subscribe",
            "<EventKey><![CDATA[qrscene_123123]]></EventKey>"
            "<Ticket><![CDATA[gQH47joAAAAAAAAAASxodHRwOi8v]]></Ticket>",
        )
    )
    assert isinstance(m, SubscribeEvent)
    assert m.event_key == "qrscene_123123"
    assert m.scene == "123123"
    assert m.ticket == "gQH47joAAAAAAAAAASxodHRwOi8v"
    assert m.dedup_key == f"{OPENID}:{CT}:subscribe:qrscene_123123"
    assert m.summary() == "[event] subscribe qrscene=123123"


def test_unsubscribe_twice_has_the_same_dedup_key():
    a = parse(event("unsubscribe", "<EventKey><![CDATA[]]></EventKey>"))
    b = parse(event("unsubscribe"))
    assert isinstance(a, UnsubscribeEvent)
    assert a.dedup_key == b.dedup_key == f"{OPENID}:{CT}:unsubscribe:"
    assert a.summary() == "[event] unsubscribe"


def test_scan():
    m = parse(
        event(
            "SCAN",
            "<EventKey><![CDATA[SCENE_VALUE]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket>",
        )
    )
    assert isinstance(m, ScanEvent)
    assert m.event == "scan"
    assert (m.event_key, m.ticket) == ("SCENE_VALUE", "TICKET")
    assert m.dedup_key == f"{OPENID}:{CT}:scan:SCENE_VALUE"
    assert m.summary() == "[event] scan SCENE_VALUE"


def test_location_event_and_distinct_dedup_keys_every_5s():
    body = (
        "<Latitude>23.137466</Latitude><Longitude>113.352425</Longitude>"
        "<Precision>119.385040</Precision>"
    )
    m = parse(event("LOCATION", body))
    later = parse(event("LOCATION", body, create_time="1700000005"))
    assert isinstance(m, LocationEvent)
    assert m.event == "location"
    assert (m.latitude, m.longitude, m.precision) == pytest.approx(
        (23.137466, 113.352425, 119.38504)
    )
    assert m.dedup_key != later.dedup_key
    assert m.summary() == "[event] location (23.1375,113.352)"


def test_click():
    m = parse(event("CLICK", "<EventKey><![CDATA[V1001_TODAY_MUSIC]]></EventKey>"))
    assert isinstance(m, ClickEvent)
    assert m.event == "click"
    assert m.event_key == "V1001_TODAY_MUSIC"
    assert m.dedup_key == f"{OPENID}:{CT}:click:V1001_TODAY_MUSIC"
    assert m.summary() == "[event] click V1001_TODAY_MUSIC"


def test_click_keys_differ_in_dedup_key():
    a = parse(event("CLICK", "<EventKey>A</EventKey>"))
    b = parse(event("CLICK", "<EventKey>B</EventKey>"))
    assert a.dedup_key != b.dedup_key


def test_view():
    m = parse(
        event(
            "VIEW", "<EventKey><![CDATA[https://www.qq.com/]]></EventKey><MenuId>208379533</MenuId>"
        )
    )
    assert isinstance(m, ViewEvent)
    assert (m.event_key, m.menu_id) == ("https://www.qq.com/", "208379533")
    assert m.summary() == "[event] view https://www.qq.com/"


def test_template_send_job_finish_uses_msg_id_spelled_MsgID():
    m = parse(
        event(
            "TEMPLATESENDJOBFINISH", "<MsgID>200163836</MsgID><Status><![CDATA[success]]></Status>"
        )
    )
    assert isinstance(m, TemplateSendJobFinishEvent)
    assert m.msg_id == "200163836"
    assert m.status == "success"
    # The MsgID names the job, not the delivery: the event dedup key is used.
    assert m.dedup_key == f"{OPENID}:{CT}:templatesendjobfinish:"
    assert m.summary() == "[event] templatesendjobfinish 200163836 success"


def test_template_send_job_failed_status():
    m = parse(
        event(
            "TEMPLATESENDJOBFINISH",
            "<MsgID>1</MsgID><Status><![CDATA[failed:user block]]></Status>",
        )
    )
    assert m.status == "failed:user block"


def test_mass_send_job_finish():
    m = parse(
        event(
            "MASSSENDJOBFINISH",
            "<MsgID>1000001625</MsgID><Status><![CDATA[send success]]></Status>"
            "<TotalCount>100</TotalCount><FilterCount>80</FilterCount>"
            "<SentCount>75</SentCount><ErrorCount>5</ErrorCount>"
            "<CopyrightCheckResult><Count>2</Count><ResultList>"
            "<item><ArticleIdx>1</ArticleIdx><UserDeclareState>0</UserDeclareState></item>"
            "<item><ArticleIdx>2</ArticleIdx><UserDeclareState>0</UserDeclareState></item>"
            "</ResultList><CheckState>2</CheckState></CopyrightCheckResult>"
            "<ArticleUrlResult><Count>1</Count><ResultList><item><ArticleIdx>1</ArticleIdx>"
            "<ArticleUrl><![CDATA[https://mp.weixin.qq.com/s/x]]></ArticleUrl></item>"
            "</ResultList></ArticleUrlResult>",
        )
    )
    assert isinstance(m, MassSendJobFinishEvent)
    assert m.msg_id == "1000001625"
    assert m.status == "send success"
    assert (m.total_count, m.filter_count, m.sent_count, m.error_count) == (100, 80, 75, 5)
    assert len(m.raw["CopyrightCheckResult"]["ResultList"]["item"]) == 2
    assert m.raw["ArticleUrlResult"]["ResultList"]["item"]["ArticleUrl"] == (
        "https://mp.weixin.qq.com/s/x"
    )
    assert m.summary() == "[event] masssendjobfinish 1000001625 send success sent=75/100 errors=5"


def test_scancode_push_with_nested_scan_code_info():
    m = parse(
        event(
            "scancode_push",
            "<EventKey><![CDATA[6]]></EventKey><ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>"
            "<ScanResult><![CDATA[https://example.com/1]]></ScanResult></ScanCodeInfo>",
        )
    )
    assert isinstance(m, MenuEvent)
    assert m.event == "scancode_push"
    assert m.event_key == "6"
    assert m.details == {"ScanType": "qrcode", "ScanResult": "https://example.com/1"}
    assert m.summary() == "[event] scancode_push 6 https://example.com/1"


def test_scancode_waitmsg():
    m = parse(
        event(
            "scancode_waitmsg",
            "<EventKey>rselfmenu_0_0</EventKey><ScanCodeInfo><ScanType>barcode</ScanType>"
            "<ScanResult>6901234567892</ScanResult></ScanCodeInfo>",
        )
    )
    assert isinstance(m, MenuEvent)
    assert m.details["ScanType"] == "barcode"


@pytest.mark.parametrize("name", ["pic_sysphoto", "pic_photo_or_album", "pic_weixin"])
def test_picture_menu_events(name):
    m = parse(
        event(
            name,
            "<EventKey><![CDATA[6]]></EventKey><SendPicsInfo><Count>2</Count><PicList>"
            "<item><PicMd5Sum><![CDATA[1b5f7c23b5bf75682a53e7b6d163e185]]></PicMd5Sum></item>"
            "<item><PicMd5Sum><![CDATA[2b5f7c23b5bf75682a53e7b6d163e185]]></PicMd5Sum></item>"
            "</PicList></SendPicsInfo>",
        )
    )
    assert isinstance(m, MenuEvent)
    assert m.event == name
    assert m.details["Count"] == "2"
    assert [p["PicMd5Sum"][0] for p in m.details["PicList"]["item"]] == ["1", "2"]


def test_pic_event_with_single_item():
    m = parse(
        event(
            "pic_weixin",
            "<EventKey>k</EventKey><SendPicsInfo><Count>1</Count><PicList><item>"
            "<PicMd5Sum>abc</PicMd5Sum></item></PicList></SendPicsInfo>",
        )
    )
    assert m.details["PicList"]["item"] == {"PicMd5Sum": "abc"}


def test_location_select():
    m = parse(
        event(
            "location_select",
            "<EventKey><![CDATA[6]]></EventKey><SendLocationInfo>"
            "<Location_X><![CDATA[23]]></Location_X><Location_Y><![CDATA[113]]></Location_Y>"
            "<Scale><![CDATA[15]]></Scale><Label><![CDATA[广州市海珠区客村艺苑路 106号]]></Label>"
            "<Poiname><![CDATA[]]></Poiname></SendLocationInfo>",
        )
    )
    assert isinstance(m, MenuEvent)
    assert m.details["Label"] == "广州市海珠区客村艺苑路 106号"
    assert m.summary() == "[event] location_select 6 广州市海珠区客村艺苑路 106号"


def test_menu_event_without_details():
    m = parse(event("pic_sysphoto", "<EventKey>6</EventKey>"))
    assert isinstance(m, MenuEvent)
    assert m.details == {}


def test_unknown_event_is_kept_not_rejected():
    m = parse(event("view_miniprogram", "<EventKey>pages/index</EventKey><MenuId>1</MenuId>"))
    assert type(m) is UnknownEvent
    assert m.event == "view_miniprogram"
    assert m.event_key == "pages/index"
    assert m.dedup_key == f"{OPENID}:{CT}:view_miniprogram:pages/index"
    assert m.summary() == "[event] view_miniprogram pages/index"


def test_event_without_event_field():
    m = parse(wx("event", "<EventKey>k</EventKey>"))
    assert type(m) is UnknownEvent
    assert m.event is None
    assert m.dedup_key == f"{OPENID}:{CT}:event:k"


@pytest.mark.parametrize("spelling", ["subscribe", "SUBSCRIBE", "Subscribe"])
def test_event_names_are_case_insensitive(spelling):
    assert isinstance(parse(event(spelling)), SubscribeEvent)


def test_unknown_event_with_garbage_nested_fields_is_not_an_error():
    m = parse(event("something_new", "<EventKey><a>1</a></EventKey>"))
    assert type(m) is UnknownEvent
    assert m.event_key == ""


# -- invalid messages ------------------------------------------------------------------------------

FULL = {"ToUserName": ACCOUNT, "FromUserName": OPENID, "CreateTime": CT, "MsgType": "text"}


@pytest.mark.parametrize("field", sorted(FULL))
def test_missing_required_field(field):
    fields = {k: v for k, v in FULL.items() if k != field}
    with pytest.raises(InvalidMessageError):
        parse_message(fields)


@pytest.mark.parametrize("field", sorted(FULL))
@pytest.mark.parametrize("value", ["", "   ", {"a": "b"}, ["a", "b"]])
def test_empty_or_non_text_required_field(field, value):
    with pytest.raises(InvalidMessageError):
        parse_message({**FULL, field: value})


@pytest.mark.parametrize("value", ["abc", "12.5", "-1", "1e9", "١٧٠٠", "0x10", "1_000", "9" * 30])
def test_bad_create_time(value):
    with pytest.raises(InvalidMessageError):
        parse_message({**FULL, "CreateTime": value})


def test_required_fields_from_xml():
    with pytest.raises(InvalidMessageError):
        parse(b"<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName></xml>")
    with pytest.raises(InvalidMessageError):
        parse(wx("text", "", create_time="yesterday"))


@pytest.mark.parametrize(
    "body",
    [
        wx("location", "<Location_X>abc</Location_X><Location_Y>113.3</Location_Y>"),
        wx("location", "<Location_X>23.1</Location_X><Location_Y>nan</Location_Y>"),
        wx("location", "<Location_X>1e999</Location_X><Location_Y>113.3</Location_Y>"),
        wx("location", "<Location_X>23.1</Location_X><Location_Y>1</Location_Y><Scale>1.5</Scale>"),
        wx("location", "<Location_X><v>1</v></Location_X>"),
        event("LOCATION", "<Latitude>north</Latitude><Longitude>1</Longitude>"),
        event("LOCATION", "<Latitude>1</Latitude><Longitude>1</Longitude><Precision>x</Precision>"),
        event("MASSSENDJOBFINISH", "<MsgID>1</MsgID><TotalCount>many</TotalCount>"),
        event("MASSSENDJOBFINISH", "<MsgID>1</MsgID><SentCount>7.5</SentCount>"),
        wx("text", "<Content><b>nested</b></Content>"),
        wx("text", "<Content>a</Content><Content>b</Content>"),
        event("CLICK", "<EventKey><a>1</a></EventKey>"),
        event("scancode_push", "<EventKey>1</EventKey><ScanCodeInfo>flat text</ScanCodeInfo>"),
    ],
)
def test_garbage_fields_are_invalid(body):
    with pytest.raises(InvalidMessageError):
        parse(body)


@pytest.mark.parametrize("value", [None, "text", ["a"], 5])
def test_parse_message_needs_a_dict(value):
    with pytest.raises(InvalidMessageError):
        parse_message(value)  # type: ignore[arg-type]


def test_lenient_on_missing_optional_fields():
    m = parse(wx("location", ""))
    assert isinstance(m, LocationMessage)
    assert (m.latitude, m.longitude, m.scale, m.label) == (0.0, 0.0, 0, "")
    m = parse(event("MASSSENDJOBFINISH"))
    assert isinstance(m, MassSendJobFinishEvent)
    assert m.msg_id is None
    assert m.total_count == 0


# -- structure -------------------------------------------------------------------------------------


def test_messages_are_slotted_records():
    m = parse(wx("text", "<Content>hi</Content><MsgId>5</MsgId>"))
    assert isinstance(m, Record)
    assert set(m._fields) == {"to_user", "from_user", "create_time", "msg_type", "raw"} | {
        "content",
        "msg_id",
    }
    assert not hasattr(m, "__dict__")
    with pytest.raises(AttributeError):
        m.unexpected = 1  # type: ignore[attr-defined]
    # Equal by value, like the dataclasses they replace; a copy with one field changed is not.
    same = TextMessage(**{name: getattr(m, name) for name in m._fields})
    assert same == m and repr(same) == repr(m) and "content='hi'" in repr(m)
    assert TextMessage(**{**{n: getattr(m, n) for n in m._fields}, "content": "ho"}) != m


def test_constructing_a_message_requires_every_field_once():
    fields = {"to_user": "gh", "from_user": "o", "create_time": 1, "msg_type": "text", "raw": {}}
    with pytest.raises(TypeError):
        TextMessage(**fields, content="x")  # no msg_id
    with pytest.raises(TypeError):
        TextMessage(**fields, content="x", msg_id="1", label="y")  # not a field
    with pytest.raises(TypeError):
        TextMessage(**fields, content="x", dedup_key="1")  # a property, not a field


def test_types_are_registered_in_dicts_not_an_if_chain():
    assert set(msgs._MESSAGE_BUILDERS) == {
        "text",
        "image",
        "voice",
        "video",
        "shortvideo",
        "location",
        "link",
    }
    assert {
        "subscribe",
        "unsubscribe",
        "scan",
        "location",
        "click",
        "view",
        "templatesendjobfinish",
        "masssendjobfinish",
        "scancode_push",
        "scancode_waitmsg",
        "pic_sysphoto",
        "pic_photo_or_album",
        "pic_weixin",
        "location_select",
    } == set(msgs._EVENT_BUILDERS)


def test_can_construct_directly():
    m = TextMessage(
        to_user=ACCOUNT,
        from_user=OPENID,
        create_time=1,
        msg_type="text",
        raw={},
        content="x",
        msg_id="9",
    )
    assert m.msg_id == "9"
    assert m.dedup_key == "9"
