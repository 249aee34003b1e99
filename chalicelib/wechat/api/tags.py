"""Follower tags (the successor of groups). Tags 0, 1 and 2 are reserved by WeChat."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from chalicelib.errors import InvalidInput

from .users import chunked, iter_openid_pages

if TYPE_CHECKING:
    from .transport import Transport

TAG_MEMBERS_MAX = 50  # batchtagging / batchuntagging accept at most 50 openids per call
MAX_TAG_NAME_CHARS = 30


def _check_name(name: str) -> None:
    if not name.strip():
        raise InvalidInput("tag name must not be empty")
    if len(name) > MAX_TAG_NAME_CHARS:
        raise InvalidInput(f"tag name: {len(name)} characters, limit {MAX_TAG_NAME_CHARS}")


class TagsAPI:
    def __init__(self, client: Transport) -> None:
        self.client = client

    def create(self, name: str) -> dict[str, Any]:
        """POST /cgi-bin/tags/create -> {id, name}."""
        _check_name(name)
        data = self.client.post("/cgi-bin/tags/create", {"tag": {"name": name}})
        return dict(data["tag"])

    def list(self) -> list[dict[str, Any]]:
        """GET /cgi-bin/tags/get -> [{id, name, count}]."""
        return list(self.client.get("/cgi-bin/tags/get").get("tags") or [])

    def update(self, tag_id: int, name: str) -> None:
        """POST /cgi-bin/tags/update."""
        _check_name(name)
        self.client.post("/cgi-bin/tags/update", {"tag": {"id": tag_id, "name": name}})

    def delete(self, tag_id: int) -> None:
        """POST /cgi-bin/tags/delete (WeChat refuses tags with more than 100,000 members)."""
        self.client.post("/cgi-bin/tags/delete", {"tag": {"id": tag_id}})

    def tag_users(self, tag_id: int, openids: Iterable[str]) -> int:
        """POST /cgi-bin/tags/members/batchtagging in chunks of 50; returns the call count."""
        return self._members("/cgi-bin/tags/members/batchtagging", tag_id, openids)

    def untag_users(self, tag_id: int, openids: Iterable[str]) -> int:
        """POST /cgi-bin/tags/members/batchuntagging in chunks of 50; returns the call count."""
        return self._members("/cgi-bin/tags/members/batchuntagging", tag_id, openids)

    def user_tags(self, openid: str) -> list[int]:
        """POST /cgi-bin/tags/getidlist -> tag ids of one follower."""
        data = self.client.post("/cgi-bin/tags/getidlist", {"openid": openid})
        return [int(t) for t in data.get("tagid_list") or []]

    def tag_followers(self, tag_id: int, next_openid: str = "") -> dict[str, Any]:
        """POST /cgi-bin/user/tag/get: one page ``{count, data: {openid}, next_openid}``."""
        return self.client.post(
            "/cgi-bin/user/tag/get", {"tagid": tag_id, "next_openid": next_openid}
        )

    def iter_tag_followers(self, tag_id: int, next_openid: str = "") -> Iterator[str]:
        return iter_openid_pages(lambda cursor: self.tag_followers(tag_id, cursor), next_openid)

    def _members(self, path: str, tag_id: int, openids: Iterable[str]) -> int:
        calls = 0
        for batch in chunked(openids, TAG_MEMBERS_MAX):
            self.client.post(path, {"openid_list": batch, "tagid": tag_id})
            calls += 1
        return calls
