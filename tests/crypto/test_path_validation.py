"""Path validation: x509-limbo's RFC 5280 cases, rebuilt with cryptography, and certdesk's policy.

Each ``LIMBO`` case reproduces one x509-limbo test case (id in the first column) with the
answer limbo expects; ``POLICY`` cases are where certdesk deliberately differs from limbo's
RFC 5280 profile or adds a rule of its own (see the module docstring of
``certificates.crypto.chains``): they say what certdesk expects and why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certificates import crypto
from tests.support.openssl import openssl

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
UNKNOWN = x509.ObjectIdentifier("1.3.6.1.4.1.55738.666.1")
Key = ec.EllipticCurvePrivateKey
Extension = tuple[x509.ExtensionType, bool]


@cache
def _key(label: str) -> Key:
    """One key per label, so that certificates of the same label share it (as a CA does)."""
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _usage(*, cert_sign: bool, digital_signature: bool = True) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class Spec:
    """One certificate: what limbo's builder would write, with knobs for each case."""

    subject: str
    key: str
    issuer: str | None = None  # None: self-signed with its own key
    issuer_key: str | None = None
    ca: bool | None = False  # None: no basicConstraints at all
    pathlen: int | None = None
    bc_critical: bool = True
    key_usage: x509.KeyUsage | None = None
    no_key_usage: bool = False
    eku: Sequence[x509.ObjectIdentifier] | None = (ExtendedKeyUsageOID.CLIENT_AUTH,)
    san: bool = True
    aki: bool | None = True  # None: critical
    ski: bool | None = True
    extra: Sequence[Extension] = field(default_factory=tuple)
    not_before: datetime = NOW - timedelta(days=30)
    not_after: datetime = NOW + timedelta(days=300)


def make(spec: Spec) -> x509.Certificate:
    subject_key = _key(spec.key)
    issuer_key = _key(spec.issuer_key or spec.key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(spec.subject))
        .issuer_name(_name(spec.issuer or spec.subject))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(spec.not_before)
        .not_valid_after(spec.not_after)
    )
    if spec.ca is not None:
        constraints = x509.BasicConstraints(ca=spec.ca, path_length=spec.pathlen)
        builder = builder.add_extension(constraints, critical=spec.bc_critical)
    usage = spec.key_usage or _usage(cert_sign=bool(spec.ca))
    if not spec.no_key_usage:
        builder = builder.add_extension(usage, critical=True)
    if spec.eku is not None and not spec.ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(spec.eku)), critical=False)
    if spec.san and not spec.ca:
        san = x509.SubjectAlternativeName([x509.DNSName("acme.com")])
        builder = builder.add_extension(san, critical=False)
    if spec.ski is not False:
        ski = x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key())
        builder = builder.add_extension(ski, critical=spec.ski is None)
    if spec.aki is not False:
        aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key())
        builder = builder.add_extension(aki, critical=spec.aki is None)
    for extension, critical in spec.extra:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def root(**changes: Any) -> x509.Certificate:
    return make(Spec(**{"subject": "Root CA", "key": "root", "ca": True, **changes}))


def intermediate(
    name: str = "Intermediate CA",
    issuer: str = "Root CA",
    issuer_key: str = "root",
    **changes: Any,
) -> x509.Certificate:
    fields: dict[str, Any] = {"subject": name, "key": name, "ca": True, "pathlen": 0}
    fields.update(issuer=issuer, issuer_key=issuer_key, **changes)
    return make(Spec(**fields))


def leaf(
    issuer: str = "Intermediate CA", issuer_key: str | None = None, **changes: Any
) -> x509.Certificate:
    fields: dict[str, Any] = {"subject": "acme.com", "key": "leaf", "issuer": issuer}
    fields.update(issuer_key=issuer_key or issuer, **changes)
    return make(Spec(**fields))


@dataclass
class Case:
    """A path to validate: leaf, uploaded chain, trust anchors; and the expected answer."""

    id: str
    build: Callable[[], tuple[x509.Certificate, list[x509.Certificate], list[x509.Certificate]]]
    code: str | None  # None: accepted; else the CryptoError code expected
    known_library_gap: bool = False


UNKNOWN_CRITICAL: Extension = (x509.UnrecognizedExtension(UNKNOWN, b""), True)
EMAIL_PROTECTION = ExtendedKeyUsageOID.EMAIL_PROTECTION


def _two_level(
    **leaf_changes: Any,
) -> tuple[x509.Certificate, list[x509.Certificate], list[x509.Certificate]]:
    return leaf(issuer="Root CA", issuer_key="root", **leaf_changes), [], [root()]


