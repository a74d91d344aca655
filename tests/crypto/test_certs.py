"""Certificates: reading every packaging, finding the leaf, verifying the chain."""

from __future__ import annotations

import base64
import hashlib
import random
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs7

from certificates import crypto
from tests.support.subjects import ACME
from tests.support.testca import LocalCA

DER = serialization.Encoding.DER
PEM = serialization.Encoding.PEM
NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return crypto.generate_private_key()


@pytest.fixture(scope="module")
def csr(key: rsa.RSAPrivateKey) -> x509.CertificateSigningRequest:
    return crypto.build_csr(key, ACME)


@pytest.fixture(scope="module")
def ca() -> LocalCA:
    return LocalCA.create()


@pytest.fixture(scope="module")
def ca2() -> LocalCA:
    """A CA with an intermediate, like Treezor's chain may be."""
    return LocalCA.create(with_intermediate=True)


@pytest.fixture(scope="module")
def other_ca() -> LocalCA:
    return LocalCA.create(common_name="Other CA")


@pytest.fixture(scope="module")
def leaf(ca: LocalCA, csr: x509.CertificateSigningRequest) -> x509.Certificate:
    return ca.sign(csr, not_before=NOW - timedelta(days=10))


@pytest.fixture(scope="module")
def leaf2(ca2: LocalCA, csr: x509.CertificateSigningRequest) -> x509.Certificate:
    return ca2.sign(csr, not_before=NOW - timedelta(days=10))


def _refusal(data: bytes) -> crypto.CryptoError:
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.parse_certificates(data)
    return caught.value


# --- parse_certificates ---------------------------------------------------------------------


def test_parses_a_pem_certificate(leaf: x509.Certificate) -> None:
    """A single PEM certificate gives a list of one."""
    assert crypto.parse_certificates(crypto.certificate_to_pem(leaf)) == [leaf]


def test_parses_a_der_certificate(leaf: x509.Certificate) -> None:
    """A DER certificate (.cer/.der) parses too."""
    assert crypto.parse_certificates(leaf.public_bytes(DER)) == [leaf]


def test_parses_a_pem_chain_ignoring_text_and_duplicates(
    leaf2: x509.Certificate, ca2: LocalCA
) -> None:
    """A concatenated chain with comments between blocks and a repeated block keeps file order."""
    intermediate = ca2.chain()[0]
    text = (
        b"# issued by Treezor Test\r\n"
        + crypto.certificate_to_pem(leaf2)
        + b"\nsubject=CN = Treezor Test Intermediate CA\n"
        + crypto.certificate_to_pem(intermediate)
        + crypto.certificate_to_pem(ca2.root)
        + crypto.certificate_to_pem(leaf2)
    )
    assert crypto.parse_certificates(text) == [leaf2, intermediate, ca2.root]


def test_parses_pkcs7_bundles_in_pem_and_der(leaf2: x509.Certificate, ca2: LocalCA) -> None:
    """PKCS#7 (.p7b/.p7c) in PEM and DER, and a PKCS#7 PEM body without armour."""
    chain = [ca2.root, leaf2, *ca2.chain()]
    der = pkcs7.serialize_certificates(chain, DER)
    for data in (pkcs7.serialize_certificates(chain, PEM), der, base64.encodebytes(der)):
        assert set(crypto.parse_certificates(data)) == set(chain)


def test_refuses_a_csr(csr: x509.CertificateSigningRequest) -> None:
    """A CSR given where a certificate is expected, PEM or DER, gets its own message."""
    for data in (crypto.csr_to_pem(csr), csr.public_bytes(DER)):
        error = _refusal(data)
        assert error.code == "csr_not_certificate"
        assert "certificate signing request (CSR), not a certificate" in str(error)


def test_refuses_a_csr_among_certificates(
    leaf: x509.Certificate, csr: x509.CertificateSigningRequest
) -> None:
    """A CSR pasted with the certificate is refused rather than silently skipped."""
    data = crypto.certificate_to_pem(leaf) + crypto.csr_to_pem(csr)
    assert _refusal(data).code == "csr_not_certificate"


