"""RSA keys: generation, PKCS#1 serialisation, fingerprints.

Treezor's page, "1. Create your RSA keys": "Type: RSA, Format: PKCS1, Size: 2048".
"""

from __future__ import annotations

import hashlib
import re

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from ._encoding import normalise, pem_blocks
from .errors import CryptoError

KEY_SIZE = 2048
PUBLIC_EXPONENT = 65537

_HEX = re.compile(r"[0-9a-fA-F]+")


def generate_private_key() -> rsa.RSAPrivateKey:
    """A fresh RSA 2048 key with e = 65537 (what ``openssl genrsa 2048`` makes)."""
    return rsa.generate_private_key(public_exponent=PUBLIC_EXPONENT, key_size=KEY_SIZE)


def private_key_to_pem(key: rsa.RSAPrivateKey) -> bytes:
    """Unencrypted PKCS#1 PEM (``-----BEGIN RSA PRIVATE KEY-----``).

    Treezor asks for "Format: PKCS1"; OpenSSL 3's ``genrsa`` writes PKCS#8 unless told
    ``-traditional``, so certdesk writes PKCS#1 itself (rule 1 of DESIGN.md).
    """
    _require_rsa_2048(key)
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.TraditionalOpenSSL,
        encryption_algorithm=serialization.NoEncryption(),
    )


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    """Read an unencrypted RSA 2048 key from PKCS#1 or PKCS#8 PEM.

    Messages never quote the input, and the underlying parser's exception is not chained: this
    is a private key and must not reach a log or an error page (rule 3).
    """
    try:
        blocks = pem_blocks(normalise(pem))
    except CryptoError:
        blocks = []
    keys = [block for block in blocks if block.label in ("RSA PRIVATE KEY", "PRIVATE KEY")]
    if len(blocks) != 1 or len(keys) != 1:
        if any(block.label == "ENCRYPTED PRIVATE KEY" for block in blocks):
            raise _encrypted_key()
        raise CryptoError(
            "This is not an RSA private key in PEM format: expected one "
            "'-----BEGIN RSA PRIVATE KEY-----' (PKCS#1) or '-----BEGIN PRIVATE KEY-----' "
            "(PKCS#8) block.",
            code="key_invalid",
        )
    if keys[0].has_headers:  # legacy "Proc-Type: 4,ENCRYPTED" PKCS#1
        raise _encrypted_key()
    try:
        key = serialization.load_der_private_key(keys[0].der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise CryptoError(
            "The private key could not be read: the PEM block is damaged or is not a key.",
            code="key_invalid",
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CryptoError(
            f"This is {describe_key(key.public_key())} key; Treezor requires RSA {KEY_SIZE}.",
            code="key_type",
        )
    _require_rsa_2048(key)
    return key


def _encrypted_key() -> CryptoError:
    return CryptoError(
        "This private key is encrypted with a passphrase; certdesk needs it unencrypted "
        "(it encrypts keys at rest itself).",
        code="key_encrypted",
    )


def _require_rsa_2048(key: rsa.RSAPrivateKey) -> None:
    if key.key_size != KEY_SIZE:
        raise CryptoError(
            f"The key is RSA {key.key_size} bits; Treezor requires RSA {KEY_SIZE}.",
            code="key_size",
        )


def describe_key(public_key: PublicKeyTypes) -> str:
    """'an RSA 2048-bit', 'an EC (secp256r1)', ... for messages ("This is ... key")."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return f"an RSA {public_key.key_size}-bit"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return f"an EC ({public_key.curve.name})"
    if isinstance(public_key, dsa.DSAPublicKey):
        return f"a DSA {public_key.key_size}-bit"
    names: list[tuple[type[object], str]] = [
        (ed25519.Ed25519PublicKey, "an Ed25519"),
        (ed448.Ed448PublicKey, "an Ed448"),
        (x25519.X25519PublicKey, "an X25519"),
        (x448.X448PublicKey, "an X448"),
    ]
    for kind, name in names:
        if isinstance(public_key, kind):
            return name
    return "an unsupported"


def public_key_fingerprint(public_key: PublicKeyTypes) -> str:
    """Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo (64 characters).

    The identity of a Key in certdesk (DESIGN.md, "Key"): equal for the key, its CSR and its
    certificate, whatever the files look like.
    """
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def key_matches(public_key_a: PublicKeyTypes, public_key_b: PublicKeyTypes) -> bool:
    """True if both are the same public key (compared by fingerprint)."""
    return public_key_fingerprint(public_key_a) == public_key_fingerprint(public_key_b)


def format_fingerprint(hex_digest: str) -> str:
    """``AB:CD:...``, uppercase pairs joined by colons, as ``openssl x509 -fingerprint`` prints."""
    if len(hex_digest) % 2 or not _HEX.fullmatch(hex_digest):
        raise CryptoError("A fingerprint is an even number of hexadecimal digits.")
    upper = hex_digest.upper()
    return ":".join(upper[i : i + 2] for i in range(0, len(upper), 2))
