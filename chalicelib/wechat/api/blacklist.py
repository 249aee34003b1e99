"""The account's blacklist (followers who can no longer message the account or receive its
messages): listed in pages of 10,000, changed in batches of 20."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .users import chunked, iter_openid_pages

if TYPE_CHECKING:
    from .transport import Transport

BATCH_MAX = 20  # batchblacklist / batchunblacklist take at most 20 openids a call


class BlacklistAPI:
    def __init__(self, client: Transport) -> None:
        self.client = client

    def page(self, begin_openid: str = "") -> dict[str, Any]:
        """POST /cgi-bin/tags/members/getblacklist: one page ``{total, count, data: {openid},
        next_openid}``."""
        return self.client.post(
            "/cgi-bin/tags/members/getblacklist", {"begin_openid": begin_openid}
        )

    def iter(self) -> Iterator[str]:
        """Every blacklisted openid."""
        return iter_openid_pages(self.page)

    def add(self, openids: Iterable[str]) -> Iterator[list[str]]:
        """POST /cgi-bin/tags/members/batchblacklist in batches of 20; yields each batch once
        WeChat took it (a caller sees how far it got when one fails)."""
        return self._batches("/cgi-bin/tags/members/batchblacklist", openids)

    def remove(self, openids: Iterable[str]) -> Iterator[list[str]]:
        """POST /cgi-bin/tags/members/batchunblacklist in batches of 20, as `add`."""
        return self._batches("/cgi-bin/tags/members/batchunblacklist", openids)

    def _batches(self, path: str, openids: Iterable[str]) -> Iterator[list[str]]:
        for batch in chunked(openids, BATCH_MAX):
            self.client.post(path, {"openid_list": batch})
            yield batch
