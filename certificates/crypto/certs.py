"""Certificates Treezor returns: reading them in any common packaging, and small facts about them.

Rule 5 of DESIGN.md: an uploaded certificate is accepted only if it matches a signing request and
its dates are read from the certificate itself. This module reads certificates (PEM, DER,
PKCS#7), tells the leaf from its chain, reads a CA bundle and states small facts (CA or not,
fingerprint, clientAuth); whether a certificate chains to the environment's trusted Treezor CA
(path validation) is decided in ``chains``.
"""

from __future__ import annotations

from collections.abc import Iterable

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ._encoding import (
    check_size,
    decode_bare_base64,
    looks_like_pem,
    normalise,
    pem_blocks,
    pkcs7_certificate_ders,
)
from .csr import CERTIFICATE_LABELS, CSR_LABELS, PKCS7_LABELS
from .detect import ensure_no_private_key_material
from .errors import CryptoError

# Certificates accepted in one upload. A Treezor answer is the certificate issued for the key and
# the CAs above it (one or two: an intermediate and its root). Ten is the longest chain path
# validation accepts (the leaf, ``chains.MAX_CHAIN_LENGTH`` = 8 intermediates and a root), so no
# file that could ever install is refused; anything longer is not an answer to a signing request.
# It also bounds the work of pairing each certificate with its issuer: a PKCS#7 of 400
# self-signed certificates all named CN=a once cost 400 x 400 signature checks (issue 12).
MAX_UPLOAD_CERTIFICATES = 10


def parse_certificates(data: bytes) -> list[x509.Certificate]:
    """Every certificate in ``data``, in file order, duplicates dropped.

    Accepts a PEM certificate, a PEM chain (text between blocks ignored), a DER certificate, and
    PKCS#7 bundles (``-----BEGIN PKCS7-----`` PEM, or DER ``.p7b``/``.p7c``). Refuses, each with
    its own message: private-key material (first, rule 6), a CSR, any other PEM block, input
    that is none of these, and empty input. Messages never quote the input.
    """
    ensure_no_private_key_material(data)
    check_size(data, "a certificate chain")
    text = normalise(data)
    if not text:
        raise CryptoError(
            "The file is empty. Choose the certificate file Treezor sent back and try again.",
            code="empty",
        )
    if looks_like_pem(text):
        certificates: list[x509.Certificate] = []
        for block in pem_blocks(text):
            if block.label in CERTIFICATE_LABELS:
                certificates.append(_der_certificate(block.der))
            elif block.label in PKCS7_LABELS:
                certificates.extend(_der_pkcs7(block.der))
            elif block.label in CSR_LABELS:
                raise _csr_not_certificate()
            else:
                raise CryptoError(
                    f"This file holds a PEM '{block.label}' block, which is not a certificate. "
                    "Upload only the certificate(s) Treezor sent back.",
                    code="not_certificate",
                )
        if not certificates:
            raise _not_a_certificate()
    else:
        certificates = _der_any(text)
        if not certificates:
            bare = decode_bare_base64(text)
            certificates = _der_any(bare) if bare is not None else []
        if not certificates:
            raise _not_a_certificate()
    return _check_count(_unique(certificates))


def _check_count(certificates: list[x509.Certificate]) -> list[x509.Certificate]:
    if len(certificates) > MAX_UPLOAD_CERTIFICATES:
        raise CryptoError(
            f"This file holds {len(certificates)} certificates; certdesk accepts at most "
            f"{MAX_UPLOAD_CERTIFICATES} in one upload (the certificate Treezor issued for your "
            "key and the CA certificates above it). Upload the certificate with its chain only.",
            code="too_many_certificates",
        )
    return certificates


def _der_any(der: bytes) -> list[x509.Certificate]:
    """The certificates of a DER certificate or PKCS#7 bundle; [] if it is neither."""
    try:
        return [x509.load_der_x509_certificate(der)]
    except (ValueError, x509.InvalidVersion):
        pass
    try:
        return _der_pkcs7(der)
    except CryptoError:
        pass
    try:
        x509.load_der_x509_csr(der)
    except (ValueError, x509.InvalidVersion):
        return []
    raise _csr_not_certificate()


def _der_certificate(der: bytes) -> x509.Certificate:
    try:
        return x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion):
        raise CryptoError(
            "A CERTIFICATE block is damaged: it is not a valid X.509 certificate. Upload the "
            "file Treezor sent, without editing it.",
            code="certificate_invalid",
        ) from None


