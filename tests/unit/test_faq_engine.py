"""The knowledge base's matcher, pure: reading colloquial Chinese, the verdicts, picks, the
clarifying question's state, and the stream's follow-up signals."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.aggregate import faq_quality
from chalicelib.engine import faq
from chalicelib.engine.faq_index import FaqIndex
from chalicelib.engine.faq_text import Lexicon, clean
from chalicelib.engine.flows import NO_STATE, FlowState

ENTRIES = [
    {"id": "debit", "question": "银行卡丢了怎么挂失", "alternatives": ["借记卡挂失"],
     "answer": {"type": "text", "content": "D"}},
    {"id": "credit", "question": "信用卡丢了怎么办", "alternatives": ["信用卡挂失"],
     "answer": {"type": "text", "content": "C"}},
    {"id": "limit", "question": "信用卡怎么提额", "alternatives": [],
     "answer": {"type": "text", "content": "L"}},
    {"id": "off", "question": "怎么注销银行卡", "alternatives": [], "enabled": False,
     "answer": {"type": "text", "content": "X"}},
]  # fmt: skip


def test_reading_normalizes_fillers_synonyms_and_traditional_characters():
    lexicon = Lexicon()
    assert lexicon.canonical("请问我想办卡吗？") == "办卡"
    assert lexicon.canonical("储蓄卡丢了") == "借记卡挂失"
    assert lexicon.canonical("信用卡額度怎麼提高") == lexicon.canonical("信用卡额度怎么提高")
    assert lexicon.canonical("我想了解一下") == "了解"  # a protected word keeps its 了
    assert clean("ＡＴＭ") == "atm"
    assert "#借记卡" in lexicon.terms("工资卡")
    custom = Lexicon([["借记卡", "金穗卡"]])
    assert custom.canonical("金穗卡") == "借记卡"


def test_verdicts():
    index = FaqIndex(ENTRIES)
    assert len(index) == 3  # the disabled entry is left out
    answer = faq.judge(index, "我的储蓄卡找不到了")
    assert answer.kind == "answer" and answer.entry.id == "debit"
    close = faq.judge(index, "卡丢了")
    assert close.kind == "clarify" and {c.entry.id for c in close.candidates} == {"debit", "credit"}
    assert faq.judge(index, "今天天气怎么样").kind == "none"
    assert faq.judge(index, "注销银行卡").kind != "answer"
    assert faq.judge(None, "卡丢了").kind == "none"
    assert faq.judge(FaqIndex([]), "卡丢了").kind == "none"


def test_picks():
    for text, number in (("1", 1), ("２", 2), ("第二个", 2), ("选3", 3), (" 1。", 1)):
        assert faq.choice(text) == number, text
    for text in ("12", "第一百个", "一个问题", "", "1元"):
        assert faq.choice(text) is None, text


def test_a_clarifying_question_and_its_pick():
    index = FaqIndex(ENTRIES)
    turn = faq.respond(index, "卡丢了", NO_STATE, now=1000.0)
    assert turn.outcome == "faq_clarify" and turn.reply["content"].startswith("您想问：")
    state = turn.step.state
    assert state.flow_id == faq.PENDING_FLOW and turn.step.expect_step == 0
    assert faq.pending(state) and not faq.pending(NO_STATE)
    stored = FlowState(step=1, flow_id=state.flow_id, node_id=state.node_id, path=state.path,
                       updated_at=1000.0)  # fmt: skip
    picked = faq.answer_choice(index, stored, "2", now=1010.0)
    assert picked.outcome == "faq" and picked.entry_id == state.path[1]
    assert picked.step.state is None and picked.step.expect_step == 1
    assert faq.answer_choice(index, stored, "3", now=1010.0) is None  # no third option
    assert faq.answer_choice(index, stored, "2", now=1000.0 + faq.CLARIFY_TTL + 1) is None
    # Not read (no flows, not a pick): the question is written whatever was there.
    assert faq.respond(index, "卡丢了", None, now=1.0).step.expect_step is None


def test_published_articles_answer_only_when_no_entry_is_close():
    articles = [{"id": "a1", "title": "信用卡还款的三种方式"}]
    index = FaqIndex(ENTRIES, articles)
    verdict = faq.judge(index, "信用卡还款方式有哪些")
    assert verdict.kind == "article" and verdict.entry.id == "article:a1"
    assert faq.article_reply(verdict.entry) == {"type": "news", "article_ids": ["a1"]}
    assert faq.judge(index, "信用卡挂失").entry.id == "credit"


@dataclass
class Rec:
    seq: str
    openid: str
    at: int
    content: str
    outcome: str
    rule_id: str | None = None
    kind: str = "text"


def test_follow_ups_after_an_answer():
    answer = ("e1", 1000)
    assert faq_quality._follow_up(answer, Rec("2", "o", 1030, "转人工", "rule")) == "h"
    assert faq_quality._follow_up(answer, Rec("2", "o", 1030, "谢谢！", "default")) is None
    assert faq_quality._follow_up(answer, Rec("2", "o", 1030, "好的", "default")) is None
    assert faq_quality._follow_up(answer, Rec("2", "o", 1030, "还是不行", "default")) == "g"
    assert faq_quality._follow_up(answer, Rec("2", "o", 1030, "再问", "faq", "e1")) == "g"
    assert faq_quality._follow_up(answer, Rec("2", "o", 1030, "别的", "faq", "e2")) is None
    assert faq_quality._follow_up(answer, Rec("2", "o", 1200, "还是不行", "default")) is None
