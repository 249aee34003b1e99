"""WeChat callback signatures.

``signature = sha1(join(sorted([token, timestamp, nonce])))`` for plaintext mode and the GET URL
check; ``msg_signature`` adds the ``Encrypt`` payload as a fourth part in AES mode.

Two things the popular SDKs get wrong and we do not: comparison is constant-time
(``hmac.compare_digest``) and the timestamp must be within ``window`` seconds of server time, so a
captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from .errors import SignatureError

TIMESTAMP_WINDOW = 300
# Unix seconds; 12 digits is far beyond any sane clock, and bounding the length keeps int() cheap.
_MAX_TS_DIGITS = 12


def compute_signature(*parts: str) -> str:
    """sha1 hex digest of the sorted, concatenated parts (WeChat's signing scheme)."""
    # surrogatepass: never raise on odd query-string text; it just won't match.
    joined = "".join(sorted(parts)).encode("utf-8", "surrogatepass")
    return hashlib.sha1(joined).hexdigest()


def check_timestamp(
    timestamp: str | None, *, now: float | None = None, window: int = TIMESTAMP_WINDOW
) -> int:
    """Return the timestamp as int, or raise SignatureError if missing/garbage/out of window."""
    if not isinstance(timestamp, str):
        raise SignatureError("missing timestamp")
    ts = timestamp.strip()
    # isdigit() alone accepts non-ASCII digits ("١٢٣"); require plain ASCII decimal.
    if not (0 < len(ts) <= _MAX_TS_DIGITS and ts.isascii() and ts.isdigit()):
        raise SignatureError("invalid timestamp")
    value = int(ts)
    current = time.time() if now is None else now
    if abs(current - value) > window:
        raise SignatureError("stale timestamp")
    return value


def _require_text(*values: object) -> None:
    for value in values:
        if not isinstance(value, str) or not value:
            raise SignatureError("missing signature parameter")


def _matches(expected: str, given: str) -> bool:
    # compare_digest on str only accepts ASCII; a non-ASCII signature is simply wrong.
    if not given.isascii():
        return False
    return hmac.compare_digest(expected, given.lower())


def check_signature(
    token: str | None,
    signature: str | None,
    timestamp: str | None,
    nonce: str | None,
    *,
    now: float | None = None,
) -> None:
    """Verify a plaintext-mode (or GET verification) signature; raise SignatureError if bad."""
    _require_text(token, signature, nonce)
    check_timestamp(timestamp, now=now)
    expected = compute_signature(token, timestamp, nonce)  # type: ignore[arg-type]
    if not _matches(expected, signature):  # type: ignore[arg-type]
        raise SignatureError("signature mismatch")


def check_msg_signature(
    token: str | None,
    msg_signature: str | None,
    timestamp: str | None,
    nonce: str | None,
    encrypt: str | None,
    *,
    now: float | None = None,
) -> None:
    """Verify an AES-mode ``msg_signature`` over the Encrypt payload; raise SignatureError."""
    check_timestamp(timestamp, now=now)
    verify_msg_signature(token, msg_signature, timestamp, nonce, encrypt)


def verify_msg_signature(
    token: str | None,
    msg_signature: str | None,
    timestamp: str | None,
    nonce: str | None,
    encrypt: str | None,
) -> None:
    """The signature half of check_msg_signature, for a caller that has checked the timestamp
    window itself (before reading the body)."""
    _require_text(token, msg_signature, nonce, encrypt)
    expected = compute_signature(token, timestamp, nonce, encrypt)  # type: ignore[arg-type]
    if not _matches(expected, msg_signature):  # type: ignore[arg-type]
        raise SignatureError("msg_signature mismatch")