def _der_pkcs7(der: bytes) -> list[x509.Certificate]:
    try:
        ders = pkcs7_certificate_ders(der)
        if ders is not None:
            certificates = [x509.load_der_x509_certificate(item) for item in ders]
        else:
            certificates = pkcs7.load_der_pkcs7_certificates(der)
    except (ValueError, x509.InvalidVersion, UnsupportedAlgorithm):
        raise CryptoError(
            "The PKCS#7 bundle could not be read, or holds no certificate. Ask Treezor for the "
            "certificate in PEM format.",
            code="pkcs7_invalid",
        ) from None
    if not certificates:
        raise CryptoError("The PKCS#7 bundle holds no certificate.", code="pkcs7_invalid")
    return certificates


def _unique(certificates: Iterable[x509.Certificate]) -> list[x509.Certificate]:
    seen: set[bytes] = set()
    unique: list[x509.Certificate] = []
    for certificate in certificates:
        der = certificate.public_bytes(serialization.Encoding.DER)
        if der not in seen:
            seen.add(der)
            unique.append(certificate)
    return unique


def _csr_not_certificate() -> CryptoError:
    return CryptoError(
        "This is a certificate signing request (CSR), not a certificate. The CSR is what you "
        "send to Treezor; upload here the signed certificate Treezor sends back.",
        code="csr_not_certificate",
    )


def _not_a_certificate() -> CryptoError:
    return CryptoError(
        "This is not a certificate: certdesk reads PEM (-----BEGIN CERTIFICATE-----), DER and "
        "PKCS#7 (.p7b) files. Check that you chose the file Treezor sent back.",
        code="not_certificate",
    )


# --- Leaf, chain and CA bundle --------------------------------------------------------------


def is_ca(certificate: x509.Certificate) -> bool:
    """True if basicConstraints says CA:TRUE."""
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca


def _signed_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    if certificate.issuer != issuer.subject:
        return False
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


def _key_identifier(certificate: x509.Certificate, kind: type[x509.ExtensionType]) -> bytes | None:
    """The subjectKeyIdentifier's digest, or the authorityKeyIdentifier's key_identifier."""
    try:
        value = certificate.extensions.get_extension_for_class(kind).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    if isinstance(value, x509.SubjectKeyIdentifier):
        return value.digest
    if isinstance(value, x509.AuthorityKeyIdentifier):
        return value.key_identifier
    return None


class IssuerIndex:
    """Certificates by subject name, to find who may have issued a certificate without trying all.

    A candidate issuer has the certificate's issuer name as its subject and, when the
    certificate names its issuer's key (authorityKeyIdentifier) and the candidate names its own
    (subjectKeyIdentifier), the same key identifier. Only those candidates get a signature
    check: in a real chain that is one certificate, two during a CA key rollover.
    """

    def __init__(self, certificates: Iterable[x509.Certificate]) -> None:
        self._by_subject: dict[x509.Name, list[x509.Certificate]] = {}
        for certificate in certificates:
            self._by_subject.setdefault(certificate.subject, []).append(certificate)

    def candidates(self, certificate: x509.Certificate) -> list[x509.Certificate]:
        """Certificates whose name (and key identifier, when both have one) fit as issuer."""
        same_name = self._by_subject.get(certificate.issuer, [])
        wanted = _key_identifier(certificate, x509.AuthorityKeyIdentifier)
        if wanted is None:
            return list(same_name)
        return [
            candidate
            for candidate in same_name
            if (found := _key_identifier(candidate, x509.SubjectKeyIdentifier)) is None
            or found == wanted
        ]

    def issuers(self, certificate: x509.Certificate) -> list[x509.Certificate]:
        """The other certificates of the index whose key verifies ``certificate``'s signature."""
        return [
            candidate
            for candidate in self.candidates(certificate)
            if candidate is not certificate and _signed_by(certificate, candidate)
        ]


