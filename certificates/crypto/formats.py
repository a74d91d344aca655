"""What certdesk shows and writes the way the tools do: OpenSSL dates, PKCS#12, file names."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from .errors import CryptoError
from .keys import key_matches

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# PBKDF2-HMAC-SHA256 iterations: OWASP's 2023 figure. About 0.2 s per export, once per download.
PKCS12_KDF_ROUNDS = 600_000
MIN_PASSPHRASE_BYTES = 8

FileKind = Literal["privatekey", "csr", "cert", "chain", "p12"]
_FILE_KINDS: frozenset[str] = frozenset({"privatekey", "csr", "cert", "chain", "p12"})


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken to be UTC already (as certificates store)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def openssl_date(moment: datetime) -> str:
    """``Jan 22 12:25:04 2024 GMT``, ``Jan  2 ...`` for single-digit days, as OpenSSL prints.

    Month names are fixed English (ASN1_TIME_print), never the locale's; seconds are whole.
    """
    utc = as_utc(moment)
    return (
        f"{_MONTHS[utc.month - 1]} {utc.day:2d} "
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d} {utc.year} GMT"
    )


def openssl_dates(certificate: x509.Certificate) -> str:
    """What ``openssl x509 -startdate -enddate -noout`` prints (Treezor's "Renewing" section)."""
    return (
        f"notBefore={openssl_date(certificate.not_valid_before_utc)}\n"
        f"notAfter={openssl_date(certificate.not_valid_after_utc)}"
    )


def export_pkcs12(
    key: rsa.RSAPrivateKey,
    cert: x509.Certificate,
    chain: list[x509.Certificate],
    *,
    passphrase: bytes,
    friendly_name: str,
) -> bytes:
    """A .p12 with key, certificate and chain: AES-256-CBC, PBKDF2-SHA256, SHA-256 MAC.

    OpenSSL 3 reads it without ``-legacy`` (the 3DES/RC2 defaults of old tools need it).
    """
    if len(passphrase) < MIN_PASSPHRASE_BYTES:
        raise CryptoError(
            f"Choose a passphrase of at least {MIN_PASSPHRASE_BYTES} characters to protect the "
            "private key in the .p12 file.",
            code="passphrase_short",
        )
    if not key_matches(key.public_key(), cert.public_key()):
        raise CryptoError(
            "The certificate was not issued for this key: their public keys differ.",
            code="key_mismatch",
        )
    encryption = (
        serialization.PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(PKCS12_KDF_ROUNDS)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(passphrase)
    )
    return pkcs12.serialize_key_and_certificates(
        friendly_name.encode("utf-8") or None, key, cert, chain or None, encryption
    )


def treezor_filename(company: str, kind: FileKind, purpose: str) -> str:
    """``<company>_<kind>_<purpose>.pem`` (``.p12`` for p12), after Treezor's file names.

    Treezor writes ``<your.company.name>_privatekey_mtls.pem`` and
    ``<your.company.name>_csr_mtls.pem``. The company is lowercased, accents are dropped,
    whitespace becomes '.', anything but ``[a-z0-9._-]`` goes, dots are collapsed and trimmed;
    "company" if nothing is left. ("Acme SAS", "csr", "mtls") gives ``acme.sas_csr_mtls.pem``.
    """
    if kind not in _FILE_KINDS:
        raise ValueError(f"unknown file kind {kind!r}")
    extension = ".p12" if kind == "p12" else ".pem"
    return f"{_slug(company, 'company')}_{kind}_{_slug(purpose, 'mtls')}{extension}"


def _slug(text: str, fallback: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    dotted = re.sub(r"\s+", ".", ascii_only.strip())
    kept = re.sub(r"[^a-z0-9._-]", "", dotted)
    collapsed = re.sub(r"\.{2,}", ".", kept).strip(".")
    return collapsed or fallback
