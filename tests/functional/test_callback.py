"""CONTRACT.md §2 over chalice.test.Client on moto, checked with an independent simulator."""

from __future__ import annotations

import json
import logging
import time

import pytest

from tests import wxsim
from tests.functional.helpers import (
    admin,
    make_rule,
    messages,
    post_xml,
    refresh_rules,
    text_rule,
)

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"""
XXE = """<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>2</MsgId></xml>"""
INTERNAL_ENTITY = """<!DOCTYPE xml [<!ENTITY name "bank">]><xml><ToUserName>a</ToUserName>
<FromUserName>b</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType>
<Content>&name;</Content><MsgId>3</MsgId></xml>"""


# -- URL verification -----------------------------------------------------------------------
def test_get_verification_echoes(client):
    query = wxsim.signed_query(echostr="echo-123")
    response = client.http.get(f"/wechat?{wxsim.qs(query)}")
    assert response.status_code == 200
    assert response.body == b"echo-123"
    assert response.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "query",
    [
        lambda: {
            "signature": "0" * 40,
            "timestamp": str(int(time.time())),
            "nonce": "n",
            "echostr": "e",
        },
        lambda: wxsim.signed_query(ts=int(time.time()) - 301, echostr="e"),
        lambda: wxsim.signed_query(ts=int(time.time()) + 301, echostr="e"),
        lambda: wxsim.signed_query(token="other-token", echostr="e"),
        lambda: {"echostr": "e"},
        lambda: {},
    ],
    ids=["forged", "stale", "future", "wrong-token", "missing", "empty"],
)
def test_get_verification_refuses(client, query):
    query = query()  # built at run time: the timestamp window is relative to now
    response = client.http.get(f"/wechat?{wxsim.qs(query)}")
    assert response.status_code == 403
    assert response.body != b"e"


# -- plaintext replies ----------------------------------------------------------------------
def test_text_message_gets_rule_reply(client):
    make_rule(client, text_rule("余额", "您的余额是 100 元"))
    response = post_xml(client, wxsim.text("余额", openid="o_alice"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    assert "<![CDATA[您的余额是 100 元]]>" in response.body.decode()
    reply = wxsim.parse(response.body.decode())
    assert reply["ToUserName"] == "o_alice"
    assert reply["FromUserName"] == wxsim.ACCOUNT
    assert reply["MsgType"] == "text"
    assert reply["Content"] == "您的余额是 100 元"
    assert abs(int(reply["CreateTime"]) - time.time()) < 10


def test_application_xml_content_type_is_accepted(client):
    make_rule(client, text_rule("hi", "hello"))
    response = post_xml(client, wxsim.text("hi"), content_type="application/xml")
    assert wxsim.parse(response.body.decode())["Content"] == "hello"


def test_unmatched_text_gets_default_reply_or_success(client):
    response = post_xml(client, wxsim.text("nothing matches this"))
    assert response.status_code == 200 and response.body == b"success"
    admin(client, "PUT", "/admin/replies/default", {"type": "text", "content": "默认回复"})
    refresh_rules()
    response = post_xml(client, wxsim.text("nothing matches this either"))
    assert wxsim.parse(response.body.decode())["Content"] == "默认回复"


def test_subscribe_event_gets_subscribe_reply_with_up_to_eight_articles(client):
    articles = [{"title": f"第{i}篇", "url": f"https://example.com/{i}"} for i in range(8)]
    admin(client, "PUT", "/admin/replies/subscribe", {"type": "news", "articles": articles})
    response = post_xml(client, wxsim.event("subscribe", "qrscene_branch42"))
    reply = wxsim.parse(response.body.decode())
    assert reply["MsgType"] == "news"
    assert reply["ArticleCount"] == "8"
    assert [a["Title"] for a in reply["Articles"]] == [f"第{i}篇" for i in range(8)]


def test_news_reply_to_a_message_carries_one_article(client):
    articles = [{"title": f"A{i}", "url": f"https://example.com/{i}"} for i in range(3)]
    make_rule(
        client,
        {
            "name": "n",
            "match": "contains",
            "keywords": ["新闻"],
            "reply": {"type": "news", "articles": articles},
        },
    )
    reply = wxsim.parse(post_xml(client, wxsim.text("今天的新闻")).body.decode())
    assert reply["ArticleCount"] == "1"
    assert [a["Title"] for a in reply["Articles"]] == ["A0"]


def test_menu_click_matches_click_rule(client):
    make_rule(client, text_rule("MENU_BALANCE", "点击了余额", match="click"))
    reply = wxsim.parse(post_xml(client, wxsim.event("CLICK", "MENU_BALANCE")).body.decode())
    assert reply["Content"] == "点击了余额"
    # a text message with the same words does not trigger a click rule
    assert post_xml(client, wxsim.text("MENU_BALANCE")).body == b"success"


@pytest.mark.parametrize(
    "xml",
    [
        wxsim.message_xml(
            {
                "ToUserName": "gh",
                "FromUserName": "o",
                "CreateTime": 1,
                "MsgType": "image",
                "PicUrl": "http://x/y.jpg",
                "MediaId": "m",
                "MsgId": 11,
            }
        ),
        wxsim.message_xml(
            {
                "ToUserName": "gh",
                "FromUserName": "o",
                "CreateTime": 1,
                "MsgType": "location",
                "Location_X": "23.1",
                "Location_Y": "113.3",
                "Scale": "15",
                "Label": "广州",
                "MsgId": 12,
            }
        ),
        wxsim.event("unsubscribe"),
        wxsim.event("VIEW", "https://example.com"),
        wxsim.event("TEMPLATESENDJOBFINISH", MsgID="200", Status="success"),
        wxsim.message_xml(
            {
                "ToUserName": "gh",
                "FromUserName": "o",
                "CreateTime": 1,
                "MsgType": "brand_new_type",
                "Foo": "bar",
            }
        ),
    ],
    ids=["image", "location", "unsubscribe", "view", "template-finish", "unknown-type"],
)
def test_other_types_are_accepted_and_logged(client, xml):
    response = post_xml(client, xml)
    assert response.status_code == 200
    assert response.body == b"success"
    assert len(messages(client)) == 1


def test_reply_of_every_type_renders(client):
    replies = [
        {"type": "image", "media_id": "img1"},
        {"type": "voice", "media_id": "v1"},
        {"type": "video", "media_id": "vid", "title": "t", "description": "d"},
        {
            "type": "music",
            "title": "t",
            "description": "d",
            "music_url": "https://m/1.mp3",
            "hq_music_url": "https://m/1hq.mp3",
            "thumb_media_id": "th",
        },
        {"type": "transfer_customer_service"},
    ]
    for index, reply in enumerate(replies):
        make_rule(
            client,
            {"name": f"r{index}", "match": "exact", "keywords": [f"k{index}"], "reply": reply},
        )
    refresh_rules()
    got = [
        wxsim.parse(post_xml(client, wxsim.text(f"k{i}")).body.decode())
        for i in range(len(replies))
    ]
    assert got[0]["MsgType"] == "image" and got[0]["Image"] == {"MediaId": "img1"}
    assert got[1]["MsgType"] == "voice" and got[1]["Voice"] == {"MediaId": "v1"}
    assert got[2]["Video"] == {"MediaId": "vid", "Title": "t", "Description": "d"}
    assert (
        got[3]["Music"]["ThumbMediaId"] == "th"
        and got[3]["Music"]["HQMusicUrl"] == "https://m/1hq.mp3"
    )
    assert got[4]["MsgType"] == "transfer_customer_service"


# -- AES safe mode and compatible mode ------------------------------------------------------
def test_aes_safe_mode_round_trip(client):
    make_rule(client, text_rule("你好", "安全模式回复"))
    sim = wxsim.Crypto()
    query, body = sim.envelope(wxsim.text("你好", openid="o_secure"))
    response = post_xml(client, body, query)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml; charset=utf-8"
    reply = sim.open_reply(response.body.decode())
    assert reply["Content"] == "安全模式回复"
    assert reply["ToUserName"] == "o_secure"


def test_compatible_mode_uses_the_encrypted_part(client):
    make_rule(client, text_rule("兼容", "兼容模式回复"))
    sim = wxsim.Crypto()
    inner = wxsim.text("兼容")
    enc_query, enc_body = sim.envelope(inner)
    # compatible mode: plaintext fields beside Encrypt in the same body
    encrypt = wxsim.parse(enc_body)["Encrypt"]
    body = inner.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
    response = post_xml(client, body, enc_query)
    assert sim.open_reply(response.body.decode())["Content"] == "兼容模式回复"


def test_aes_success_when_nothing_to_say(client):
    sim = wxsim.Crypto()
    query, body = sim.envelope(wxsim.event("VIEW", "https://example.com"))
    response = post_xml(client, body, query)
    assert response.status_code == 200 and response.body == b"success"


def test_aes_refusals_write_nothing(client):
    sim = wxsim.Crypto()
    query, body = sim.envelope(wxsim.text("x"))
    forged = dict(query, msg_signature="0" * 40)
    assert post_xml(client, body, forged).status_code == 403
    stale_query, stale_body = sim.envelope(wxsim.text("x"), ts=int(time.time()) - 400)
    assert post_xml(client, stale_body, stale_query).status_code == 403
    # a replay is refused as such before its body is looked at
    assert post_xml(client, "<xml><Encrypt>", stale_query).status_code == 403
    other_app = wxsim.Crypto(app_id="wx_someone_else")
    query, body = other_app.envelope(wxsim.text("x"))
    assert post_xml(client, body, query).status_code == 400
    garbage = "<xml><Encrypt><![CDATA[not-base64!!]]></Encrypt></xml>"
    ts = str(int(time.time()))
    garbage_query = {
        "timestamp": ts,
        "nonce": "n",
        "encrypt_type": "aes",
        "msg_signature": wxsim.sha1(wxsim.TOKEN, ts, "n", "not-base64!!"),
    }
    assert post_xml(client, garbage, garbage_query).status_code == 400
    # decrypts fine but the inner document is not a WeChat message
    query, body = sim.envelope("<xml><Foo>bar</Foo></xml>")
    assert post_xml(client, body, query).status_code == 400
    assert messages(client) == []


def test_aes_request_without_configured_key_is_400(client, monkeypatch):
    monkeypatch.delenv("WECHAT_ENCODING_AES_KEY")
    sim = wxsim.Crypto()
    query, body = sim.envelope(wxsim.text("x"))
    assert post_xml(client, body, query).status_code == 400


# -- hostile and malformed input ------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "status"),
    [
        (BILLION_LAUGHS, 400),
        (XXE, 400),
        (INTERNAL_ENTITY, 400),
        ("<xml><ToUserName>a</ToUserName>", 400),
        ("<notxml><ToUserName>a</ToUserName></notxml>", 400),
        (
            "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><MsgType>text</MsgType></xml>",
            400,
        ),
        (
            "<xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>soon</CreateTime>"
            "<MsgType>text</MsgType></xml>",
            400,
        ),
        (b"\xff\xfe\x00garbage", 400),
        ("", 400),
        ("<xml>" + "<Content>" + "x" * (64 * 1024) + "</Content></xml>", 413),
    ],
    ids=[
        "billion-laughs",
        "xxe",
        "internal-entity",
        "truncated",
        "wrong-root",
        "no-createtime",
        "bad-createtime",
        "garbage",
        "empty",
        "oversize",
    ],
)
def test_hostile_bodies_are_refused_and_write_nothing(client, body, status):
    response = post_xml(client, body)
    assert response.status_code == status
    assert b"root:" not in response.body
    assert messages(client) == []


@pytest.mark.parametrize(
    "query",
    [
        lambda: {"signature": "f" * 40, "timestamp": str(int(time.time())), "nonce": "n"},
        lambda: wxsim.signed_query(ts=int(time.time()) - 301),
        lambda: wxsim.signed_query(ts=int(time.time()) + 301),
        lambda: {"timestamp": str(int(time.time())), "nonce": "n"},
        lambda: {"signature": "x", "timestamp": "not-a-number", "nonce": "n"},
    ],
    ids=["forged", "stale", "future", "unsigned", "bad-timestamp"],
)
def test_forged_or_stale_posts_are_403_and_write_nothing(client, query):
    make_rule(client, text_rule("余额", "x"))
    response = post_xml(client, wxsim.text("余额"), query())
    assert response.status_code == 403
    assert messages(client) == []


def test_timestamp_at_the_edge_of_the_window_is_accepted(client):
    query = wxsim.signed_query(ts=int(time.time()) - 290)
    assert post_xml(client, wxsim.text("hi"), query).status_code == 200


# -- retries and the message log ------------------------------------------------------------
def test_retry_gets_same_reply_and_is_logged_once(client):
    rule = make_rule(client, text_rule("余额", "第一次的回复"))
    xml = wxsim.text("余额", openid="o_retry", msg_id=987654321)
    first = post_xml(client, xml)
    # the rule changes between the delivery and WeChat's retry: the retry still gets the first reply
    admin(
        client, "PUT", f"/admin/rules/{rule['id']}", {"reply": {"type": "text", "content": "改了"}}
    )
    refresh_rules()
    second = post_xml(client, xml)
    assert first.status_code == second.status_code == 200
    assert wxsim.parse(second.body.decode())["Content"] == "第一次的回复"
    logged = messages(client, "o_retry")
    assert len(logged) == 1
    assert logged[0]["msg_id"] == "987654321"
    assert logged[0]["rule_id"] == rule["id"]


def test_a_retry_is_its_msg_id_whatever_its_create_time(client):
    """The contract names a message's identity: its MsgId. A retry that carries another
    CreateTime (a second later) is still the first delivery's retry."""
    make_rule(client, text_rule("余额", "余额回复"))
    created = int(time.time())
    first = post_xml(client, wxsim.text("余额", openid="o_ct", msg_id=70001, create_time=created))
    again = post_xml(
        client, wxsim.text("余额", openid="o_ct", msg_id=70001, create_time=created + 1)
    )
    assert first.body == again.body and "余额回复" in again.body.decode()
    assert [m["msg_id"] for m in messages(client, "o_ct")] == ["70001"]
    assert [m["msg_id"] for m in messages(client)] == ["70001"]


