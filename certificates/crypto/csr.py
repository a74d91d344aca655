"""Certificate signing requests: building certdesk's own, and checking the ones users bring.

Treezor's page, "2. Create your CSR files" and "3. Ask Treezor to generate your certificates":
the CSR carries the public key of an RSA 2048 key and the subject of the table; it is not
sensitive and travels by email. A CSR made elsewhere ("bring your own CSR") is held to the same
rules as one certdesk makes.
"""

from __future__ import annotations

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from ._encoding import check_size, decode_bare_base64, looks_like_pem, normalise, pem_blocks
from .detect import ensure_no_private_key_material
from .errors import CryptoError
from .keys import KEY_SIZE, describe_key
from .subject import Subject

CSR_LABELS = frozenset({"CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"})
CERTIFICATE_LABELS = frozenset({"CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"})
PKCS7_LABELS = frozenset({"PKCS7", "CMS"})

_NEW_KEY_ADVICE = (
    "Create a new signing request in certdesk (it generates a suitable key), or make a new key "
    "with `openssl genrsa -traditional -out key.pem 2048` and a CSR from it."
)


def build_csr(key: rsa.RSAPrivateKey, subject: Subject) -> x509.CertificateSigningRequest:
    """A PKCS#10 request for ``key`` with ``subject``, signed with SHA-256 (like `openssl req`)."""
    if key.key_size != KEY_SIZE:
        raise CryptoError(
            f"The key is RSA {key.key_size} bits; Treezor requires RSA {KEY_SIZE}.",
            code="key_size",
        )
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject.to_x509_name())
    return builder.sign(key, hashes.SHA256())


def csr_to_pem(csr: x509.CertificateSigningRequest) -> bytes:
    """``-----BEGIN CERTIFICATE REQUEST-----`` PEM, as `openssl req -new` writes it."""
    return csr.public_bytes(serialization.Encoding.PEM)


def parse_csr(data: bytes) -> x509.CertificateSigningRequest:
    """Read a user's CSR (PEM or DER) and check it is one Treezor will sign.

    In order: private-key material is refused first (rule 6), then anything that is not exactly
    one CSR (a certificate gets its own message), then a key that is not RSA 2048 (Treezor:
    "Type: RSA ... Size: 2048"), then a signature that does not verify with the CSR's own key.
    A UTF-8 byte-order mark, CRLF line ends, indentation and text around the PEM block are
    fine. Messages never quote the input.
    """
    ensure_no_private_key_material(data)
    check_size(data, "a certificate signing request")
    text = normalise(data)
    if not text:
        raise CryptoError(
            "The file is empty. Choose the CSR file (named like "
            "<your.company.name>_csr_mtls.pem) and try again.",
            code="empty",
        )
    csr = _load_csr(text)
    _check_csr_key(csr)
    try:
        signature_ok = csr.is_signature_valid
    except UnsupportedAlgorithm:
        signature_ok = False
    if not signature_ok:
        raise CryptoError(
            "The CSR's signature does not match the public key it carries: it was altered after "
            "it was made, or signed by another key. Make a new CSR from the key, without editing "
            "the file afterwards.",
            code="csr_signature",
        )
    return csr


def _load_csr(text: bytes) -> x509.CertificateSigningRequest:
    if looks_like_pem(text):
        blocks = pem_blocks(text)
        csrs = [block for block in blocks if block.label in CSR_LABELS]
        if not csrs:
            if any(b.label in CERTIFICATE_LABELS | PKCS7_LABELS for b in blocks):
                raise _certificate_not_csr()
            raise _not_a_csr()
        if len(csrs) > 1:
            raise CryptoError(
                f"This file holds {len(csrs)} certificate signing requests; upload them one at a "
                "time (one key, one CSR).",
                code="csr_several",
            )
        return _der_csr(csrs[0].der)
    try:
        return x509.load_der_x509_csr(text)
    except ValueError:
        pass
    if _is_der_certificate(text):
        raise _certificate_not_csr()
    bare = decode_bare_base64(text)
    if bare is not None:
        # A PEM body pasted without its BEGIN/END lines.
        try:
            return x509.load_der_x509_csr(bare)
        except ValueError:
            if _is_der_certificate(bare):
                raise _certificate_not_csr() from None
    raise _not_a_csr()


def _der_csr(der: bytes) -> x509.CertificateSigningRequest:
    try:
        return x509.load_der_x509_csr(der)
    except ValueError:
        raise CryptoError(
            "The CERTIFICATE REQUEST block is damaged: it is not a valid certificate signing "
            "request. Upload the file OpenSSL wrote, without editing it.",
            code="csr_invalid",
        ) from None


def _is_der_certificate(der: bytes) -> bool:
    try:
        x509.load_der_x509_certificate(der)
    except ValueError:
        try:
            pkcs7.load_der_pkcs7_certificates(der)
        except (ValueError, UnsupportedAlgorithm):
            return False
    return True


def _check_csr_key(csr: x509.CertificateSigningRequest) -> None:
    try:
        public_key = csr.public_key()
    except (ValueError, UnsupportedAlgorithm):
        raise CryptoError(
            f"The CSR's key is of a type certdesk cannot read; Treezor requires RSA {KEY_SIZE}. "
            + _NEW_KEY_ADVICE,
            code="key_type",
        ) from None
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise CryptoError(
            f"The CSR carries {describe_key(public_key)} key; Treezor requires an RSA key of "
            f"{KEY_SIZE} bits. " + _NEW_KEY_ADVICE,
            code="key_type",
        )
    if public_key.key_size != KEY_SIZE:
        raise CryptoError(
            f"The key is RSA {public_key.key_size} bits; Treezor requires RSA {KEY_SIZE}. "
            + _NEW_KEY_ADVICE,
            code="key_size",
        )


def _certificate_not_csr() -> CryptoError:
    return CryptoError(
        "This is a certificate, not a certificate signing request. Upload it as the "
        "certificate Treezor returned; here, choose the CSR file (named like "
        "<your.company.name>_csr_mtls.pem, starting with -----BEGIN CERTIFICATE REQUEST-----).",
        code="certificate_not_csr",
    )


def _not_a_csr() -> CryptoError:
    return CryptoError(
        "This is not a certificate signing request (PEM or DER). A CSR file starts with "
        "-----BEGIN CERTIFICATE REQUEST-----; check that you chose the right file.",
        code="not_csr",
    )
