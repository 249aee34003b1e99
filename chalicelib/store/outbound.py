"""The `outbound` table: what the account may send each follower, and what it sent on request.

Every partition key starts with the account (`<a>`, store/keys.py):

| pk                            | sk           | what (module)                                  |
| ----------------------------- | ------------ | ---------------------------------------------- |
| `<a>#csq#<openid>`            | `m` / `e`    | CS sends per window (cs_quota)                 |
| `<a>#notify#<client_msg_id>`  | `n`          | one notification of the notify API (notify)    |
| `<a>#nrate#<caller>#<minute>` | `r`          | a caller's notify requests (notify_limits)     |
| `<a>#nday#<Beijing day>`      | `d`          | the notify API's sends that day (notify_limits) |
| `<a>#consent#<template_id>`   | `<openid>`   | a subscribe-notification consent (consents)    |
| `<a>#subtpl`                  | `<template>` | subscribe templates, as last synced (consents) |
| `<a>#pub`                     | `<id>`       | a freepublish of CMS articles (publications)   |
| `<a>#pubid#<publish_id>`      | `p`          | publish_id -> publication (publications)       |

Short-lived items carry `expires_at` (TTL). Items are read and written with store.ddb; the model
only declares the table.
"""

from __future__ import annotations

from pynamodb.attributes import TTLAttribute, UnicodeAttribute
from pynamodb.models import Model

from chalicelib import config
from chalicelib.store.models import register, table

SUFFIX = "outbound"


@register
class OutboundItem(Model):
    Meta = table(SUFFIX)
    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    expires_at = TTLAttribute(null=True)


def table_name() -> str:
    return config.table_name(SUFFIX)
