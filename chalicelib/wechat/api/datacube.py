"""WeChat's own statistics of the account (数据统计, `/datacube/*`): one call per date range,
each API with its own longest range; data exists from the day before today (Beijing) back to
2014-12-01. Errors: 61500 date format, 61501 date range."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .transport import Transport

# API -> the most days one call may cover (WeChat's documented spans).
SPANS = {
    "getusersummary": 7,
    "getusercumulate": 7,
    "getarticlesummary": 1,
    "getuserread": 3,
    "getupstreammsg": 7,
}


class DatacubeAPI:
    def __init__(self, client: Transport) -> None:
        self.client = client

    def get(self, api: str, begin: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """POST /datacube/<api> {begin_date, end_date} -> its `list` (one entry per day and
        source, type or article, as the API counts)."""
        if api not in SPANS:
            raise ValueError(f"unknown datacube API {api!r}")  # a bug: 500
        if not 0 <= (end - begin).days < SPANS[api]:
            raise ValueError(f"{api} covers 1..{SPANS[api]} days per call")  # a bug: 500
        body = {"begin_date": begin.isoformat(), "end_date": end.isoformat()}
        return list(self.client.post(f"/datacube/{api}", body).get("list") or [])

    def user_summary(self, begin: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """New and cancelled followers per day and source (`user_source`)."""
        return self.get("getusersummary", begin, end)

    def user_cumulate(self, begin: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """Followers at the end of each day."""
        return self.get("getusercumulate", begin, end)

    def article_summary(self, day: dt.date) -> list[dict[str, Any]]:
        """Reads, shares and favourites of each article sent that day, on that day."""
        return self.get("getarticlesummary", day, day)

    def user_read(self, begin: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """Reads, shares and favourites of all articles per day."""
        return self.get("getuserread", begin, end)

    def upstream_messages(self, begin: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """Messages followers sent per day and type (`msg_type`)."""
        return self.get("getupstreammsg", begin, end)
