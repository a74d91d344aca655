"""Encryption at rest of private keys: AES-256-GCM under a list of keys, with key ids.

Why our own small code rather than an encrypted-field library: the ones for Django either keep a
single key, or do not bind a ciphertext to its row, or fall back to returning stored bytes when
decryption fails. Here:

* every blob names the key that encrypted it (``key_id``), so old keys can be retired after
  ``manage.py rotate_encryption_keys``;
* the associated data binds a blob to its row (the key's public fingerprint), so a ciphertext
  copied to another row does not decrypt;
* a failure raises :class:`VaultError`; it never returns what was stored.

Blob layout: ``b"cdv1" | key_id (8 bytes) | nonce (12 bytes) | ciphertext + GCM tag (16 bytes)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.views.decorators.debug import sensitive_variables

from certificates import keyfiles

MAGIC = b"cdv1"
KEY_ID_BYTES = 8
NONCE_BYTES = 12
HEADER_BYTES = len(MAGIC) + KEY_ID_BYTES + NONCE_BYTES


class VaultError(Exception):
    """Encryption keys are wrong or missing, or a blob does not decrypt; never shows key bytes."""


@dataclass(frozen=True)
class EncryptionKey:
    key_id: bytes
    aead: AESGCM

    @property
    def key_id_hex(self) -> str:
        return self.key_id.hex()


def _key_id(secret: bytes) -> bytes:
    # Derived, not secret: it only tells which configured key a blob needs.
    return hashlib.sha256(b"certdesk key id" + secret).digest()[:KEY_ID_BYTES]


@lru_cache(maxsize=8)
@sensitive_variables("configured", "text", "secret")
def _parse_keys(configured: tuple[str, ...]) -> tuple[EncryptionKey, ...]:
    keys: list[EncryptionKey] = []
    for position, text in enumerate(configured, start=1):
        try:
            secret = base64.urlsafe_b64decode(text.strip().encode("ascii"))
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise VaultError(
                f"CERTDESK_ENCRYPTION_KEYS: key {position} is not base64; "
                "make one with: python manage.py generate_encryption_key"
            ) from None
        if len(secret) != 32:
            raise VaultError(
                f"CERTDESK_ENCRYPTION_KEYS: key {position} is {len(secret)} bytes; "
                "AES-256 needs 32 (python manage.py generate_encryption_key)"
            )
        keys.append(EncryptionKey(key_id=_key_id(secret), aead=AESGCM(secret)))
    if not keys:
        raise VaultError("CERTDESK_ENCRYPTION_KEYS is empty: private keys cannot be stored.")
    return tuple(keys)


def configured_keys() -> tuple[EncryptionKey, ...]:
    """The keys of CERTDESK_ENCRYPTION_KEYS (on a laptop, var/encryption.key, made at first
    use), the first one encrypting."""
    return _parse_keys(keyfiles.encryption_keys())


def current_key_id() -> str:
    return configured_keys()[0].key_id_hex


@sensitive_variables("plaintext")
def encrypt(plaintext: bytes, *, bound_to: str) -> tuple[bytes, str]:
    """Encrypt ``plaintext`` for the row identified by ``bound_to``; returns blob and key id."""
    key = configured_keys()[0]
    nonce = os.urandom(NONCE_BYTES)
    sealed = key.aead.encrypt(nonce, plaintext, _associated_data(bound_to))
    return MAGIC + key.key_id + nonce + sealed, key.key_id_hex


def decrypt(blob: bytes | memoryview, *, bound_to: str) -> bytes:
    """Decrypt a blob made by :func:`encrypt` for the same ``bound_to``, or raise VaultError."""
    blob = bytes(blob)
    if len(blob) <= HEADER_BYTES or not blob.startswith(MAGIC):
        raise VaultError("The stored private key is not in certdesk's encrypted format.")
    key_id = blob[len(MAGIC) : len(MAGIC) + KEY_ID_BYTES]
    nonce = blob[len(MAGIC) + KEY_ID_BYTES : HEADER_BYTES]
    key = next((k for k in configured_keys() if k.key_id == key_id), None)
    if key is None:
        raise VaultError(
            f"The private key was encrypted with key id {key_id.hex()}, which is not in "
            "CERTDESK_ENCRYPTION_KEYS; add that key back, then run rotate_encryption_keys."
        )
    try:
        return key.aead.decrypt(nonce, blob[HEADER_BYTES:], _associated_data(bound_to))
    except InvalidTag:
        raise VaultError(
            "The stored private key does not decrypt: it was altered or belongs to another row."
        ) from None


def key_id_of(blob: bytes | memoryview) -> str:
    return bytes(blob)[len(MAGIC) : len(MAGIC) + KEY_ID_BYTES].hex()


def _associated_data(bound_to: str) -> bytes:
    return b"certdesk private key|" + bound_to.encode("utf-8")


# Small secrets other libraries keep in text columns (allauth's TOTP secrets): sealed like a key,
# as text: this prefix, then the base64 of the blob.
SEALED_TEXT_PREFIX = "certdesk-vault:"
# What a TOTP secret is bound to (a sealed secret cannot be passed off as a private key).
TOTP_BOUND_TO = "mfa-totp-secret"


@sensitive_variables("text")
def seal_text(text: str, *, bound_to: str) -> str:
    blob, _key_id = encrypt(text.encode("utf-8"), bound_to=bound_to)
    return SEALED_TEXT_PREFIX + base64.b64encode(blob).decode("ascii")


def unseal_text(sealed: str, *, bound_to: str) -> str:
    """The text :func:`seal_text` sealed; text without the prefix (stored before certdesk
    sealed it) is returned as it is."""
    if not sealed.startswith(SEALED_TEXT_PREFIX):
        return sealed
    blob = base64.b64decode(sealed[len(SEALED_TEXT_PREFIX) :])
    return decrypt(blob, bound_to=bound_to).decode("utf-8")


def sealed_text_key_id(sealed: str) -> str | None:
    """The id of the key that sealed ``sealed``, or None for text stored in clear."""
    if not sealed.startswith(SEALED_TEXT_PREFIX):
        return None
    return key_id_of(base64.b64decode(sealed[len(SEALED_TEXT_PREFIX) :]))
