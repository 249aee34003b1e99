"""The `campaigns` table: one small item per campaign; every state change is one conditional
write (or one transaction with the items it plans, in `campaign-items`).

Keys: `pk` = `<acct>#campaign#<id>`; the item keeps its natural `id`, which the admin API shows.
GSI `by_status` (`status_pk` = `<acct>#campaign-status#<status>`, `send_at`) lets the dispatcher
find due and running campaigns without a scan. It is written only when a campaign changes status
(create, start, complete, fail, cancel): never per follower or per message, so its few, account-
scoped partitions stay cold.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib import config
from chalicelib.errors import Conflict, NotFound
from chalicelib.store import campaign_items, ddb, keys
from chalicelib.store.aws import client
from chalicelib.store.campaign_limits import quota_guard
from chalicelib.store.guard import guarded
from chalicelib.store.models import register, table

# Campaign statuses.
SCHEDULED, RUNNING, COMPLETED, FAILED, CANCELLED = (
    "scheduled",
    "running",
    "completed",
    "failed",
    "cancelled",
)
# Four eyes (chalicelib/campaigns/approval.py): waiting for a second person, or turned down. The
# dispatcher only ever starts `scheduled` campaigns.
PENDING_APPROVAL, REJECTED = "pending_approval", "rejected"
STATUSES = (PENDING_APPROVAL, SCHEDULED, RUNNING, COMPLETED, FAILED, CANCELLED, REJECTED)
_KEY_ATTRS = ("pk", "status_pk")  # stored keys, not part of the campaign as callers see it


class CampaignsByStatus(GlobalSecondaryIndex):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()  # campaign items are small; saves a read per campaign

    status_pk = UnicodeAttribute(hash_key=True)
    send_at = NumberAttribute(range_key=True)


@register
class CampaignRecord(Model):
    """Declares the table (keys and index only); items are read and written with store.ddb."""

    Meta = table("campaigns")
    pk = UnicodeAttribute(hash_key=True)
    status_pk = UnicodeAttribute(null=True)
    send_at = NumberAttribute(null=True)
    by_status = CampaignsByStatus()


def table_name() -> str:
    return config.table_name("campaigns")


def campaign_key(campaign_id: str) -> ddb.Raw:
    return ddb.key(keys.scoped("campaign", campaign_id))


def status_pk(status: str) -> str:
    return keys.scoped("campaign-status", status)


def _natural(item: dict[str, Any] | None) -> dict[str, Any] | None:
    """The campaign as callers see it: its natural `id`, without the stored keys."""
    if item is not None:
        for name in _KEY_ATTRS:
            item.pop(name, None)
    return item


# --------------------------------------------------------------------------- create and read


@guarded
def create_campaign(
    campaign: dict[str, Any],
    children: Iterable[tuple[str, dict[str, Any]]] = (),
    quota: tuple[str, int] | None = None,
) -> None:
    """Children (batches, openid-list parts) first, then the campaign and the quota version in one
    transaction: a crash in between leaves only unreachable children, never a campaign that
    lacks its audience. `quota = (period, version seen)` makes the transaction fail with
    Conflict when another campaign was created for the same period since the limits were
    checked (the caller re-checks)."""
    campaign_id = campaign["id"]
    for sk, fields in children:
        ddb.put(campaign_items.child_put(campaign_id, sk, fields))
    item = ddb.to_raw({**campaign, "status_pk": status_pk(campaign["status"])})
    item.update(campaign_key(campaign_id))
    new = ddb.Condition().where("attribute_not_exists({pk})")
    entries: list[ddb.Raw] = [{"Put": new.put_request(table_name(), item)}]
    if quota is not None:
        entries.append(quota_guard(*quota))
    if ddb.transact(entries):
        return
    # Cancelled, and yet the campaign may exist: its id is fresh, so then this very transaction
    # landed before (botocore re-sent it after its answer was lost). That is success; failing
    # would have the admin retry and duplicate it.
    if ddb.get(table_name(), campaign_key(campaign_id), consistent=True) is None:
        raise Conflict("another campaign was scheduled meanwhile; retry")


@guarded
def get_campaign(campaign_id: str) -> dict[str, Any]:
    found = _natural(ddb.get(table_name(), campaign_key(campaign_id), consistent=True))
    if found is None:
        raise NotFound(f"campaign {campaign_id} not found")
    return found


@guarded
def list_campaigns() -> list[dict[str, Any]]:
    """Every campaign of the account (one small item per campaign: a scan is fine)."""
    request: dict[str, Any] = {
        "TableName": table_name(),
        "FilterExpression": "begins_with(pk, :p)",
        "ExpressionAttributeValues": {":p": ddb.ser(keys.prefix("campaign"))},
    }
    out: list[dict[str, Any]] = []
    while True:
        page = client("dynamodb").scan(**request)
        out.extend(_natural(ddb.from_raw(raw)) or {} for raw in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return out
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@guarded
def campaigns_by_status(
    status: str, send_at_max: float | None = None, send_at_min: float | None = None
) -> list[dict[str, Any]]:
    """Campaigns in `status` (optionally by send time), by send time. From the GSI, so
    eventually consistent: act on them only through conditional writes."""
    names = {"#s": "status_pk", "#t": "send_at"}
    values: dict[str, Any] = {":s": ddb.ser(status_pk(status))}
    condition = "#s = :s"
    if send_at_min is not None and send_at_max is not None:
        condition += " AND #t BETWEEN :lo AND :hi"
        values.update({":lo": ddb.ser(float(send_at_min)), ":hi": ddb.ser(float(send_at_max))})
    elif send_at_max is not None:
        condition += " AND #t <= :hi"
        values[":hi"] = ddb.ser(float(send_at_max))
    elif send_at_min is not None:
        condition += " AND #t >= :lo"
        values[":lo"] = ddb.ser(float(send_at_min))
    else:
        names.pop("#t")
    request = {
        "TableName": table_name(),
        "IndexName": "by_status",
        "KeyConditionExpression": condition,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
    return [_natural(item) or {} for item in ddb.query(request)]


# --------------------------------------------------------------------------- changes


def _update(
    campaign_id: str, update: ddb.Update, returns: str = "NONE"
) -> tuple[bool, dict[str, Any] | None]:
    done, item = ddb.update(table_name(), campaign_key(campaign_id), update, returns=returns)
    return done, _natural(item)


@guarded
def transition(
    campaign_id: str,
    expected: str | Sequence[str],
    to: str,
    **fields: Any,
) -> tuple[bool, dict[str, Any] | None]:
    """status expected -> to, conditionally. Returns (done, item now or as found; None when
    there is no such campaign)."""
    allowed = [expected] if isinstance(expected, str) else list(expected)
    update = ddb.Update().set(status=to, status_pk=status_pk(to), **fields)
    either = " OR ".join(f"{{status}} = :s{i}" for i in range(len(allowed)))
    update.where(either, **{f"s{i}": s for i, s in enumerate(allowed)})
    return _update(campaign_id, update, returns="ALL_NEW")


@guarded
def set_campaign_fields(
    campaign_id: str,
    *,
    status: str | None = RUNNING,
    if_absent: str | None = None,
    **fields: Any,
) -> bool:
    """SET fields while the campaign has `status` (and, optionally, `if_absent` is not set)."""
    update = ddb.Update().set(**fields).where("attribute_exists({pk})")
    if status is not None:
        update.where("{status} = :st", st=status)
    if if_absent is not None:
        update.where("attribute_not_exists({" + if_absent + "})")
    done, _ = _update(campaign_id, update)
    return done


@guarded
def plan_step(
    campaign_id: str,
    old_cursor: str | None,
    new_cursor: str | None,
    children: Sequence[tuple[str, dict[str, Any]]],
    *,
    finished: bool,
    counts: dict[str, int],
) -> bool:
    """Write one planning unit atomically: the new batches/chunks (each must be new) and the
    campaign's cursor, conditional on the cursor still being `old_cursor`. Two planners racing
    on a unit: one wins, the other's transaction is cancelled and writes nothing."""
    entries: list[ddb.Raw] = [
        {"Put": campaign_items.child_put(campaign_id, sk, fields)} for sk, fields in children
    ]
    update = ddb.Update()
    if new_cursor is None:
        update.remove("plan_cursor")
    else:
        update.set(plan_cursor=new_cursor)
    if finished:
        update.set(planned=True)
    update.add_attrs(counts)
    update.where("{status} = :st", st=RUNNING)
    update.where("attribute_not_exists({planned})")
    if old_cursor is None:
        update.where("attribute_not_exists({plan_cursor})")
    else:
        update.where("{plan_cursor} = :cur", cur=old_cursor)
    entries.append({"Update": update.request(table_name(), campaign_key(campaign_id))})
    return ddb.transact(entries)
