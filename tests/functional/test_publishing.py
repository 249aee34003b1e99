"""Publishing CMS articles as WeChat articles (draft -> freepublish -> PUBLISHJOBFINISH or a
refresh) and moderating their comments (list, elect, reply, delete, open/close)."""

from __future__ import annotations

import time

import pytest

from tests import wxsim
from tests.functional.helpers import admin, body_json, post_xml

BASE = "/admin/publications"


def _article(client, title: str, status: str = "published") -> str:
    body = {"title": title, "body_html": f"<p>{title}</p>", "digest": "摘要", "status": status}
    response = admin(client, "POST", "/admin/articles", body)
    assert response.status_code == 201, response.body
    return body_json(response)["id"]


@pytest.fixture
def pub(client, fake_wechat, monkeypatch):
    monkeypatch.setenv("WXLESS_PUBLIC_BASE_URL", "https://wx.bank.example")
    from chalicelib import wiring

    thumb = wiring.wechat().material.add(
        "thumb", "c.jpg", b"\xff\xd8\xff" + b"0" * 100, "image/jpeg"
    )
    return client, thumb["media_id"]


def _publish(client, thumb: str, ids: list[str], **extra) -> dict:
    body = {"article_ids": ids, "thumb_media_id": thumb, **extra}
    response = admin(client, "POST", BASE, body)
    assert response.status_code == 201, response.body
    return body_json(response)


def publish_finish(publish_id: str, status: int, article_id: str = "", urls=()) -> str:
    items = "".join(
        f"<item><idx>{i + 1}</idx><article_url><![CDATA[{u}]]></article_url></item>"
        for i, u in enumerate(urls)
    )
    return (
        f"<xml><ToUserName><![CDATA[{wxsim.ACCOUNT}]]></ToUserName>"
        "<FromUserName><![CDATA[o_account_self]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        "<Event><![CDATA[PUBLISHJOBFINISH]]></Event><PublishEventInfo>"
        f"<publish_id>{publish_id}</publish_id><publish_status>{status}</publish_status>"
        f"<article_id><![CDATA[{article_id}]]></article_id>"
        f"<article_detail><count>{len(urls)}</count>{items}</article_detail>"
        "</PublishEventInfo></xml>"
    )


def test_publish_cms_articles_and_the_finish_event(pub, fake_wechat):
    client, thumb = pub
    ids = [_article(client, "理财周报"), _article(client, "开户指南")]
    record = _publish(client, thumb, ids, open_comment=True)
    assert record["state"] == "publishing" and record["titles"] == ["理财周报", "开户指南"]
    (draft,) = fake_wechat._drafts.values()
    first = draft["news_item"][0]
    assert first["title"] == "理财周报" and first["need_open_comment"] == 1
    assert first["content_source_url"] == f"https://wx.bank.example/p/articles/{ids[0]}"
    (submit,) = fake_wechat.calls_to("/cgi-bin/freepublish/submit")
    assert submit.body == {"media_id": record["media_id"]}
    # WeChat's PUBLISHJOBFINISH, through the callback and the stream aggregator.
    published = fake_wechat._publishes[record["publish_id"]]
    urls = [i["article_url"] for i in published["article_detail"]["item"]]
    event = publish_finish(record["publish_id"], 0, published["article_id"], urls)
    assert post_xml(client, event).status_code == 200
    done = body_json(admin(client, "GET", f"{BASE}/{record['id']}"))
    assert done["state"] == "published" and done["urls"] == urls
    assert done["wechat_article_id"] == published["article_id"]
    listed = body_json(admin(client, "GET", BASE))["items"]
    assert [p["id"] for p in listed] == [record["id"]]
    # Taken down.
    assert admin(client, "DELETE", f"{BASE}/{record['id']}").status_code == 204
    assert body_json(admin(client, "GET", f"{BASE}/{record['id']}"))["state"] == "deleted"
    assert fake_wechat._publishes[record["publish_id"]]["publish_status"] == 5
    assert admin(client, "DELETE", f"{BASE}/{record['id']}").status_code == 409


def test_refresh_asks_wechat_and_a_failed_audit_shows(pub, fake_wechat):
    client, thumb = pub
    record = _publish(client, thumb, [_article(client, "活动公告")])
    fake_wechat.set_publish_status(record["publish_id"], 4)
    refreshed = body_json(admin(client, "GET", f"{BASE}/{record['id']}?refresh=true"))
    assert refreshed["state"] == "failed" and "audit" in refreshed["error"]
    assert refreshed["publish_status"] == 4


