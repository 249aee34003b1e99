"""The desk's pure parts: what the account answered, read back from the rendered reply; and a
conversation derived from a follower's records and the agents' state."""

from __future__ import annotations

from chalicelib.desk.conversations import Trail
from chalicelib.desk.service import auto_reply
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


def _trail(*records: tuple[int, str, str]):
    """A follower's trail from (second received, kind, content) records, oldest first."""
    trail = Trail("o1")
    for at, kind, content in reversed(records):  # folded newest first, as the readers walk
        trail.add(at * 1000, at, kind, content)
    return trail


def test_messages_open_the_48_hour_window_and_count_unread():
    found = _trail((100, "text", "你好"), (160, "text", "在吗")).conversation(None)
    assert found["last_message_at"] == 160 and found["window_until"] == 160 + 48 * 3600
    assert found["last_text"] == "在吗" and found["status"] == "open"
    assert found["unread"] == 2 and found["closed_at"] is None


def test_an_unsubscribe_after_the_messages_closes_both_windows():
    found = _trail((90, "event.click", ""), (100, "text", "再见"), (200, "event.unsubscribe", ""))
    assert found.conversation(None)["window_until"] is None


def test_a_message_after_the_unsubscribe_keeps_its_window():
    found = _trail(
        (100, "text", "再见"), (200, "event.unsubscribe", ""), (300, "text", "我又回来了")
    )
    assert found.conversation(None)["window_until"] == 300 + 48 * 3600


def test_an_event_alone_opens_the_minute_window_and_keeps_the_status():
    trail = _trail((500, "event.click", ""))
    found = trail.conversation({"status": "closed", "status_ms": 400_000, "closed_at": 400})
    assert found["window_until"] == 560 and found["last_message_at"] is None
    assert found["last_event_at"] == 500 and found["status"] == "closed"
    assert found["unread"] == 0


def test_views_and_reports_of_our_own_sends_open_nothing():
    trail = _trail((500, "event.view", ""), (510, "event.templatesendjobfinish", ""))
    assert trail.conversation(None)["window_until"] is None and trail.last_at == 0


def test_a_message_after_a_close_reopens():
    trail = _trail((100, "text", "人工"), (300, "text", "又来了"))
    closed = {"status": "closed", "status_ms": 200_000, "closed_at": 200, "assigned_to": "wang"}
    found = trail.conversation(closed)
    assert found["status"] == "open" and found["closed_at"] is None
    assert found["assigned_to"] == "wang"
    still = _trail((100, "text", "人工")).conversation(closed)
    assert still["status"] == "closed" and still["closed_at"] == 200


def test_a_close_from_before_status_ms_uses_its_close_time():
    trail = _trail((100, "text", "人工"), (300, "text", "又来了"))
    assert trail.conversation({"status": "closed", "closed_at": 400})["status"] == "closed"
    assert trail.conversation({"status": "closed", "closed_at": 200})["status"] == "open"


def test_unread_counts_the_messages_after_the_read_marker():
    trail = _trail(
        (100, "text", "a"), (110, "event.click", ""), (120, "text", "b"), (130, "text", "c")
    )
    assert trail.conversation({"read_ms": 100_000})["unread"] == 2
    assert trail.conversation({"read_ms": 130_000})["unread"] == 0
    assert trail.conversation({})["unread"] == 3
