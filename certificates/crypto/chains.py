"""Path validation: does an uploaded certificate chain to the environment's trusted Treezor CA.

Rule 5 of DESIGN.md: an uploaded certificate is installed only if it chains to the
environment's trusted Treezor CA, and a self-signed leaf is never accepted. Reading
certificates and CA bundles is ``certs``' job; this module decides on a path.

Path validation policy (``verify_path``)
----------------------------------------
The decision is made by ``cryptography.x509.verification`` (built and tested against the
x509-limbo suite), not by a hand-written walk. certdesk adds, before the library call, cheap
checks whose only purpose is a message a user can act on (dates in OpenSSL's format, "issued
by X, which is not in the CA bundle", a signature that does not verify, an issuer that is not a
CA), and one rule of its own: a self-signed leaf is always refused, even when it is in the CA
bundle (the library would accept a leaf that is itself a trust anchor).

The library's client verifier starts from its Web PKI profile; certdesk keeps every RFC 5280
check and relaxes only what the Web PKI adds and Treezor-like private CAs often lack:

- The same policy for both purposes (``mtls`` and ``signature``): the leaf's extendedKeyUsage
  may be absent or list anything. A PCI DSS signature certificate has no clientAuth and must
  validate; the upload service, not path validation, warns when an mTLS certificate lacks
  clientAuth. A CA's extendedKeyUsage (a CA/Browser Forum constraint, not RFC 5280) is not
  checked either.
- No host name and no subjectAltName required: Treezor client certificates may have none.
- authorityKeyIdentifier and subjectKeyIdentifier may be absent, on the leaf and on CAs
  (RFC 5280 makes them a SHOULD for CAs to write, not a path validation rule); when present
  they must be non-critical, as RFC 5280 4.2.1.1-2 says.

Kept (each with a test in ``tests/crypto/test_path_validation.py``): every certificate of the
path valid at ``at``, bounds included (the anchor too); each signature verifies; issuers carry
basicConstraints CA:TRUE, marked critical, and a keyUsage with keyCertSign; pathLenConstraint
(self-issued certificates not counted); the leaf is not a CA and does not assert keyCertSign;
an unknown critical extension refuses its certificate; at most ``MAX_CHAIN_LENGTH``
intermediates. The library also refuses RSA keys under 2048 bits and signature algorithms
outside its Web PKI set (SHA-1 among them). It refuses every version 1 certificate too; RFC
5280 allows a version 1 end-entity certificate (no extensions) and `openssl x509 -req` without
an extension file writes one, so such a leaf has its date and signature checked here and its
issuers validated by the library (``_verify_issuers_of_v1_leaf``).

Anchors are the environment's CA bundle: roots or intermediates (the library stops at any
certificate of the store, self-signed or not, and checks it as a CA, dates included). Not
checked: revocation (CRL, OCSP) and certificate policies; name constraints apply only to
subjectAltNames, as the library implements them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime

from cryptography import x509
from cryptography.x509.verification import (
    ClientVerifier,
    Criticality,
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from .certs import IssuerIndex, _signed_by, describe_name, is_ca, parse_ca_bundle
from .errors import CryptoError
from .formats import as_utc, openssl_date

# Intermediate CAs allowed between a leaf and its anchor: more than any real chain (Treezor's
# has one or two), and the library's max_chain_depth.
MAX_CHAIN_LENGTH = 8


def is_self_signed(certificate: x509.Certificate) -> bool:
    """True if issuer equals subject and the signature verifies with the certificate's own key.

    A self-issued certificate (same name, another key, as in a CA key rollover) is not
    self-signed: its signature does not verify with its own key.
    """
    return _signed_by(certificate, certificate)


def issuing_chain(
    leaf: x509.Certificate, chain: Sequence[x509.Certificate]
) -> list[x509.Certificate]:
    """The CA certificates of ``chain`` that issue ``leaf``, the leaf's issuer first.

    Walked upwards by name and signature, up to a self-signed root when the file carries one;
    the walk stops at a certificate that is not a CA (basicConstraints CA:TRUE), which could
    never be a trust anchor. ``[]`` when the file carries no CA that issued the leaf. These are
    the certificates offered as "Trust this issuer": stored as the environment's CA bundle,
    they are the anchors ``verify_path`` is then called with. Nothing here says they are
    trustworthy; that is the administrator's decision.
    """
    issuers: list[x509.Certificate] = []
    index = IssuerIndex(chain)
    current = leaf
    for _ in range(len(chain)):
        issuer = next(
            (
                candidate
                for candidate in index.issuers(current)
                if candidate != leaf and candidate not in issuers
            ),
            None,
        )
        if issuer is None or not is_ca(issuer):
            break
        issuers.append(issuer)
        if is_self_signed(issuer):
            break
        current = issuer
    return issuers


def verify_chain(
    leaf: x509.Certificate,
    chain: list[x509.Certificate],
    ca_bundle_pem: bytes,
    *,
    at: datetime,
) -> list[x509.Certificate]:
    """The validated path from ``leaf`` to a certificate of the CA bundle, leaf first.

    ``chain`` holds the certificates uploaded with the leaf (untrusted); the bundle's
    certificates are the trust anchors. Raises CryptoError (see ``verify_path``).
    """
    return verify_path(leaf, chain, parse_ca_bundle(ca_bundle_pem), at=at)


def verify_path(
    leaf: x509.Certificate,
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    *,
    at: datetime,
) -> list[x509.Certificate]:
    """The validated path from ``leaf`` to one of ``anchors`` at ``at``: leaf first, anchor last.

    Cheap checks first, for messages a user can act on (self-signed leaf, dates, a missing or
    foreign issuer, a signature that does not verify, an issuer that is not a CA); then RFC 5280
    path validation by ``cryptography.x509.verification`` with certdesk's policy (module
    docstring), whose refusals are explained in plain words (code ``chain_invalid``).
    """
    if not anchors:
        raise CryptoError(
            "No Treezor CA is set for this environment, so the certificate cannot be checked.",
            code="bundle_invalid",
        )
    moment = as_utc(at)
    name = describe_name(leaf.subject)
    if is_self_signed(leaf):
        raise CryptoError(
            f"The certificate {name} is self-signed"
            + ("" if leaf in anchors else " and is not in the CA bundle")
            + ": it was not issued by Treezor's CA. certdesk installs only a certificate "
            "Treezor's CA issued for your key.",
            code="self_signed_leaf",
        )
    if is_ca(leaf) or leaf in anchors:
        raise CryptoError(
            f"The certificate {name} is a CA certificate, not the certificate issued for your "
            "key. Upload the certificate Treezor issued for your signing request.",
            code="leaf_is_ca",
        )
    path = _walk_by_name_and_signature(leaf, chain, anchors, moment)
    untrusted = [c for c in chain if c not in anchors]
    if leaf.version is x509.Version.v1 and not len(leaf.extensions):
        return [leaf, *_verify_issuers_of_v1_leaf(path, untrusted, anchors, moment)]
    try:
        verified = _verifier(anchors, moment, ee_policy=_EE_POLICY).verify(leaf, untrusted)
    except VerificationError as error:
        raise _path_refusal(str(error), path, moment) from None
    return list(verified.chain)


def _verifier(
    anchors: Sequence[x509.Certificate], at: datetime, *, ee_policy: ExtensionPolicy
) -> ClientVerifier:
    return (
        PolicyBuilder()
        .store(Store(list(anchors)))
        .time(at)
        .max_chain_depth(MAX_CHAIN_LENGTH)
        .extension_policies(ca_policy=_CA_POLICY, ee_policy=ee_policy)
        .build_client_verifier()
    )


def _verify_issuers_of_v1_leaf(
    path: list[x509.Certificate],
    untrusted: list[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    at: datetime,
) -> list[x509.Certificate]:
    """The validated path above a version 1 leaf, which the library refuses outright.

    RFC 5280 lets an end-entity certificate be version 1 (no extensions, so no EKU, key usage
    or basicConstraints to break), and `openssl x509 -req` without an extension file (OpenSSL
    3.0) still writes one; the old walk accepted it. Its date and signature were checked by
    the cheap walk; the library then validates its issuer's path with the issuer in leaf
    position under the CA policy. In that position the issuer no longer counts against the
    pathLenConstraint of the CAs above it, so that count is made here, on the walked path.
    """
    culprit = next((c for i, c in enumerate(path) if _violates_path_length(i, c, path)), None)
    if culprit is not None:
        raise _path_refusal("path length constraint violated", path, at)
    try:
        verified = _verifier(anchors, at, ee_policy=_CA_POLICY).verify(path[1], untrusted)
    except VerificationError as error:
        raise _path_refusal(str(error), path, at) from None
    return list(verified.chain)


# RFC 5280 path validation with the Web PKI presence rules that private CAs often break lifted
# (see the module docstring). Extensions not named here keep the library's Web PKI defaults.
_EE_POLICY = (
    ExtensionPolicy.webpki_defaults_ee()
    .may_be_present(x509.SubjectAlternativeName, Criticality.AGNOSTIC, None)
    .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None)
    .may_be_present(x509.AuthorityKeyIdentifier, Criticality.NON_CRITICAL, None)
    .may_be_present(x509.SubjectKeyIdentifier, Criticality.NON_CRITICAL, None)
)
_CA_POLICY = (
    ExtensionPolicy.webpki_defaults_ca()
    .may_be_present(x509.AuthorityKeyIdentifier, Criticality.NON_CRITICAL, None)
    .may_be_present(x509.SubjectKeyIdentifier, Criticality.NON_CRITICAL, None)
    .may_be_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None)
)


def _walk_by_name_and_signature(
    leaf: x509.Certificate,
    chain: Sequence[x509.Certificate],
    anchors: Sequence[x509.Certificate],
    at: datetime,
) -> list[x509.Certificate]:
    """The path by name and signature, checking dates and CA flags, for the clear messages.

    Not the decision: the library decides; this finds what most uploads get wrong and says it
    in the words users know, and gives ``_path_refusal`` a path to name certificates on.
    """
    _check_validity(leaf, at)
    path = [leaf]
    current = leaf
    # MAX_CHAIN_LENGTH intermediates, then the anchor: the library's max_chain_depth.
    for _ in range(MAX_CHAIN_LENGTH + 1):
        anchor = next((a for a in anchors if _signed_by(current, a)), None)
        if anchor is not None:
            _check_validity(anchor, at)
            path.append(anchor)
            return path
        issuer = next(
            (
                c
                for c in chain
                if c not in path and not is_self_signed(c) and _signed_by(current, c)
            ),
            None,
        )
        if issuer is None:
            raise _no_issuer(current, anchors, chain)
        if not is_ca(issuer):
            raise CryptoError(
                f"The certificate {describe_name(current.subject)} is signed by "
                f"{describe_name(issuer.subject)}, which is not a CA certificate.",
                code="chain_not_ca",
            )
        _check_validity(issuer, at)
        path.append(issuer)
        current = issuer
    raise CryptoError(
        f"The certificate chain is too long: certdesk accepts at most {MAX_CHAIN_LENGTH} "
        "intermediate CAs between the certificate and Treezor's CA.",
        code="chain_too_long",
    )


def _no_issuer(
    current: x509.Certificate,
    anchors: Sequence[x509.Certificate],
    chain: Sequence[x509.Certificate],
) -> CryptoError:
    name = describe_name(current.subject)
    uploaded_root = next((c for c in chain if c != current and _signed_by(current, c)), None)
    if uploaded_root is not None:
        return CryptoError(
            f"The certificate {name} is issued by {describe_name(uploaded_root.subject)}, a "
            "self-signed CA that is not in the CA bundle: a root uploaded with a certificate "
            "is never trusted by itself. Ask an administrator to check Treezor's CA for this "
            "environment.",
            code="chain_untrusted",
        )
    same_name = [c for c in [*anchors, *chain] if c.subject == current.issuer and c != current]
    if same_name:
        return CryptoError(
            f"The signature of the certificate {name} does not verify with the key of "
            f"{describe_name(current.issuer)}: it was issued by another CA of the same name, "
            "or altered.",
            code="chain_signature",
        )
    if current.issuer == current.subject:
        return CryptoError(
            f"The certificate {name} is self-signed and is not in the CA bundle: it was not "
            "issued by Treezor's CA.",
            code="chain_untrusted",
        )
    return CryptoError(
        f"The certificate {name} is issued by {describe_name(current.issuer)}, which is not in "
        "the CA bundle nor among the certificates uploaded with it. If that is a Treezor "
        "intermediate CA, upload the full chain Treezor sent; otherwise the certificate comes "
        "from another CA or another environment.",
        code="chain_untrusted",
    )


def _check_validity(certificate: x509.Certificate, at: datetime) -> None:
    # RFC 5280, 4.1.2.5: the validity period includes both notBefore and notAfter.
    name = describe_name(certificate.subject)
    when = openssl_date(at)
    if at < certificate.not_valid_before_utc:
        start = openssl_date(certificate.not_valid_before_utc)
        raise CryptoError(
            f"The certificate {name} is not yet valid on {when}: it starts on {start}.",
            code="not_yet_valid",
        )
    if at > certificate.not_valid_after_utc:
        end = openssl_date(certificate.not_valid_after_utc)
        raise CryptoError(
            f"The certificate {name} had expired on {when}: it ended on {end}.",
            code="expired",
        )


# --- Explaining the library's refusals ------------------------------------------------------

_EXTENSION_OID = re.compile(r"invalid extension: ([0-9]+(?:\.[0-9]+)+):")

# Which certificate of the path a refusal is about, when the library does not say.
_Culprit = Callable[[int, x509.Certificate, list[x509.Certificate]], bool]


def _path_refusal(message: str, path: list[x509.Certificate], at: datetime) -> CryptoError:
    """A CryptoError naming the rule the library refused the path on, in plain words.

    The library's own message is matched, never quoted (it may carry names from the input);
    ``path`` (from the cheap walk) is searched for the certificate the rule is about.
    """
    # The library appends "(encountered processing <Certificate(subject=...)>)": input text,
    # which must neither be shown nor steer which rule is named.
    message = message.split("(encountered processing", 1)[0]
    match = _EXTENSION_OID.search(message)
    oid = match.group(1) if match else None
    label = _extension_label(oid) if oid else "an extension"
    rules: list[tuple[str, _Culprit, str]] = [
        (
            "path length constraint",
            _violates_path_length,
            "allows fewer intermediate CAs below it than this chain has (basicConstraints "
            "pathLenConstraint, RFC 5280 4.2.1.9)",
        ),
        (
            "unaccounted-for critical",
            lambda i, c, p: _has_critical(c, oid),
            f"carries {label}, marked critical, that certdesk does not process; RFC 5280 "
            "(4.2) requires such a certificate to be refused",
        ),
        (
            "must not be asserted in an EE",
            lambda i, c, p: i == 0,
            "is a CA certificate (basicConstraints CA:TRUE), not a certificate for your key",
        ),
        (
            "EE keyUsage must not assert keyCertSign",
            lambda i, c, p: i == 0,
            "may sign other certificates (keyUsage keyCertSign), which a certificate for a "
            "client key must not (RFC 5280 4.2.1.9)",
        ),
        (
            "keyCertSign must be asserted",
            lambda i, c, p: i > 0 and not _may_sign_certificates(c),
            "is not allowed to sign certificates: its keyUsage lacks keyCertSign "
            "(RFC 5280 4.2.1.3)",
        ),
        (
            "missing required extension",
            lambda i, c, p: i > 0 and not _has_extension(c, oid),
            f"is a CA certificate without {label}, which RFC 5280 requires of a CA",
        ),
        (
            "incorrect criticality",
            lambda i, c, p: _has_extension(c, oid),
            f"marks {label} with the wrong criticality for RFC 5280 (basicConstraints must "
            "be critical in a CA certificate; key identifiers and authority information "
            "access must not be)",
        ),
        (
            "not valid at validation time",
            lambda i, c, p: not _valid_at(c, at),
            f"is not valid on {openssl_date(at)}",
        ),
        ("signature does not match", lambda i, c, p: False, "has a signature that does not verify"),
        (
            "exceeds max depth",
            lambda i, c, p: False,
            f"is part of a chain longer than {MAX_CHAIN_LENGTH} intermediate CAs",
        ),
        (
            "RSA",
            lambda i, c, p: False,
            "uses a key or signature algorithm certdesk does not accept (RSA keys of at least "
            "2048 bits or ECDSA P-256/P-384/P-521, signed with SHA-256 or stronger)",
        ),
        (
            "signature algorithm",
            lambda i, c, p: False,
            "uses a signature algorithm certdesk does not accept (SHA-256 or stronger)",
        ),
    ]
    for needle, is_culprit, rule in rules:
        if needle not in message:
            continue
        culprit = next((c for i, c in enumerate(path) if is_culprit(i, c, path)), None)
        subject = (
            f"The certificate {describe_name(culprit.subject)}"
            if culprit is not None
            else "A certificate of the chain"
        )
        return CryptoError(
            f"{subject} {rule}, so the chain is refused. Ask Treezor for a certificate and "
            "chain that follow RFC 5280.",
            code="chain_invalid",
        )
    return CryptoError(
        "The certificate chain does not pass RFC 5280 path validation (a certificate of it "
        "breaks a rule on extensions, key usage or algorithms). Ask Treezor for the "
        "certificate and chain they issued, unmodified.",
        code="chain_invalid",
    )


def _extension_label(oid: str) -> str:
    known = x509.ObjectIdentifier(oid)._name
    if known and known != "Unknown OID":
        return f"the extension {known} ({oid})"
    return f"the extension {oid}"


def _has_extension(certificate: x509.Certificate, oid: str | None) -> bool:
    if oid is None:
        return False
    return any(ext.oid.dotted_string == oid for ext in certificate.extensions)


def _has_critical(certificate: x509.Certificate, oid: str | None) -> bool:
    return any(ext.critical and ext.oid.dotted_string == oid for ext in certificate.extensions)


def _may_sign_certificates(certificate: x509.Certificate) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    except x509.ExtensionNotFound:
        return True
    return usage.value.key_cert_sign


def _valid_at(certificate: x509.Certificate, at: datetime) -> bool:
    return certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc


def _violates_path_length(
    index: int, certificate: x509.Certificate, path: list[x509.Certificate]
) -> bool:
    """RFC 5280 6.1.4 (l, m): CAs below ``certificate`` on the path, self-issued not counted."""
    if index == 0:
        return False
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    except x509.ExtensionNotFound:
        return False
    limit = constraints.value.path_length
    if limit is None:
        return False
    below = [c for c in path[1:index] if c.issuer != c.subject]
    return len(below) > limit
