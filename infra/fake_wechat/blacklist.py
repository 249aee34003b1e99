"""The account's blacklist (tags/members/getblacklist, batchblacklist, batchunblacklist), with
WeChat's limits: 20 openids a change, pages of 10,000."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from infra.fake_wechat.protocol import ApiError, Request
from infra.fake_wechat.server import Routes

BATCH_MAX = 20
PAGE = 10_000
_OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class BlacklistApi:
    SAVED: ClassVar[tuple[str, ...]] = ("_blacklist",)
    ROUTES: ClassVar[Routes] = {
        "/cgi-bin/tags/members/getblacklist": ("POST", "_blacklist_get", True),
        "/cgi-bin/tags/members/batchblacklist": ("POST", "_blacklist_add", True),
        "/cgi-bin/tags/members/batchunblacklist": ("POST", "_blacklist_remove", True),
    }

    def _reset_state(self, *, tokens: bool) -> None:
        super()._reset_state(tokens=tokens)
        self._blacklist: dict[str, None] = {}  # an ordered set

    @property
    def blacklist(self) -> list[str]:
        with self._lock:
            return list(self._blacklist)

    def _blacklist_batch(self, req: Request) -> list[str]:
        openids = req.body().get("openid_list")
        if not isinstance(openids, list) or not openids:
            raise ApiError(40003, "invalid openid")
        if len(openids) > BATCH_MAX:
            raise ApiError(40032, "invalid openid list size, at most 20")
        for openid in openids:
            # Followers reach the app through callbacks the fake never sees: any well-formed
            # openid may be one. (WeChat answers 49003 for another account's openid.)
            if not isinstance(openid, str) or not _OPENID.fullmatch(openid):
                raise ApiError(40003, "invalid openid")
        return list(openids)

    def _blacklist_get(self, req: Request) -> dict[str, Any]:
        begin = str(req.body().get("begin_openid") or "")
        listed = list(self._blacklist)
        start = listed.index(begin) + 1 if begin in self._blacklist else 0
        page = listed[start : start + PAGE]
        return {
            "total": len(listed),
            "count": len(page),
            "data": {"openid": page},
            "next_openid": page[-1] if page else "",
        }

    def _blacklist_add(self, req: Request) -> dict[str, Any]:
        for openid in self._blacklist_batch(req):
            self._blacklist[openid] = None
        return {"errcode": 0, "errmsg": "ok"}

    def _blacklist_remove(self, req: Request) -> dict[str, Any]:
        for openid in self._blacklist_batch(req):
            self._blacklist.pop(openid, None)
        return {"errcode": 0, "errmsg": "ok"}
