"""Bounded certificate uploads (issue 12, point 1): few certificates, issuers found by name and key.

A PKCS#7 of 400 self-signed certificates all named CN=a once took 25-35 s to refuse, because
pairing leaf and chain tried every certificate against every other one. Measured by hand after
the change: refused in about 5 ms (see the lead's report); no timed assertion here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from certificates import crypto
from certificates.crypto import certs as certs_module

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
CN_A = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a")])


def _certificate(
    *,
    subject: x509.Name,
    issuer: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    signer: ec.EllipticCurvePrivateKey,
    ca: bool,
    serial: int,
    key_ids: bool = True,
) -> x509.Certificate:
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if key_ids:
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        ).add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
            critical=False,
        )
    return builder.sign(signer, hashes.SHA256())


def _self_signed_cn_a(count: int) -> list[x509.Certificate]:
    certificates = []
    for serial in range(1, count + 1):
        key = ec.generate_private_key(ec.SECP256R1())
        certificates.append(
            _certificate(
                subject=CN_A,
                issuer=CN_A,
                key=key,
                signer=key,
                ca=False,
                serial=serial,
                key_ids=False,
            )
        )
    return certificates


@pytest.fixture(scope="module")
def attack_file() -> bytes:
    """The reviewer's file: a DER PKCS#7 of 400 self-signed certificates all named CN=a."""
    return pkcs7.serialize_certificates(_self_signed_cn_a(400), serialization.Encoding.DER)


def test_the_400_certificate_attack_file_is_refused_with_the_count(attack_file: bytes) -> None:
    """The reviewer's PKCS#7 is refused before any pairing, saying how many certdesk accepts."""
    assert len(attack_file) < 1024 * 1024
    with pytest.raises(crypto.CryptoError) as raised:
        crypto.parse_certificates(attack_file)
    assert raised.value.code == "too_many_certificates"
    assert "holds 400 certificates" in str(raised.value)
    assert f"at most {crypto.MAX_UPLOAD_CERTIFICATES} in one upload" in str(raised.value)


def test_split_refuses_more_certificates_than_the_limit_even_when_given_a_list() -> None:
    """A caller handing certificates straight to the pairing step gets the same bound."""
    certificates = _self_signed_cn_a(crypto.MAX_UPLOAD_CERTIFICATES + 1)
    with pytest.raises(crypto.CryptoError) as raised:
        crypto.split_leaf_and_chain(certificates)
    assert raised.value.code == "too_many_certificates"


def test_the_limit_admits_the_longest_chain_path_validation_accepts() -> None:
    """Ten is the leaf, the most intermediates verify_path accepts, and a root: no installable
    file is refused by the count."""
    from certificates.crypto.chains import MAX_CHAIN_LENGTH

    assert crypto.MAX_UPLOAD_CERTIFICATES == MAX_CHAIN_LENGTH + 2


@pytest.fixture
def signature_checks(monkeypatch: pytest.MonkeyPatch) -> dict[bytes, int]:
    """Signature checks made, per certificate checked (by fingerprint), names matching only."""
    checks: dict[bytes, int] = {}
    real = certs_module._signed_by

    def counting(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
        if certificate.issuer == issuer.subject:
            key = certificate.fingerprint(hashes.SHA256())
            checks[key] = checks.get(key, 0) + 1
        return real(certificate, issuer)

    monkeypatch.setattr(certs_module, "_signed_by", counting)
    return checks


def test_issuers_are_paired_by_name_and_key_identifier(
    signature_checks: dict[bytes, int],
) -> None:
    """Seven decoy CAs sharing the intermediate's name but not its key identifier are never
    tried against the leaf: each certificate gets at most two signature checks, and the leaf
    and its issuing path are found whatever the file order."""
    root_key = ec.generate_private_key(ec.SECP256R1())
    intermediate_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Treezor Root CA")])
    intermediate_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Treezor Sub CA")])
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acme.com")])
    root = _certificate(
        subject=root_name, issuer=root_name, key=root_key, signer=root_key, ca=True, serial=1
    )
    intermediate = _certificate(
        subject=intermediate_name,
        issuer=root_name,
        key=intermediate_key,
        signer=root_key,
        ca=True,
        serial=2,
    )
    leaf = _certificate(
        subject=leaf_name,
        issuer=intermediate_name,
        key=leaf_key,
        signer=intermediate_key,
        ca=False,
        serial=3,
    )
    decoys = []
    for serial in range(10, 17):
        decoy_key = ec.generate_private_key(ec.SECP256R1())
        decoys.append(
            _certificate(
                subject=intermediate_name,
                issuer=intermediate_name,
                key=decoy_key,
                signer=decoy_key,
                ca=True,
                serial=serial,
            )
        )
    found_leaf, chain = crypto.split_leaf_and_chain([*decoys, root, leaf, intermediate])
    assert found_leaf == leaf
    assert chain[:2] == [intermediate, root]
    assert crypto.issuing_chain(leaf, chain) == [intermediate, root]
    assert signature_checks
    assert max(signature_checks.values()) <= 2 * 2  # split, then issuing_chain: two at most each
    assert signature_checks[leaf.fingerprint(hashes.SHA256())] <= 2
