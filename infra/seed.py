"""Demo data for `make run`: a small bank's rule set, written only into an empty store.

BANK_RULES is the rule book the bench measures (bench/workload.py, item 3's and item 6's
stores): keywords matched as exact words, inside sentences (contains) and at their start
(prefix). `make run` seeds DEMO_RULES, the same rules answering their keywords only: a contains
rule over 信用卡 or a prefix rule over 转账 would take every question about cards or transfers
from the knowledge base (rules come first), the demo's own entries and whatever an admin adds.
The demo rules also sit below the default priority, so a rule an admin adds wins over them.
"""

from __future__ import annotations

from typing import Any

from chalicelib.engine.validate import validate_rule
from chalicelib.store import rules as store
from infra.seed_cms import seed_cms_if_empty

BANK_RULES = [
    {
        "name": "余额查询",
        "match": "exact",
        "keywords": ["余额", "balance"],
        "reply": {
            "type": "text",
            "content": "查询余额请点击菜单「我的账户」→「余额查询」，或拨打客服热线 95588。",
        },
        "priority": 10,
    },
    {
        "name": "信用卡",
        "match": "contains",
        "keywords": ["信用卡", "credit card"],
        "reply": {
            "type": "news",
            "articles": [
                {
                    "title": "信用卡办理指南",
                    "description": "在线申请，最快当天审批。",
                    "url": "https://example.com/p/credit-card",
                    "pic_url": "https://example.com/static/credit-card.jpg",
                }
            ],
        },
        "priority": 5,
    },
    {
        "name": "转账",
        "match": "prefix",
        "keywords": ["转账", "汇款"],
        "reply": {
            "type": "text",
            "content": "转账汇款可在手机银行办理，单笔限额请见「服务」→「限额说明」。",
        },
    },
    {
        "name": "验证码",
        "match": "regex",
        "keywords": [r"^\d{6}$"],
        "reply": {
            "type": "text",
            "content": "请勿向任何人透露验证码。本行工作人员不会索要验证码。",
        },
        "priority": 20,
    },
    {
        "name": "人工客服",
        "match": "contains",
        "keywords": ["人工", "客服"],
        "reply": {"type": "transfer_customer_service"},
    },
    {
        "name": "菜单：我的账户",
        "match": "click",
        "keywords": ["MENU_ACCOUNT"],
        "reply": {"type": "text", "content": "我的账户：余额、明细、转账，一站办理。"},
    },
]

DEMO_PRIORITY = -100  # below any rule added with the default priority (0); their order kept
# How the demo narrows the bank rules (by name): 信用卡 and 转账 answer their keywords only;
# 人工客服 keeps "contains" for 人工 but not for 客服 ("客服电话是多少" is a question).
_DEMO_NARROWED: dict[str, dict[str, Any]] = {
    "信用卡": {"match": "exact"},
    "转账": {"match": "exact"},
    "人工客服": {"keywords": ["人工"]},
}


def _as_demo(rule: dict[str, Any]) -> dict[str, Any]:
    narrowed = _DEMO_NARROWED.get(rule["name"], {})
    return {**rule, **narrowed, "priority": DEMO_PRIORITY + rule.get("priority", 0)}


DEMO_RULES = [_as_demo(rule) for rule in BANK_RULES]

DEMO_SUBSCRIBE = {
    "type": "text",
    "content": "欢迎关注！回复「余额」查询余额，回复「信用卡」了解办卡，发送位置查找最近网点。",
}
DEMO_DEFAULT = {
    "type": "text",
    "content": "抱歉，没有找到相关答案。回复「人工」转人工客服，或拨打 95588。",
}


def seed_if_empty(rules: list[dict[str, Any]] = DEMO_RULES) -> bool:
    """Demo content and `rules` (the bench passes BANK_RULES) with the special replies, into a
    store that has none of them; False when it has."""
    if store.list_rules() or store.get_special("subscribe") or store.get_special("default"):
        return False
    articles = seed_cms_if_empty()  # demo categories and articles (CMS)
    for rule in rules:
        if rule["name"] == "信用卡" and "card" in articles:  # news by article id: stays current
            rule = {**rule, "reply": {"type": "news", "article_ids": [articles["card"]]}}
        store.create_rule(validate_rule(rule))
    store.put_special("subscribe", DEMO_SUBSCRIBE)
    store.put_special("default", DEMO_DEFAULT)
    return True
