"""WeChat "safe mode" (AES) message encryption.

Scheme (WeChat's official sample, also CONTRACT.md §2):
    key        = b64decode(EncodingAESKey + "=")      # 43 chars -> 32 bytes, AES-256
    iv         = key[:16]                              # fixed IV: WeChat's design, not ours
    plaintext  = random(16) + len(msg) as 4-byte big-endian + msg + appid
    padding    = PKCS#7 to 32-byte blocks (pad value 1..32)
    ciphertext = base64(AES-256-CBC(plaintext))

CBC with a fixed IV and no MAC is malleable and could be a padding oracle, so ``decrypt_message``
verifies ``msg_signature`` (which needs the token) *before* decrypting anything, and every
decryption failure is one indistinguishable InvalidMessageError.

The cipher is OpenSSL's, through `cryptography` (already a dependency: Cognito's RS256): one call
into it costs ~0.3 us where pycryptodome's cffi wrappers cost 2-4 us, twice per message.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
import struct
import threading
import time
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .errors import InvalidMessageError, WeChatError
from .signature import check_timestamp, compute_signature, verify_msg_signature
from .xml import MAX_BODY, parse_xml

_BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16
_AES_BLOCK = 16
_PREFIX = 16  # random bytes
_HEADER = _PREFIX + 4  # + big-endian length
_LEN = struct.Struct(">I")
# Precomputed padding strings: one slice instead of a bytes() allocation per call.
_PADS = tuple(bytes([n]) * n for n in range(_BLOCK + 1))
# The envelope exactly as WeChat sends it in safe mode (an account id and the base64 payload):
# one C-level match instead of a general XML parse (~2 us). Anything else (compatible mode's
# plaintext fields, other whitespace, comments, odd ids) goes through parse_xml, so this shortcut
# only ever accepts documents parse_xml accepts, and reads the same Encrypt value from them.
_ENVELOPE = re.compile(
    rb"[ \t\n]*<xml>[ \t\n]*<ToUserName><!\[CDATA\[[A-Za-z0-9_\-]{0,64}\]\]></ToUserName>"
    rb"[ \t\n]*<Encrypt><!\[CDATA\[([A-Za-z0-9+/=]+)\]\]></Encrypt>[ \t\n]*</xml>[ \t\n]*"
)


class WeChatCrypto:
    """Encrypts/decrypts one account's messages. Cheap to keep as a module-level singleton."""

    __slots__ = ("_app_id", "_decryptor", "_encryptor", "_iv", "_key", "_lock", "app_id", "token")

    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        if not isinstance(encoding_aes_key, str) or len(encoding_aes_key) != 43:
            raise ValueError("EncodingAESKey must be 43 characters")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except (ValueError, binascii.Error):  # binascii.Error is a ValueError; explicit for clarity
            raise ValueError("EncodingAESKey is not valid base64") from None
        if len(key) != 32:
            raise ValueError("EncodingAESKey must decode to 32 bytes")
        if not isinstance(token, str) or not isinstance(app_id, str):
            raise ValueError("token and app_id must be strings")
        self.token = token
        self.app_id = app_id
        # Everything that does not depend on the message is computed once here.
        self._key = key
        self._iv = key[:16]
        self._app_id = app_id.encode("utf-8")
        # Creating a cipher context costs more than using one, so each direction keeps ONE
        # long-lived CBC context: a context continues its chain from the last block it saw,
        # which only ever touches a message's first block (_encrypt_blocks, _decrypt_blocks).
        cipher = Cipher(algorithms.AES(key), modes.CBC(self._iv))
        # (encryptor, the last ciphertext block it emitted)
        self._encryptor = (cipher.encryptor(), self._iv)
        self._decryptor = cipher.decryptor()
        self._lock = threading.Lock()  # chalice local serves requests on threads

    # -- raw payload ----------------------------------------------------------------------------

    def encrypt(self, msg: bytes | str, *, random_prefix: bytes | None = None) -> str:
        """Encrypt ``msg`` into WeChat's base64 payload. ``random_prefix`` is for tests only."""
        if isinstance(msg, str):
            msg = msg.encode("utf-8")
        prefix = os.urandom(_PREFIX) if random_prefix is None else random_prefix
        if len(prefix) != _PREFIX:
            raise ValueError("random_prefix must be 16 bytes")
        plain = b"".join((prefix, _LEN.pack(len(msg)), msg, self._app_id))
        plain += _PADS[_BLOCK - len(plain) % _BLOCK]  # always 1..32 bytes of padding
        out = self._encrypt_blocks(plain, exact=random_prefix is not None)
        return base64.b64encode(out).decode("ascii")

    def _encrypt_blocks(self, plain: bytes, *, exact: bool = True) -> bytes:
        """AES-CBC encryption with the fixed IV, on one long-lived CBC context.

        A CBC context continues its chain from the last block it emitted (X): it encrypts the
        first block as E(P0 xor X), where a fresh object with the IV gives E(P0 xor IV).
        - exact: feeding P0 xor IV xor X instead yields exactly the fresh object's output
          (a fresh CBC encryption with the IV; the unit tests check it).
        - not exact, when P0 is the fresh random prefix: nothing to correct. WeChat decrypts
          with the IV and reads the prefix as P0 xor X xor IV: still 16 uniformly random bytes,
          independent of the message, and the ciphertext is distributed exactly as a fresh
          object's would be (C0 = E(uniform)). The rest of the chain is the same either way.
        """
        with self._lock:
            encryptor, chain = self._encryptor
            if exact:
                rebase = int.from_bytes(self._iv, "big") ^ int.from_bytes(chain, "big")
                first = (int.from_bytes(plain[:16], "big") ^ rebase).to_bytes(16, "big")
                plain = first + plain[16:]
            out = encryptor.update(plain)
            self._encryptor = (encryptor, out[-16:])
        return out

    def decrypt(self, encrypted: str) -> bytes:
        """Decrypt a base64 payload and return the message bytes.

        Any failure (base64, length, padding, length field, appid) -> InvalidMessageError.
        """
        try:
            return self._decrypt(encrypted)
        except WeChatError:
            raise
        except Exception:  # binascii.Error, ValueError, TypeError, struct.error, ...
            raise InvalidMessageError("cannot decrypt message") from None

    def _decrypt(self, encrypted: str) -> bytes:
        if not isinstance(encrypted, str | bytes):
            raise InvalidMessageError("cannot decrypt message")
        # validate=True: refuse non-alphabet characters instead of silently skipping them.
        data = base64.b64decode(encrypted, validate=True)
        # At least two blocks (the prefix, then the length): _decrypt_blocks never gets the
        # first block right and nothing may be read from it. Whole blocks only: a partial one
        # would stay in the long-lived context and shift every later message.
        if len(data) < 2 * _AES_BLOCK or len(data) % _AES_BLOCK:
            raise InvalidMessageError("cannot decrypt message")
        plain = self._decrypt_blocks(data)
        pad = plain[-1]
        # Validate every pad byte (not just the last) and the 1..32 range.
        if not 1 <= pad <= _BLOCK or pad > len(plain) or plain[-pad:] != _PADS[pad]:
            raise InvalidMessageError("cannot decrypt message")
        end = len(plain) - pad
        if end < _HEADER:
            raise InvalidMessageError("cannot decrypt message")
        (length,) = _LEN.unpack_from(plain, _PREFIX)
        if length > end - _HEADER:
            raise InvalidMessageError("cannot decrypt message")
        msg_end = _HEADER + length
        if plain[msg_end:end] != self._app_id:
            raise InvalidMessageError("app id mismatch")
        return plain[_HEADER:msg_end]

    def _decrypt_blocks(self, data: bytes) -> bytes:
        """AES-CBC decryption with the fixed IV, on one long-lived CBC context, EXCEPT the first
        16 bytes: P[i] = D(C[i]) xor C[i-1] for every block but the first, whose chaining block
        is the previous message's last (not the IV). That block is the random prefix, which
        nobody reads, so it is not corrected (the unit tests compare the rest with a fresh CBC).
        """
        with self._lock:
            return self._decryptor.update(data)

    # -- callback envelopes ---------------------------------------------------------------------

    def decrypt_message(
        self,
        body: bytes,
        msg_signature: str | None,
        timestamp: str | None,
        nonce: str | None,
        *,
        now: float | None = None,
    ) -> bytes:
        """Verify and decrypt an AES-mode callback body; return the inner XML bytes.

        Compatible mode puts plaintext fields next to ``Encrypt``: they are unauthenticated, so
        they are ignored and only the encrypted copy is used. The timestamp window is checked
        first, so a replayed request is refused as such whatever its body.
        """
        return self.decrypt(self.signed_payload(body, msg_signature, timestamp, nonce, now=now))

    def signed_payload(
        self,
        body: bytes,
        msg_signature: str | None,
        timestamp: str | None,
        nonce: str | None,
        *,
        now: float | None = None,
    ) -> str:
        """The envelope's `Encrypt` payload once its timestamp and `msg_signature` check out
        (neither depends on the EncodingAESKey: a caller holding two keys verifies once and
        decrypts with either)."""
        check_timestamp(timestamp, now=now)
        fast = _ENVELOPE.fullmatch(body) if type(body) is bytes and len(body) <= MAX_BODY else None
        if fast is not None:
            encrypt: Any = fast.group(1).decode("ascii")
        else:
            encrypt = parse_xml(body).get("Encrypt")
        if not isinstance(encrypt, str) or not encrypt:
            raise InvalidMessageError("missing Encrypt")
        # Signature first: an unauthenticated caller never reaches the CBC decryption.
        verify_msg_signature(self.token, msg_signature, timestamp, nonce, encrypt)
        return encrypt

    def encrypt_reply(
        self,
        reply_xml: str,
        *,
        timestamp: str | None = None,
        nonce: str | None = None,
        random_prefix: bytes | None = None,
    ) -> str:
        """Encrypt and sign a passive reply into WeChat's reply envelope."""
        timestamp = str(int(time.time())) if timestamp is None else str(timestamp)
        nonce = str(secrets.randbelow(10**10)) if nonce is None else str(nonce)
        encrypt = self.encrypt(reply_xml, random_prefix=random_prefix)
        signature = compute_signature(self.token, timestamp, nonce, encrypt)
        # base64 and hex never contain "]]>"; the nonce might if a caller passes one, so escape.
        nonce_cdata = nonce.replace("]]>", "]]]]><![CDATA[>")
        return (
            f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp>"
            f"<Nonce><![CDATA[{nonce_cdata}]]></Nonce></xml>"
        )
