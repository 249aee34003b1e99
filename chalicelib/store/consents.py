"""Subscribe-notification consents (`outbound`, `<a>#consent#<template_id>` / `<openid>`) and the
account's subscribe templates as last synced (`<a>#subtpl` / `<template_id>`).

A consent item is written by the stream aggregator from the follower's popup and change events
(chalicelib/aggregate/consents.py: one UpdateItem per follower and template per batch, exactly
once through the ledger's `own` watermark) and spent by senders:

    left      one-time consents not used yet (+1 per "accept" in a popup; 0 after a "reject"
              in the follower's settings)
    status    the follower's last word: accept | reject
    accepts   every "accept" ever counted, for the record
    status_at when (epoch s), scene: where the popup was (1 a web page, 2 an article)

Spending a one-time consent is `ADD left -1` if `left > 0`: two senders can never spend the
same consent. Items keyed by template: the followers who accepted one template are one Query
(a subscribe campaign's audience); one follower's consents are one BatchGetItem over the
account's templates (at most 50 at WeChat).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from chalicelib.store import ddb, keys, outbound
from chalicelib.store.guard import guarded

ACCEPT, REJECT = "accept", "reject"
ONE_TIME, LONG_TERM = 2, 3  # WeChat's template `type`


def consent_key(template_id: str, openid: str) -> ddb.Raw:
    return ddb.key(keys.scoped("consent", template_id), openid)


def templates_pk() -> str:
    return keys.scoped("subtpl")


# -- consents ------------------------------------------------------------------------------------


def change_update(changes: Sequence[tuple[str, int, str]]) -> ddb.Update:
    """One follower's events about one template in a batch, in stream order, as one update:
    each (status, at, scene). An accept adds a one-time consent; a reject from the follower's
    settings (`scene` "") clears them; a reject in a popup only declines that popup."""
    upd = ddb.Update()
    added, cleared = 0, False
    for status, _at, scene in changes:
        if status == ACCEPT:
            added += 1
        elif status == REJECT and not scene:
            added, cleared = 0, True
    status, at, scene = changes[-1]
    upd.set(status=status, status_at=at)
    if scene:
        upd.set(scene=scene)
    if cleared:
        upd.set(left=added)
    else:
        upd.add(left=added)
    upd.add(accepts=sum(1 for s, _, _ in changes if s == ACCEPT))
    return upd


@guarded
def spend(template_id: str, openid: str) -> bool:
    """Use one one-time consent; False when none is left."""
    upd = ddb.Update().add(left=-1).where("{left} > :zero", zero=0)
    ok, _ = ddb.update(outbound.table_name(), consent_key(template_id, openid), upd)
    return ok


@guarded
def give_back(template_id: str, openid: str) -> None:
    """A spent consent whose message WeChat refused for another reason."""
    upd = ddb.Update().add(left=1).where("attribute_exists({pk})")
    ddb.update(outbound.table_name(), consent_key(template_id, openid), upd)


@guarded
def revoke(template_id: str, openid: str, now: float) -> None:
    """WeChat says the follower refuses this template (43101)."""
    upd = ddb.Update().set(status=REJECT, status_at=int(now), left=0)
    upd.where("attribute_exists({pk})")
    ddb.update(outbound.table_name(), consent_key(template_id, openid), upd)


@guarded
def get(template_id: str, openid: str) -> dict[str, Any] | None:
    return ddb.get(outbound.table_name(), consent_key(template_id, openid), consistent=True)


@guarded
def of_follower(openid: str, template_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The follower's consents, by template (one BatchGetItem per 100 templates)."""
    wanted = [consent_key(t, openid) for t in dict.fromkeys(template_ids)]
    return {keys.last(item["pk"]): item for item in ddb.batch_get(outbound.table_name(), wanted)}


def consenting(template_id: str, long_term: bool, page: int = 500) -> Iterator[str]:
    """The openids who may receive `template_id` now (one-time: a consent left; long-term:
    accepted), page by page (a consistent Query of the template's partition)."""
    condition = "#s = :accept" if long_term else "#l > :zero"
    request = {
        "TableName": outbound.table_name(),
        "KeyConditionExpression": "pk = :pk",
        "FilterExpression": condition,
        "ExpressionAttributeNames": {"#s": "status"} if long_term else {"#l": "left"},
        "ExpressionAttributeValues": {":pk": ddb.ser(keys.scoped("consent", template_id))}
        | ({":accept": ddb.ser(ACCEPT)} if long_term else {":zero": ddb.ser(0)}),
        "ProjectionExpression": "sk",
        "Limit": page,
    }
    for item in ddb.query(request):
        yield item["sk"]


# -- the account's subscribe templates -------------------------------------------------------------


@guarded
def put_templates(templates: Sequence[dict[str, Any]], now: float) -> None:
    """Replace the synced list: write every template, delete those WeChat no longer has."""
    table = outbound.table_name()
    kept = {str(t["template_id"]) for t in templates}
    stale = [t["template_id"] for t in list_templates() if t["template_id"] not in kept]
    for template in templates:
        item = {**template, "synced_at": int(now)}
        ddb.put({"TableName": table, "Item": ddb.to_raw(item) | _template_key(item)})
    for template_id in stale:
        ddb.delete({"TableName": table, "Key": ddb.key(templates_pk(), template_id)})


def _template_key(template: dict[str, Any]) -> ddb.Raw:
    return ddb.key(templates_pk(), str(template["template_id"]))


@guarded
def list_templates() -> list[dict[str, Any]]:
    request = {
        "TableName": outbound.table_name(),
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": ddb.ser(templates_pk())},
        "ConsistentRead": True,
    }
    out = []
    for item in ddb.query(request):
        item.pop("pk", None)
        item.pop("sk", None)
        out.append(item)
    return out


@guarded
def template(template_id: str) -> dict[str, Any] | None:
    return ddb.get(outbound.table_name(), ddb.key(templates_pk(), template_id), consistent=True)
