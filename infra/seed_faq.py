"""Demo knowledge base for `make run`: a small bank FAQ, written only into an empty store (next to
the demo rules, flow and points), so followers' own words get answers ("我想办卡")."""

from __future__ import annotations

from typing import Any

from chalicelib.engine.faq_entries import validate_entry
from chalicelib.store import articles
from chalicelib.store import faq as store


def _text(content: str) -> dict[str, Any]:
    return {"type": "text", "content": content}


DEMO_FAQ: list[dict[str, Any]] = [
    {
        "question": "怎么办理借记卡",
        "alternatives": ["办卡", "开户", "办卡需要什么材料", "我想办一张银行卡"],
        "answer": _text(
            "办理借记卡：请携带本人有效身份证件到任一网点办理，可先在手机银行「预约开户」。"
            "回复「办卡」一步步了解借记卡和信用卡的办理，发送位置查找离您最近的网点。"
        ),
        "category": "借记卡",
    },
    {
        "question": "银行卡丢了怎么挂失",
        "alternatives": ["借记卡挂失", "储蓄卡丢失怎么办"],
        "answer": _text(
            "借记卡挂失：请立即拨打 95588 或在手机银行「我的」→「卡片管理」→「挂失」办理；"
            "口头挂失后 5 天内请携带身份证到网点办理正式挂失并补卡。"
        ),
        "category": "借记卡",
    },
    {
        "question": "信用卡丢了怎么办",
        "alternatives": ["信用卡挂失"],
        "answer": _text("信用卡挂失：请立即拨打 95588 或在手机银行「信用卡」→「挂失」办理。"),
        "category": "信用卡",
    },
    {
        "question": "银行卡密码忘了怎么办",
        "alternatives": ["重置密码", "忘记取款密码"],
        "answer": _text(
            "忘记密码：请本人携带身份证和银行卡到网点重置；部分卡片可在手机银行"
            "「安全中心」→「重置密码」办理。"
        ),
        "category": "账户安全",
    },
    {
        "question": "信用卡怎么提额",
        "alternatives": ["提高信用卡额度"],
        "answer": _text(
            "信用卡提额：用卡满 6 个月且按时还款，可在手机银行「信用卡」→「额度管理」申请。"
        ),
        "category": "信用卡",
    },
    {
        "question": "转账限额是多少",
        "alternatives": ["单笔转账最多能转多少", "调整转账额度"],
        "answer": _text(
            "手机银行转账单笔 5 万元、日累计 20 万元（以您的设置为准），"
            "可在「安全中心」→「限额设置」调整。"
        ),
        "category": "转账",
    },
    {
        "question": "跨行转账收手续费吗",
        "alternatives": ["转账手续费"],
        "answer": _text("手机银行和网上银行转账（含跨行）免手续费；柜台跨行转账按金额收取。"),
        "category": "转账",
    },
    {
        "question": "转账多久到账",
        "alternatives": ["转账没到账怎么办"],
        "answer": _text(
            "本行转账实时到账；跨行转账一般实时，大额或节假日可能顺延。超时未到请拨打 95588。"
        ),
        "category": "转账",
    },
    {
        "question": "网点营业时间",
        "alternatives": ["银行几点上班", "周末营业吗"],
        "answer": _text(
            "网点一般周一至周五 9:00-17:00、周六 9:30-16:00 营业；发送位置可查看最近网点。"
        ),
        "category": "网点",
    },
    {
        "question": "怎么开通手机银行",
        "alternatives": ["下载手机银行"],
        "answer": _text(
            "在应用商店搜索本行 App 下载，用本人银行卡和预留手机号注册即可；也可到网点开通。"
        ),
        "category": "电子银行",
    },
    {
        "question": "接到自称银行客服的电话要验证码怎么办",
        "alternatives": ["遇到诈骗怎么办"],
        "answer": _text(
            "本行工作人员不会索要验证码和密码。请挂断电话、勿点陌生链接；"
            "如已转账请立即报警并拨打 95588。"
        ),
        "category": "账户安全",
    },
]
# Answered with a demo CMS article (news by article id: its current title and link).
ARTICLE_ENTRIES = [
    ("信用卡还款的三种方式", {"question": "信用卡怎么还款", "alternatives": ["信用卡还款方式"]}),
]


def seed_faq_if_empty() -> int:
    """The demo FAQ, only into an empty knowledge base; the number of entries written."""
    if store.list_entries():
        return 0
    published = {
        entry["title"]: entry["id"]
        for entry in articles.summaries()
        if entry["status"] == "published"
    }
    entries = list(DEMO_FAQ)
    for title, entry in ARTICLE_ENTRIES:
        if title in published:
            answer = {"type": "news", "article_ids": [published[title]]}
            entries.append({**entry, "answer": answer, "category": "信用卡"})
    return store.import_entries([validate_entry(e) for e in entries])["imported"]
