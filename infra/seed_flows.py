"""Demo flow (办卡 -> 借记卡 / 信用卡 -> 所需材料) and ~20 demo branches and ATMs in Guangzhou
for `make run`; each written only when its own table is empty. Names, addresses and phone
numbers are made up."""

from __future__ import annotations

import copy

from chalicelib.engine.flow_definitions import validate_flow
from chalicelib.engine.geo import validate_point
from chalicelib.store import articles
from chalicelib.store import flows as flows_store
from chalicelib.store import points as points_store

_HINT = "回复编号或名称；回复「返回」上一步，「退出」结束。"

DEMO_FLOW = {
    "name": "办卡指引",
    "entry": {"match": "exact", "keywords": ["办卡", "我要办卡"], "click_keys": ["MENU_CARD"]},
    "start": "choose",
    "back_words": ["返回", "上一步"],
    "exit_words": ["退出", "结束"],
    "timeout_seconds": 600,
    "nodes": [
        {
            "id": "choose",
            "prompt": {
                "type": "text",
                "content": f"您想办理哪种卡？\n1. 借记卡\n2. 信用卡\n{_HINT}",
            },
            "options": [
                {"keywords": ["借记卡", "储蓄卡"], "next": "debit"},
                {"keywords": ["信用卡"], "next": "credit"},
            ],
        },
        {
            "id": "debit",
            "prompt": {
                "type": "text",
                "content": f"借记卡：\n1. 所需材料\n2. 办理网点\n3. 费用\n{_HINT}",
            },
            "options": [
                {"keywords": ["所需材料", "材料"], "next": "debit_docs"},
                {
                    "keywords": ["办理网点", "网点"],
                    "reply": {
                        "type": "text",
                        "content": "发送您的位置（聊天框「+」→「位置」），即可查看离您最近的网点。",
                    },
                },
                {
                    "keywords": ["费用"],
                    "pattern": "年费|工本费|手续费",
                    "reply": {
                        "type": "text",
                        "content": "借记卡免工本费、免年费；小额账户管理费已全部免收。",
                    },
                },
            ],
        },
        {
            "id": "credit",
            "prompt": {
                "type": "text",
                "content": f"信用卡：\n1. 所需材料\n2. 申请进度\n{_HINT}",
            },
            "options": [
                {"keywords": ["所需材料", "材料"], "next": "credit_docs"},
                {
                    "keywords": ["申请进度", "进度"],
                    "reply": {
                        "type": "text",
                        "content": "申请进度可在手机银行「信用卡」→「进度查询」查看，"
                        "或拨打 95588。",
                    },
                },
            ],
        },
        {
            "id": "debit_docs",
            "prompt": {
                "type": "text",
                "content": "办理借记卡请携带：\n· 本人有效身份证件原件\n· 本人实名登记的手机号码\n"
                "· 职业及住址信息\n请本人到网点办理。发送位置可查看最近的网点。",
            },
        },
        {
            "id": "credit_docs",
            "prompt": {
                "type": "text",
                "content": "申请信用卡请准备：\n· 本人有效身份证件\n· 工作证明或收入证明\n"
                "· 住址证明（如水电费账单）\n可在手机银行在线申请，或到网点办理。",
            },
        },
    ],
}

_BRANCH_HOURS = "周一至周五 9:00-17:00，周六 9:30-16:00"


def _branch(name: str, lat: float, lng: float, address: str, phone: str) -> dict:
    return {
        "name": name,
        "lat": lat,
        "lng": lng,
        "address": f"广州市{address}（示例）",
        "phone": phone,
        "hours": _BRANCH_HOURS,
        "tags": ["branch", "ATM"],
    }


def _atm(name: str, lat: float, lng: float, address: str) -> dict:
    return {
        "name": name,
        "lat": lat,
        "lng": lng,
        "address": f"广州市{address}（示例）",
        "hours": "24 小时",
        "tags": ["ATM"],
    }


DEMO_POINTS = [
    _branch("天河支行", 23.1372, 113.3290, "天河区天河路 101 号", "020-8000 0101"),
    _branch("珠江新城支行", 23.1196, 113.3245, "天河区珠江东路 12 号", "020-8000 0102"),
    _atm("体育中心自助银行", 23.1405, 113.3225, "天河区体育西路 3 号"),
    _branch("越秀支行", 23.1290, 113.2668, "越秀区中山五路 20 号", "020-8000 0103"),
    _atm("北京路自助银行", 23.1257, 113.2690, "越秀区北京路 88 号"),
    _branch("海珠支行", 23.0964, 113.3170, "海珠区新港中路 200 号", "020-8000 0104"),
    _atm("琶洲会展自助银行", 23.0990, 113.3620, "海珠区阅江中路 5 号"),
    _branch("荔湾支行", 23.1250, 113.2440, "荔湾区中山七路 30 号", "020-8000 0105"),
    _atm("上下九自助银行", 23.1187, 113.2470, "荔湾区上下九路 66 号"),
    _branch("白云支行", 23.1620, 113.2730, "白云区机场路 150 号", "020-8000 0106"),
    _atm("广州火车站自助银行", 23.1490, 113.2580, "越秀区环市西路 159 号"),
    _branch("番禺支行", 22.9380, 113.3840, "番禺区市桥街 9 号", "020-8000 0107"),
    _atm("万博自助银行", 23.0010, 113.3420, "番禺区汉溪大道 1 号"),
    _branch("黄埔支行", 23.1060, 113.4590, "黄埔区大沙地东 8 号", "020-8000 0108"),
    _branch("科学城支行", 23.1700, 113.4400, "黄埔区科学大道 18 号", "020-8000 0109"),
    _atm("大学城自助银行", 23.0520, 113.3950, "番禺区大学城外环西路 100 号"),
    _branch("花都支行", 23.4040, 113.2200, "花都区新华路 2 号", "020-8000 0110"),
    _atm("白云机场自助银行", 23.3920, 113.2990, "白云区机场 T2 到达层"),
    _branch("南沙支行", 22.8010, 113.5250, "南沙区进港大道 6 号", "020-8000 0111"),
    _branch("增城支行", 23.2900, 113.8100, "增城区荔城街 1 号", "020-8000 0112"),
]


GUIDE_TITLE = "信用卡办理指南"  # a demo CMS article (infra/seed_cms.py)


def demo_flow() -> dict:
    """DEMO_FLOW; when the demo CMS guide is published, the credit node also offers it as a news
    reply by article id (sent with the article's current title and link)."""
    guide = next(
        (
            entry["id"]
            for entry in articles.summaries()
            if entry["title"].startswith(GUIDE_TITLE) and entry["status"] == "published"
        ),
        None,
    )
    flow = copy.deepcopy(DEMO_FLOW)
    if guide is not None:
        credit = next(node for node in flow["nodes"] if node["id"] == "credit")
        credit["prompt"]["content"] = credit["prompt"]["content"].replace(
            "2. 申请进度\n", "2. 申请进度\n3. 办卡指南\n"
        )
        credit["options"].append(
            {"keywords": ["办卡指南", "指南"], "reply": {"type": "news", "article_ids": [guide]}}
        )
    return flow


def seed_flows_and_points() -> dict[str, int]:
    """Demo flow and points, each only into its own empty table."""
    seeded = {"flows": 0, "points": 0}
    if not flows_store.list_flows():
        flows_store.create_flow(validate_flow(demo_flow()))
        seeded["flows"] = 1
    if not points_store.list_points(limit=1)[0]:
        result = points_store.import_points([(None, validate_point(p)) for p in DEMO_POINTS])
        seeded["points"] = result["imported"]
    return seeded