def _three_level(
    **inter_changes: Any,
) -> tuple[x509.Certificate, list[x509.Certificate], list[x509.Certificate]]:
    return leaf(), [intermediate(**inter_changes)], [root()]


def _pathlen_chain(
    pathlens: Sequence[int], *, self_issued_at: int | None = None
) -> tuple[x509.Certificate, list[x509.Certificate], list[x509.Certificate]]:
    """root -> ICA1 (pathlens[0]) -> ICA2 (pathlens[1]) ... -> EE."""
    chain: list[x509.Certificate] = []
    issuer, issuer_key = "Root CA", "root"
    for index, pathlen in enumerate(pathlens):
        name, key = f"ICA{index}", f"ica{len(pathlens)}-{index}"
        if self_issued_at == index:
            name = issuer  # same name as its issuer, another key: self-issued, not self-signed
        chain.append(intermediate(name, issuer, issuer_key, key=key, pathlen=pathlen))
        issuer, issuer_key = name, key
    return leaf(issuer=issuer, issuer_key=issuer_key), chain, [root()]


def _self_signed_leaf(
    in_bundle: bool,
) -> tuple[x509.Certificate, list[x509.Certificate], list[x509.Certificate]]:
    self_signed = make(Spec(subject="acme.com", key="leaf"))
    return self_signed, [], [root(), self_signed] if in_bundle else [root()]


LIMBO = [
    # --- refused ---
    Case(
        "pathlen::intermediate-violates-pathlen-0", lambda: _pathlen_chain([0, 0]), "chain_invalid"
    ),
    Case(
        "pathlen::intermediate-pathlen-too-long", lambda: _pathlen_chain([1, 0, 0]), "chain_invalid"
    ),
    Case(
        "rfc5280::unknown-critical-extension-ee",
        lambda: _two_level(extra=[UNKNOWN_CRITICAL]),
        "chain_invalid",
    ),
    Case(
        "rfc5280::unknown-critical-extension-intermediate",
        lambda: _three_level(extra=[UNKNOWN_CRITICAL]),
        "chain_invalid",
    ),
    Case(
        "rfc5280::unknown-critical-extension-root",
        lambda: (leaf("Root CA", "root"), [], [root(extra=[UNKNOWN_CRITICAL])]),
        "chain_invalid",
    ),
    Case(
        "rfc5280::leaf-ku-keycertsign",
        lambda: _two_level(key_usage=_usage(cert_sign=True)),
        "chain_invalid",
    ),
    Case(
        "rfc5280::intermediate-ca-without-ca-bit",
        lambda: _three_level(ca=False, pathlen=None),
        "chain_not_ca",
    ),
    Case(
        "rfc5280::intermediate-ca-missing-basic-constraints",
        lambda: _three_level(ca=None, pathlen=None),
        "chain_not_ca",
    ),
    Case(
        "rfc5280::ica-ku-keycertsign",
        lambda: _three_level(key_usage=_usage(cert_sign=False)),
        "chain_invalid",
    ),
    Case(
        "rfc5280::root-inconsistent-ca-extensions",
        lambda: (leaf("Root CA", "root"), [], [root(key_usage=_usage(cert_sign=False))]),
        "chain_invalid",
    ),
    Case(
        "rfc5280::root-missing-basic-constraints",
        lambda: (leaf("Root CA", "root"), [], [root(ca=None)]),
        "chain_invalid",
    ),
    Case(
        "rfc5280::root-non-critical-basic-constraints",
        lambda: (leaf("Root CA", "root"), [], [root(bc_critical=False)]),
        "chain_invalid",
    ),
    Case(
        "rfc5280::ee-critical-aia-invalid",
        lambda: _two_level(
            extra=[
                (
                    x509.AuthorityInformationAccess(
                        [x509.AccessDescription(x509.OID_CA_ISSUERS, x509.DNSName("example.com"))]
                    ),
                    True,
                )
            ]
        ),
        "chain_invalid",
    ),
    Case(
        "rfc5280::aki::critical-aki",
        lambda: (leaf("Root CA", "root"), [], [root(aki=None)]),
        "chain_invalid",
    ),
    Case(
        "rfc5280::ski::critical-ski",
        lambda: (leaf("Root CA", "root"), [], [root(ski=None)]),
        "chain_invalid",
    ),
    Case(
        "rfc5280::chain-untrusted-root",
        lambda: (
            leaf(),
            [root(), intermediate()],
            [make(Spec("Unrelated Root", "other", ca=True))],
        ),
        "chain_untrusted",
    ),
    Case(
        "rfc5280::validity::expired-intermediate",
        lambda: _three_level(not_after=NOW - timedelta(days=1)),
        "expired",
    ),
    Case(
        "rfc5280::validity::expired-root",
        lambda: (leaf("Root CA", "root"), [], [root(not_after=NOW - timedelta(days=1))]),
        "expired",
    ),
    Case(
        "rfc5280::validity::ee-not-yet-valid",
        lambda: _two_level(not_before=NOW + timedelta(days=1)),
        "not_yet_valid",
    ),
    Case(
        "rfc5280::signature (same issuer name, other key)",
        lambda: (leaf("Root CA", "impostor"), [], [root()]),
        "chain_signature",
    ),
    # --- accepted ---
    Case("pathlen::ee-with-intermediate-pathlen-0", lambda: _pathlen_chain([0]), None),
    Case("pathlen::ee-with-intermediate-pathlen-1", lambda: _pathlen_chain([1]), None),
    Case("pathlen::ee-with-intermediate-pathlen-2", lambda: _pathlen_chain([2]), None),
    Case("pathlen::intermediate-pathlen-may-increase", lambda: _pathlen_chain([1, 2]), None),
    Case(
        "pathlen::self-issued-certs-pathlen",
        lambda: _pathlen_chain([1, 1, 0], self_issued_at=1),
        None,
        # cryptography 50 counts a self-issued intermediate against pathLenConstraint (RFC
        # 5280 6.1.4 (l) says not to): refused, the safe side; Treezor does not rekey that way.
        known_library_gap=True,
    ),
    Case(
        "rfc5280::root-and-intermediate-swapped",
        lambda: (leaf(), [root()], [intermediate()]),
        None,
    ),
    Case("rfc5280::no-keyusage", lambda: _two_level(no_key_usage=True), None),
    Case("rfc5280::no-basicconstraints", lambda: _two_level(ca=None), None),
    Case(
        "rfc5280::ee-aia",
        lambda: _two_level(
            extra=[
                (
                    x509.AuthorityInformationAccess(
                        [x509.AccessDescription(x509.OID_CA_ISSUERS, x509.DNSName("example.com"))]
                    ),
                    False,
                )
            ]
        ),
        None,
    ),
    Case(
        "rfc5280::aki::self-signed-root-missing-aki",
        lambda: (leaf("Root CA", "root"), [], [root(aki=False)]),
        None,
    ),
]

