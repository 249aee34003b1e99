"""What a log line may say about a follower (RELIABILITY.md "Logs").

- `follower(openid)`: a short keyed hash instead of the openid. Lines about one follower still
  correlate; whoever reads the logs cannot turn them back into openids. To find the lines of a
  known follower: `python -m chalicelib.logsafe <openid>` (with the stage's settings).
- `seal(data)` / `unseal(text)`: the one line that must carry a follower's message (the
  callback's `callback.store_failed`, which `chalicelib.jobs.replay` replays once storage is
  back) carries it encrypted and authenticated (AES-256-GCM), never in clear.

Both keys are derived from WECHAT_TOKEN, which every deployment that receives messages has, so
no new secret needs provisioning. Rotating that token makes earlier hashes differ and earlier
sealed lines unreadable (replay counts them `unreadable`): replay before rotating.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import sys
from typing import Any

from chalicelib import config
from chalicelib.errors import InvalidInput

_VERSION = "v1"
_NONCE = 12
_TAG = 16


def _key(purpose: bytes) -> bytes:
    root = config.get(config.WECHAT_TOKEN).encode("utf-8")
    return hmac.new(root, b"wxless/logsafe/" + purpose, hashlib.sha256).digest()


def follower(openid: str | None) -> str:
    """`f:` + 12 hex digits of HMAC-SHA256(openid): stable per deployment, not reversible."""
    if not openid:
        return "f:-"
    digest = hmac.new(_key(b"follower"), openid.encode("utf-8"), hashlib.sha256).hexdigest()
    return "f:" + digest[:12]


def seal(data: Any) -> str:
    """JSON-encode `data` and encrypt it: `v1.<base64(nonce | tag | ciphertext)>`."""
    from Crypto.Cipher import AES

    nonce = os.urandom(_NONCE)
    cipher = AES.new(_key(b"seal"), AES.MODE_GCM, nonce=nonce)
    plain = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    ciphertext, tag = cipher.encrypt_and_digest(plain)
    return f"{_VERSION}.{base64.b64encode(nonce + tag + ciphertext).decode('ascii')}"


def unseal(text: Any) -> Any:
    """The data `seal` was given; InvalidInput if `text` is not a payload sealed with this key."""
    from Crypto.Cipher import AES

    if not isinstance(text, str) or not text.startswith(_VERSION + "."):
        raise InvalidInput("not a sealed payload")
    try:
        blob = base64.b64decode(text[len(_VERSION) + 1 :], validate=True)
    except ValueError:
        raise InvalidInput("not a sealed payload") from None
    if len(blob) < _NONCE + _TAG:
        raise InvalidInput("not a sealed payload")
    nonce, tag, ciphertext = blob[:_NONCE], blob[_NONCE : _NONCE + _TAG], blob[_NONCE + _TAG :]
    cipher = AES.new(_key(b"seal"), AES.MODE_GCM, nonce=nonce)
    try:
        plain = cipher.decrypt_and_verify(ciphertext, tag)  # ValueError if forged or other key
    except ValueError:
        raise InvalidInput("sealed with another key, or altered") from None
    return json.loads(plain.decode("utf-8"))


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        print(arg, follower(arg))
