"""The fake's API state as JSON, so that `make run` can keep it between runs (infra/local_state.py):
the menu, tags, materials, drafts, mass jobs and tokens an admin's actions left at "WeChat".

Plain JSON plus a few tagged shapes: bytes, uploaded files, id sequences, and dicts whose keys are
not plain strings (tag ids are ints)."""

from __future__ import annotations

import base64
from typing import Any

from infra.fake_wechat.protocol import FilePart


class Sequence:
    """Like `itertools.count`, with a next value that can be saved and restored."""

    def __init__(self, start: int) -> None:
        self.next_value = start

    def __iter__(self) -> Sequence:
        return self

    def __next__(self) -> int:
        value, self.next_value = self.next_value, self.next_value + 1
        return value


def encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, FilePart):
        parts = [value.name, value.filename, value.content_type, encode(value.content)]
        return {"$part": parts}
    if isinstance(value, Sequence):
        return {"$seq": value.next_value}
    if isinstance(value, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in value):
            return {k: encode(v) for k, v in value.items()}
        return {"$map": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((tag, inner),) = value.items()
        if tag == "$bytes":
            return base64.b64decode(inner)
        if tag == "$part":
            name, filename, content_type, content = inner
            return FilePart(name, filename, content_type, decode(content))
        if tag == "$seq":
            return Sequence(int(inner))
        if tag == "$map":
            return {decode(k): decode(v) for k, v in inner}
    return {k: decode(v) for k, v in value.items()}