def split_leaf_and_chain(
    certificates: list[x509.Certificate],
) -> tuple[x509.Certificate, list[x509.Certificate]]:
    """The leaf and the rest, ordered from the leaf's issuer upwards.

    The leaf is the one certificate that issued none of the others; file order is not trusted,
    since a PKCS#7 bundle has none. When several issued nothing (a chain plus an unrelated root,
    say), the one that is not a CA wins; two unrelated end-entity certificates are ambiguous.
    The issuing path comes first in the chain, then any other certificates in input order.
    """
    unique = _check_count(_unique(certificates))
    if not unique:
        raise CryptoError("There is no certificate to read.", code="empty")
    index = IssuerIndex(unique)
    issuers_of = {id(certificate): index.issuers(certificate) for certificate in unique}
    issuers = {id(issuer) for found in issuers_of.values() for issuer in found}
    leaves = [cert for cert in unique if id(cert) not in issuers]
    if len(leaves) > 1:
        leaves = [cert for cert in leaves if not is_ca(cert)]
    if len(leaves) != 1:
        raise CryptoError(
            f"This file holds {len(unique)} certificates and certdesk cannot tell which one was "
            "issued for your key. Upload one certificate, with its chain only.",
            code="ambiguous_leaf",
        )
    leaf = leaves[0]
    if is_ca(leaf):
        raise CryptoError(
            f"This file holds only CA certificates ({describe_name(leaf.subject)}); the "
            "certificate issued for your key is missing.",
            code="leaf_is_ca",
        )
    path: list[x509.Certificate] = []
    current = leaf
    while len(path) < len(unique) and current.issuer != current.subject:
        issuer = next(
            (c for c in issuers_of[id(current)] if c is not leaf and c not in path),
            None,
        )
        if issuer is None:
            break
        path.append(issuer)
        current = issuer
    rest = [c for c in unique if c is not leaf and c not in path]
    return leaf, path + rest


def parse_ca_bundle(pem: bytes) -> list[x509.Certificate]:
    """The CA certificates of a Treezor CA bundle: PEM certificates only, at least one, all CAs.

    Private keys are refused (an administrator pasting a CA's key by mistake is the same leak).
    """
    ensure_no_private_key_material(pem)
    check_size(pem, "a CA bundle")
    text = normalise(pem)
    if not text or not looks_like_pem(text):
        raise CryptoError(
            "A CA bundle is one or more PEM certificates (-----BEGIN CERTIFICATE-----).",
            code="bundle_invalid",
        )
    certificates: list[x509.Certificate] = []
    for block in pem_blocks(text):
        if block.label not in CERTIFICATE_LABELS:
            raise CryptoError(
                f"A CA bundle holds only certificates; this one has a '{block.label}' block.",
                code="bundle_invalid",
            )
        certificates.append(_der_certificate(block.der))
    if not certificates:
        raise CryptoError(
            "A CA bundle is one or more PEM certificates (-----BEGIN CERTIFICATE-----).",
            code="bundle_invalid",
        )
    for certificate in certificates:
        if not is_ca(certificate):
            raise CryptoError(
                f"The bundle's certificate {describe_name(certificate.subject)} is not a CA "
                "certificate (no basicConstraints CA:TRUE); a CA bundle holds only the CA "
                "certificates of Treezor.",
                code="bundle_not_ca",
            )
    return _unique(certificates)


def describe_name(name: x509.Name) -> str:
    """``CN=Treezor Root CA``, or the whole name (RFC 4514) when it has no Common Name."""
    common_names = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if common_names:
        value = common_names[0].value
        return f"CN={value.decode('latin-1') if isinstance(value, bytes) else value}"
    text = name.rfc4514_string({NameOID.EMAIL_ADDRESS: "emailAddress"})
    return text or "(empty name)"


# --- Small facts ----------------------------------------------------------------------------


def certificate_fingerprint(certificate: x509.Certificate) -> str:
    """Lowercase hex SHA-256 of the DER, the digest ``openssl x509 -fingerprint`` shows."""
    return certificate.fingerprint(hashes.SHA256()).hex()


def has_client_auth_eku(certificate: x509.Certificate) -> bool:
    """True if extendedKeyUsage lists clientAuth, which the mtls purpose needs.

    Absent EKU gives False; so does anyExtendedKeyUsage alone, which OpenSSL does not take
    for the TLS client purpose either.
    """
    try:
        usage = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except (x509.ExtensionNotFound, ValueError):
        return False
    return ExtendedKeyUsageOID.CLIENT_AUTH in usage.value


def certificate_to_pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def certificates_to_pem(certificates: Iterable[x509.Certificate]) -> bytes:
    """Concatenated PEM, as a chain file is usually written (leaf first if given first)."""
    return b"".join(certificate_to_pem(certificate) for certificate in certificates)
