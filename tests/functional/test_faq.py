"""The knowledge base over HTTP (chalice.test.Client on moto): contract section 5's routes and
shapes, answers to followers' own words, precedence of rules and flows, clarifying questions
and their "1" / "2", the 5 s visibility of a change, and the try-it box."""

from __future__ import annotations

import time

from infra.seed_flows import DEMO_FLOW
from tests import wxsim
from tests.functional.helpers import admin, body_json, make_rule, messages, post_xml, text_rule

DEFAULT = {"type": "text", "content": "默认回复"}
LOST = {
    "question": "银行卡丢了怎么挂失",
    "alternatives": ["借记卡挂失", "储蓄卡丢失怎么办"],
    "answer": {"type": "text", "content": "借记卡挂失：拨打 95588。"},
    "category": "借记卡",
}
CREDIT_LOST = {
    "question": "信用卡丢了怎么办",
    "alternatives": ["信用卡挂失"],
    "answer": {"type": "text", "content": "信用卡挂失：拨打 400-820-0588。"},
}
LIMIT = {
    "question": "信用卡怎么提额",
    "alternatives": ["提高信用卡额度"],
    "answer": {"type": "text", "content": "提额：手机银行「额度管理」。"},
}
OPEN = {
    "question": "怎么办理借记卡",
    "alternatives": ["办卡需要什么材料"],
    "answer": {"type": "text", "content": "办理借记卡：请携带身份证到网点。"},
}


def refresh_faq() -> None:
    """The next message sees the latest entries without waiting out the cache's 2 s check."""
    from chalicelib import wiring

    wiring.callback().faq.invalidate()


def create(client, entry: dict) -> dict:
    response = admin(client, "POST", "/admin/faq", entry)
    assert response.status_code == 201, response.body
    return body_json(response)


def say(client, content: str, openid: str = "o_faq") -> str | None:
    response = post_xml(client, wxsim.text(content, openid=openid))
    assert response.status_code == 200
    if response.body == b"success":
        return None
    return wxsim.parse(response.body.decode())["Content"]


def setup_faq(client, *entries: dict) -> list[dict]:
    admin(client, "PUT", "/admin/replies/default", DEFAULT)
    made = [create(client, e) for e in entries]
    refresh_faq()
    from tests.functional.helpers import refresh_rules

    refresh_rules()
    return made


# -- contract section 5: the routes ----------------------------------------------------------


def test_entry_crud_over_http(client):
    created = create(client, LOST)
    assert created["id"] and created["question"] == LOST["question"]
    assert created["alternatives"] == LOST["alternatives"]
    assert created["answer"] == LOST["answer"] and created["category"] == "借记卡"
    assert created["enabled"] is True

    minimal = create(client, {"question": "怎么查余额", "answer": {"type": "text", "content": "A"}})
    assert minimal["alternatives"] == [] and minimal["category"] == ""

    listed = body_json(admin(client, "GET", "/admin/faq"))["items"]
    assert [e["id"] for e in listed] == [created["id"], minimal["id"]]
    assert body_json(admin(client, "GET", f"/admin/faq/{created['id']}")) == created

    response = admin(client, "PUT", f"/admin/faq/{created['id']}", {"enabled": False})
    assert response.status_code == 200
    updated = body_json(response)
    assert updated["enabled"] is False and updated["question"] == LOST["question"]
    replaced = {**LOST, "question": "借记卡丢了", "alternatives": []}
    updated = body_json(admin(client, "PUT", f"/admin/faq/{created['id']}", replaced))
    assert updated["question"] == "借记卡丢了" and updated["alternatives"] == []

    assert admin(client, "DELETE", f"/admin/faq/{created['id']}").status_code == 204
    assert admin(client, "GET", f"/admin/faq/{created['id']}").status_code == 404
    assert admin(client, "DELETE", f"/admin/faq/{created['id']}").status_code == 404
    assert admin(client, "PUT", f"/admin/faq/{created['id']}", LOST).status_code == 404


def test_search_and_category_filter(client):
    a, b = create(client, LOST), create(client, CREDIT_LOST)
    found = body_json(admin(client, "GET", "/admin/faq?q=挂失"))["items"]
    assert {e["id"] for e in found} == {a["id"], b["id"]}
    found = body_json(admin(client, "GET", "/admin/faq?q=400-820"))["items"]
    assert [e["id"] for e in found] == [b["id"]]  # a text answer is searched too
    found = body_json(admin(client, "GET", "/admin/faq?category=借记卡"))["items"]
    assert [e["id"] for e in found] == [a["id"]]


