"""WeChat's sending limits, refused when a campaign is scheduled (not when WeChat would refuse
it, days later): the account type's rules, the per-follower monthly mass quota and the daily
template quota. Each check returns the quota period it counted and that period's version, which
the create transaction moves on, so two concurrent creates cannot both squeeze in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from chalicelib import config
from chalicelib.campaigns.spec import BEIJING, MASS, TEMPLATE
from chalicelib.errors import Conflict, InvalidInput
from chalicelib.store import campaign_items as items
from chalicelib.store import campaign_limits as limits
from chalicelib.store import campaigns as table

ACCOUNT_TYPE = "WECHAT_ACCOUNT_TYPE"  # "service" (default) | "subscription"
TEMPLATE_DAILY_QUOTA = "WXLESS_TEMPLATE_DAILY_QUOTA"
MASS_PER_FOLLOWER_MONTH = 4  # service accounts
MASS_PER_DAY_SUBSCRIPTION = 1


def account_type() -> str:
    value = config.get(ACCOUNT_TYPE, "service").strip().lower()
    return "subscription" if value == "subscription" else "service"


def template_daily_quota() -> int:
    try:
        return max(1, int(config.get(TEMPLATE_DAILY_QUOTA, "100000")))
    except ValueError:
        return 100_000


def beijing_day(ts: float) -> str:
    return datetime.fromtimestamp(ts, BEIJING).strftime("%Y-%m-%d")


def beijing_month(ts: float) -> str:
    return datetime.fromtimestamp(ts, BEIJING).strftime("%Y-%m")


# A campaign waiting for approval holds its place: approving it must not break a limit.
_COUNTED = (table.PENDING_APPROVAL, table.SCHEDULED, table.RUNNING, table.COMPLETED, table.FAILED)
#: MASSSENDJOBFINISH statuses of a send WeChat carried out (others: "send fail", "err(...)").
SENT_STATUSES = frozenset({"send success", "sendsuccess"})


def _counts_against_quota(campaign: Mapping[str, Any]) -> bool:
    status = campaign.get("status")
    if status == table.FAILED:
        return bool(campaign.get("started_at"))  # a failed run may have sent some batches
    return status in _COUNTED


def _campaign_openids(campaign_id: str) -> set[str]:
    found: set[str] = set()
    for part in items.parts(campaign_id, items.BATCH, ("openids",)):
        found.update(items.decode_openids(part.get("openids")))
    return found


def check_limits(spec: Mapping[str, Any], openids: list[str], now: float) -> tuple[str, int]:
    """Refuse (InvalidInput: 400, Conflict: 409) what WeChat would refuse, before it is
    scheduled. Returns the quota period and its version: the create transaction fails if another
    campaign was scheduled in that period meanwhile, so two concurrent creates cannot both pass.

    - subscription accounts: no template messages, mass sends only to all or a tag (sending by
      openid list is for verified service accounts), one mass send per (Beijing) day;
    - service accounts: one send to all followers per (Beijing) day, and at most 4 mass
      messages per follower per (Beijing) month among openid lists, which are compared exactly.
      Sends to all, a tag or a query are neither refused by nor counted in the monthly quota:
      whom they reach is known only when WeChat sends them, and WeChat does not refuse such a
      send either: it skips the followers who already had their 4 (its finish report counts
      them as filtered). Refusing them here would refuse what WeChat carries out;
    - template campaigns with a known audience size: the daily template quota
      (WXLESS_TEMPLATE_DAILY_QUOTA, WeChat's default 100,000)."""
    kind, audience = spec["type"], spec["audience"]
    send_at = float(spec["send_at"])
    subscription = account_type() == "subscription"
    if kind == TEMPLATE:
        if subscription:
            raise InvalidInput(
                "template messages are available to verified service accounts only "
                "(WECHAT_ACCOUNT_TYPE=subscription)"
            )
        return _check_template_quota(len(openids) if openids else None, send_at)
    others = _counted_mass_sends()
    if subscription:
        if audience["type"] not in ("all", "tag"):
            raise InvalidInput(
                "subscription accounts can mass-send only to all followers or a tag "
                "(message/mass/send by openid list is for verified service accounts)"
            )
        day = beijing_day(send_at)
        period = f"day#{day}"
        version = limits.quota_version(period)
        _check_one_mass_send_a_day(others, day)
        return period, version
    month = beijing_month(send_at)
    period = f"month#{month}"
    version = limits.quota_version(period)  # also guards the day rule: the day is in the month
    if audience["type"] == "all":
        _check_one_send_to_all_a_day(others, beijing_day(send_at))
    if audience["type"] == "openids":
        _check_mass_per_follower_month(others, openids, month)
    return period, version


def check_late_start(campaign: Mapping[str, Any], now: float) -> None:
    """A pending campaign approved after its send time starts at once: on `now`'s Beijing day
    (and month), not its own. What creation checked for its send day or month is checked again
    for the new ones (Conflict): one send to all a day (service accounts), one mass send a day
    (subscription accounts), 4 mass messages per follower a month among openid lists (service
    accounts), the daily template quota. The same day (month) needs nothing new: the campaign
    held its place there while pending."""
    if beijing_day(float(campaign["send_at"])) == beijing_day(now):
        return
    if campaign.get("type") == TEMPLATE:
        size = campaign.get("audience_size")
        _check_template_quota(None if size is None else int(size), now)
        return
    others = _counted_mass_sends(but=campaign.get("id"))
    if account_type() == "subscription":
        _check_one_mass_send_a_day(others, beijing_day(now))
    elif campaign.get("audience_type") == "all":
        _check_one_send_to_all_a_day(others, beijing_day(now))
    elif campaign.get("audience_type") == "openids":
        month = beijing_month(now)
        if beijing_month(float(campaign["send_at"])) != month:
            _check_mass_per_follower_month(others, _campaign_openids(campaign["id"]), month)


def _counted_mass_sends(but: str | None = None) -> list[dict[str, Any]]:
    """The mass campaigns that hold a place in WeChat's limits (all of them but `but`)."""
    return [
        c
        for c in table.list_campaigns()
        if c.get("type") == MASS and c.get("id") != but and _counts_against_quota(c)
    ]


def _check_mass_per_follower_month(
    others: list[dict[str, Any]], openids: Iterable[str], month: str
) -> None:
    """A service account gets 4 mass messages per follower a (Beijing) month: openid lists are
    compared exactly with the other lists sent that month."""
    lists = [
        c
        for c in others
        if c.get("audience_type") == "openids" and beijing_month(float(c["send_at"])) == month
    ]
    multiplicity: Counter[str] = Counter()
    for campaign in lists:
        multiplicity.update(_campaign_openids(campaign["id"]))
    would_be = max((multiplicity.get(o, 0) for o in openids), default=0) + 1
    if would_be > MASS_PER_FOLLOWER_MONTH:
        names = ", ".join(c["id"] for c in lists)
        raise Conflict(
            f"this would be mass message number {would_be} in {month} (Beijing time) for some "
            f"followers; WeChat allows a service account {MASS_PER_FOLLOWER_MONTH} per follower "
            f"per month (already counted: {names})"
        )


def _check_one_mass_send_a_day(others: list[dict[str, Any]], day: str) -> None:
    """A subscription account gets one mass send a (Beijing) day."""
    same_day = [c for c in others if beijing_day(float(c["send_at"])) == day]
    if len(same_day) >= MASS_PER_DAY_SUBSCRIPTION:
        raise Conflict(
            f"a subscription account may mass-send once per day; campaign "
            f"{same_day[0]['id']} ({same_day[0].get('name', '')}) is already scheduled "
            f"for {day} (Beijing time)"
        )


def _check_one_send_to_all_a_day(others: list[dict[str, Any]], day: str) -> None:
    """A service account gets one successful send to all followers (`is_to_all`) a day: a
    second one for the same Beijing day is refused now, not by WeChat at send time. A send to
    all that WeChat did not carry out (refused, or not confirmed under API mass-send
    protection) leaves the day free."""
    for campaign in others:
        if (
            campaign.get("audience_type") == "all"
            and beijing_day(float(campaign["send_at"])) == day
            and not _not_carried_out(campaign)
        ):
            raise Conflict(
                f"a service account may mass-send to all followers once per day; campaign "
                f"{campaign['id']} ({campaign.get('name', '')}) already sends to all on {day} "
                f"(Beijing time). Pick another day, or send to a tag or a follower query",
                campaign=campaign["id"],
            )


def _not_carried_out(campaign: Mapping[str, Any]) -> bool:
    """WeChat reported the send to all as not done (its batch's result or mass/get)."""
    for batch in items.parts(campaign["id"], items.BATCH, ("state", "finish_status", "msg_status")):
        if batch.get("state") == items.FAILED_STATE:
            return True
        status = str(batch.get("finish_status") or "").strip().lower()
        if status and status not in SENT_STATUSES:
            return True
        if str(batch.get("msg_status") or "") == "SEND_FAIL":
            return True
    return False


def _check_template_quota(size: int | None, send_at: float) -> tuple[str, int]:
    day = beijing_day(send_at)
    period = f"tday#{day}"
    version = limits.quota_version(period)
    if size is None:
        return period, version
    planned = size
    for campaign in table.list_campaigns():
        if (
            campaign.get("type") == TEMPLATE
            # A pending campaign holds its place (four eyes): approving it must not break it.
            and campaign.get("status") in (table.PENDING_APPROVAL, table.SCHEDULED, table.RUNNING)
            and beijing_day(float(campaign["send_at"])) == day
        ):
            planned += int(campaign.get("audience_size") or 0)
    quota = template_daily_quota()
    if planned > quota:
        raise Conflict(
            f"{planned:,} template messages would be scheduled for {day} (Beijing time); the "
            f"account's daily template quota is {quota:,} (WXLESS_TEMPLATE_DAILY_QUOTA)"
        )
    return period, version
