"""`make run` keeps its data: the embedded AWS's items and media objects, and what the fake WeChat
holds (menus, tags, uploads, drafts, mass jobs, tokens), on disk.

Saved under `WXLESS_LOCAL_STATE` (`make run` sets `.local/state`, git-ignored; empty: keep
nothing) and restored at the next start, before the app serves and before the demo seed, which
then finds the store not empty and leaves it as is.

    <dir>/snapshot.json   {"format", "saved_at", "tables": {suffix: [item, ...]},
                           "objects": [{"key", "blob", "content_type", "metadata"}, ...],
                           "wechat": the fake WeChat's state (infra/fake_wechat/state.py)}
    <dir>/blobs/<sha256>  media object bodies, by content

Items are kept in DynamoDB JSON (binary values in base64, as DynamoDB's own exports have them),
tables by suffix (the table prefix may change between runs); the media bucket's objects with their
content type and metadata. Items are read and written through moto's own table objects, in this
process, not its HTTP API (through the API, saving 20,000 messages took 75 s on this machine and
restoring them 68 s, most of it in moto's request handling), and a restored item must not reach the
table's stream (the aggregator would count an old message again). A save reads every table while
holding the emulator's write lock (infra/moto_patches.py): one consistent cut, never half a
transaction. Objects go through the S3 API, fetched only when new or changed. Saves are atomic (a
new snapshot is written beside the old one, then renamed over it; blobs first, and only blobs no
snapshot names are deleted), happen every AUTOSAVE_SECONDS when something changed (a kill -9 loses
at most that) and once more on the way out. SQS messages are not kept: a campaign chunk lost with
its queue is enqueued again from its table by the stuck-chunk sweep
(chalicelib/jobs/campaign_template.py).

What cannot be read does not stop the start: an unreadable snapshot is moved aside
(`snapshot.json.corrupt-<time>`) and the run starts empty; items or objects that cannot be
restored (a table's keys changed, a blob is missing) are skipped, counted in the banner, and the
snapshot they came from is kept as `snapshot.json.unrestored-<time>`. `make run-fresh` moves the
whole folder aside to `<dir>.previous` (replacing an older one) and starts empty.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra import moto_patches

FORMAT = 1
AUTOSAVE_SECONDS = 2.0
log = logging.getLogger("wxless.local_state")


def _client(service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=os.environ["AWS_ENDPOINT_URL"],
        region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
    )


def _tables() -> dict[str, str]:
    """Table suffix -> the table's name under the current prefix."""
    from chalicelib.store.models import all_models

    return {model.Meta.suffix: model.Meta.table_name for model in all_models()}


def _bucket() -> str:
    from chalicelib import config

    return config.media_bucket()


def _moto_tables() -> dict[str, Any]:
    """Table suffix -> moto's table object (found through the table's ARN: account, region)."""
    from moto.dynamodb.models import dynamodb_backends

    ddb = _client("dynamodb")
    found = {}
    for suffix, name in _tables().items():
        arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
        _, _, _, region, account, _ = arn.split(":", 5)
        found[suffix] = dynamodb_backends[account][region].get_table(name)
    return found


def _item_json(item: Any) -> dict[str, Any]:
    """A moto item as DynamoDB JSON, exactly as its API would answer it."""
    from moto.dynamodb.models.utilities import dynamo_json_dump

    return json.loads(dynamo_json_dump(item.to_json()["Attributes"]))


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


@dataclass
class Restored:
    items: int = 0
    objects: int = 0
    wechat: bool = False  # the fake WeChat's state was put back
    skipped: list[str] = field(default_factory=list)  # what could not be restored, and why

    def summary(self) -> str:
        text = f"{self.items} items, {self.objects} media objects"
        text += " and the fake WeChat's state restored" if self.wechat else " restored"
        return text + (f"; {len(self.skipped)} skipped (see the log)" if self.skipped else "")


