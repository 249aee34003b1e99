"""Proving an artifact built for another architecture than this machine's.

The functions run on arm64 (20 % cheaper per GB-second than x86_64; every wheel of
requirements.txt has an aarch64 build). An aarch64 extension cannot be imported on an x86_64
build machine, so the import proof runs on a twin: `chalice package` again, from the same
snapshot and the same pinned versions, for this machine's architecture, slimmed and compiled the
same way. The twin stands for the artifact because the two trees hold the same files byte for
byte, apart from the wheels' metadata that names their platform (RECORD, WHEEL, SBOMs) and the
shared objects: every one an ELF for its tree's architecture, the same Python extension modules
on both sides (a module exporting `PyInit_<name>`), while plain libraries loaded with ctypes may
differ (pycryptodome ships AES-NI builds for x86_64 and ARMv8 ones for arm64, each beside a
portable one).
"""

from __future__ import annotations

import hashlib
import platform
import re
from pathlib import Path

from infra.cfn.common import chalice_config

DEFAULT_ARCHITECTURE = "x86_64"  # Chalice's
# Lambda's architecture names -> the ELF machine (e_machine) of their shared objects.
ELF_MACHINES = {"x86_64": 62, "arm64": 183}
# Wheel metadata that names the platform it was built for.
_PLATFORM_METADATA = re.compile(r"[^/]+\.dist-info/(RECORD|WHEEL|sboms/.+)")
_MACHINE_TAG = re.compile(r"x86_64|aarch64")


def lambda_architecture(stage: str) -> str:
    """The stage's `lambda_architecture` (Chalice's precedence: the stage, then the top level)."""
    config = chalice_config()
    top = config.get("lambda_architecture", DEFAULT_ARCHITECTURE)
    return config.get("stages", {}).get(stage, {}).get("lambda_architecture", top)


def host_architecture() -> str:
    machine = platform.machine().lower()
    return "arm64" if machine in ("aarch64", "arm64") else machine


def elf_machine(path: Path) -> int | None:
    header = path.read_bytes()[:20]
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    return int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")


def _native(path: Path) -> bool:
    return path.name.endswith(".so") or ".so." in path.name


def _extension_module(path: Path) -> bool:
    return b"PyInit_" + path.name.split(".")[0].encode() in path.read_bytes()


def _files(tree: Path) -> dict[str, Path]:
    """Relative path (machine tags of shared objects made neutral) -> file."""
    found = {}
    for path in tree.rglob("*"):
        if not path.is_file():
            continue
        rel = path.relative_to(tree).as_posix()
        if _PLATFORM_METADATA.fullmatch(rel):
            continue
        found[_MACHINE_TAG.sub("<machine>", rel) if _native(path) else rel] = path
    return found


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compare_trees(
    shipped: Path, twin: Path, architecture: str, twin_architecture: str
) -> list[str]:
    """What keeps the twin from standing for the shipped tree (empty: nothing)."""
    problems = []
    trees = {architecture: _files(shipped), twin_architecture: _files(twin)}
    for arch, files in trees.items():
        for rel, path in sorted(files.items()):
            if _native(path) and elf_machine(path) != ELF_MACHINES[arch]:
                problems.append(f"{rel} in the {arch} tree is not an ELF for {arch}")
    ours, theirs = (
        {rel for rel, path in files.items() if not _native(path) or _extension_module(path)}
        for files in trees.values()
    )
    for rel in sorted(ours - theirs):
        problems.append(f"{rel} is in the artifact but not in its {twin_architecture} twin")
    for rel in sorted(theirs - ours):
        problems.append(f"{rel} is in the {twin_architecture} twin but not in the artifact")
    for rel in sorted(ours & theirs):
        shipped_file, twin_file = trees[architecture][rel], trees[twin_architecture][rel]
        if not _native(shipped_file) and _digest(shipped_file) != _digest(twin_file):
            problems.append(f"{rel} differs between the artifact and its twin")
    return problems
