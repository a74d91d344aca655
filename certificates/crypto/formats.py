"""What certdesk shows and writes the way the tools do: OpenSSL dates, PKCS#12, file names."""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import re
import unicodedata
import zipfile
from collections.abc import Iterable
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
# The MAC is a second way to test a guessed passphrase (no decryption needed), so it must cost
# at least what the key bag costs. cryptography (50) writes it with OpenSSL's default of 2,048
# iterations and offers no setting for it: export_pkcs12 recomputes it. One iteration of the
# PKCS#12 key derivation (RFC 7292 B.2) is one SHA-256 compression over a 32-byte digest; one
# PBKDF2-HMAC-SHA256 round is two (inner and outer hash), hence twice the rounds. OpenSSL reads
# any count (Java's keystore up to 5,000,000). About 0.6 s in Python, once per download.
PKCS12_MAC_ITERATIONS = 2 * PKCS12_KDF_ROUNDS
_MAC_SALT_BYTES = 16
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

    The bags take PKCS12_KDF_ROUNDS, the MAC PKCS12_MAC_ITERATIONS: guessing the passphrase
    costs as much through either. OpenSSL 3 reads it without ``-legacy`` (the 3DES/RC2
    defaults of old tools need it).
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
    bundle = pkcs12.serialize_key_and_certificates(
        friendly_name.encode("utf-8") or None, key, cert, chain or None, encryption
    )
    return _with_costly_mac(bundle, passphrase, PKCS12_MAC_ITERATIONS)


# DER of the MAC's DigestInfo algorithm: SEQUENCE { OID 2.16.840.1.101.3.4.2.1 (SHA-256), NULL }.
_SHA256_ALGORITHM = bytes.fromhex("300d06096086480165030402010500")


def _with_costly_mac(bundle: bytes, passphrase: bytes, iterations: int) -> bytes:
    """``bundle`` (a PFX) with its MacData replaced: HMAC-SHA256, a fresh salt, ``iterations``.

    PFX ::= SEQUENCE { version INTEGER, authSafe ContentInfo, macData MacData OPTIONAL }; the
    MAC covers the content octets of authSafe (``[0] EXPLICIT OCTET STRING``), left untouched.
    """
    pfx_tag, pfx_start, pfx_end = _der_element(bundle, 0)
    if pfx_tag != 0x30 or pfx_end != len(bundle):
        raise CryptoError("The PKCS#12 bundle could not be written.", code="pkcs12_der")
    version_end = _der_element(bundle, pfx_start)[2]
    auth_tag, auth_start, auth_end = _der_element(bundle, version_end)
    oid_end = _der_element(bundle, auth_start)[2]
    explicit_start = _der_element(bundle, oid_end)[1]
    octets_tag, octets_start, octets_end = _der_element(bundle, explicit_start)
    if auth_tag != 0x30 or octets_tag != 0x04:
        raise CryptoError("The PKCS#12 bundle could not be written.", code="pkcs12_der")
    salt = os.urandom(_MAC_SALT_BYTES)
    mac_key = _pkcs12_mac_key(passphrase, salt, iterations)
    mac = hmac.new(mac_key, bundle[octets_start:octets_end], hashlib.sha256).digest()
    mac_data = _der(
        0x30,
        _der(0x30, _SHA256_ALGORITHM + _der(0x04, mac))
        + _der(0x04, salt)
        + _der(0x02, _der_unsigned(iterations)),
    )
    return _der(0x30, bundle[pfx_start:auth_end] + mac_data)


def _pkcs12_mac_key(passphrase: bytes, salt: bytes, iterations: int) -> bytes:
    """RFC 7292 B.2 with SHA-256 (u=32, v=64), ID 3 (MAC key), 32 bytes: one block, so A_1.

    The password is the BMPString of the UTF-8 passphrase with its two-byte terminator, as
    OpenSSL's PKCS12_key_gen_utf8 makes it (characters beyond U+FFFF as surrogate pairs).
    """
    block = 64
    password = (passphrase.decode("utf-8") + "\0").encode("utf-16-be")

    def stretched(value: bytes) -> bytes:
        length = block * -(-len(value) // block)
        return (value * (length // len(value) + 1))[:length] if value else b""

    digest = hashlib.sha256(bytes([3]) * block + stretched(salt) + stretched(password)).digest()
    sha256 = hashlib.sha256
    for _ in range(iterations - 1):
        digest = sha256(digest).digest()
    return digest


def _der_element(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, start of contents, end of contents) of the DER element at ``offset``."""
    if offset + 2 > len(data):
        raise CryptoError("The PKCS#12 bundle could not be written.", code="pkcs12_der")
    tag, first = data[offset], data[offset + 1]
    start = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        length = int.from_bytes(data[start : start + count], "big")
        start += count
    if start + length > len(data):
        raise CryptoError("The PKCS#12 bundle could not be written.", code="pkcs12_der")
    return tag, start, start + length


def _der(tag: int, contents: bytes) -> bytes:
    length = len(contents)
    if length < 0x80:
        return bytes([tag, length]) + contents
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + contents


def _der_unsigned(value: int) -> bytes:
    """A positive INTEGER's content octets (a leading zero when the high bit is set)."""
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


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


def csr_archive(
    company: str, environment_slug: str, csrs: Iterable[tuple[str, str]]
) -> tuple[str, bytes]:
    """(file name, zip bytes) of an environment's CSRs to send to Treezor: each CSR under
    Treezor's name (``acme.sas_csr_mtls.pem``), in ``acme.sas_csrs_sandbox.zip``. ``csrs``:
    (purpose, CSR PEM) pairs, one per purpose. Never a key: only CSR text goes in."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for purpose, pem in csrs:
            archive.writestr(treezor_filename(company, "csr", purpose), pem)
    filename = f"{_slug(company, 'company')}_csrs_{_slug(environment_slug, 'mtls')}.zip"
    return filename, buffer.getvalue()


def _slug(text: str, fallback: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    dotted = re.sub(r"\s+", ".", ascii_only.strip())
    kept = re.sub(r"[^a-z0-9._-]", "", dotted)
    collapsed = re.sub(r"\.{2,}", ".", kept).strip(".")
    return collapsed or fallback
