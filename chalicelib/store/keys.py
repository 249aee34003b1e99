"""Account-scoped keys: every key the app writes (DynamoDB partition and sort keys, GSI keys, S3
object keys) starts with the account id, so one set of tables can serve several Official
Accounts later without a migration. Today there is one account, `default`
(WXLESS_ACCOUNT_ID).

    scoped("rule", rule_id)     -> "default#rule#<rule_id>"
    natural("default#rule#ab")  -> "rule#ab"     (the key without its account)
    s3_key("media", name)       -> "default/media/<name>"
"""

from __future__ import annotations

from chalicelib import config

SEP = "#"


def account() -> str:
    """The account id of this deployment (no '#' or '/': it starts every key)."""
    value = config.get(config.ACCOUNT_ID) or "default"
    if SEP in value or "/" in value:
        raise ValueError(f"{config.ACCOUNT_ID} must not contain '#' or '/'")
    return value


def scoped(*parts: str) -> str:
    """`<account>#part#part...`"""
    return SEP.join((account(), *parts))


def prefix(*parts: str) -> str:
    """The begins_with prefix of every key under `parts` (ends with the separator)."""
    return scoped(*parts) + SEP


def natural(key: str) -> str:
    """The key without its account: `default#rule#ab` -> `rule#ab`."""
    return key.split(SEP, 1)[1] if SEP in key else key


def last(key: str) -> str:
    """The key's last part: `default#rule#ab` -> `ab` (ids never contain '#')."""
    return key.rsplit(SEP, 1)[-1]


def s3_key(*parts: str) -> str:
    return "/".join((account(), *parts))