def test_refuses_other_pem_blocks(key: rsa.RSAPrivateKey) -> None:
    """A PEM block that is not a certificate (here a public key) is named and refused."""
    public = key.public_key().public_bytes(PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    error = _refusal(public)
    assert error.code == "not_certificate"
    assert "'PUBLIC KEY'" in str(error)


def test_refuses_garbage_and_empty_input() -> None:
    """Random bytes are not a certificate; an empty file says it is empty."""
    garbage = random.Random(7).randbytes(2000)
    assert _refusal(garbage).code == "not_certificate"
    assert _refusal(b"-----BEGIN nothing\n").code == "not_certificate"
    assert _refusal(b"  \r\n").code == "empty"


def test_refuses_a_damaged_certificate_block(leaf: x509.Certificate) -> None:
    """A CERTIFICATE block whose content is not a certificate says it is damaged."""
    der = leaf.public_bytes(DER)
    damaged = b"-----BEGIN CERTIFICATE-----\n" + base64.encodebytes(der[:300])
    damaged += b"-----END CERTIFICATE-----\n"
    assert _refusal(damaged).code == "certificate_invalid"


def test_refuses_private_keys_first(key: rsa.RSAPrivateKey, leaf: x509.Certificate) -> None:
    """A certificate uploaded with its key is refused as key material (rule 6)."""
    data = crypto.certificate_to_pem(leaf) + crypto.private_key_to_pem(key)
    with pytest.raises(crypto.PrivateKeyMaterialError):
        crypto.parse_certificates(data)


# --- split_leaf_and_chain -------------------------------------------------------------------


def test_split_finds_the_leaf_in_any_order(leaf2: x509.Certificate, ca2: LocalCA) -> None:
    """Whatever the order (PKCS#7 has none), the leaf comes out and the chain is ordered."""
    intermediate = ca2.chain()[0]
    for order in (
        [leaf2, intermediate, ca2.root],
        [ca2.root, intermediate, leaf2],
        [intermediate, leaf2, ca2.root],
    ):
        assert crypto.split_leaf_and_chain(order) == (leaf2, [intermediate, ca2.root])


def test_split_of_a_single_certificate(leaf: x509.Certificate) -> None:
    """A lone certificate is the leaf, with an empty chain."""
    assert crypto.split_leaf_and_chain([leaf]) == (leaf, [])


def test_split_prefers_the_end_entity_over_an_unrelated_root(
    leaf: x509.Certificate, ca: LocalCA, other_ca: LocalCA
) -> None:
    """An unrelated CA in the file does not make the leaf ambiguous; it goes last."""
    leaf_, chain = crypto.split_leaf_and_chain([other_ca.root, leaf, ca.root])
    assert leaf_ == leaf
    assert chain == [ca.root, other_ca.root]


def test_split_refuses_two_unrelated_leaves(
    leaf: x509.Certificate, leaf2: x509.Certificate
) -> None:
    """Two end-entity certificates: certdesk cannot tell which is the one."""
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.split_leaf_and_chain([leaf, leaf2])
    assert caught.value.code == "ambiguous_leaf"


def test_split_refuses_ca_certificates_only(ca2: LocalCA) -> None:
    """Only Treezor's CA certificates, without the leaf: the missing leaf is named."""
    with pytest.raises(crypto.CryptoError, match="certificate issued for your key is missing"):
        crypto.split_leaf_and_chain([ca2.root, *ca2.chain()])


# --- verify_chain ---------------------------------------------------------------------------


def test_verify_chain_accepts_a_leaf_signed_by_the_root(
    leaf: x509.Certificate, ca: LocalCA
) -> None:
    """Root-signed leaf, no intermediates: verifies against the bundle."""
    crypto.verify_chain(leaf, [], ca.bundle_pem(), at=NOW)


def test_verify_chain_accepts_a_leaf_with_its_intermediate(
    leaf2: x509.Certificate, ca2: LocalCA
) -> None:
    """Leaf, intermediate uploaded with it, root in the bundle; the root may be uploaded too."""
    crypto.verify_chain(leaf2, ca2.chain(), ca2.bundle_pem(), at=NOW)
    crypto.verify_chain(leaf2, [ca2.root, *ca2.chain()], ca2.bundle_pem(), at=NOW)


def test_verify_chain_takes_the_intermediate_from_the_bundle(
    leaf2: x509.Certificate, ca2: LocalCA
) -> None:
    """A bundle holding root and intermediate needs no uploaded chain."""
    bundle = ca2.bundle_pem() + crypto.certificates_to_pem(ca2.chain())
    crypto.verify_chain(leaf2, [], bundle, at=NOW)


def test_verify_chain_refuses_another_ca(leaf: x509.Certificate, other_ca: LocalCA) -> None:
    """A certificate from another CA names its issuer in the message."""
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.verify_chain(leaf, [], other_ca.bundle_pem(), at=NOW)
    assert caught.value.code == "chain_untrusted"
    assert "issued by CN=Treezor Test Root CA, which is not in the CA bundle" in str(caught.value)


def test_verify_chain_refuses_a_missing_intermediate(leaf2: x509.Certificate, ca2: LocalCA) -> None:
    """Without its intermediate the chain breaks; the message asks for the full chain."""
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.verify_chain(leaf2, [], ca2.bundle_pem(), at=NOW)
    message = str(caught.value)
    assert "issued by CN=Treezor Test Intermediate CA" in message
    assert "upload the full chain" in message


def test_verify_chain_refuses_a_ca_of_the_same_name(
    leaf: x509.Certificate, csr: x509.CertificateSigningRequest
) -> None:
    """A lookalike CA with the same name but another key fails on the signature."""
    impostor = LocalCA.create()  # same default name as `ca`, different key
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.verify_chain(leaf, [], impostor.bundle_pem(), at=NOW)
    assert caught.value.code == "chain_signature"


def test_verify_chain_does_not_trust_an_uploaded_root(
    leaf: x509.Certificate, ca: LocalCA, other_ca: LocalCA
) -> None:
    """A self-signed root uploaded with the chain is not a trust anchor."""
    with pytest.raises(crypto.CryptoError):
        crypto.verify_chain(leaf, [ca.root], other_ca.bundle_pem(), at=NOW)


def test_verify_chain_refuses_a_self_signed_leaf(key: rsa.RSAPrivateKey, ca: LocalCA) -> None:
    """A self-signed certificate is said to be self-signed."""
    name = ACME.to_x509_name()
    self_signed = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    with pytest.raises(crypto.CryptoError, match=r"CN=acme\.com is self-signed"):
        crypto.verify_chain(self_signed, [], ca.bundle_pem(), at=NOW)


def test_verify_chain_refuses_an_expired_certificate(
    ca: LocalCA, csr: x509.CertificateSigningRequest
) -> None:
    """A leaf that ended before `at` is refused with both dates in OpenSSL's format."""
    old = ca.sign(csr, not_before=datetime(2024, 1, 22, 12, 25, 4, tzinfo=UTC), days=30)
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.verify_chain(old, [], ca.bundle_pem(), at=NOW)
    assert caught.value.code == "expired"
    assert str(caught.value) == (
        "The certificate CN=acme.com had expired on Jun  1 12:00:00 2030 GMT: it ended on "
        "Feb 21 12:25:04 2024 GMT."
    )


def test_verify_chain_refuses_a_certificate_not_yet_valid(
    ca: LocalCA, csr: x509.CertificateSigningRequest
) -> None:
    """A leaf whose notBefore is after `at` is refused."""
    future = ca.sign(csr, not_before=NOW + timedelta(days=1))
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.verify_chain(future, [], ca.bundle_pem(), at=NOW)
    assert caught.value.code == "not_yet_valid"


def test_verify_chain_validity_bounds_are_inclusive(
    ca: LocalCA, csr: x509.CertificateSigningRequest
) -> None:
    """RFC 5280: valid at exactly notBefore and exactly notAfter; naive `at` is UTC."""
    cert = ca.sign(csr, not_before=NOW, days=1)
    crypto.verify_chain(cert, [], ca.bundle_pem(), at=NOW)
    crypto.verify_chain(
        cert, [], ca.bundle_pem(), at=(NOW + timedelta(days=1)).replace(tzinfo=None)
    )
    with pytest.raises(crypto.CryptoError):
        crypto.verify_chain(cert, [], ca.bundle_pem(), at=NOW + timedelta(days=1, seconds=1))


def test_verify_chain_checks_the_intermediate_dates(
    ca2: LocalCA, csr: x509.CertificateSigningRequest
) -> None:
    """An intermediate outside its validity breaks the chain even if the leaf is fine."""
    leaf = ca2.sign(csr, not_before=datetime(2099, 12, 1, tzinfo=UTC), days=60)
    at = datetime(2100, 1, 2, tzinfo=UTC)  # the LocalCA certificates end with 2099
    with pytest.raises(crypto.CryptoError, match="Intermediate CA had expired"):
        crypto.verify_chain(leaf, ca2.chain(), ca2.bundle_pem(), at=at)


# --- parse_ca_bundle ------------------------------------------------------------------------


def test_parse_ca_bundle_reads_pem_cas(ca2: LocalCA) -> None:
    """A bundle of CA certificates, with text between them, is read."""
    bundle = b"# Treezor\n" + ca2.bundle_pem() + b"\n" + crypto.certificates_to_pem(ca2.chain())
    assert crypto.parse_ca_bundle(bundle) == [ca2.root, *ca2.chain()]


def test_parse_ca_bundle_refuses_a_leaf(ca: LocalCA, leaf: x509.Certificate) -> None:
    """An end-entity certificate has no place in a CA bundle."""
    with pytest.raises(crypto.CryptoError, match=r"CN=acme\.com is not a CA certificate"):
        crypto.parse_ca_bundle(ca.bundle_pem() + crypto.certificate_to_pem(leaf))


@pytest.mark.parametrize("data", [b"", b"hello", b"\x30\x82\x01\x00"])
def test_parse_ca_bundle_refuses_what_is_not_pem(data: bytes) -> None:
    """Empty input, text and DER are refused: a bundle is PEM."""
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.parse_ca_bundle(data)
    assert caught.value.code == "bundle_invalid"


def test_parse_ca_bundle_refuses_private_keys(ca: LocalCA) -> None:
    """A CA's key pasted with its certificate is refused as key material."""
    key_pem = ca.root_key.private_bytes(
        PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(crypto.PrivateKeyMaterialError):
        crypto.parse_ca_bundle(ca.bundle_pem() + key_pem)


def test_parse_ca_bundle_refuses_other_blocks(
    ca: LocalCA, csr: x509.CertificateSigningRequest
) -> None:
    """Only certificates: a CSR block in the bundle is refused."""
    with pytest.raises(crypto.CryptoError, match="'CERTIFICATE REQUEST'"):
        crypto.parse_ca_bundle(ca.bundle_pem() + crypto.csr_to_pem(csr))


# --- small facts ----------------------------------------------------------------------------


def test_client_auth_eku(ca: LocalCA, csr: x509.CertificateSigningRequest) -> None:
    """clientAuth in extendedKeyUsage is seen; serverAuth only, or no EKU, is not."""
    assert crypto.has_client_auth_eku(ca.sign(csr))
    assert not crypto.has_client_auth_eku(ca.sign(csr, client_auth=False))
    assert not crypto.has_client_auth_eku(ca.root)


def test_certificate_fingerprint_is_sha256_of_der(leaf: x509.Certificate) -> None:
    """Lowercase hex SHA-256 of the DER encoding."""
    expected = hashlib.sha256(leaf.public_bytes(DER)).hexdigest()
    assert crypto.certificate_fingerprint(leaf) == expected


def test_certificate_key_matches_the_csr(
    leaf: x509.Certificate, csr: x509.CertificateSigningRequest, key: rsa.RSAPrivateKey
) -> None:
    """The certificate Treezor returns carries the CSR's key: fingerprints are equal."""
    assert crypto.public_key_fingerprint(leaf.public_key()) == crypto.public_key_fingerprint(
        csr.public_key()
    )
    assert crypto.key_matches(leaf.public_key(), key.public_key())


def test_sign_with_another_subject(ca: LocalCA, csr: x509.CertificateSigningRequest) -> None:
    """The test CA can issue a subject other than the CSR's (Treezor may rewrite it)."""
    other = crypto.Subject("FR", "IdF", "Paris", "Acme", "", "api.acme.com", "it@acme.com")
    cert = ca.sign(csr, subject=other.to_x509_name())
    assert crypto.Subject.from_x509_name(cert.subject) == other
    assert crypto.describe_name(cert.subject) == "CN=api.acme.com"


def test_der_certificate_ending_in_a_whitespace_byte_parses(
    ca: LocalCA, csr: x509.CertificateSigningRequest
) -> None:
    """DER is binary: a signature whose last byte is 0x0a or 0x20 must not be 'stripped'."""
    for _ in range(5000):
        cert = ca.sign(csr)  # a fresh random serial each time, so a fresh signature
        der = cert.public_bytes(DER)
        if der[-1:].isspace():
            break
    else:  # pragma: no cover - (250/256)**5000 is about 1e-52
        pytest.fail("no certificate ending in a whitespace byte")
    assert crypto.parse_certificates(der) == [cert]
    assert not crypto.contains_private_key_material(der)


def test_local_ca_can_issue_a_server_certificate(
    ca2: LocalCA, csr: x509.CertificateSigningRequest
) -> None:
    """For TLS tests: serverAuth and subjectAltName, issued by the intermediate."""
    cert = ca2.sign(csr, client_auth=False, dns_names=["localhost"])
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert not crypto.has_client_auth_eku(cert)
    assert cert.issuer == ca2.chain()[0].subject
