"""WeChat's own customer service: kf accounts (add, update, del, inviteworker, the list and who
is online) and sessions (create, close, getsession), with WeChat's error codes."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from infra.fake_wechat.protocol import ApiError, Request
from infra.fake_wechat.server import Routes

KF_ACCOUNT = re.compile(r"[A-Za-z0-9_]{1,10}@[A-Za-z0-9_.-]{1,64}")
MAX_ACCOUNTS = 100


class KfApi:
    # The state `make run` keeps between runs (state.py).
    SAVED: ClassVar[tuple[str, ...]] = ("_kf_accounts", "_kf_sessions")
    ROUTES: ClassVar[Routes] = {
        "/cgi-bin/customservice/getkflist": ("GET", "_kf_list", True),
        "/cgi-bin/customservice/getonlinekflist": ("GET", "_kf_online", True),
        "/customservice/kfaccount/add": ("POST", "_kf_add", True),
        "/customservice/kfaccount/update": ("POST", "_kf_update", True),
        "/customservice/kfaccount/del": ("GET", "_kf_del", True),
        "/customservice/kfaccount/inviteworker": ("POST", "_kf_invite", True),
        "/customservice/kfsession/create": ("POST", "_kf_session_create", True),
        "/customservice/kfsession/close": ("POST", "_kf_session_close", True),
        "/customservice/kfsession/getsession": ("GET", "_kf_session_get", True),
    }

    def _reset_state(self, *, tokens: bool) -> None:
        super()._reset_state(tokens=tokens)
        self._kf_accounts: dict[str, dict[str, Any]] = {}
        self._kf_sessions: dict[str, dict[str, Any]] = {}  # openid -> {kf_account, createtime}

    # ---- test helpers --------------------------------------------------------------------

    def kf_bind(self, kf_account: str, wechat_id: str = "agent_wx", online: bool = True) -> None:
        """The invited person accepted: the account is bound (and online, by default)."""
        with self._lock:
            account = self._kf_accounts[kf_account]
            account.update(kf_wx=wechat_id, invite_status="", online=online)

    @property
    def kf_sessions(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {k: dict(v) for k, v in self._kf_sessions.items()}

    # ---- routes --------------------------------------------------------------------------

    def _kf_account(self, value: Any) -> str:
        if not isinstance(value, str) or not KF_ACCOUNT.fullmatch(value):
            raise ApiError(65400, "invalid kf_account")
        return value

    def _kf_known(self, value: Any) -> dict[str, Any]:
        account = self._kf_accounts.get(self._kf_account(value))
        if account is None:
            raise ApiError(65401, "invalid kf_account: not exist")
        return account

    def _kf_list(self, req: Request) -> dict[str, Any]:
        return {
            "kf_list": [
                {k: v for k, v in account.items() if k != "online"}
                for account in self._kf_accounts.values()
            ]
        }

    def _kf_online(self, req: Request) -> dict[str, Any]:
        online = []
        for account in self._kf_accounts.values():
            if account.get("online"):
                accepted = sum(
                    1
                    for s in self._kf_sessions.values()
                    if s["kf_account"] == account["kf_account"]
                )
                online.append(
                    {
                        "kf_account": account["kf_account"],
                        "status": 1,
                        "kf_id": account["kf_id"],
                        "accepted_case": accepted,
                    }
                )
        return {"kf_online_list": online}

    def _kf_add(self, req: Request) -> dict[str, Any]:
        body = req.body()
        kf_account = self._kf_account(body.get("kf_account"))
        nickname = body.get("nickname")
        if not isinstance(nickname, str) or not nickname or len(nickname) > 16:
            raise ApiError(65404, "invalid nickname")
        if kf_account in self._kf_accounts:
            raise ApiError(65406, "kf_account exsited")
        if len(self._kf_accounts) >= MAX_ACCOUNTS:
            raise ApiError(65405, "account number exceeds the limit")
        self._kf_accounts[kf_account] = {
            "kf_account": kf_account,
            "kf_nick": nickname,
            "kf_id": str(next(self._ids)),
            "kf_headimgurl": "",
            "invite_status": "",
            "online": False,
        }
        return {"errcode": 0, "errmsg": "ok"}

    def _kf_update(self, req: Request) -> dict[str, Any]:
        body = req.body()
        account = self._kf_known(body.get("kf_account"))
        nickname = body.get("nickname")
        if not isinstance(nickname, str) or not nickname or len(nickname) > 16:
            raise ApiError(65404, "invalid nickname")
        account["kf_nick"] = nickname
        return {"errcode": 0, "errmsg": "ok"}

    def _kf_del(self, req: Request) -> dict[str, Any]:
        account = self._kf_known(req.query.get("kf_account"))
        del self._kf_accounts[account["kf_account"]]
        for openid in [
            o for o, s in self._kf_sessions.items() if s["kf_account"] == account["kf_account"]
        ]:
            del self._kf_sessions[openid]
        return {"errcode": 0, "errmsg": "ok"}

    def _kf_invite(self, req: Request) -> dict[str, Any]:
        body = req.body()
        account = self._kf_known(body.get("kf_account"))
        if not body.get("invite_wx"):
            raise ApiError(65407, "invite_wx missing")
        if account.get("kf_wx"):
            raise ApiError(65408, "the kf_account has bound a wechat")
        account.update(invite_wx=body["invite_wx"], invite_status="waiting")
        return {"errcode": 0, "errmsg": "ok"}

    def _kf_session_create(self, req: Request) -> dict[str, Any]:
        body = req.body()
        account = self._kf_known(body.get("kf_account"))
        openid = body.get("openid")
        if not isinstance(openid, str) or not openid:
            raise ApiError(40003, "invalid openid")
        if not account.get("kf_wx"):
            raise ApiError(65413, "kf_account is not bound to a wechat")
        if not account.get("online"):
            raise ApiError(65414, "kf_account is offline")
        current = self._kf_sessions.get(openid)
        if current is not None and current["kf_account"] != account["kf_account"]:
            raise ApiError(65415, "the user is in another kf session")
        self._kf_sessions[openid] = {
            "kf_account": account["kf_account"],
            "createtime": int(self.clock()),
        }
        return {"errcode": 0, "errmsg": "ok"}

    def _kf_session_close(self, req: Request) -> dict[str, Any]:
        body = req.body()
        account = self._kf_known(body.get("kf_account"))
        current = self._kf_sessions.get(str(body.get("openid")))
        if current is None or current["kf_account"] != account["kf_account"]:
            raise ApiError(65416, "no such kf session")
        del self._kf_sessions[str(body.get("openid"))]
        return {"errcode": 0, "errmsg": "ok"}

    def _kf_session_get(self, req: Request) -> dict[str, Any]:
        current = self._kf_sessions.get(req.query.get("openid", ""))
        if current is None:
            return {"kf_account": "", "createtime": 0}
        return dict(current)
