"""WeChat's statistics (`/datacube/*`): plausible, stable numbers for any past day (the same
day always gives the same figures, and each day's follower total is the previous one's plus its
new minus its cancelled followers), with WeChat's range rules: dates as YYYY-MM-DD (61500), at
most N days per call and nothing from today on (61501)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, ClassVar

from infra.fake_wechat.protocol import ApiError, Request
from infra.fake_wechat.server import Routes

SPANS = {
    "getusersummary": 7,
    "getusercumulate": 7,
    "getarticlesummary": 1,
    "getuserread": 3,
    "getupstreammsg": 7,
}
BEIJING = dt.timezone(dt.timedelta(hours=8))
ORIGIN = dt.date(2024, 1, 1)  # the follower total is counted from here
TITLES = ("理财早知道", "信用卡积分兑换指南", "网点营业时间调整公告", "防范电信诈骗提示")


def _n(day: dt.date, salt: str, low: int, high: int) -> int:
    digest = hashlib.sha256(f"{day.isoformat()}:{salt}".encode()).digest()
    return low + int.from_bytes(digest[:4], "big") % (high - low + 1)


def _summary(day: dt.date) -> list[dict[str, Any]]:
    return [
        {"ref_date": day.isoformat(), "user_source": source, "new_user": new, "cancel_user": gone}
        for source, new, gone in (
            (0, _n(day, "new0", 2, 10), _n(day, "gone", 1, 6)),
            (1, _n(day, "new1", 3, 15), 0),
            (30, _n(day, "new30", 5, 40), 0),
        )
    ]


def _net(day: dt.date) -> int:
    return sum(r["new_user"] - r["cancel_user"] for r in _summary(day))


class DatacubeApi:
    ROUTES: ClassVar[Routes] = {f"/datacube/{api}": ("POST", f"_cube_{api}", True) for api in SPANS}

    def _reset_state(self, *, tokens: bool) -> None:
        super()._reset_state(tokens=tokens)
        self._cumulate: dict[dt.date, int] = {}  # a cache: every figure derives from the date

    def _cube_days(self, req: Request, api: str) -> list[dt.date]:
        body = req.body()
        try:
            begin = dt.date.fromisoformat(str(body.get("begin_date")))
            end = dt.date.fromisoformat(str(body.get("end_date")))
        except ValueError:
            raise ApiError(61500, "date format error") from None
        today = dt.datetime.fromtimestamp(self.clock(), BEIJING).date()
        if end < begin or (end - begin).days >= SPANS[api] or end >= today:
            raise ApiError(61501, "date range error")
        return [begin + dt.timedelta(days=n) for n in range((end - begin).days + 1)]

    def _total(self, day: dt.date) -> int:
        if day <= ORIGIN:
            return 12_000
        if day not in self._cumulate:
            total, at = 12_000, ORIGIN
            known = [d for d in self._cumulate if d < day]
            if known:
                at = max(known)
                total = self._cumulate[at]
            while at < day:
                at += dt.timedelta(days=1)
                total += _net(at)
                self._cumulate[at] = total
        return self._cumulate[day]

    def _cube_getusersummary(self, req: Request) -> dict[str, Any]:
        days = self._cube_days(req, "getusersummary")
        return {"list": [row for day in days for row in _summary(day)]}

    def _cube_getusercumulate(self, req: Request) -> dict[str, Any]:
        days = self._cube_days(req, "getusercumulate")
        return {
            "list": [{"ref_date": d.isoformat(), "cumulate_user": self._total(d)} for d in days]
        }

    @staticmethod
    def _reads(day: dt.date, salt: str) -> dict[str, int]:
        users = _n(day, f"{salt}ru", 200, 2_000)
        shares = _n(day, f"{salt}su", 5, 60)
        return {
            "int_page_read_user": users,
            "int_page_read_count": users + _n(day, f"{salt}rc", 0, 400),
            "ori_page_read_user": _n(day, f"{salt}ou", 0, 30),
            "ori_page_read_count": _n(day, f"{salt}oc", 30, 60),
            "share_user": shares,
            "share_count": shares + _n(day, f"{salt}sc", 0, 20),
            "add_to_fav_user": _n(day, f"{salt}fu", 0, 15),
            "add_to_fav_count": _n(day, f"{salt}fc", 15, 25),
        }

    def _cube_getuserread(self, req: Request) -> dict[str, Any]:
        days = self._cube_days(req, "getuserread")
        return {"list": [{"ref_date": d.isoformat(), **self._reads(d, "day")} for d in days]}

    def _cube_getarticlesummary(self, req: Request) -> dict[str, Any]:
        (day,) = self._cube_days(req, "getarticlesummary")
        count = _n(day, "articles", 0, 2)
        return {
            "list": [
                {
                    "ref_date": day.isoformat(),
                    "msgid": f"{2_247_480_000 + day.toordinal() % 10_000}_{i + 1}",
                    "title": TITLES[(day.toordinal() + i) % len(TITLES)],
                    **self._reads(day, f"a{i}"),
                }
                for i in range(count)
            ]
        }

    def _cube_getupstreammsg(self, req: Request) -> dict[str, Any]:
        days = self._cube_days(req, "getupstreammsg")
        rows = []
        for day in days:
            for msg_type in (1, 2):
                users = _n(day, f"mu{msg_type}", 10, 300 if msg_type == 1 else 30)
                rows.append(
                    {
                        "ref_date": day.isoformat(),
                        "msg_type": msg_type,
                        "msg_user": users,
                        "msg_count": users + _n(day, f"mc{msg_type}", 0, users),
                    }
                )
        return {"list": rows}
