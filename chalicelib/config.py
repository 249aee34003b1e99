"""Settings, read lazily.

`chalice local` copies the stage's environment over the process environment before importing
the app, and tests change the environment between cases, so nothing here is read at import time.
Resolution order: explicit environment variable, then SSM Parameter Store (deployed stages name a
parameter with `<NAME>_PARAM`), then the default.
"""

from __future__ import annotations

import os
import threading
import time

# Every variable name the app reads, in one place.
WECHAT_TOKEN = "WECHAT_TOKEN"
WECHAT_APP_ID = "WECHAT_APP_ID"
WECHAT_APP_SECRET = "WECHAT_APP_SECRET"
WECHAT_ENCODING_AES_KEY = "WECHAT_ENCODING_AES_KEY"
# The key before the last EncodingAESKey change: tried when the current one cannot decrypt.
WECHAT_ENCODING_AES_KEY_PREVIOUS = "WECHAT_ENCODING_AES_KEY_PREVIOUS"
WECHAT_API_BASE = "WECHAT_API_BASE"
ADMIN_TOKEN = "ADMIN_TOKEN"
TABLE_PREFIX = "WXLESS_TABLE_PREFIX"
MEDIA_BUCKET = "WXLESS_MEDIA_BUCKET"
PUBLIC_BASE_URL = "WXLESS_PUBLIC_BASE_URL"
# Comma-separated origins (https://ops.example.com) allowed to call the admin API from a browser.
ALLOWED_ORIGINS = "WXLESS_ALLOWED_ORIGINS"
# Zone of analytics dates (IANA name or "+08:00"): the bank's day, not UTC's.
TIMEZONE = "WXLESS_TIMEZONE"
# The Official Account this deployment serves. Every stored key starts with it, so serving
# several accounts later needs no migration (store/keys.py).
ACCOUNT_ID = "WXLESS_ACCOUNT_ID"
# Signs the public pages' OAuth state and follower cookie (chalicelib.webauth). Optional: when
# unset (the default), a key is derived from ADMIN_TOKEN and WECHAT_APP_SECRET (changing either
# signs every follower out of the pages). `WXLESS_PAGE_SECRET_PARAM` names an SSM parameter.
PAGE_SECRET = "WXLESS_PAGE_SECRET"
# Threads the stream aggregator writes a batch's items with.
AGGREGATE_WORKERS = "WXLESS_AGGREGATE_WORKERS"
# Team access (chalicelib/access): the Cognito user pool and app client people sign in with;
# the JWKS URL when it is not the issuer's (a local emulator); comma-separated CIDRs the admin
# API answers (empty: any); days an audit entry is kept.
USER_POOL_ID = "WXLESS_USER_POOL_ID"
USER_POOL_CLIENT_ID = "WXLESS_USER_POOL_CLIENT_ID"
COGNITO_JWKS_URL = "WXLESS_COGNITO_JWKS_URL"
ADMIN_ALLOWED_CIDRS = "WXLESS_ADMIN_ALLOWED_CIDRS"
AUDIT_TTL_DAYS = "WXLESS_AUDIT_TTL_DAYS"

SECRETS = (
    WECHAT_TOKEN,
    WECHAT_APP_SECRET,
    WECHAT_ENCODING_AES_KEY,
    WECHAT_ENCODING_AES_KEY_PREVIOUS,
    ADMIN_TOKEN,
)
# Settings whose SSM parameter may be missing (read as unset): an operator creates it only
# when there is something to say.
OPTIONAL = frozenset({WECHAT_ENCODING_AES_KEY_PREVIOUS})

_DEFAULTS = {
    WECHAT_API_BASE: "https://api.weixin.qq.com",
    TABLE_PREFIX: "wxless-dev",
    WECHAT_APP_ID: "",
    WECHAT_TOKEN: "",
    WECHAT_APP_SECRET: "",
    WECHAT_ENCODING_AES_KEY: "",
    WECHAT_ENCODING_AES_KEY_PREVIOUS: "",
    ADMIN_TOKEN: "",
    PUBLIC_BASE_URL: "",
    ALLOWED_ORIGINS: "",
    TIMEZONE: "Asia/Shanghai",
    ACCOUNT_ID: "default",
    PAGE_SECRET: "",
    AGGREGATE_WORKERS: "16",
    USER_POOL_ID: "",
    USER_POOL_CLIENT_ID: "",
    COGNITO_JWKS_URL: "",
    ADMIN_ALLOWED_CIDRS: "",
    AUDIT_TTL_DAYS: "400",
}

# SSM values are cached per container; a rotated secret is picked up after the TTL.
_SSM_TTL = 300.0
_ssm_cache: dict[str, tuple[float, str]] = {}
_ssm_lock = threading.Lock()


def get(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value:
        return value
    param = os.environ.get(f"{name}_PARAM")
    if param:
        return _ssm_get(param, optional=name in OPTIONAL)
    if default is not None:
        return default
    return _DEFAULTS.get(name, "")


def _ssm_get(param: str, *, optional: bool = False) -> str:
    now = time.monotonic()
    cached = _ssm_cache.get(param)
    if cached and now - cached[0] < _SSM_TTL:
        return cached[1]
    with _ssm_lock:
        from chalicelib.store.aws import client  # store owns AWS clients

        ssm = client("ssm")
        try:
            resp = ssm.get_parameter(Name=param, WithDecryption=True)
            value = resp["Parameter"]["Value"]
        except ssm.exceptions.ParameterNotFound:
            if not optional:
                raise
            value = ""  # cached like a value: asked again after the TTL
        _ssm_cache[param] = (now, value)
        return value


def table_name(suffix: str) -> str:
    return f"{get(TABLE_PREFIX)}-{suffix}"


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def media_bucket() -> str:
    return get(MEDIA_BUCKET) or f"{get(TABLE_PREFIX)}-media"


def clear_cache() -> None:
    _ssm_cache.clear()