def test_a_refused_draft_leaves_a_failed_publication(pub, fake_wechat):
    client, thumb = pub
    fake_wechat.inject_error("/cgi-bin/draft/add", 45166, "invalid content")
    response = admin(
        client, "POST", BASE, {"article_ids": [_article(client, "x")], "thumb_media_id": thumb}
    )
    assert response.status_code == 422 and body_json(response)["errcode"] == 45166
    (record,) = body_json(admin(client, "GET", BASE))["items"]
    assert record["state"] == "failed" and "45166" in record["error"]
    assert fake_wechat.count("/cgi-bin/freepublish/submit") == 0


BAD = [
    ({"article_ids": []}, "article_ids"),
    ({"article_ids": ["a"] * 9}, "article_ids"),
    ({"article_ids": ["nope"], "thumb_media_id": "t"}, "not a published"),
    ({"article_ids": ["x"], "thumb_media_id": "t", "thumb_media": "m"}, "cover"),
    ({"article_ids": ["x"]}, "cover"),
    ({"article_ids": ["x"], "thumb_media_id": "t", "open_comment": "yes"}, "open_comment"),
    ({"article_ids": ["x"], "thumb_media_id": "t", "extra": 1}, "unknown"),
]


def test_bad_publications(pub, fake_wechat):
    client, _ = pub
    draft = _article(client, "未发布", status="draft")
    unpublished = ({"article_ids": [draft], "thumb_media_id": "t"}, "not a published")
    for body, words in [*BAD, unpublished]:
        response = admin(client, "POST", BASE, body)
        assert response.status_code == 400, (body, response.body)
        assert words in body_json(response)["error"], (body, response.body)
    assert fake_wechat.count("/cgi-bin/draft/add") == 0
    assert admin(client, "GET", f"{BASE}/nothex").status_code == 400
    assert admin(client, "GET", f"{BASE}/0000000000000abc").status_code == 404


def test_comments_in_the_console_api(pub, fake_wechat):
    client, thumb = pub
    record = _publish(client, thumb, [_article(client, "信用卡新规")], open_comment=True)
    msg_data_id = record["msg_data_id"]
    assert fake_wechat.comments_of(msg_data_id, 0)["open"] is True
    first = fake_wechat.add_comment(msg_data_id, 0, "o_c_1", "额度怎么提升？")
    second = fake_wechat.add_comment(msg_data_id, 0, "o_c_2", "好文")
    path = f"{BASE}/{record['id']}/comments"
    page = body_json(admin(client, "GET", path))
    assert page["total"] == 2
    assert page["items"][0] == {
        "id": first,
        "openid": "o_c_1",
        "content": "额度怎么提升？",
        "created_at": page["items"][0]["created_at"],
        "elected": False,
        "reply": None,
    }
    assert admin(client, "POST", f"{path}/{first}/elect", {}).status_code == 204
    reply = {"content": "您可在App中申请临时额度", "index": 0}
    assert admin(client, "POST", f"{path}/{first}/reply", reply).status_code == 204
    again = admin(client, "POST", f"{path}/{first}/reply", reply)
    assert again.status_code == 409 and body_json(again)["errcode"] == 88005
    elected = body_json(admin(client, "GET", f"{path}?type=elected"))["items"]
    assert [c["id"] for c in elected] == [first]
    assert elected[0]["reply"]["content"] == reply["content"]
    assert admin(client, "DELETE", f"{path}/{first}/reply").status_code == 204
    assert admin(client, "POST", f"{path}/{first}/unelect").status_code == 204
    assert admin(client, "DELETE", f"{path}/{second}").status_code == 204
    page = body_json(admin(client, "GET", path))
    assert [c["id"] for c in page["items"]] == [first] and page["items"][0]["reply"] is None
    assert body_json(admin(client, "POST", f"{path}/close", {"index": 0})) == {
        "index": 0,
        "open": False,
    }
    assert fake_wechat.comments_of(msg_data_id, 0)["open"] is False
    assert admin(client, "POST", f"{path}/open").status_code == 200
    assert fake_wechat.comments_of(msg_data_id, 0)["open"] is True
    # Errors: an unknown comment, an index past the publication, a bad reply.
    assert admin(client, "POST", f"{path}/999/elect").status_code == 404  # WeChat: 88008
    assert admin(client, "GET", f"{path}?index=1").status_code == 400
    assert admin(client, "GET", f"{path}?count=51").status_code == 400
    assert admin(client, "POST", f"{path}/{first}/reply", {"content": ""}).status_code == 400
    assert admin(client, "POST", f"{path}/abc/elect").status_code == 400