def test_retry_of_a_success_answer_is_success(client):
    xml = wxsim.text("no rule", msg_id=1234)
    assert post_xml(client, xml).body == b"success"
    assert post_xml(client, xml).body == b"success"
    assert len(messages(client)) == 1


def test_event_retry_is_logged_once_but_distinct_events_are_not_merged(client):
    now = int(time.time())
    first = wxsim.event("CLICK", "K1", openid="o_ev", create_time=now)
    post_xml(client, first)
    post_xml(client, first)
    post_xml(client, wxsim.event("CLICK", "K2", openid="o_ev", create_time=now))
    post_xml(
        client,
        wxsim.event(
            "LOCATION",
            openid="o_ev",
            create_time=now,
            Latitude="23.1",
            Longitude="113.2",
            Precision="30",
        ),
    )
    logged = messages(client, "o_ev")
    assert len(logged) == 3
    assert len({m["msg_id"] for m in logged}) == 3


def test_message_log_fields_and_order(client):
    rule = make_rule(client, text_rule("余额", "ok"))
    base = int(time.time())
    post_xml(client, wxsim.text("余额", openid="o_log", msg_id=501, create_time=base - 2))
    post_xml(client, wxsim.text("随便说说", openid="o_log", msg_id=502, create_time=base - 1))
    post_xml(client, wxsim.text("别人", openid="o_other", msg_id=503, create_time=base))
    logged = messages(client, "o_log")
    assert [m["msg_id"] for m in logged] == ["502", "501"]
    newest, oldest = logged
    assert newest == {
        **newest,
        "openid": "o_log",
        "msg_type": "text",
        "content": "随便说说",
        "created_at": base - 1,
        "rule_id": None,
    }
    assert oldest["rule_id"] == rule["id"] and oldest["content"] == "余额"
    assert [m["msg_id"] for m in messages(client)] == ["503", "502", "501"]
    assert len(messages(client, "o_log", limit=1)) == 1