class LocalState:
    """The saved state of one `make run` folder: restore it, save it, keep saving it."""

    def __init__(
        self,
        directory: Path,
        *,
        wechat: Any = None,
        interval: float = AUTOSAVE_SECONDS,
        cognito: Any = None,
    ) -> None:
        self.directory = directory
        self.wechat = wechat  # the FakeWeChat of this run, or None (WECHAT_API_BASE elsewhere)
        self.cognito = cognito  # the local user pool's people (infra.cognito_local.LocalPool)
        self._saved_cognito = ""
        self.snapshot = directory / "snapshot.json"
        self.blobs = directory / "blobs"
        self.interval = interval
        self._saved_writes = -1
        self._saved_objects: dict[str, dict[str, Any]] = {}  # key -> its snapshot entry
        self._saved_listing: tuple[Any, ...] | None = None
        self._saved_wechat = -1
        self._save_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- start -----------------------------------------------------------------------------

    def discard(self) -> Path | None:
        """`make run-fresh`: move the folder aside (one previous generation is kept)."""
        if not self.directory.exists():
            return None
        previous = self.directory.with_name(self.directory.name + ".previous")
        shutil.rmtree(previous, ignore_errors=True)
        self.directory.rename(previous)
        return previous

    def restore(self) -> Restored:
        """Put the saved items and objects back into the (freshly created, empty) store."""
        restored = Restored()
        saved = self._read()
        if saved is not None:
            self._restore_tables(saved.get("tables") or {}, restored)
            self._restore_objects(saved.get("objects") or [], restored)
            self._restore_wechat(saved.get("wechat"), restored)
            self._restore_cognito(saved.get("cognito"), restored)
            if restored.skipped:
                kept = self._set_aside("unrestored")
                for reason in restored.skipped:
                    log.warning("local_state.skipped %s", reason)
                log.warning("local_state.kept_snapshot %s", kept)
        self._saved_writes = moto_patches.writes()
        self._saved_wechat = self._wechat_changes()
        self._saved_cognito = self._cognito_signature()
        self._saved_listing, listed = self._listing()
        # Restored objects have new times: note them, so the next save does not fetch them again.
        self._saved_objects = {
            o["key"]: {
                **o,
                "etag": listed[o["key"]]["etag"],
                "modified": listed[o["key"]]["modified"],
            }
            for o in (saved or {}).get("objects", [])
            if o.get("key") in listed
        }
        return restored

    def _read(self) -> dict[str, Any] | None:
        if not self.snapshot.exists():
            return None
        try:
            saved = json.loads(self.snapshot.read_text(encoding="utf-8"))
            if not isinstance(saved, dict) or saved.get("format") != FORMAT:
                raise ValueError(f"not a format-{FORMAT} snapshot")
            return saved
        except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError included
            kept = self._set_aside("corrupt")
            log.warning("local_state.unreadable %s (%s); starting empty", kept, exc)
            return None

    def _set_aside(self, why: str) -> Path:
        kept = self.snapshot.with_name(
            f"{self.snapshot.name}.{why}-{time.strftime('%Y%m%d-%H%M%S')}"
        )
        shutil.copy2(self.snapshot, kept)
        if why == "corrupt":
            self.snapshot.unlink()
        return kept

    def _restore_tables(self, tables: dict[str, Any], restored: Restored) -> None:
        current = _moto_tables()
        for suffix, items in sorted(tables.items()):
            table = current.get(suffix)
            if table is None:
                restored.skipped.append(f"table {suffix!r}: no such table now ({len(items)} items)")
                continue
            stream, table.stream_shard = table.stream_shard, None  # old news for the aggregator
            try:
                for item in items:
                    try:
                        table.put_item(item)  # moto checks the keys and the types
                        restored.items += 1
                    except Exception as exc:
                        restored.skipped.append(f"an item of {suffix}: {type(exc).__name__} {exc}")
            finally:
                table.stream_shard = stream

    def _restore_objects(self, objects: list[dict[str, Any]], restored: Restored) -> None:
        s3 = _client("s3")
        bucket = _bucket()
        for entry in objects:
            blob = self.blobs / str(entry.get("blob", ""))
            try:
                s3.put_object(
                    Bucket=bucket,
                    Key=entry["key"],
                    Body=blob.read_bytes(),
                    ContentType=entry.get("content_type") or "binary/octet-stream",
                    Metadata=entry.get("metadata") or {},
                )
                restored.objects += 1
            except Exception as exc:
                restored.skipped.append(f"object {entry.get('key')!r}: {exc}")

    def _restore_wechat(self, saved: Any, restored: Restored) -> None:
        if self.wechat is None or not saved:
            return
        try:
            self.wechat.load_state(saved)
            restored.wechat = True
        except Exception as exc:
            restored.skipped.append(f"the fake WeChat's state: {type(exc).__name__}: {exc}")

    def _restore_cognito(self, saved: Any, restored: Restored) -> None:
        if self.cognito is None or not saved:
            return
        try:
            self.cognito.load_state(saved)
        except Exception as exc:
            restored.skipped.append(f"the user pool's people: {type(exc).__name__}: {exc}")

    def _cognito_signature(self) -> str:
        return self.cognito.signature() if self.cognito is not None else ""

    # ---- save ------------------------------------------------------------------------------

    def _wechat_changes(self) -> int:
        return self.wechat.changes if self.wechat is not None else 0

    def _listing(self) -> tuple[tuple[Any, ...], dict[str, dict[str, Any]]]:
        """The media bucket's objects (key -> ETag, size, time) and a signature of them."""
        s3 = _client("s3")
        listed: dict[str, dict[str, Any]] = {}
        try:
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=_bucket()):
                for obj in page.get("Contents", []):
                    listed[obj["Key"]] = {
                        "etag": obj["ETag"],
                        "size": obj["Size"],
                        "modified": obj["LastModified"].timestamp(),
                    }
        except s3.exceptions.NoSuchBucket:
            pass
        signature = tuple(sorted((k, v["etag"], v["modified"]) for k, v in listed.items()))
        return signature, listed

    def changed(self) -> bool:
        return (
            moto_patches.writes() != self._saved_writes
            or self._listing()[0] != self._saved_listing
            or self._wechat_changes() != self._saved_wechat
            or self._cognito_signature() != self._saved_cognito
        )

    def save(self, *, force: bool = False) -> bool:
        """Write a snapshot when anything changed since the last one; True when written."""
        with self._save_lock:
            if not force and not self.changed():
                return False
            self.blobs.mkdir(parents=True, exist_ok=True)
            with moto_patches.write_lock():  # one cut: no write lands during the scan
                writes = moto_patches.writes()
                tables = self._dump_tables()
            signature, objects = self._dump_objects()
            wechat_changes = self._wechat_changes()
            wechat = self.wechat.export_state() if self.wechat is not None else None
            document = {"format": FORMAT, "saved_at": time.time(), "tables": tables}
            document |= {"objects": objects, "wechat": wechat}
            cognito_signature = self._cognito_signature()
            if self.cognito is not None:
                document["cognito"] = self.cognito.export_state()
            _write_atomic(self.snapshot, json.dumps(document, ensure_ascii=False).encode())
            self._collect_garbage({o["blob"] for o in objects})
            self._saved_writes, self._saved_listing = writes, signature
            self._saved_wechat = wechat_changes
            self._saved_cognito = cognito_signature
            self._saved_objects = {o["key"]: o for o in objects}
            return True

    def _dump_tables(self) -> dict[str, list[dict[str, Any]]]:
        return {
            suffix: [_item_json(item) for item in table.all_items()]
            for suffix, table in sorted(_moto_tables().items())
        }

    def _dump_objects(self) -> tuple[tuple[Any, ...], list[dict[str, Any]]]:
        s3 = _client("s3")
        signature, listed = self._listing()
        objects = []
        for key, meta in sorted(listed.items()):
            known = self._saved_objects.get(key)
            if known and (known.get("etag"), known.get("modified")) == (
                meta["etag"],
                meta["modified"],
            ):
                objects.append(known)
                continue
            got = s3.get_object(Bucket=_bucket(), Key=key)
            body = got["Body"].read()
            digest = hashlib.sha256(body).hexdigest()
            blob = self.blobs / digest
            if not blob.exists():
                _write_atomic(blob, body)
            objects.append(
                {
                    "key": key,
                    "blob": digest,
                    "content_type": got.get("ContentType"),
                    "metadata": got.get("Metadata") or {},
                    "etag": meta["etag"],
                    "modified": meta["modified"],
                }
            )
        return signature, objects

    def _collect_garbage(self, referenced: set[str]) -> None:
        for blob in self.blobs.iterdir():
            if blob.name not in referenced and not blob.name.startswith("."):
                blob.unlink(missing_ok=True)

    # ---- the autosave worker ---------------------------------------------------------------

    def start(self) -> LocalState:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="local-state", daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            started = time.monotonic()
            try:
                self.save()
            except Exception:
                log.exception("local_state.autosave_failed")  # the next round tries again
            # A big store takes a while to scan: keep the saver under a fifth of the time.
            self._stop.wait(4 * (time.monotonic() - started))

    def stop(self) -> None:
        """Stop autosaving and save what is left (call once nothing writes any more)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        self.save()
