"""DynamoDB tables, read from the PynamoDB models (`all_models()`): key schema, GSIs/LSIs, the TTL
attribute and the stream, under the stage's names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from infra import resources
from infra.cfn.common import cfn_name, sub
from infra.resources import APP_NAME


@dataclass
class TableSpec:
    suffix: str
    model: str
    attribute_definitions: list[dict[str, str]]
    key_schema: list[dict[str, str]]
    global_indexes: list[dict[str, Any]] = field(default_factory=list)
    local_indexes: list[dict[str, Any]] = field(default_factory=list)
    ttl_attribute: str | None = None
    stream_view_type: str | None = None

    @property
    def logical_id(self) -> str:
        return cfn_name(self.suffix) + "Table"

    def name(self, stage: str) -> str:
        return f"{resources.stage_prefix(stage)}-{self.suffix}"


def key_schema(items: list[dict[str, str]]) -> list[dict[str, str]]:
    ordered = sorted(items, key=lambda k: k["KeyType"] != "HASH")
    return [{"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in ordered]


def _index(raw: dict[str, Any]) -> dict[str, Any]:
    projection = raw.get("projection") or raw.get("Projection") or {"ProjectionType": "ALL"}
    out: dict[str, Any] = {
        "IndexName": raw.get("index_name") or raw["IndexName"],
        "KeySchema": key_schema(raw.get("key_schema") or raw["KeySchema"]),
        "Projection": {"ProjectionType": projection["ProjectionType"]},
    }
    if projection.get("NonKeyAttributes"):
        out["Projection"]["NonKeyAttributes"] = sorted(projection["NonKeyAttributes"])
    return out


def table_specs() -> list[TableSpec]:
    from pynamodb.attributes import TTLAttribute

    from chalicelib.store.models import all_models

    specs: dict[str, TableSpec] = {}
    for model in all_models():
        suffix = getattr(model.Meta, "suffix", None)
        if not suffix:
            raise SystemExit(
                f"{model.__name__}: declare its Meta with chalicelib.store.models.table('<suffix>')"
            )
        if suffix in specs:
            raise SystemExit(f"two models use table suffix {suffix!r}")
        schema = model._get_schema()
        attributes = {
            a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]
        }
        ttl = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
        specs[suffix] = TableSpec(
            suffix=suffix,
            model=model.__name__,
            attribute_definitions=[
                {"AttributeName": n, "AttributeType": t} for n, t in sorted(attributes.items())
            ],
            key_schema=key_schema(schema["key_schema"]),
            global_indexes=sorted(
                (_index(i) for i in schema.get("global_secondary_indexes") or []),
                key=lambda i: i["IndexName"],
            ),
            local_indexes=sorted(
                (_index(i) for i in schema.get("local_secondary_indexes") or []),
                key=lambda i: i["IndexName"],
            ),
            ttl_attribute=ttl[0] if ttl else None,
            stream_view_type=getattr(model.Meta, "stream_view_type", None),
        )
    return [specs[s] for s in sorted(specs)]


def table_resource(spec: TableSpec) -> dict[str, Any]:
    props: dict[str, Any] = {
        "TableName": sub(f"{APP_NAME}-${{Stage}}-{spec.suffix}"),
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": spec.attribute_definitions,
        "KeySchema": spec.key_schema,
    }
    if spec.global_indexes:
        props["GlobalSecondaryIndexes"] = spec.global_indexes
    if spec.local_indexes:
        props["LocalSecondaryIndexes"] = spec.local_indexes
    if spec.ttl_attribute:
        props["TimeToLiveSpecification"] = {"AttributeName": spec.ttl_attribute, "Enabled": True}
    if spec.stream_view_type:
        props["StreamSpecification"] = {"StreamViewType": spec.stream_view_type}
    props["PointInTimeRecoverySpecification"] = {"PointInTimeRecoveryEnabled": True}
    props["DeletionProtectionEnabled"] = {"Fn::If": ["Protected", True, False]}
    props["Tags"] = [{"Key": "wxless:model", "Value": spec.model}]
    return {"Type": "AWS::DynamoDB::Table", "Properties": props}
