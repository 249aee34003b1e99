"""Template-message templates as WeChat has kept them since 2023: the account's category
templates (typed fields: `thing` at most 20 characters, ...) beside an older industry template,
adding one from the library (`api_add_template`, 25 at most), deleting one, and the check
template/send makes of each value (errcode 47003, per message).

The rules here are the fake's own reading of WeChat's documentation, written apart from the
app's (chalicelib/wechat/templates.py) so that one cannot hide the other's mistake."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from infra.fake_wechat.protocol import ApiError, Request
from infra.fake_wechat.server import Routes

MAX_TEMPLATES = 25
# Field type -> the longest value WeChat takes.
LIMITS = {
    "thing": 20,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "character_string": 32,
    "phone_number": 17,
    "car_number": 8,
    "name": 20,
    "phrase": 5,
    "const": 20,
    "keyword": 20,
}
SHAPES = {
    "number": re.compile(r"-?\d+(\.\d+)?"),
    "letter": re.compile(r"[A-Za-z]+"),
    "phrase": re.compile(r"[\u4e00-\u9fff]+"),
    "character_string": re.compile(r"[ -~]+"),
    "amount": re.compile(r"-?(¥|￥|\$|€|£|HK\$|US\$|[A-Z]{3})?-?\d{1,10}(\.\d+)?元?"),
    "time": re.compile(r".*\d{1,2}:\d{2}.*"),
    "date": re.compile(r".*\d.*"),
}
_FIELD = re.compile(r"\{\{([A-Za-z0-9_]+)\.DATA\}\}")
_TYPE = re.compile(r"([a-z_]*[a-z])_?\d*")
# The library: short id -> (title, the keywords a category template may pick: name -> field key)
LIBRARY = {
    "OPENTM_CARD_TXN": (
        "信用卡交易提醒",
        {"交易卡号": "character_string", "交易类型": "thing", "交易金额": "amount",
         "交易时间": "time", "商户名称": "thing"},
    ),
    "OPENTM_REPAYMENT": (
        "还款提醒",
        {"还款金额": "amount", "最后还款日": "date", "温馨提示": "thing"},
    ),
}  # fmt: skip


def field_type(key: str) -> str:
    match = _TYPE.fullmatch(key)
    return match.group(1) if match else key


class TemplatesApi:
    ROUTES: ClassVar[Routes] = {
        "/cgi-bin/template/api_add_template": ("POST", "_templates_add", True),
        "/cgi-bin/template/del_private_template": ("POST", "_templates_delete", True),
    }

    def _reset_state(self, *, tokens: bool) -> None:
        super()._reset_state(tokens=tokens)  # the industry template comes from messages.py
        self.add_template(
            "tmpl_card_txn_0002",
            "信用卡交易提醒",
            "交易卡号：{{character_string1.DATA}}\n交易类型：{{thing2.DATA}}\n"
            "交易金额：{{amount3.DATA}}\n交易时间：{{time4.DATA}}",
            primary_industry="",
            deputy_industry="",
            example="交易卡号：6222****1234\n交易类型：消费\n交易金额：¥1280.00\n"
            "交易时间：2025-01-02 09:30",
        )
        self.add_template(
            "tmpl_repay_0003",
            "还款提醒",
            "还款金额：{{amount1.DATA}}\n最后还款日：{{date2.DATA}}\n温馨提示：{{thing3.DATA}}",
            primary_industry="",
            deputy_industry="",
        )

    # ---- test helpers --------------------------------------------------------------------

    def delete_template(self, template_id: str) -> None:
        """Someone deleted the template in WeChat's console."""
        with self._lock:
            self._templates.pop(template_id, None)

    # ---- API -------------------------------------------------------------------------------

    def _templates_add(self, req: Request) -> dict[str, Any]:
        body = req.body()
        found = LIBRARY.get(str(body.get("template_id_short") or ""))
        if found is None:
            raise ApiError(40037, "invalid template_id")
        if len(self._templates) >= MAX_TEMPLATES:
            raise ApiError(45026, "template num exceeds limit")
        title, keywords = found
        names = body.get("keyword_name_list") or list(keywords)
        if not isinstance(names, list) or any(n not in keywords for n in names):
            raise ApiError(47003, "argument invalid! keyword_name_list")
        counts: dict[str, int] = {}
        lines = []
        for index, name in enumerate(names, start=1):
            kind = keywords[name]
            counts[kind] = counts.get(kind, 0) + 1
            lines.append(f"{name}：{{{{{kind}{index}.DATA}}}}")
        template_id = f"tmpl_{self._new_id(12)}"
        self.add_template(template_id, title, "\n".join(lines), primary_industry="")
        return {"errcode": 0, "errmsg": "ok", "template_id": template_id}

    def _templates_delete(self, req: Request) -> dict[str, Any]:
        template_id = req.body().get("template_id")
        if self._templates.pop(str(template_id), None) is None:
            raise ApiError(40037, "invalid template_id")
        return {"errcode": 0, "errmsg": "ok"}

    def _check_template_data(self, template_id: str, data: dict[str, Any]) -> None:
        """What template/send checks since 2023: each value within its field type's rule."""
        content = self._templates[template_id]["content"]
        category = not re.search(r"\{\{(first|remark|keyword\d+)\.DATA\}\}", content)
        for key in _FIELD.findall(content):
            value = str((data.get(key) or {}).get("value", ""))
            kind = field_type(key) if category else ("keyword" if key.startswith("keyword") else "")
            limit = LIMITS.get(kind)
            shape = SHAPES.get(kind) if category else None
            if (limit is not None and len(value) > limit) or "\n" in value:
                raise ApiError(47003, f"argument invalid! data.{key}.value exceeds limit")
            if value and shape is not None and not shape.fullmatch(value):
                raise ApiError(47003, f"argument invalid! data.{key}.value invalid")