POLICY = [
    # certdesk's own rules (refused)
    Case("certdesk: self-signed leaf", lambda: _self_signed_leaf(False), "self_signed_leaf"),
    Case(
        "certdesk: self-signed leaf in the bundle",
        lambda: _self_signed_leaf(True),
        "self_signed_leaf",
    ),
    # limbo's rfc5280::ca-as-leaf accepts a CA in leaf position; certdesk wants a client key's.
    Case("certdesk: leaf is a CA", lambda: _two_level(ca=True), "leaf_is_ca"),
    # Treezor client certificates (accepted)
    Case("certdesk: root anchor", _two_level, None),
    Case("certdesk: intermediate anchor", lambda: (leaf(), [], [intermediate()]), None),
    Case("certdesk: leaf without EKU", lambda: _two_level(eku=None), None),
    Case(
        "certdesk: signature certificate (EKU emailProtection, no clientAuth)",
        lambda: _two_level(eku=[EMAIL_PROTECTION]),
        None,
    ),
    Case("certdesk: leaf without SAN", lambda: _two_level(san=False), None),
    # Relaxed Web PKI presence rules that limbo's RFC 5280 profile refuses.
    Case("certdesk vs rfc5280::aki::leaf-missing-aki", lambda: _two_level(aki=False), None),
    Case(
        "certdesk vs rfc5280::aki::intermediate-missing-aki", lambda: _three_level(aki=False), None
    ),
    Case(
        "certdesk vs rfc5280::ski::intermediate-missing-ski", lambda: _three_level(ski=False), None
    ),
    Case(
        "certdesk vs rfc5280::ski::root-missing-ski",
        lambda: (leaf("Root CA", "root"), [], [root(ski=False)]),
        None,
    ),
]