def test_bad_bodies_are_400_and_write_nothing(client):
    bad = [
        {},
        {"question": "x"},
        {"answer": {"type": "text", "content": "x"}},
        {**LOST, "question": ""},
        {**LOST, "question": 5},
        {**LOST, "question": "长" * 201},
        {**LOST, "alternatives": "挂失"},
        {**LOST, "alternatives": [""]},
        {**LOST, "answer": {"type": "text"}},
        {**LOST, "answer": {"type": "nope"}},
        {**LOST, "answer": "text"},
        {**LOST, "enabled": "yes"},
        {**LOST, "category": 3},
        {**LOST, "colour": "red"},
        {**LOST, "answer": {"type": "news", "article_ids": ["no-such-article"]}},
        [LOST],
    ]
    for body in bad:
        response = admin(client, "POST", "/admin/faq", body)
        assert response.status_code == 400, (body, response.body)
        assert body_json(response)["error"]
    assert body_json(admin(client, "GET", "/admin/faq"))["items"] == []
    entry = create(client, LOST)
    response = admin(client, "PUT", f"/admin/faq/{entry['id']}", {"answer": {"type": "x"}})
    assert response.status_code == 400 and "answer" in body_json(response)["error"]
    assert body_json(admin(client, "GET", f"/admin/faq/{entry['id']}")) == entry


def test_faq_routes_need_the_token(client):
    for method, path in (("GET", "/admin/faq"), ("POST", "/admin/faq"), ("GET", "/admin/faq/x")):
        response = admin(client, method, path, LOST if method == "POST" else None, token=None)
        assert response.status_code == 401


# -- contract section 5: the answers -----------------------------------------------------------


def test_followers_own_words_get_the_entry_and_the_log_says_faq(client):
    lost, _credit, _limit, opened = setup_faq(client, LOST, CREDIT_LOST, LIMIT, OPEN)
    assert say(client, "我的储蓄卡找不到了") == LOST["answer"]["content"]
    assert say(client, "我想办卡", openid="o_2") == OPEN["answer"]["content"]
    assert say(client, "信用卡额度太低了能提高吗", openid="o_3") == LIMIT["answer"]["content"]

    logged = messages(client, "o_faq")[0]
    assert logged["outcome"] == "faq" and logged["rule_id"] == lost["id"]
    assert messages(client, "o_2")[0]["rule_id"] == opened["id"]


def test_not_confident_gets_the_default_reply(client):
    setup_faq(client, LOST, CREDIT_LOST, LIMIT, OPEN)
    for text in ("今天天气怎么样", "讲个笑话", "你好", "周末去哪玩"):
        assert say(client, text) == DEFAULT["content"], text
    assert messages(client, "o_faq")[0]["outcome"] == "default"


def test_rules_and_flows_keep_precedence(client):
    setup_faq(client, LOST, OPEN)
    make_rule(client, text_rule("挂失", "规则：挂失", match="contains"))
    response = admin(client, "POST", "/admin/flows", DEMO_FLOW)  # enters on exact "办卡"
    assert response.status_code == 201
    from tests.functional.helpers import refresh_rules

    refresh_rules()
    assert say(client, "借记卡挂失") == "规则：挂失"  # an alternative, word for word: the rule
    assert say(client, "办卡", openid="o_flow").startswith("您想办理哪种卡")  # the flow
    # Inside the flow, the flow answers (its fallback), not the knowledge base.
    assert "没有听懂" in say(client, "储蓄卡丢失怎么办", openid="o_flow")
    assert say(client, "我想办卡", openid="o_2") == OPEN["answer"]["content"]  # no rule: faq


def test_a_close_call_asks_back_and_the_number_answers(client):
    debit, credit = setup_faq(client, LOST, CREDIT_LOST)
    question = say(client, "卡丢了")
    assert question.startswith("您想问：") and "1. " in question and "2. " in question
    first_is_credit = question.index(CREDIT_LOST["question"]) < question.index(LOST["question"])
    logged = messages(client, "o_faq")[0]
    assert logged["outcome"] == "faq_clarify"
    picked = say(client, "2")
    expected = LOST if first_is_credit else CREDIT_LOST
    assert picked == expected["answer"]["content"]
    logged = messages(client, "o_faq")[0]
    assert logged["outcome"] == "faq"
    assert logged["rule_id"] == (debit if first_is_credit else credit)["id"]
    # The question is answered: another "2" is just a "2".
    assert say(client, "2") == DEFAULT["content"]


def test_a_pick_works_with_flows_enabled_and_words_like_di_er_ge(client):
    setup_faq(client, LOST, CREDIT_LOST)
    assert admin(client, "POST", "/admin/flows", DEMO_FLOW).status_code == 201
    from tests.functional.helpers import refresh_rules

    refresh_rules()
    question = say(client, "卡丢了")
    assert question.startswith("您想问：")
    answer = say(client, "第一个")
    assert answer in (LOST["answer"]["content"], CREDIT_LOST["answer"]["content"])


