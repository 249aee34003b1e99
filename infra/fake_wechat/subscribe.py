"""Subscribe notifications (订阅通知): the account's categories, WeChat's public templates and
their keywords, the account's own templates (`/wxaapi/newtmpl/*`), and `subscribe/bizsend`,
which delivers only to followers who consented (43101 otherwise), as WeChat does.

Followers consent in WeChat's popup, which the fake cannot show: a test (or the demo seed) says
who accepted with `subscribe_popup(openid, template_id)`, and posts the matching
subscribe_msg_popup_event to the app itself."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from infra.fake_wechat.protocol import ApiError, Request
from infra.fake_wechat.server import Routes

MAX_TEMPLATES = 50
# Field type -> most characters WeChat takes (47003 beyond).
_LIMITS = {"thing": 20, "character_string": 32, "phrase": 5, "number": 32, "letter": 32}
_TYPED = re.compile(r"^([a-z_]+?)\d+$")

CATEGORIES = [{"id": 616, "name": "银行"}, {"id": 617, "name": "信用卡"}]
PUBLIC_TEMPLATES = {
    "2301": {
        "tid": "2301",
        "title": "信用卡交易提醒",
        "type": 2,
        "categoryId": "617",
        "keywords": [
            {"kid": 1, "name": "交易时间", "example": "2025年1月1日 12:00", "rule": "time"},
            {"kid": 2, "name": "交易金额", "example": "¥100.00", "rule": "amount"},
            {"kid": 3, "name": "交易商户", "example": "某某超市", "rule": "thing"},
            {"kid": 4, "name": "卡号尾号", "example": "8888", "rule": "character_string"},
        ],
    },
    "2302": {
        "tid": "2302",
        "title": "还款提醒",
        "type": 2,
        "categoryId": "617",
        "keywords": [
            {"kid": 1, "name": "还款金额", "example": "¥1,000.00", "rule": "amount"},
            {"kid": 2, "name": "还款日", "example": "2025年1月25日", "rule": "date"},
            {"kid": 3, "name": "温馨提示", "example": "请按时还款", "rule": "thing"},
        ],
    },
    "2303": {
        "tid": "2303",
        "title": "账户变动通知",
        "type": 3,
        "categoryId": "616",
        "keywords": [
            {"kid": 1, "name": "变动时间", "example": "2025年1月1日 12:00", "rule": "time"},
            {"kid": 2, "name": "变动金额", "example": "¥100.00", "rule": "amount"},
        ],
    },
}
DEMO_TEMPLATE = "sub_card_txn_0001"


class SubscribeApi:
    # The state `make run` keeps between runs (state.py).
    SAVED: ClassVar[tuple[str, ...]] = ("_sub_templates", "_sub_consents", "_subscribe_messages")
    ROUTES: ClassVar[Routes] = {
        "/wxaapi/newtmpl/getcategory": ("GET", "_sub_categories", True),
        "/wxaapi/newtmpl/getpubtemplatetitles": ("GET", "_sub_titles", True),
        "/wxaapi/newtmpl/getpubtemplatekeywords": ("GET", "_sub_keywords", True),
        "/wxaapi/newtmpl/addtemplate": ("POST", "_sub_add", True),
        "/wxaapi/newtmpl/deltemplate": ("POST", "_sub_delete", True),
        "/wxaapi/newtmpl/gettemplate": ("GET", "_sub_templates_list", True),
        "/cgi-bin/message/subscribe/bizsend": ("POST", "_sub_send", True),
    }

    def _reset_state(self, *, tokens: bool) -> None:
        super()._reset_state(tokens=tokens)
        self._sub_templates: dict[str, dict[str, Any]] = {}
        # "<openid> <template id>" -> one-time consents left, or -1 for a long-term accept
        self._sub_consents: dict[str, int] = {}
        self._subscribe_messages: list[dict[str, Any]] = []
        self._add_sub_template(DEMO_TEMPLATE, PUBLIC_TEMPLATES["2301"], [1, 2, 3], "交易提醒")

    # ---- test helpers --------------------------------------------------------------------

    def subscribe_popup(self, openid: str, template_id: str, accept: bool = True) -> None:
        """The follower answered WeChat's popup: one more one-time consent (or a long-term
        accept); a reject in the settings page clears it."""
        with self._lock:
            key = f"{openid} {template_id}"
            long_term = self._sub_templates.get(template_id, {}).get("type") == 3
            if not accept:
                self._sub_consents.pop(key, None)
            elif long_term:
                self._sub_consents[key] = -1
            else:
                self._sub_consents[key] = max(0, self._sub_consents.get(key, 0)) + 1

    @property
    def subscribe_messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._subscribe_messages)

    def _add_sub_template(
        self, pri_id: str, public: dict[str, Any], kids: list[int], scene: str
    ) -> dict[str, Any]:
        by_kid = {k["kid"]: k for k in public["keywords"]}
        lines = [
            f"{by_kid[k]['name']}:{{{{{by_kid[k]['rule']}{i + 1}.DATA}}}}"
            for i, k in enumerate(kids)
        ]
        template = {
            "priTmplId": pri_id,
            "title": public["title"],
            "content": "\n".join(lines),
            "example": "\n".join(f"{by_kid[k]['name']}:{by_kid[k]['example']}" for k in kids),
            "type": public["type"],
            "sceneDesc": scene,
        }
        self._sub_templates[pri_id] = template
        return template

    # ---- API -------------------------------------------------------------------------------

    def _sub_categories(self, req: Request) -> dict[str, Any]:
        return {"errcode": 0, "errmsg": "ok", "data": CATEGORIES}

    def _sub_titles(self, req: Request) -> dict[str, Any]:
        try:
            ids = {int(i) for i in req.query.get("ids", "").split(",") if i}
            start, limit = int(req.query.get("start", "0")), int(req.query.get("limit", "30"))
        except ValueError:
            raise ApiError(47001, "data format error") from None
        if not ids:
            raise ApiError(47001, "data format error")
        if start < 0:
            raise ApiError(200016, "start range error")
        if not 1 <= limit <= 30:
            raise ApiError(200017, "limit range error")
        found = [
            {k: t[k] for k in ("tid", "title", "type", "categoryId")}
            for t in PUBLIC_TEMPLATES.values()
            if int(t["categoryId"]) in ids
        ]
        return {
            "errcode": 0,
            "errmsg": "ok",
            "count": len(found),
            "data": found[start : start + limit],
        }

    def _public(self, tid: Any) -> dict[str, Any]:
        found = PUBLIC_TEMPLATES.get(str(tid or ""))
        if found is None:
            raise ApiError(200014, "template tid not exist")
        return found

    def _sub_keywords(self, req: Request) -> dict[str, Any]:
        keywords = self._public(req.query.get("tid"))["keywords"]
        return {"errcode": 0, "errmsg": "ok", "count": len(keywords), "data": keywords}

    def _sub_add(self, req: Request) -> dict[str, Any]:
        body = req.body()
        public = self._public(body.get("tid"))
        kids = body.get("kidList")
        known = {k["kid"] for k in public["keywords"]}
        if (
            not isinstance(kids, list)
            or not 2 <= len(kids) <= 5
            or len(set(kids)) != len(kids)
            or not all(isinstance(k, int) and k in known for k in kids)
        ):
            raise ApiError(200020, "keyword list kidList error")
        scene = body.get("sceneDesc")
        if not isinstance(scene, str) or not scene or len(scene) > 15:
            raise ApiError(200021, "scene description sceneDesc error")
        if len(self._sub_templates) >= MAX_TEMPLATES:
            raise ApiError(200012, "private template count reach limit")
        pri_id = self._new_id(24)
        self._add_sub_template(pri_id, public, kids, scene)
        return {"errcode": 0, "errmsg": "ok", "priTmplId": pri_id}

    def _sub_delete(self, req: Request) -> dict[str, Any]:
        pri_id = str(req.body().get("priTmplId") or "")
        if pri_id not in self._sub_templates:
            raise ApiError(40037, "invalid template_id")
        del self._sub_templates[pri_id]
        return {"errcode": 0, "errmsg": "ok"}

    def _sub_templates_list(self, req: Request) -> dict[str, Any]:
        data = [
            {k: t[k] for k in ("priTmplId", "title", "content", "example", "type")}
            for t in self._sub_templates.values()
        ]
        return {"errcode": 0, "errmsg": "ok", "data": data}

    def _sub_send(self, req: Request) -> dict[str, Any]:
        body = req.body()
        openid = str(body.get("touser") or "")
        follower = self._followers.get(openid)
        if not openid or (follower is not None and not follower.get("subscribe")):
            raise ApiError(40003, "invalid openid")
        template_id = str(body.get("template_id") or "")
        if template_id not in self._sub_templates:
            raise ApiError(40037, "invalid template_id")
        data = body.get("data")
        if not isinstance(data, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("value"), str) for v in data.values()
        ):
            raise ApiError(47001, "data format error")
        for key, value in data.items():
            typed = _TYPED.match(key)
            limit = _LIMITS.get(typed.group(1)) if typed else None
            if limit is not None and len(value["value"]) > limit:
                raise ApiError(47003, f"argument invalid! data.{key}.value invalid")
        consent = f"{openid} {template_id}"
        left = self._sub_consents.get(consent, 0)
        if left == 0:
            raise ApiError(43101, "user refuse to accept the msg")
        if left > 0:
            self._sub_consents[consent] = left - 1
        msgid = next(self._ids) + 400_000_000
        self._subscribe_messages.append(body | {"msgid": msgid})
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}
