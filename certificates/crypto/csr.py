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
from .subject import Subject, check_table_name

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
    check_table_name(csr.subject)
    _check_csr_attributes(csr)
    _check_requested_extensions(csr)
    return csr


# Requested extensions a CSR may carry. certdesk shows the subject of a request and nothing else,
# and its own CSRs request no extension (`openssl req -new` with the default openssl.cnf neither):
# Treezor's CA applies its own profile. So the allow-list holds only what changes nothing a
# reader of the request page would not expect, and only narrows the certificate:
# - subjectAltName with DNS names equal to the Common Name (some tools copy the CN there);
#   anything else (a wildcard, another host, an IP, an email, a URI) widens the certificate
#   beyond the CN shown.
# - keyUsage limited to digitalSignature, nonRepudiation (contentCommitment) and
#   keyEncipherment: what a TLS client or signature key uses; keyCertSign/cRLSign are CA powers.
# - extendedKeyUsage clientAuth only: the mtls purpose; any other usage is not what is asked.
# - basicConstraints CA:FALSE only: says "not a CA"; CA:TRUE asks for a certificate-issuing CA.
# Every other extension (and any CSR attribute but the extension request, such as a
# challengePassword) is refused, whatever its criticality.
_ALLOWED_KEY_USAGES = ("digital_signature", "content_commitment", "key_encipherment")
_REFUSED_KEY_USAGES = (
    "key_cert_sign",
    "crl_sign",
    "key_agreement",
    "data_encipherment",
)
_EXTENSION_REQUEST = x509.ObjectIdentifier("1.2.840.113549.1.9.14")
_NEW_CSR = "Make a new CSR without it (`openssl req -new` with no -addext or extension section)."


def _check_csr_attributes(csr: x509.CertificateSigningRequest) -> None:
    try:
        attributes = list(csr.attributes)
    except ValueError:
        raise _unreadable_request() from None
    for attribute in attributes:
        if attribute.oid != _EXTENSION_REQUEST:
            raise CryptoError(
                f"The CSR carries the attribute {_oid_label(attribute.oid)}, which certdesk "
                f"would not show to anyone and Treezor does not use. {_NEW_CSR}",
                code="csr_attribute",
            )


def _check_requested_extensions(csr: x509.CertificateSigningRequest) -> None:
    try:
        extensions = list(csr.extensions)
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
        raise _unreadable_request() from None
    common_names = csr.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    common_name = str(common_names[0].value).lower() if common_names else ""
    problems: list[str] = []
    for extension in extensions:
        value = extension.value
        if isinstance(value, x509.SubjectAlternativeName):
            if any(
                not isinstance(entry, x509.DNSName) or entry.value.lower() != common_name
                for entry in value
            ):
                problems.append(
                    "a subjectAltName other than the Common Name (only DNS names equal to the "
                    "Common Name are accepted)"
                )
        elif isinstance(value, x509.KeyUsage):
            refused = [usage for usage in _REFUSED_KEY_USAGES if getattr(value, usage)]
            if refused:
                problems.append(
                    "a keyUsage with " + ", ".join(refused) + " (accepted: digitalSignature, "
                    "nonRepudiation, keyEncipherment)"
                )
        elif isinstance(value, x509.ExtendedKeyUsage):
            if any(usage != x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH for usage in value):
                problems.append("an extendedKeyUsage other than clientAuth")
        elif isinstance(value, x509.BasicConstraints):
            if value.ca or value.path_length is not None:
                problems.append("basicConstraints CA:TRUE (a request for a CA certificate)")
        else:
            problems.append(f"the extension {_oid_label(extension.oid)}")
    if problems:
        raise CryptoError(
            f"The CSR requests {'; '.join(problems)}. certdesk shows the subject of a request "
            "and nothing else, so it accepts only requested extensions that say no more than "
            f"the subject. {_NEW_CSR}",
            code="csr_extension",
        )


def _oid_label(oid: x509.ObjectIdentifier) -> str:
    name = oid._name
    if name and name != "Unknown OID":
        return f"{name} ({oid.dotted_string})"
    return oid.dotted_string


def _unreadable_request() -> CryptoError:
    return CryptoError(
        "The CSR's attributes or requested extensions could not be read. Make a new CSR from "
        "the key with `openssl req -new`, without editing the file afterwards.",
        code="csr_invalid",
    )


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
    except (ValueError, x509.InvalidVersion):
        pass
    if _is_der_certificate(text):
        raise _certificate_not_csr()
    bare = decode_bare_base64(text)
    if bare is not None:
        # A PEM body pasted without its BEGIN/END lines.
        try:
            return x509.load_der_x509_csr(bare)
        except (ValueError, x509.InvalidVersion):
            if _is_der_certificate(bare):
                raise _certificate_not_csr() from None
    raise _not_a_csr()


def _der_csr(der: bytes) -> x509.CertificateSigningRequest:
    try:
        return x509.load_der_x509_csr(der)
    except (ValueError, x509.InvalidVersion):
        raise CryptoError(
            "The CERTIFICATE REQUEST block is damaged: it is not a valid certificate signing "
            "request. Upload the file OpenSSL wrote, without editing it.",
            code="csr_invalid",
        ) from None


def _is_der_certificate(der: bytes) -> bool:
    try:
        x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion):
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
