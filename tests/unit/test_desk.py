"""The desk's pure parts: what the account answered, read back from the rendered reply; and the
conversation update a follower's batch makes."""

from __future__ import annotations

from chalicelib.desk.service import auto_reply
from chalicelib.store import desk
from chalicelib.wechat.replies import render_reply


def _render(reply: dict) -> str:
    return render_reply(reply, to_user="o1", from_user="gh", create_time=1, max_articles=8)


def test_a_text_answer_is_read_back_whole():
    xml = _render({"type": "text", "content": "a ]]> b <xml> & c"})
    assert auto_reply(xml) == {"type": "text", "content": "a ]]> b <xml> & c"}


def test_a_news_answer_gives_its_titles():
    articles = [{"title": "信用卡", "url": "https://x/1"}, {"title": "理财", "url": "https://x/2"}]
    xml = _render({"type": "news", "articles": articles})
    assert auto_reply(xml) == {"type": "news", "articles": [{"title": "信用卡"}, {"title": "理财"}]}


def test_no_answer_and_other_kinds():
    assert auto_reply("") is None
    assert auto_reply(_render({"type": "image", "media_id": "m1"})) == {"type": "image"}


def test_messages_open_the_48_hour_window_and_count_unread():
    upd = desk.conversation_update([(100, "text", "你好"), (160, "text", "在吗")], [], None)
    values = {upd.names[k]: v for k, v in _set_values(upd).items()}
    assert values["last_message_at"] == 160 and values["window_until"] == 160 + 48 * 3600
    assert values["last_text"] == "在吗" and values["status"] == "open"
    assert "ADD" in upd.expression() and "closed_at" in upd.names.values()


def test_an_unsubscribe_after_the_messages_closes_both_windows():
    upd = desk.conversation_update([(100, "text", "再见")], [90], 200)
    values = {upd.names[k]: v for k, v in _set_values(upd).items()}
    assert values["window_until"] == 0 and values["event_window_until"] == 0


def test_a_message_after_the_unsubscribe_keeps_its_window():
    upd = desk.conversation_update([(300, "text", "我又回来了")], [], 200)
    values = {upd.names[k]: v for k, v in _set_values(upd).items()}
    assert values["window_until"] == 300 + 48 * 3600


def test_an_event_alone_opens_the_minute_window_and_keeps_the_status():
    upd = desk.conversation_update([], [500], None)
    values = {upd.names[k]: v for k, v in _set_values(upd).items()}
    assert values["event_window_until"] == 560 and "window_until" not in values
    assert "if_not_exists" in upd.expression() and "ADD" not in upd.expression()


def _set_values(upd) -> dict:
    """name placeholder -> value of each plain `#a = :v` SET."""
    from chalicelib.store import ddb

    out = {}
    for clause in upd.sets:
        name, _, value = clause.partition(" = ")
        if value.startswith(":"):
            out[name] = ddb.de(upd.values[value])
    return out
