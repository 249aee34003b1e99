"""Follower profiles and the follower list."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from chalicelib.errors import InvalidInput

if TYPE_CHECKING:
    from .transport import Transport

BATCH_INFO_MAX = 100  # user/info/batchget accepts at most 100 openids per call


def chunked(items: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def iter_openid_pages(fetch: Any, next_openid: str = "") -> Iterator[str]:
    """Walk a ``{total, count, data: {openid: []}, next_openid}`` listing (user/get, user/tag/get).

    Stops on an empty page, a missing/repeated cursor, or once ``total`` openids were seen, so a
    list that ends exactly on a page boundary does not cost an extra call.
    """
    seen = 0
    cursor = next_openid
    while True:
        page = fetch(cursor)
        openids = (page.get("data") or {}).get("openid") or []
        yield from openids
        seen += len(openids)
        total = page.get("total")
        new_cursor = page.get("next_openid") or ""
        if not openids or not new_cursor or new_cursor == cursor:
            return
        if total is not None and seen >= int(total):
            return
        cursor = new_cursor


class UsersAPI:
    def __init__(self, client: Transport) -> None:
        self.client = client

    def info(self, openid: str, lang: str = "zh_CN") -> dict[str, Any]:
        """GET /cgi-bin/user/info. Since 2021 WeChat no longer returns nickname/avatar."""
        return self.client.get("/cgi-bin/user/info", {"openid": openid, "lang": lang})

    def batch_info(self, openids: Iterable[str], lang: str = "zh_CN") -> list[dict[str, Any]]:
        """POST /cgi-bin/user/info/batchget, chunked by 100; results keep the input order."""
        result: list[dict[str, Any]] = []
        for batch in chunked(openids, BATCH_INFO_MAX):
            data = self.client.post(
                "/cgi-bin/user/info/batchget",
                {"user_list": [{"openid": o, "lang": lang} for o in batch]},
            )
            result.extend(data.get("user_info_list") or [])
        return result

    def followers(self, next_openid: str | None = None) -> dict[str, Any]:
        """GET /cgi-bin/user/get: one page (up to 10,000) ``{total, count, data, next_openid}``."""
        return self.client.get("/cgi-bin/user/get", {"next_openid": next_openid or None})

    def iter_followers(self, next_openid: str | None = None) -> Iterator[str]:
        """Yield every follower openid, paging with next_openid."""
        return iter_openid_pages(lambda cursor: self.followers(cursor), next_openid or "")

    def update_remark(self, openid: str, remark: str) -> None:
        """POST /cgi-bin/user/info/updateremark (remark under 30 characters)."""
        if len(remark) >= 30:
            raise InvalidInput("remark must be shorter than 30 characters")
        self.client.post("/cgi-bin/user/info/updateremark", {"openid": openid, "remark": remark})
