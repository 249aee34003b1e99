"""WeChat's own customer service (客服): its accounts (`customservice/kfaccount/*`, the list
and who is online) and sessions (`customservice/kfsession/*`: hand a follower to an account).

An account is `<name>@<the account's WeChat id>` (the name: letters, digits, `_`, at most 10);
its nickname at most 16 characters. A session needs an account that is bound to a WeChat user
and online.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from chalicelib.errors import InvalidInput

if TYPE_CHECKING:
    from .transport import Transport

KF_ACCOUNT = re.compile(r"[A-Za-z0-9_]{1,10}@[A-Za-z0-9_.-]{1,64}")
MAX_NICKNAME_CHARS = 16


def check_account(kf_account: Any) -> str:
    if not isinstance(kf_account, str) or not KF_ACCOUNT.fullmatch(kf_account):
        raise InvalidInput("kf_account must look like name@wechat_id (name: 1..10 of a-z0-9_)")
    return kf_account


def check_nickname(nickname: Any) -> str:
    if not isinstance(nickname, str) or not nickname.strip():
        raise InvalidInput("nickname must be a non-empty string")
    if len(nickname) > MAX_NICKNAME_CHARS:
        raise InvalidInput(f"nickname: at most {MAX_NICKNAME_CHARS} characters")
    return nickname.strip()


class KfAPI:
    def __init__(self, client: Transport) -> None:
        self.client = client

    def accounts(self) -> list[dict[str, Any]]:
        """GET /cgi-bin/customservice/getkflist -> [{kf_account, kf_nick, kf_id, ...}]."""
        return list(self.client.get("/cgi-bin/customservice/getkflist").get("kf_list") or [])

    def online(self) -> list[dict[str, Any]]:
        """GET /cgi-bin/customservice/getonlinekflist -> [{kf_account, status, accepted_case}]."""
        data = self.client.get("/cgi-bin/customservice/getonlinekflist")
        return list(data.get("kf_online_list") or [])

    def add(self, kf_account: str, nickname: str) -> None:
        body = {"kf_account": check_account(kf_account), "nickname": check_nickname(nickname)}
        self.client.post("/customservice/kfaccount/add", body)

    def update(self, kf_account: str, nickname: str) -> None:
        body = {"kf_account": check_account(kf_account), "nickname": check_nickname(nickname)}
        self.client.post("/customservice/kfaccount/update", body)

    def delete(self, kf_account: str) -> None:
        self.client.get("/customservice/kfaccount/del", {"kf_account": check_account(kf_account)})

    def invite(self, kf_account: str, invite_wx: str) -> None:
        """Ask a WeChat user to bind to the account (they accept in WeChat)."""
        if not isinstance(invite_wx, str) or not invite_wx.strip():
            raise InvalidInput("invite_wx must be the WeChat id of the person to invite")
        body = {"kf_account": check_account(kf_account), "invite_wx": invite_wx.strip()}
        self.client.post("/customservice/kfaccount/inviteworker", body)

    def create_session(self, kf_account: str, openid: str) -> None:
        body = {"kf_account": check_account(kf_account), "openid": openid}
        self.client.post("/customservice/kfsession/create", body)

    def close_session(self, kf_account: str, openid: str) -> None:
        body = {"kf_account": check_account(kf_account), "openid": openid}
        self.client.post("/customservice/kfsession/close", body)

    def session(self, openid: str) -> dict[str, Any]:
        """GET /customservice/kfsession/getsession -> {kf_account, createtime} ("" when none)."""
        return self.client.get("/customservice/kfsession/getsession", {"openid": openid})
