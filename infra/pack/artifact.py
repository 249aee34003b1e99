"""The Lambda artifact as files: what to leave out (the runtime's own SDK, test suites shipped in
wheels), unzip and zip it again deterministically, measure it."""

from __future__ import annotations

import compileall
import importlib.metadata
import os
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

from infra.pack.proof import cold_import_ms
from infra.pack.report import Artifact

# Distributions the Lambda Python runtime ships (in /var/runtime, after /var/task on sys.path).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six")
# Test code inside wheels: never imported by the app.
TEST_SUITES = ("Crypto/SelfTest/", "regex/tests/")
# Lambda's limits for a zip uploaded through S3.
MAX_ZIPPED = 50 * 1024 * 1024
MAX_UNZIPPED = 250 * 1024 * 1024


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_files(archive: zipfile.ZipFile) -> tuple[set[str], set[str]]:
    """Paths (and dist-info prefixes) in the zip that belong to RUNTIME_PROVIDED distributions."""
    wanted = {_canonical(n) for n in RUNTIME_PROVIDED}
    paths: set[str] = set()
    prefixes: set[str] = set()
    for name in archive.namelist():
        match = re.fullmatch(r"([^/]+)-[^/-]+\.dist-info/RECORD", name)
        if not match or _canonical(match.group(1)) not in wanted:
            continue
        prefixes.add(name.rsplit("/", 1)[0] + "/")
        for line in archive.read(name).decode().splitlines():
            path = line.rsplit(",", 2)[0]
            if path:
                paths.add(path)
    return paths, prefixes


def extract(archive_path: Path, dest: Path, keep: Any = None) -> dict[str, int]:
    """Unzip with file modes; `keep(name)` returns a reason to drop a file, or None."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    dropped: dict[str, int] = {}
    with zipfile.ZipFile(archive_path) as archive:
        for info in archive.infolist():
            reason = keep(info.filename) if keep else None
            if reason:
                dropped[reason] = dropped.get(reason, 0) + info.file_size
                continue
            target = archive.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                os.chmod(target, mode)
    return dropped


def write_zip(tree: Path, archive_path: Path) -> None:
    """Deterministic zip: sorted entries, fixed timestamps, world-readable files (Lambda runs the
    code as another user)."""
    archive_path.unlink(missing_ok=True)
    with zipfile.ZipFile(archive_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(tree).as_posix(), (1980, 1, 1, 0, 0, 0))
            mode = (path.stat().st_mode & 0o777) | 0o444
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def tree_size(tree: Path) -> tuple[int, int]:
    files = [p for p in tree.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files), len(files)


def runtime_standin(dest: Path) -> Path:
    """Symlinks to this machine's copies of the runtime-provided packages (the Lambda runtime
    has its own, usually older, versions in /var/runtime)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in RUNTIME_PROVIDED:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if ".." not in Path(str(f)).parts}
        for top in tops:
            if top.endswith((".dist-info", ".data")) or top == "__pycache__":
                continue
            source = Path(dist.locate_file(top))
            if source.exists() and not (dest / top).exists():
                (dest / top).symlink_to(source)
    return dest


def dropper(archive_path: Path, vendor_sdk: bool) -> Any:
    with zipfile.ZipFile(archive_path) as archive:
        sdk_paths, sdk_prefixes = runtime_files(archive)

    def drop(name: str) -> str | None:
        if name.startswith(TEST_SUITES):
            return "test suites"
        if not vendor_sdk and (name in sdk_paths or name.startswith(tuple(sdk_prefixes))):
            return "runtime-provided SDK"
        return None

    return drop


def sizes(archive_path: Path, label: str) -> Artifact:
    """Sizes from the zip's directory, without unzipping."""
    with zipfile.ZipFile(archive_path) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
    size = sum(i.file_size for i in infos)
    return Artifact(label, archive_path.stat().st_size, size, len(infos))


def timed_import(archive_path: Path, tree: Path, runtime: Path) -> float | None:
    """The cold import time of `app` from the unzipped archive."""
    extract(archive_path, tree)
    try:
        return cold_import_ms(tree, runtime)
    finally:
        shutil.rmtree(tree)


def slim(
    original: Path, zip_path: Path, tree: Path, vendor_sdk: bool, runtime: Path | None = None
) -> tuple[dict[str, int], Artifact]:
    """Chalice's zip without what the runtime provides and the wheels' test suites, with bytecode
    compiled for /var/task. Returns what was left out and the tree's sizes before compiling
    (timed with `runtime` when given)."""
    dropped = extract(original, tree, dropper(original, vendor_sdk))
    size, files = tree_size(tree)
    without_pyc = Artifact("same without .pyc", 0, size, files)
    if runtime is not None:
        without_pyc.import_ms = cold_import_ms(tree, runtime)
    compileall.compile_dir(
        tree,
        quiet=2,
        workers=0,
        ddir="/var/task",  # tracebacks name the files where Lambda has them
        invalidation_mode=compileall.py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    write_zip(tree, zip_path)
    shutil.rmtree(tree)
    return dropped, without_pyc