def _check(case: Case) -> None:
    leaf_certificate, chain, anchors = case.build()
    if case.code is None:
        path = crypto.verify_path(leaf_certificate, chain, anchors, at=NOW)
        assert path[0] == leaf_certificate
        assert path[-1] in anchors
        return
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.verify_path(leaf_certificate, chain, anchors, at=NOW)
    assert caught.value.code == case.code, str(caught.value)


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            case,
            marks=[pytest.mark.xfail(strict=True, reason="library gap")]
            if case.known_library_gap
            else [],
        )
        for case in LIMBO
    ],
    ids=lambda case: case.id,
)
def test_limbo_rfc5280_cases(case: Case) -> None:
    """verify_path gives x509-limbo's expected answer on its RFC 5280 path-validation cases."""
    _check(case)


@pytest.mark.parametrize("case", POLICY, ids=lambda case: case.id)
def test_certdesk_policy_cases(case: Case) -> None:
    """certdesk's own rules hold, and the Web PKI rules it relaxes do not refuse real chains."""
    _check(case)


# --- Messages -------------------------------------------------------------------------------


def _refusal(
    built: tuple[x509.Certificate, list[x509.Certificate], list[x509.Certificate]],
) -> crypto.CryptoError:
    leaf_certificate, chain, anchors = built
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.verify_path(leaf_certificate, chain, anchors, at=NOW)
    message = str(caught.value)
    # The library's own text quotes certificate names from the input; it is never shown.
    assert "encountered processing" not in message
    assert "<Certificate" not in message
    return caught.value


def test_path_length_refusal_names_the_constraining_ca() -> None:
    """A pathLenConstraint violation names the CA whose limit is exceeded and the rule."""
    message = str(_refusal(_pathlen_chain([0, 0])))
    assert message.startswith("The certificate CN=ICA0 allows fewer intermediate CAs")
    assert "pathLenConstraint" in message


def test_unknown_critical_extension_refusal_names_certificate_and_oid() -> None:
    """An unknown critical extension names the certificate carrying it and the extension's OID."""
    message = str(_refusal(_three_level(extra=[UNKNOWN_CRITICAL])))
    assert message.startswith("The certificate CN=Intermediate CA carries the extension")
    assert UNKNOWN.dotted_string in message


def test_leaf_with_key_cert_sign_refusal_says_so() -> None:
    """A leaf asserting keyCertSign is refused in words naming the leaf and the bit."""
    message = str(_refusal(_two_level(key_usage=_usage(cert_sign=True))))
    assert message.startswith("The certificate CN=acme.com may sign other certificates")


def test_issuer_without_key_cert_sign_refusal_names_it() -> None:
    """An intermediate whose keyUsage lacks keyCertSign is named as not allowed to sign."""
    message = str(_refusal(_three_level(key_usage=_usage(cert_sign=False))))
    assert message.startswith("The certificate CN=Intermediate CA is not allowed to sign")


def test_self_signed_leaf_in_the_bundle_is_still_refused() -> None:
    """A self-signed leaf that an administrator put in the bundle is refused as self-signed."""
    error = _refusal(_self_signed_leaf(True))
    assert error.code == "self_signed_leaf"
    assert "CN=acme.com is self-signed: it was not issued by Treezor's CA" in str(error)


def test_uploaded_root_is_named_as_untrusted() -> None:
    """A root uploaded with the chain but absent from the bundle is named, not trusted."""
    error = _refusal(
        (leaf(), [root(), intermediate()], [make(Spec("Other Root", "other", ca=True))])
    )
    assert "issued by CN=Root CA, a self-signed CA that is not in the CA bundle" in str(error)


def test_verify_chain_returns_the_validated_path() -> None:
    """verify_chain reads the bundle PEM and returns leaf, intermediate, root in that order."""
    leaf_certificate, chain, anchors = _three_level()
    bundle = crypto.certificates_to_pem(anchors)
    assert crypto.verify_chain(leaf_certificate, chain, bundle, at=NOW) == [
        leaf_certificate,
        *chain,
        *anchors,
    ]


# --- is_self_signed and issuing_chain -------------------------------------------------------


def test_is_self_signed_needs_the_own_key_not_just_the_name() -> None:
    """A root is self-signed; a self-issued CA (same name, signed by another key) is not."""
    self_issued = intermediate("Root CA", "Root CA", "root", key="rollover")
    assert crypto.is_self_signed(root())
    assert not crypto.is_self_signed(self_issued)
    assert not crypto.is_self_signed(leaf())


