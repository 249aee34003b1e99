"""Followers (user/info, batchget, the paged user/get, remarks) and tags (CRUD, members, the
paged followers of a tag)."""

from __future__ import annotations

from typing import Any, ClassVar

from infra.fake_wechat.protocol import ApiError, Request
from infra.fake_wechat.server import Routes
from infra.fake_wechat.state import Sequence

SYSTEM_TAGS = {0, 1, 2}


class UsersApi:
    # The state `make run` keeps between runs (state.py).
    SAVED: ClassVar[tuple[str, ...]] = ("_followers", "_tags", "_tag_members", "_next_tag")
    ROUTES: ClassVar[Routes] = {
        "/cgi-bin/user/info": ("GET", "_user_info", True),
        "/cgi-bin/user/info/batchget": ("POST", "_user_batchget", True),
        "/cgi-bin/user/get": ("GET", "_user_get", True),
        "/cgi-bin/user/info/updateremark": ("POST", "_user_remark", True),
        "/cgi-bin/tags/create": ("POST", "_tags_create", True),
        "/cgi-bin/tags/get": ("GET", "_tags_get", True),
        "/cgi-bin/tags/update": ("POST", "_tags_update", True),
        "/cgi-bin/tags/delete": ("POST", "_tags_delete", True),
        "/cgi-bin/tags/members/batchtagging": ("POST", "_tags_tag", True),
        "/cgi-bin/tags/members/batchuntagging": ("POST", "_tags_untag", True),
        "/cgi-bin/tags/getidlist": ("POST", "_tags_idlist", True),
        "/cgi-bin/user/tag/get": ("POST", "_tag_followers", True),
    }

    def _reset_state(self, *, tokens: bool) -> None:
        super()._reset_state(tokens=tokens)
        self._followers: dict[str, dict[str, Any]] = {}
        self._tags: dict[int, str] = {2: "星标组"}
        self._tag_members: dict[int, dict[str, None]] = {2: {}}  # ordered sets
        self._next_tag = Sequence(100)

    # ---- test helpers --------------------------------------------------------------------

    def add_follower(self, openid: str, **profile: Any) -> dict[str, Any]:
        """Seed a subscribed follower; ``profile`` overrides the default user/info fields."""
        with self._lock:
            record = {
                "subscribe": 1,
                "openid": openid,
                "language": "zh_CN",
                "subscribe_time": int(self.clock()),
                "remark": "",
                "groupid": 0,
                "subscribe_scene": "ADD_SCENE_QR_CODE",
                "qr_scene": 0,
                "qr_scene_str": "",
            }
            record.update(profile)
            self._followers[openid] = record
            return dict(record)

    def remove_follower(self, openid: str) -> None:
        """The follower unsubscribes (user/info then answers ``subscribe: 0``)."""
        with self._lock:
            if openid in self._followers:
                self._followers[openid]["subscribe"] = 0
            for members in self._tag_members.values():
                members.pop(openid, None)

    # ---- users -----------------------------------------------------------------------------

    def _user_tag_ids(self, openid: str) -> list[int]:
        return [tag for tag, members in self._tag_members.items() if openid in members]

    def _profile(self, openid: str, lang: str = "zh_CN") -> dict[str, Any]:
        record = self._followers.get(openid)
        if record is None:
            raise ApiError(40003, "invalid openid")
        if not record.get("subscribe"):
            return {"subscribe": 0, "openid": openid}
        return record | {"tagid_list": self._user_tag_ids(openid)}

    def _user_info(self, req: Request) -> dict[str, Any]:
        return self._profile(req.query.get("openid", ""), req.query.get("lang", "zh_CN"))

    def _user_batchget(self, req: Request) -> dict[str, Any]:
        users = req.body().get("user_list")
        if not isinstance(users, list) or not 1 <= len(users) <= 100:
            raise ApiError(40032, "invalid openid list size")
        return {"user_info_list": [self._profile(str(u.get("openid", ""))) for u in users]}

    def _page(self, openids: list[str], next_openid: str) -> tuple[list[str], str]:
        start = 0
        if next_openid:
            if next_openid not in openids:
                raise ApiError(40003, "invalid next_openid")
            start = openids.index(next_openid) + 1
        page = openids[start : start + self.follower_page_size]
        return page, (page[-1] if page else "")

    def _user_get(self, req: Request) -> dict[str, Any]:
        subscribed = [o for o, r in self._followers.items() if r.get("subscribe")]
        page, cursor = self._page(subscribed, req.query.get("next_openid", ""))
        data: dict[str, Any] = {"total": len(subscribed), "count": len(page)}
        if page:
            data["data"] = {"openid": page}
        data["next_openid"] = cursor
        return data

    def _user_remark(self, req: Request) -> dict[str, Any]:
        body = req.body()
        openid, remark = str(body.get("openid", "")), str(body.get("remark", ""))
        if openid not in self._followers:
            raise ApiError(40003, "invalid openid")
        if len(remark) >= 30:
            raise ApiError(45007, "remark too long")
        self._followers[openid]["remark"] = remark
        return {"errcode": 0, "errmsg": "ok"}

    # ---- tags ----------------------------------------------------------------------------

    def _tag_id(self, value: Any) -> int:
        try:
            tag_id = int(value)
        except (TypeError, ValueError):
            raise ApiError(45159, "invalid tag id") from None
        if tag_id not in self._tags:
            raise ApiError(45159, "invalid tag id")
        return tag_id

    def _tag_name(self, name: Any, exclude: int | None = None) -> str:
        name = str(name or "")
        if not name or len(name) > 30:
            raise ApiError(45158, "tag name too long")
        if any(n == name and t != exclude for t, n in self._tags.items()):
            raise ApiError(45157, "invalid tag name")
        return name

    def _tags_create(self, req: Request) -> dict[str, Any]:
        name = self._tag_name((req.body().get("tag") or {}).get("name"))
        if len(self._tags) >= 100:
            raise ApiError(45056, "too many tags")
        tag_id = next(self._next_tag)
        self._tags[tag_id] = name
        self._tag_members[tag_id] = {}
        return {"tag": {"id": tag_id, "name": name}}

    def _tags_get(self, req: Request) -> dict[str, Any]:
        return {
            "tags": [
                {"id": t, "name": n, "count": len(self._tag_members[t])}
                for t, n in self._tags.items()
            ]
        }

    def _tags_update(self, req: Request) -> dict[str, Any]:
        tag = req.body().get("tag") or {}
        tag_id = self._tag_id(tag.get("id"))
        if tag_id in SYSTEM_TAGS:
            raise ApiError(45058, "can't modify sys tag")
        self._tags[tag_id] = self._tag_name(tag.get("name"), exclude=tag_id)
        return {"errcode": 0, "errmsg": "ok"}

    def _tags_delete(self, req: Request) -> dict[str, Any]:
        tag_id = self._tag_id((req.body().get("tag") or {}).get("id"))
        if tag_id in SYSTEM_TAGS:
            raise ApiError(45058, "can't modify sys tag")
        if len(self._tag_members[tag_id]) > 100_000:
            raise ApiError(45057, "too many fans under this tag")
        del self._tags[tag_id]
        del self._tag_members[tag_id]
        return {"errcode": 0, "errmsg": "ok"}

    def _members_request(self, req: Request) -> tuple[int, list[str]]:
        body = req.body()
        openids = body.get("openid_list")
        if not isinstance(openids, list) or not 1 <= len(openids) <= 50:
            raise ApiError(40032, "invalid openid list size")
        tag_id = self._tag_id(body.get("tagid"))
        for openid in openids:
            if openid not in self._followers:
                raise ApiError(40003, "invalid openid")
        return tag_id, openids

    def _tags_tag(self, req: Request) -> dict[str, Any]:
        tag_id, openids = self._members_request(req)
        if any(len(self._user_tag_ids(o)) >= 20 for o in openids):
            raise ApiError(45059, "the fans' tags are out of limit")
        for openid in openids:
            self._tag_members[tag_id][openid] = None
        return {"errcode": 0, "errmsg": "ok"}

    def _tags_untag(self, req: Request) -> dict[str, Any]:
        tag_id, openids = self._members_request(req)
        for openid in openids:
            self._tag_members[tag_id].pop(openid, None)
        return {"errcode": 0, "errmsg": "ok"}

    def _tags_idlist(self, req: Request) -> dict[str, Any]:
        openid = str(req.body().get("openid", ""))
        if openid not in self._followers:
            raise ApiError(40003, "invalid openid")
        return {"tagid_list": self._user_tag_ids(openid)}

    def _tag_followers(self, req: Request) -> dict[str, Any]:
        body = req.body()
        tag_id = self._tag_id(body.get("tagid"))
        page, cursor = self._page(list(self._tag_members[tag_id]), body.get("next_openid") or "")
        data: dict[str, Any] = {"count": len(page)}
        if page:
            data["data"] = {"openid": page}
        data["next_openid"] = cursor
        return data
