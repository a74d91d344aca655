"""certdesk's cryptography core: pure functions over ``cryptography``, no Django.

Callers write ``from certificates import crypto`` and ``crypto.generate_private_key()``. Every
rule here traces back to Treezor's mTLS page (``docs/treezor-mtls.md``) and DESIGN.md.

Modules: ``errors`` (CryptoError and friends), ``keys`` (RSA 2048, PKCS#1, fingerprints),
``subject`` (the CSR subject table), ``csr`` (building and checking CSRs), ``certs``
(reading certificates, chains and CA bundles), ``chains`` (path validation to the trusted
Treezor CA), ``detect`` (private-key material), ``formats`` (OpenSSL dates, PKCS#12, Treezor
file names).
"""

from .certs import (
    MAX_UPLOAD_CERTIFICATES,
    certificate_fingerprint,
    certificate_to_pem,
    certificates_to_pem,
    describe_name,
    has_client_auth_eku,
    is_ca,
    parse_ca_bundle,
    parse_certificates,
    split_leaf_and_chain,
)
from .chains import is_self_signed, issuing_chain, verify_chain, verify_path
from .csr import build_csr, csr_to_pem, parse_csr
from .detect import (
    contains_private_key_material,
    ensure_no_private_key_material,
    find_private_key_material,
)
from .errors import CryptoError, PrivateKeyMaterialError, SubjectError
from .formats import (
    MIN_PASSPHRASE_BYTES,
    PKCS12_KDF_ROUNDS,
    FileKind,
    csr_archive,
    export_pkcs12,
    openssl_date,
    openssl_dates,
    treezor_filename,
)
from .keys import (
    KEY_SIZE,
    describe_key,
    format_fingerprint,
    generate_private_key,
    key_matches,
    load_private_key,
    private_key_to_pem,
    public_key_fingerprint,
)
from .subject import (
    MAX_LENGTHS,
    SUBJECT_FIELDS,
    Subject,
    csr_subject_human,
    csr_subject_oneline,
    human_subject,
    is_host_name,
    name_human_oneline,
    name_openssl_oneline,
    suggest_common_name,
    validate_subject,
)

__all__ = [
    "KEY_SIZE",
    "MAX_LENGTHS",
    "MAX_UPLOAD_CERTIFICATES",
    "MIN_PASSPHRASE_BYTES",
    "PKCS12_KDF_ROUNDS",
    "SUBJECT_FIELDS",
    "CryptoError",
    "FileKind",
    "PrivateKeyMaterialError",
    "Subject",
    "SubjectError",
    "build_csr",
    "certificate_fingerprint",
    "certificate_to_pem",
    "certificates_to_pem",
    "contains_private_key_material",
    "csr_archive",
    "csr_subject_human",
    "csr_subject_oneline",
    "csr_to_pem",
    "describe_key",
    "describe_name",
    "ensure_no_private_key_material",
    "export_pkcs12",
    "find_private_key_material",
    "format_fingerprint",
    "generate_private_key",
    "has_client_auth_eku",
    "human_subject",
    "is_ca",
    "is_host_name",
    "is_self_signed",
    "issuing_chain",
    "key_matches",
    "load_private_key",
    "name_human_oneline",
    "name_openssl_oneline",
    "openssl_date",
    "openssl_dates",
    "parse_ca_bundle",
    "parse_certificates",
    "parse_csr",
    "private_key_to_pem",
    "public_key_fingerprint",
    "split_leaf_and_chain",
    "suggest_common_name",
    "treezor_filename",
    "validate_subject",
    "verify_chain",
    "verify_path",
]