def test_rule_change_is_visible_within_five_seconds(client):
    rule = make_rule(client, text_rule("利率", "旧利率"))
    post_xml(client, wxsim.text("利率"))  # warms the cache
    admin(
        client,
        "PUT",
        f"/admin/rules/{rule['id']}",
        {"reply": {"type": "text", "content": "新利率"}},
    )
    deadline = time.monotonic() + 5
    content = None
    while time.monotonic() < deadline:
        content = wxsim.parse(post_xml(client, wxsim.text("利率")).body.decode())["Content"]
        if content == "新利率":
            break
        time.sleep(0.25)
    assert content == "新利率"


# -- faults never become a 5xx --------------------------------------------------------------
def _fail_dynamodb(operation: str):
    from botocore.awsrequest import AWSResponse

    class _Raw:
        def stream(self, **_kw):
            yield b""

    def hook(**_kwargs):
        hook.calls += 1
        body = json.dumps(
            {
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "injected",
            }
        ).encode()
        response = AWSResponse(
            "https://dynamodb",
            400,
            {"x-amzn-errortype": "ProvisionedThroughputExceededException"},
            _Raw(),
        )
        response._content = body
        return response

    hook.calls = 0
    return f"before-send.dynamodb.{operation}", hook


def test_store_fault_on_write_still_answers_and_logs_for_replay(client, caplog):
    from chalicelib.store.aws import client as aws_client

    make_rule(client, text_rule("余额", "正常回复"))
    post_xml(client, wxsim.text("warm up"))
    # The callback's write is a PutItem, or a TransactWriteItems when effect providers (follower
    # records, counters) add writes to it: fail both.
    hooks = [_fail_dynamodb(op) for op in ("PutItem", "TransactWriteItems")]
    ddb = aws_client("dynamodb", "fast")
    for event_name, hook in hooks:
        ddb.meta.events.register_first(event_name, hook)
    try:
        with caplog.at_level(logging.ERROR, logger="wxless.callback"):
            response = post_xml(client, wxsim.text("余额", msg_id=777))
    finally:
        for event_name, hook in hooks:
            ddb.meta.events.unregister(event_name, hook)
    assert response.status_code == 200
    assert wxsim.parse(response.body.decode())["Content"] == "正常回复"
    # bounded work, not a timing assertion: at most one retry of the failed write
    assert 1 <= sum(hook.calls for _name, hook in hooks) <= 2
    lines = [
        json.loads(r.getMessage())
        for r in caplog.records
        if "callback.store_failed" in r.getMessage()
    ]
    from chalicelib import logsafe

    entry = logsafe.unseal(lines[0]["sealed"])  # the message travels sealed, never in clear
    assert entry["msg_id"] == "777" and entry["raw"]["Content"] == "余额"
    assert "余额" not in caplog.text and entry["openid"] not in caplog.text


def test_store_down_before_any_rules_loaded_answers_success(client, monkeypatch):
    from chalicelib.store import rules as rules_store
    from chalicelib.store.errors import StoreUnavailable

    def down(*_a, **_k):
        raise StoreUnavailable("down")

    monkeypatch.setattr(rules_store, "read_version", down)
    monkeypatch.setattr(rules_store, "load_snapshot", down)
    response = post_xml(client, wxsim.text("余额"))
    assert response.status_code == 200 and response.body == b"success"
