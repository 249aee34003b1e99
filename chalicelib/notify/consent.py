"""Whether a follower may receive a subscribe notification now, and spending their consent.

One-time templates (WeChat's type 2) need a consent left: each "accept" in a popup allows one
message, and sending spends it (a conditional write: never twice). Long-term templates (type 3,
public-service categories only) need the follower's last word to be "accept". A template the
account has not synced yet is treated as one-time: the stricter rule.
"""

from __future__ import annotations

from chalicelib.store import consents


def long_term(template_id: str) -> bool:
    found = consents.template(template_id) or {}
    return int(found.get("type") or consents.ONE_TIME) == consents.LONG_TERM


def take(template_id: str, openid: str) -> bool:
    """Spend what sending one message needs; False when the follower has not consented."""
    if long_term(template_id):
        return (consents.get(template_id, openid) or {}).get("status") == consents.ACCEPT
    return consents.spend(template_id, openid)


def give_back(template_id: str, openid: str) -> None:
    """The message was refused for another reason: its one-time consent is not used."""
    if not long_term(template_id):
        consents.give_back(template_id, openid)


def revoke(template_id: str, openid: str, now: float) -> None:
    consents.revoke(template_id, openid, now)