def test_a_stale_question_is_not_answered_by_a_number(client):
    setup_faq(client, LOST, CREDIT_LOST)
    assert say(client, "卡丢了").startswith("您想问：")
    from chalicelib import config
    from chalicelib.store.aws import client as aws_client

    aws_client("dynamodb").update_item(
        TableName=config.table_name("flow-state"),
        Key={"pk": {"S": "default#o_faq"}},
        UpdateExpression="SET updated_at = :t",
        ExpressionAttributeValues={":t": {"N": str(int(time.time()) - 601)}},
    )
    assert say(client, "1") == DEFAULT["content"]


def test_a_retry_of_the_clarifying_question_gets_the_same_question(client):
    setup_faq(client, LOST, CREDIT_LOST)
    xml = wxsim.text("卡丢了", openid="o_retry", msg_id=777)
    first = post_xml(client, xml)
    again = post_xml(client, xml)
    assert first.body == again.body and b"CDATA[\xe6\x82\xa8\xe6\x83\xb3\xe9\x97\xae" in first.body
    assert len(messages(client, "o_retry")) == 1


def test_a_change_reaches_followers_within_5_seconds(client):
    setup_faq(client, LOST)
    assert say(client, "信用卡怎么提额") == DEFAULT["content"]
    create(client, LIMIT)  # no cache invalidation: the callback notices by itself
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if say(client, "信用卡怎么提额", openid=f"o_{time.monotonic_ns()}") != DEFAULT["content"]:
            break
        time.sleep(0.25)
    assert say(client, "信用卡额度怎么提高", openid="o_late") == LIMIT["answer"]["content"]
    assert time.monotonic() < deadline


def test_a_disabled_entry_does_not_answer(client):
    (lost,) = setup_faq(client, LOST)
    admin(client, "PUT", f"/admin/faq/{lost['id']}", {"enabled": False})
    refresh_faq()
    assert say(client, "储蓄卡丢了") == DEFAULT["content"]


def test_synonyms_are_editable(client):
    setup_faq(client, {**OPEN, "question": "怎么办理借记卡", "alternatives": []})
    assert say(client, "金穗卡怎么办理") == DEFAULT["content"]
    response = admin(client, "PUT", "/admin/faq/synonyms", {"groups": [["借记卡", "金穗卡"]]})
    assert response.status_code == 200
    assert body_json(admin(client, "GET", "/admin/faq/synonyms")) == {
        "groups": [["借记卡", "金穗卡"]]
    }
    refresh_faq()
    assert say(client, "金穗卡怎么办理", openid="o_2") == OPEN["answer"]["content"]
    for bad in ({"groups": [["一个"]]}, {"groups": "x"}, {"words": []}, {"groups": [[1, 2]]}):
        assert admin(client, "PUT", "/admin/faq/synonyms", bad).status_code == 400


def test_try_it_shows_candidates_with_scores(client):
    lost, credit = setup_faq(client, LOST, CREDIT_LOST)
    response = admin(client, "POST", "/admin/faq/try", {"text": "我的储蓄卡找不到了"})
    assert response.status_code == 200
    tried = body_json(response)
    assert tried["verdict"] == "answer" and tried["reply"] == LOST["answer"]
    assert tried["candidates"][0]["id"] == lost["id"]
    assert tried["candidates"][0]["score"] > tried["candidates"][1]["score"] > 0
    assert tried["candidates"][1]["id"] == credit["id"]
    assert "借记卡" in tried["understood"]
    tried = body_json(admin(client, "POST", "/admin/faq/try", {"text": "今天天气怎么样"}))
    assert tried["verdict"] == "none" and tried["reply"] is None
    assert admin(client, "POST", "/admin/faq/try", {"text": ""}).status_code == 400


def test_attach_followers_wordings_as_alternatives(client):
    (opened,) = setup_faq(client, OPEN)
    assert say(client, "想开个储蓄账户") == DEFAULT["content"]
    path = f"/admin/faq/{opened['id']}/alternatives"
    response = admin(client, "POST", path, {"texts": ["想开个储蓄账户", "办卡需要什么材料"]})
    assert response.status_code == 200
    assert body_json(response)["alternatives"] == ["办卡需要什么材料", "想开个储蓄账户"]
    refresh_faq()
    assert say(client, "想开个储蓄账户", openid="o_2") == OPEN["answer"]["content"]
    assert admin(client, "POST", path, {"texts": []}).status_code == 400
    missing = admin(client, "POST", "/admin/faq/nope/alternatives", {"texts": ["x"]})
    assert missing.status_code == 404


def test_published_articles_answer_when_no_entry_is_close(client):
    from infra.seed_cms import seed_cms_if_empty

    articles = seed_cms_if_empty()
    setup_faq(client, LOST)
    response = post_xml(client, wxsim.text("信用卡还款方式有哪几种", openid="o_art"))
    reply = wxsim.parse(response.body.decode())
    assert reply["MsgType"] == "news" and int(reply["ArticleCount"]) == 1
    assert "还款" in str(reply["Articles"])
    logged = messages(client, "o_art")[0]
    assert logged["outcome"] == "faq" and logged["rule_id"] == f"article:{articles['repay']}"
