"""Messages to followers: customer-service messages, template messages (and the account's
templates), and mass sends (to all, to a tag, to a list of openids; preview, status, delete) with
WeChat's clientmsgid deduplication."""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar

from infra.fake_wechat.protocol import ApiError, Request
from infra.fake_wechat.server import Routes

CUSTOM_MSGTYPES = {
    "text",
    "image",
    "voice",
    "video",
    "music",
    "news",
    "mpnews",
    "mpnewsarticle",
    "msgmenu",
    "wxcard",
    "miniprogrampage",
}
MASS_MSGTYPES = {"mpnews": "mpnews", "text": "text", "voice": "voice", "image": "images"}
MASS_MSGTYPES |= {"mpvideo": "mpvideo", "wxcard": "wxcard"}
TEMPLATE_DEDUP_SECONDS = 600  # template/send: one message per openid + client_msg_id


class MessagesApi:
    # The state `make run` keeps between runs (state.py).
    SAVED: ClassVar[tuple[str, ...]] = (
        "_templates",
        "_custom_messages",
        "_template_messages",
        "_mass_jobs",
        "_clientmsgids",
        "_template_keys",
    )
    ROUTES: ClassVar[Routes] = {
        "/cgi-bin/message/custom/send": ("POST", "_custom_send", True),
        "/cgi-bin/message/template/send": ("POST", "_template_send", True),
        "/cgi-bin/template/get_all_private_template": ("GET", "_templates_all", True),
        "/cgi-bin/message/mass/sendall": ("POST", "_mass_sendall", True),
        "/cgi-bin/message/mass/send": ("POST", "_mass_send", True),
        "/cgi-bin/message/mass/preview": ("POST", "_mass_preview", True),
        "/cgi-bin/message/mass/get": ("POST", "_mass_get", True),
        "/cgi-bin/message/mass/delete": ("POST", "_mass_delete", True),
    }

    def _reset_state(self, *, tokens: bool) -> None:
        super()._reset_state(tokens=tokens)
        self._templates: dict[str, dict[str, Any]] = {}
        self._custom_messages: list[dict[str, Any]] = []
        self._template_messages: list[dict[str, Any]] = []
        self._mass_jobs: dict[int, dict[str, Any]] = {}
        self._clientmsgids: dict[str, int] = {}
        # "<openid> <client_msg_id>" -> [msgid, sent at]: template/send's dedup (10 minutes)
        self._template_keys: dict[str, list[float]] = {}
        self.add_template(
            "tmpl_txn_notice_0001",
            "交易提醒",
            "{{first.DATA}}\n交易时间：{{keyword1.DATA}}\n交易金额：{{keyword2.DATA}}\n"
            "{{remark.DATA}}",
        )

    # ---- test helpers --------------------------------------------------------------------

    def add_template(self, template_id: str, title: str, content: str, **extra: Any) -> None:
        with self._lock:
            self._templates[template_id] = {
                "template_id": template_id,
                "title": title,
                "primary_industry": extra.pop("primary_industry", "金融业"),
                "deputy_industry": extra.pop("deputy_industry", "银行"),
                "content": content,
                "example": extra.pop("example", ""),
                **extra,
            }

    @property
    def custom_messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._custom_messages)

    @property
    def template_messages(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._template_messages)

    @property
    def mass_jobs(self) -> dict[int, dict[str, Any]]:
        with self._lock:
            return dict(self._mass_jobs)

    # ---- API -------------------------------------------------------------------------------

    def _custom_send(self, req: Request) -> dict[str, Any]:
        body = req.body()
        if not body.get("touser"):
            raise ApiError(40003, "invalid openid")
        msgtype = body.get("msgtype")
        if msgtype not in CUSTOM_MSGTYPES:
            raise ApiError(40008, "invalid message type")
        if not isinstance(body.get(msgtype), dict):
            raise ApiError(47001, "data format error")
        if msgtype == "news" and len(body["news"].get("articles") or []) != 1:
            raise ApiError(45008, "article size out of limit")  # 1 article since 2018-10-12
        self._custom_messages.append(body)
        return {"errcode": 0, "errmsg": "ok"}

    def _template_send(self, req: Request) -> dict[str, Any]:
        body = req.body()
        if not body.get("touser"):
            raise ApiError(40003, "invalid openid")
        if body.get("template_id") not in self._templates:
            raise ApiError(40037, "invalid template_id")
        data = body.get("data")
        if not isinstance(data, dict) or not all(
            isinstance(v, dict) and "value" in v for v in data.values()
        ):
            raise ApiError(47001, "data format error")
        follower = self._followers.get(str(body["touser"]))
        if follower is not None and not follower.get("subscribe"):
            raise ApiError(43004, "require subscribe")
        self._check_template_data(body["template_id"], data)  # 47003 (templates.py)
        key = f"{body['touser']} {body.get('client_msg_id')}" if body.get("client_msg_id") else ""
        seen = self._template_keys.get(key)
        if seen is not None and self.clock() - seen[1] < TEMPLATE_DEDUP_SECONDS:
            # One message per openid + client_msg_id within 10 minutes: the same answer again.
            return {"errcode": 0, "errmsg": "ok", "msgid": int(seen[0])}
        msgid = next(self._ids) + 200_000_000
        self._template_messages.append(body | {"msgid": msgid})
        if key:
            self._template_keys[key] = [msgid, self.clock()]
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def _templates_all(self, req: Request) -> dict[str, Any]:
        return {"template_list": list(self._templates.values())}

    def _mass_payload(self, body: dict[str, Any]) -> str:
        msgtype = body.get("msgtype")
        key = MASS_MSGTYPES.get(str(msgtype))
        if key is None:
            raise ApiError(40008, "invalid message type")
        if not isinstance(body.get(key), dict):
            raise ApiError(47001, "data format error")
        if msgtype in ("mpnews",) and str(body[key].get("media_id")) not in self._drafts:
            raise ApiError(40007, "invalid media_id")
        if msgtype == "image" and not (
            isinstance(body[key].get("media_ids"), list) and body[key]["media_ids"]
        ):
            raise ApiError(47001, "data format error")  # images: {media_ids: [...]}
        if msgtype == "mpvideo" and str(body[key].get("media_id")) not in self._mass_videos:
            raise ApiError(40007, "invalid media_id")  # needs media/uploadvideo's media_id
        return key

    def _mass_submit(self, path: str, body: dict[str, Any], audience: list[str]) -> dict:
        key = self._mass_payload(body)
        clientmsgid = body.get("clientmsgid")
        if clientmsgid is not None and len(str(clientmsgid).encode()) > 64:
            raise ApiError(45067, "clientmsgid size out of limit")
        if clientmsgid is None:
            # WeChat's default clientmsgid is a digest of the audience and the content.
            scope = body.get("filter") or body.get("touser")
            digest = json.dumps([scope, body.get(key)], sort_keys=True, ensure_ascii=False)
            clientmsgid = "auto:" + hashlib.sha256(digest.encode()).hexdigest()
        existing = self._clientmsgids.get(str(clientmsgid))
        if existing is not None:
            raise ApiError(45065, "clientmsgid exist", msg_id=existing)
        msg_id = next(self._ids) + 3_000_000_000
        job: dict[str, Any] = {
            "path": path,
            "msg_id": msg_id,
            "msgtype": body["msgtype"],
            "payload": body[key],
            "clientmsgid": body.get("clientmsgid"),
            "audience": audience,
            "msg_status": "SEND_SUCCESS",
        }
        answer: dict[str, Any] = {
            "errcode": 0,
            "errmsg": "send job submission success",
            "msg_id": msg_id,
        }
        if body["msgtype"] == "mpnews":
            job["msg_data_id"] = answer["msg_data_id"] = next(self._ids) + 2_000_000_000
        self._hold_if_protected(job, body)  # mass_protection.py
        self._clientmsgids[str(clientmsgid)] = msg_id
        self._mass_jobs[msg_id] = job
        return answer

    def _mass_sendall(self, req: Request) -> dict[str, Any]:
        body = req.body()
        filt = body.get("filter")
        if not isinstance(filt, dict):
            raise ApiError(47001, "data format error")
        subscribed = [o for o, r in self._followers.items() if r.get("subscribe")]
        if filt.get("is_to_all"):
            audience = subscribed
        else:
            tag_id = filt.get("tag_id")
            if tag_id is None:
                raise ApiError(47001, "data format error")
            try:
                members = self._tag_members[int(tag_id)]
            except (KeyError, TypeError, ValueError):
                raise ApiError(40050, "invalid tag id") from None
            audience = [o for o in subscribed if o in members]
        return self._mass_submit(req.path, body, audience)

    def _mass_send(self, req: Request) -> dict[str, Any]:
        body = req.body()
        touser = body.get("touser")
        if not isinstance(touser, list) or len(touser) < 2:
            raise ApiError(40130, "invalid openid list size, at least two openid")
        if len(touser) > 10_000:
            raise ApiError(40032, "invalid openid list size")
        return self._mass_submit(req.path, body, [str(o) for o in touser])

    def _mass_preview(self, req: Request) -> dict[str, Any]:
        body = req.body()
        if not body.get("touser") and not body.get("towxname"):
            raise ApiError(40003, "invalid openid")
        self._mass_payload(body)
        msg_id = next(self._ids) + 3_000_000_000
        self._mass_jobs[msg_id] = {
            "path": req.path,
            "msg_id": msg_id,
            "msgtype": body["msgtype"],
            "audience": [body.get("touser") or body.get("towxname")],
            "msg_status": "SEND_SUCCESS",
        }
        return {"errcode": 0, "errmsg": "preview success", "msg_id": msg_id}

    def _mass_job(self, msg_id: Any) -> dict[str, Any]:
        try:
            return self._mass_jobs[int(msg_id)]
        except (KeyError, TypeError, ValueError):
            raise ApiError(40097, "invalid msg_id") from None

    def _mass_get(self, req: Request) -> dict[str, Any]:
        job = self._mass_job(req.body().get("msg_id"))
        return {"msg_id": job["msg_id"], "msg_status": self._mass_status(job)}

    def _mass_delete(self, req: Request) -> dict[str, Any]:
        job = self._mass_job(req.body().get("msg_id"))
        job["msg_status"] = "DELETE"
        return {"errcode": 0, "errmsg": "ok"}
