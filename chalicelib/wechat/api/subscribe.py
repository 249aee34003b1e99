"""Subscribe notifications (订阅通知, verified service accounts): the account's templates under
``/wxaapi/newtmpl/*`` and sending one with ``message/subscribe/bizsend``.

A follower consents in a popup (an article or a web page): per message for one-time templates
(type 2), for good for long-term ones (type 3, public-service categories only). WeChat reports
the popup, later refusals and each send's result as events (subscribe_msg_popup_event,
subscribe_msg_change_event, subscribe_msg_sent_event). Errors worth knowing: 43101 the follower
refuses this notification, 47003 data does not fit the template's field types, 200012 the
account already has the most templates WeChat allows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chalicelib.errors import InvalidInput

from .messages import _template_data

if TYPE_CHECKING:
    from .transport import Transport

MAX_TITLES_PAGE = 30  # getpubtemplatetitles: limit <= 30
MAX_KEYWORDS = 5  # addtemplate: 2..5 keywords
MAX_SCENE_DESC = 15  # characters


class SubscribeAPI:
    def __init__(self, client: Transport) -> None:
        self.client = client

    def categories(self) -> list[dict[str, Any]]:
        """GET /wxaapi/newtmpl/getcategory -> [{id, name}]: the account's categories."""
        return list(self.client.get("/wxaapi/newtmpl/getcategory").get("data") or [])

    def titles(self, category_ids: Sequence[int], start: int = 0, limit: int = 30) -> dict:
        """GET /wxaapi/newtmpl/getpubtemplatetitles -> {count, data: [{tid, title, type,
        categoryId}]}: the public templates of some categories, a page at a time."""
        if not category_ids:
            raise InvalidInput("category ids: at least one")
        if not 1 <= limit <= MAX_TITLES_PAGE:
            raise InvalidInput(f"limit: 1..{MAX_TITLES_PAGE}")
        params = {"ids": ",".join(str(int(i)) for i in category_ids), "start": start}
        data = self.client.get("/wxaapi/newtmpl/getpubtemplatetitles", {**params, "limit": limit})
        return {"count": int(data.get("count") or 0), "data": list(data.get("data") or [])}

    def keywords(self, tid: str) -> list[dict[str, Any]]:
        """GET /wxaapi/newtmpl/getpubtemplatekeywords -> [{kid, name, example, rule}]."""
        data = self.client.get("/wxaapi/newtmpl/getpubtemplatekeywords", {"tid": tid})
        return list(data.get("data") or [])

    def add(self, tid: str, kid_list: Sequence[int], scene_desc: str) -> str:
        """POST /wxaapi/newtmpl/addtemplate -> priTmplId (the template id to send with)."""
        if not 2 <= len(kid_list) <= MAX_KEYWORDS:
            raise InvalidInput(f"kid_list: 2..{MAX_KEYWORDS} keyword ids")
        if not scene_desc or len(scene_desc) > MAX_SCENE_DESC:
            raise InvalidInput(f"scene_desc: 1..{MAX_SCENE_DESC} characters")
        body = {"tid": tid, "kidList": [int(k) for k in kid_list], "sceneDesc": scene_desc}
        return str(self.client.post("/wxaapi/newtmpl/addtemplate", body)["priTmplId"])

    def delete(self, template_id: str) -> None:
        """POST /wxaapi/newtmpl/deltemplate."""
        self.client.post("/wxaapi/newtmpl/deltemplate", {"priTmplId": template_id})

    def templates(self) -> list[dict[str, Any]]:
        """GET /wxaapi/newtmpl/gettemplate -> [{priTmplId, title, content, example, type}]."""
        return list(self.client.get("/wxaapi/newtmpl/gettemplate").get("data") or [])

    def send(
        self,
        touser: str,
        template_id: str,
        data: Mapping[str, Any],
        *,
        page: str | None = None,
        miniprogram: Mapping[str, str] | None = None,
    ) -> str | None:
        """POST /cgi-bin/message/subscribe/bizsend -> msgid when WeChat gives one (it has not
        always: the result arrives as a subscribe_msg_sent_event either way)."""
        body: dict[str, Any] = {
            "touser": touser,
            "template_id": template_id,
            "data": _template_data(data),
        }
        if page:
            body["page"] = page
        if miniprogram:
            body["miniprogram"] = dict(miniprogram)
        answer = self.client.post("/cgi-bin/message/subscribe/bizsend", body)
        msgid = answer.get("msgid", answer.get("msg_id"))
        return str(msgid) if msgid is not None else None
