"""The API families added for today's WeChat, against the fake: subscribe notifications
(/wxaapi/newtmpl/*, bizsend), comments, freepublish/delete and template/send's client_msg_id,
with WeChat's error codes."""

from __future__ import annotations

import pytest

from chalicelib.errors import InvalidInput
from chalicelib.wechat.api import StaticTokenProvider, WeChatAPIError, WeChatClient
from infra.fake_wechat import FakeWeChat


@pytest.fixture
def fake():
    with FakeWeChat() as server:
        yield server
    assert server.errors == []


@pytest.fixture
def api(fake):
    client = WeChatClient(fake.url, token_provider=StaticTokenProvider(fake.issue_token()))
    yield client
    client.http.clear()


def _errcode(call) -> int:
    with pytest.raises(WeChatAPIError) as caught:
        call()
    return caught.value.errcode


def test_subscribe_templates(api, fake):
    assert [c["id"] for c in api.subscribe.categories()] == [616, 617]
    page = api.subscribe.titles([617], 0, 1)
    assert page["count"] == 2 and len(page["data"]) == 1
    assert [k["kid"] for k in api.subscribe.keywords("2301")] == [1, 2, 3, 4]
    template_id = api.subscribe.add("2302", [1, 2, 3], "还款提醒")
    listed = {t["priTmplId"]: t for t in api.subscribe.templates()}
    assert listed[template_id]["content"].splitlines()[0] == "还款金额:{{amount1.DATA}}"
    api.subscribe.delete(template_id)
    assert template_id not in {t["priTmplId"] for t in api.subscribe.templates()}
    assert _errcode(lambda: api.subscribe.delete(template_id)) == 40037
    assert _errcode(lambda: api.subscribe.keywords("1")) == 200014
    assert _errcode(lambda: api.subscribe.add("2301", [1, 99], "x")) == 200020
    assert _errcode(lambda: api.subscribe.titles([617], -1, 5)) == 200016
    with pytest.raises(InvalidInput):
        api.subscribe.add("2301", [1], "x")  # 2..5 keywords, refused before WeChat
    with pytest.raises(InvalidInput):
        api.subscribe.titles([617], 0, 31)


def test_subscribe_template_limit(api, fake):
    for n in range(49):
        api.subscribe.add("2301", [1, 2], f"场景{n}")
    assert _errcode(lambda: api.subscribe.add("2301", [1, 2], "一个太多")) == 200012


def test_bizsend_needs_consent_and_fitting_data(api, fake):
    data = {"time1": "2026-01-05 12:30", "amount2": "¥1.00", "thing3": "超市"}
    assert _errcode(lambda: api.subscribe.send("o_1", "sub_card_txn_0001", data)) == 43101
    fake.subscribe_popup("o_1", "sub_card_txn_0001")
    long = {**data, "thing3": "x" * 21}
    assert _errcode(lambda: api.subscribe.send("o_1", "sub_card_txn_0001", long)) == 47003
    assert api.subscribe.send("o_1", "sub_card_txn_0001", data, page="https://b.example")
    # One consent, one message.
    assert _errcode(lambda: api.subscribe.send("o_1", "sub_card_txn_0001", data)) == 43101
    assert _errcode(lambda: api.subscribe.send("o_1", "nope", data)) == 40037


def test_template_client_msg_id_is_deduplicated_for_ten_minutes(api, fake):
    first = api.messages.send_template("o_1", "tmpl_txn_notice_0001", {"keyword1": "a"},
                                       client_msg_id="k-1")  # fmt: skip
    again = api.messages.send_template("o_1", "tmpl_txn_notice_0001", {"keyword1": "b"},
                                       client_msg_id="k-1")  # fmt: skip
    other = api.messages.send_template("o_2", "tmpl_txn_notice_0001", {"keyword1": "a"},
                                       client_msg_id="k-1")  # fmt: skip
    assert first == again != other and len(fake.template_messages) == 2
    fake.add_follower("o_3")
    fake.remove_follower("o_3")
    assert _errcode(
        lambda: api.messages.send_template("o_3", "tmpl_txn_notice_0001", {"keyword1": "a"})
    ) == 43004  # fmt: skip


def test_comments(api, fake):
    thumb = api.material.add("thumb", "c.jpg", b"\xff\xd8\xff" + b"0" * 100, "image/jpeg")
    media_id = api.draft.add(
        [
            {
                "title": "a",
                "content": "b",
                "thumb_media_id": thumb["media_id"],
                "need_open_comment": 1,
            }
        ]
    )
    msg_data_id = int(api.freepublish.submit(media_id))
    assert fake.comments_of(msg_data_id)["open"] is True
    comment = fake.add_comment(msg_data_id, 0, "o_1", "好")
    page = api.comments.list(msg_data_id, 0, 0, 10)
    assert page["total"] == 1 and page["comment"][0]["user_comment_id"] == comment
    api.comments.elect(msg_data_id, 0, comment)
    assert api.comments.list(msg_data_id, 0, 0, 10, "elected")["total"] == 1
    api.comments.reply(msg_data_id, 0, comment, "谢谢")
    assert _errcode(lambda: api.comments.reply(msg_data_id, 0, comment, "再谢")) == 88005
    api.comments.delete_reply(msg_data_id, 0, comment)
    api.comments.unelect(msg_data_id, 0, comment)
    api.comments.close(msg_data_id, 0)
    assert fake.comments_of(msg_data_id)["open"] is False
    api.comments.open(msg_data_id, 0)
    api.comments.delete(msg_data_id, 0, comment)
    assert api.comments.list(msg_data_id, 0, 0, 10)["total"] == 0
    assert _errcode(lambda: api.comments.elect(msg_data_id, 0, comment)) == 88004
    assert _errcode(lambda: api.comments.elect(msg_data_id, 0, 999)) == 88008
    assert _errcode(lambda: api.comments.list(12345, 0, 0, 10)) == 88001
    with pytest.raises(InvalidInput):
        api.comments.list(msg_data_id, 0, 0, 51)
    published = api.freepublish.get(str(msg_data_id))
    api.freepublish.delete(published["article_id"])
    assert api.freepublish.get(str(msg_data_id))["publish_status"] == 5
    assert _errcode(lambda: api.freepublish.delete("nope")) == 40007
