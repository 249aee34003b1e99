"""The media bucket (S3): article covers and media files, every object under its account.

Callers name an object by its key inside the account (`media/image/<id>.png`,
`articles/<id>/cover-<digest>.png`, `tmp/uploads/video/<uuid>`): that is what the records keep and
the admin API shows. Only this module turns it into the bucket key, so the account prefix is added
in one place:

    media/image/ab.png      -> default/media/image/ab.png
    tmp/uploads/video/cd    -> tmp/default/uploads/video/cd

Temporary uploads keep `tmp/` first: the bucket's one lifecycle rule expires everything under
`tmp/` after a day (infra/resources.py), for every account at once.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError

from chalicelib import config
from chalicelib.store import keys
from chalicelib.store.aws import client
from chalicelib.store.errors import NotFound

log = logging.getLogger("wxless.objects")

TEMP = "tmp/"


def bucket_key(key: str) -> str:
    """The bucket key of an object named by its key inside the account."""
    if key.startswith(TEMP):
        return f"{TEMP}{keys.account()}/{key.removeprefix(TEMP)}"
    return keys.s3_key(key)


def put(key: str, body: bytes, content_type: str, **extra: Any) -> None:
    client("s3").put_object(
        Bucket=config.media_bucket(),
        Key=bucket_key(key),
        Body=body,
        ContentType=content_type,
        **extra,
    )


def read(key: str) -> bytes:
    found = client("s3").get_object(Bucket=config.media_bucket(), Key=bucket_key(key))
    return found["Body"].read()


def size(key: str) -> int:
    """The object's size in bytes; NotFound when there is none."""
    try:
        head = client("s3").head_object(Bucket=config.media_bucket(), Key=bucket_key(key))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise NotFound(f"no object {key!r} in the media bucket") from None
        raise
    return int(head["ContentLength"])


def delete(keys_: list[str]) -> None:
    """Best-effort: the record change already happened, and an orphaned object costs cents."""
    if not keys_:
        return
    objects = [{"Key": bucket_key(k)} for k in keys_]
    try:
        client("s3").delete_objects(Bucket=config.media_bucket(), Delete={"Objects": objects})
    except Exception:
        log.warning("objects.delete_failed: %s", keys_, exc_info=True)


def delete_under(prefix: str) -> None:
    """Best-effort delete of every object whose key starts with `prefix` (up to 1,000)."""
    try:
        listed = client("s3").list_objects_v2(
            Bucket=config.media_bucket(), Prefix=bucket_key(prefix)
        )
    except Exception:
        log.warning("objects.list_failed: %s", prefix, exc_info=True)
        return
    found = [obj["Key"] for obj in listed.get("Contents", [])]
    if found:
        try:
            client("s3").delete_objects(
                Bucket=config.media_bucket(), Delete={"Objects": [{"Key": k} for k in found]}
            )
        except Exception:
            log.warning("objects.delete_failed: %s", found, exc_info=True)


# -- presigned URLs -------------------------------------------------------------------------------


def build_presigner() -> Any:
    """An S3 client that only signs URLs, locally (it never sends a request). SigV4 explicitly:
    botocore still signs S3 URLs with SigV2 in some regions, which newer regions refuse.
    Built once per container by chalicelib.wiring.presigner()."""
    import os

    import botocore.session
    from botocore.config import Config

    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return botocore.session.get_session().create_client(
        "s3", region_name=region, config=Config(signature_version="s3v4")
    )


def presigned_get(presigner: Any, key: str, seconds: int) -> str:
    return presigner.generate_presigned_url(
        "get_object",
        Params={"Bucket": config.media_bucket(), "Key": bucket_key(key)},
        ExpiresIn=seconds,
    )


def presigned_put(presigner: Any, key: str, seconds: int) -> str:
    return presigner.generate_presigned_url(
        "put_object",
        Params={"Bucket": config.media_bucket(), "Key": bucket_key(key)},
        ExpiresIn=seconds,
    )
