"""Who a campaign reaches, one page at a time, with a cursor that survives a crash.

| audience | source                                          | cursor                          |
| -------- | ----------------------------------------------- | ------------------------------- |
| all      | WeChat `user/get` (10,000 per page)             | WeChat's next_openid            |
| tag      | WeChat `user/tag/get`                           | WeChat's next_openid            |
| openids  | the list, stored with the campaign (`l#` parts) | index of the next part          |
| query    | the follower records (chalicelib.store.followers| the follower search's cursor    |
|          | search: tag, region, active_since, q), subscribed only                            |

Mass sends to `all` or a tag never page: one `sendall` reaches them. Template campaigns page
through every audience; mass sends page only through a query.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib.store import campaign_items as items
from chalicelib.wechat.api import WeChatAPIError

log = logging.getLogger("wxless.campaigns")

if TYPE_CHECKING:
    from chalicelib.wechat.api import WeChatClient

PART_SIZE = 10_000  # openids per stored list part


@dataclass(frozen=True)
class Page:
    openids: list[str]
    cursor: str | None  # where the next page starts; None: this was the last page


def list_parts(openids: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """An openid-list audience as stored parts (written with the campaign)."""
    return [
        (items.part_sk(i + 1), {"openids": items.encode_openids(openids[s : s + PART_SIZE])})
        for i, s in enumerate(range(0, len(openids), PART_SIZE))
    ]


def next_page(
    campaign: Mapping[str, Any],
    audience: Mapping[str, Any],
    cursor: str | None,
    client: WeChatClient,
    size: int = PART_SIZE,
) -> Page:
    kind = audience["type"]
    if kind == "all":
        data = client.users.followers(next_openid=cursor or None)
        return _wechat_page(data)
    if kind == "tag":
        data = client.tags.tag_followers(int(audience["tag_id"]), next_openid=cursor or "")
        return _wechat_page(data)
    if kind == "openids":
        index = int(cursor or 1)
        part = items.get_part(campaign["id"], items.part_sk(index))
        if part is None:
            return Page([], None)
        more = index < int(campaign.get("parts") or 0)
        return Page(items.decode_openids(part.get("openids")), str(index + 1) if more else None)
    return _query_page(audience.get("query") or {}, cursor, size)


def _wechat_page(data: Mapping[str, Any]) -> Page:
    openids = list((data.get("data") or {}).get("openid") or [])
    if not openids:
        return Page([], None)
    # WeChat's next_openid is the page's last openid; the end shows as an empty page.
    return Page(openids, str(data.get("next_openid") or "") or None)


def _query_page(query: Mapping[str, Any], cursor: str | None, size: int) -> Page:
    from chalicelib.followers import activity
    from chalicelib.store import followers

    filters = followers.Filters(
        tag=query.get("tag"),
        region=query.get("region"),
        subscribed=True,
        active_since=query.get("active_since"),
        q=query.get("q"),
    )
    found: list[str] = []
    while len(found) < size:
        items, cursor = activity.search(
            filters, limit=size - len(found), cursor=cursor, with_activity=False
        )
        found.extend(item["openid"] for item in items)
        if not cursor:
            return Page(found, None)
    return Page(found, cursor)


def follower_profiles(
    openids: Iterable[str], fields: set[str], client: WeChatClient
) -> dict[str, dict[str, Any]]:
    """Profiles for template data: the follower records first, WeChat's user-info API for the
    followers we have no record of. Only called when the data names a field besides openid."""
    wanted = list(openids)
    profiles: dict[str, dict[str, Any]] = {o: {"openid": o} for o in wanted}
    if not fields:
        return profiles
    missing = set(wanted)
    from chalicelib.store import followers

    for openid, record in followers.get_many(wanted).items():
        profiles[openid] = record
        missing.discard(openid)
    ordered = sorted(missing)
    for start in range(0, len(ordered), 100):
        for info in _batch_info(ordered[start : start + 100], client):
            openid = info.get("openid")
            if openid in profiles:
                tags = info.get("tagid_list")
                profiles[openid] = {**info, "tags": tags or [], "openid": openid}
    return profiles


def _batch_info(openids: list[str], client: WeChatClient) -> list[dict[str, Any]]:
    """user/info/batchget; one openid WeChat does not know fails the whole call (40003), so a
    failed call is split in halves until the bad openids are alone: they get their openid only
    (the send will say what is wrong with them), the others their profile. Costs about
    2 log2(100) extra calls per bad openid."""
    try:
        return list(client.users.batch_info(openids))
    except WeChatAPIError as exc:
        if exc.retryable or len(openids) == 1:
            log.warning("campaigns.profiles_unavailable n=%d %s", len(openids), exc)
            return []
    half = len(openids) // 2
    return _batch_info(openids[:half], client) + _batch_info(openids[half:], client)
