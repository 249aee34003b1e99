"""The account's blacklist, kept by WeChat (tags/members/getblacklist, batchblacklist,
batchunblacklist): a blacklisted follower can no longer message the account, and WeChat
delivers the account's messages to them no more. Nothing is stored here: WeChat's list is the
record."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.errors import InvalidInput
from chalicelib.wechat.api import WeChatAPIError

if TYPE_CHECKING:
    from chalicelib.wechat.api import WeChatClient

MAX_PER_REQUEST = 200  # 10 WeChat calls of 20: well inside the admin function's time
_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _openids(body: Mapping[str, Any]) -> list[str]:
    unknown = sorted(set(body) - {"openids"})
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
    openids = body.get("openids")
    if not isinstance(openids, list) or not openids:
        raise InvalidInput("openids: a non-empty list of openids", field="openids")
    if len(openids) > MAX_PER_REQUEST:
        raise InvalidInput(f"openids: at most {MAX_PER_REQUEST} per request", field="openids")
    for openid in openids:
        if not isinstance(openid, str) or not _OPENID.fullmatch(openid):
            raise InvalidInput(f"openids: {str(openid)[:40]!r} is not an openid", field="openids")
    return list(dict.fromkeys(openids))


def listing(client: WeChatClient) -> dict[str, Any]:
    openids = list(client.blacklist.iter())
    return {"openids": openids, "total": len(openids)}


def _apply(batches: Iterator[list[str]], key: str) -> list[str]:
    done: list[str] = []
    try:
        for batch in batches:
            done.extend(batch)
    except WeChatAPIError as exc:
        exc.extra[key] = done  # the batches WeChat took before it refused one
        raise
    return done


def add(body: Mapping[str, Any], client: WeChatClient) -> dict[str, Any]:
    """POST /admin/blacklist {"openids"} -> {"blacklisted": [...]}."""
    return {"blacklisted": _apply(client.blacklist.add(_openids(body)), "blacklisted")}


def remove(body: Mapping[str, Any], client: WeChatClient) -> dict[str, Any]:
    """POST /admin/blacklist/remove {"openids"} -> {"removed": [...]}."""
    return {"removed": _apply(client.blacklist.remove(_openids(body)), "removed")}
