"""Create the tables and the media bucket: used by the local runner and by tests.

Deployed stages get them from infra/template (CloudFormation); this is the same schema for moto.
"""

from __future__ import annotations

from chalicelib import config
from chalicelib.store import models
from chalicelib.store.aws import client
from chalicelib.store.models import all_models


def create_all(*, bucket: bool = True) -> list[str]:
    created = []
    for model in all_models():
        if not model.exists():
            model.create_table(billing_mode="PAY_PER_REQUEST", wait=True)
            created.append(model.Meta.table_name)
    if bucket:
        s3 = client("s3")
        name = config.media_bucket()
        try:
            s3.head_bucket(Bucket=name)
        except Exception:
            s3.create_bucket(Bucket=name)
            created.append(name)
    return created


def reset_connections() -> None:
    """Drop PynamoDB's cached connections (a new moto per test needs new clients)."""
    for model in (*all_models(), *models.VIEWS):
        model._connection = None