def test_issuing_chain_offers_what_then_validates_as_anchors() -> None:
    """The issuers carried by the file, leaf's issuer first, pass verify_path as anchors."""
    leaf_certificate, treezor_root, treezor_intermediate = leaf(), root(), intermediate()
    unrelated = make(Spec("Unrelated Root", "other", ca=True))
    chain = [unrelated, treezor_root, treezor_intermediate]
    issuers = crypto.issuing_chain(leaf_certificate, chain)
    assert issuers == [treezor_intermediate, treezor_root]
    path = crypto.verify_path(leaf_certificate, chain, issuers, at=NOW)
    assert path == [leaf_certificate, treezor_intermediate]


def test_issuing_chain_with_the_intermediate_only() -> None:
    """A file with the leaf and its intermediate offers the intermediate, a valid anchor."""
    leaf_certificate, treezor_intermediate = leaf(), intermediate()
    issuers = crypto.issuing_chain(leaf_certificate, [treezor_intermediate])
    assert issuers == [treezor_intermediate]
    crypto.verify_path(leaf_certificate, [], issuers, at=NOW)


def test_issuing_chain_is_empty_without_an_issuer_of_the_leaf() -> None:
    """A file carrying no certificate that signed the leaf offers nothing to trust."""
    assert crypto.issuing_chain(leaf(), []) == []
    assert crypto.issuing_chain(leaf(), [make(Spec("Unrelated Root", "other", ca=True))]) == []


def test_issuing_chain_stops_at_a_signer_that_is_not_a_ca() -> None:
    """A non-CA signer is never offered as an issuer to trust."""
    not_ca = intermediate(ca=False, pathlen=None)
    assert crypto.issuing_chain(leaf(), [not_ca, root()]) == []


# --- Version 1 leaves -------------------------------------------------------------------------


def _v1_leaf(issuer: x509.Certificate, issuer_label: str, work: Path) -> x509.Certificate:
    """A version 1 leaf, as `openssl x509 -req` without an extension file writes it."""
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(_name("acme.com"))
        .sign(_key("leaf"), hashes.SHA256())
    )
    (work / "csr.pem").write_bytes(csr.public_bytes(serialization.Encoding.PEM))
    (work / "ca.pem").write_bytes(issuer.public_bytes(serialization.Encoding.PEM))
    (work / "ca_key.pem").write_bytes(
        _key(issuer_label).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    command = "x509 -req -in csr.pem -CA ca.pem -CAkey ca_key.pem -set_serial 7 -days 3650"
    openssl(*command.split(), "-out", "leaf.pem", cwd=work)
    v1 = x509.load_pem_x509_certificate((work / "leaf.pem").read_bytes())
    assert v1.version is x509.Version.v1
    return v1


def test_version_1_leaf_is_validated_through_its_issuers(tmp_path: Path) -> None:
    """A v1 leaf under a sound chain is accepted; above it, the CA rules still apply."""
    now = datetime.now(UTC)
    good = intermediate(not_before=now - timedelta(days=1), not_after=now + timedelta(days=30))
    anchors = [root(not_before=now - timedelta(days=1), not_after=now + timedelta(days=30))]
    v1 = _v1_leaf(good, "Intermediate CA", tmp_path)
    # After openssl ran: its notBefore is the second it started, which may follow ``now``.
    at = datetime.now(UTC)
    assert crypto.verify_path(v1, [good], anchors, at=at) == [v1, good, *anchors]

    bad = intermediate(
        extra=[UNKNOWN_CRITICAL],
        not_before=at - timedelta(days=1),
        not_after=at + timedelta(days=30),
    )
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.verify_path(v1, [bad], anchors, at=at)
    assert caught.value.code == "chain_invalid"


def test_version_1_leaf_counts_for_path_length(tmp_path: Path) -> None:
    """Below a pathlen:0 CA, a v1 leaf's issuer must not itself be an intermediate CA."""
    now = datetime.now(UTC)
    dates: dict[str, Any] = {
        "not_before": now - timedelta(days=1),
        "not_after": now + timedelta(days=30),
    }
    first = intermediate("ICA0", key="v1-ica0", pathlen=0, **dates)
    second = intermediate("ICA1", "ICA0", "v1-ica0", key="v1-ica1", pathlen=0, **dates)
    v1 = _v1_leaf(second, "v1-ica1", tmp_path)
    at = datetime.now(UTC)  # after openssl ran, as above
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.verify_path(v1, [first, second], [root(**dates)], at=at)
    assert caught.value.code == "chain_invalid"
    assert "CN=ICA0 allows fewer intermediate CAs" in str(caught.value)
