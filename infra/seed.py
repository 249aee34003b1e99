"""Demo data for `make run`: a small bank's rule set, written only into an empty store."""

from __future__ import annotations

from chalicelib.engine.validate import validate_rule
from chalicelib.store import rules as store
from infra.seed_cms import seed_cms_if_empty

DEMO_RULES = [
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

DEMO_SUBSCRIBE = {
    "type": "text",
    "content": "欢迎关注！回复「余额」查询余额，回复「信用卡」了解办卡，发送位置查找最近网点。",
}
DEMO_DEFAULT = {
    "type": "text",
    "content": "抱歉，没有找到相关答案。回复「人工」转人工客服，或拨打 95588。",
}


def seed_if_empty() -> bool:
    if store.list_rules() or store.get_special("subscribe") or store.get_special("default"):
        return False
    articles = seed_cms_if_empty()  # demo categories and articles (CMS)
    for rule in DEMO_RULES:
        if rule["name"] == "信用卡" and "card" in articles:  # news by article id: stays current
            rule = {**rule, "reply": {"type": "news", "article_ids": [articles["card"]]}}
        store.create_rule(validate_rule(rule))
    store.put_special("subscribe", DEMO_SUBSCRIBE)
    store.put_special("default", DEMO_DEFAULT)
    return True
