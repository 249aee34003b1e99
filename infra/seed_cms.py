"""Demo CMS content for `make run`: a bank's categories and articles (with generated cover
images), written only into an empty store. Called from infra/seed.py."""

from __future__ import annotations

import struct
import time
import zlib

from chalicelib.cms.categories import create_category
from chalicelib.cms.validate import validate_article, validate_category, validate_cover
from chalicelib.store import article_writes, articles, covers
from chalicelib.store.categories import list_categories

CATEGORIES = {
    "wealth": {"name": "理财", "description": "理财产品、市场观察与投资者教育", "position": 1},
    "card": {"name": "信用卡", "description": "办卡、用卡、还款与权益", "position": 2},
    "branch": {"name": "网点公告", "description": "营业时间调整与网点变更", "position": 3},
}

ARTICLES = [
    {
        "key": "card",
        "age_hours": 3,
        "category": "card",
        "title": "信用卡办理指南：在线申请，最快当天审批",
        "digest": "准备什么材料、如何查询进度、收到卡片后如何激活，一文看懂。",
        "author": "信用卡中心",
        "colors": ((7, 193, 96), (16, 174, 255)),
        "body_html": (
            "<h2>一、申请条件</h2><p>年满 18 周岁、具有完全民事行为能力、有稳定收入来源。</p>"
            "<h2>二、在线申请</h2><ol><li>点击菜单「信用卡」→「在线申请」；</li>"
            "<li>填写个人信息并上传身份证照片；</li><li>提交后短信通知审批结果。</li></ol>"
            "<h2>三、激活与使用</h2><p>收到卡片后，在手机银行或拨打 <b>95588</b> 激活。"
            "首次激活请设置交易密码。</p>"
            "<blockquote>温馨提示：本行工作人员不会以任何理由索要您的验证码。</blockquote>"
        ),
    },
    {
        "key": "repay",
        "age_hours": 30,
        "category": "card",
        "title": "信用卡还款的三种方式",
        "digest": "自动还款、手机银行还款、网点柜台还款，按时还款不留逾期记录。",
        "author": "信用卡中心",
        "colors": ((250, 157, 59), (230, 67, 64)),
        "body_html": (
            "<p>按时还款是保持良好信用记录的关键。</p><ul>"
            "<li><b>自动还款</b>：绑定本行借记卡，到期自动扣款；</li>"
            "<li><b>手机银行</b>：「信用卡」→「还款」，实时到账；</li>"
            "<li><b>网点柜台</b>：携带身份证到任一网点办理。</li></ul>"
        ),
    },
    {
        "key": "wealth",
        "age_hours": 52,
        "category": "wealth",
        "title": "本周理财市场观察：稳健型产品收益平稳",
        "digest": "货币基金七日年化收益率小幅回落，中短债产品表现稳健。",
        "author": "财富管理部",
        "colors": ((87, 107, 149), (138, 99, 210)),
        "body_html": (
            "<p>本周货币市场利率总体平稳，稳健型理财产品收益维持在合理区间。</p>"
            "<h2>关注要点</h2><ul><li>货币基金：流动性好，适合日常零钱管理；</li>"
            "<li>中短债：波动较小，适合 3 个月以上的闲置资金。</li></ul>"
            "<p><small>理财非存款，产品有风险，投资须谨慎。</small></p>"
        ),
    },
    {
        "key": "risk",
        "age_hours": 125,
        "category": "wealth",
        "title": "投资者教育：如何看懂理财产品风险等级",
        "digest": "R1 到 R5 分别意味着什么？购买前请先完成风险承受能力评估。",
        "author": "财富管理部",
        "colors": ((16, 174, 255), (87, 107, 149)),
        "body_html": (
            "<p>理财产品按风险从低到高分为 R1（谨慎型）至 R5（激进型）五个等级。</p>"
            "<table><thead><tr><th>等级</th><th>说明</th></tr></thead><tbody>"
            "<tr><td>R1</td><td>本金损失可能性极低</td></tr>"
            "<tr><td>R3</td><td>本金有一定损失可能</td></tr>"
            "<tr><td>R5</td><td>本金损失可能性较大</td></tr></tbody></table>"
        ),
    },
    {
        "key": "hours",
        "age_hours": 220,
        "category": "branch",
        "title": "关于春节期间网点营业时间调整的公告",
        "digest": "春节期间部分网点营业时间调整，自助设备 24 小时正常服务。",
        "author": "办公室",
        "colors": ((230, 67, 64), (250, 157, 59)),
        "body_html": (
            "<p>尊敬的客户：</p><p>春节期间（除夕至初六），本行部分网点营业时间调整为 "
            "<b>10:00-15:00</b>，自助设备、手机银行 24 小时正常服务。</p>"
            "<p>具体网点请发送位置查询最近网点。给您带来的不便，敬请谅解。</p>"
        ),
    },
    {
        "key": "draft",
        "age_hours": 1,
        "category": "branch",
        "title": "（草稿）城东支行迁址通知",
        "digest": "尚未发布：公开页面与图文回复都看不到它。",
        "author": "办公室",
        "colors": None,
        "status": "draft",
        "body_html": "<p>城东支行将迁至新址，具体日期待定。</p>",
    },
]


def banner_png(top: tuple[int, int, int], bottom: tuple[int, int, int], w: int = 900) -> bytes:
    """A small gradient PNG (2.35:1, WeChat's cover shape) without an imaging library."""
    h = w * 100 // 235
    rows = []
    for y in range(h):
        t = y / max(1, h - 1)
        pixel = bytes(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        rows.append(b"\x00" + pixel * w)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def seed_cms_if_empty() -> dict[str, str]:
    """Create the demo categories and articles; returns article ids by key ({} if not empty)."""
    if list_categories() or articles.summaries():
        return {}
    category_ids = {
        key: create_category(validate_category(fields))["id"] for key, fields in CATEGORIES.items()
    }
    ids: dict[str, str] = {}
    started = int(time.time())
    for demo in ARTICLES:
        # Back-dated, so the demo lists and pages show a few days of publishing.
        when = started - demo["age_hours"] * 3600
        fields = validate_article(
            {
                "title": demo["title"],
                "digest": demo["digest"],
                "author": demo["author"],
                "body_html": demo["body_html"],
                "category_id": category_ids[demo["category"]],
                "status": demo.get("status", "published"),
            }
        )
        article = article_writes.create_article(fields, when=when)
        if demo["colors"]:
            cover = banner_png(*demo["colors"])
            covers.set_cover(article["id"], cover, *validate_cover(cover), when=when)
        ids[demo["key"]] = article["id"]
    return ids
