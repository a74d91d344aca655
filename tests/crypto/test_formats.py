"""OpenSSL-style dates, PKCS#12 export and Treezor's file names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from certificates import crypto
from tests.support.subjects import ACME
from tests.support.testca import LocalCA


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return crypto.generate_private_key()


@pytest.fixture(scope="module")
def ca() -> LocalCA:
    return LocalCA.create(with_intermediate=True)


@pytest.fixture(scope="module")
def cert(ca: LocalCA, key: rsa.RSAPrivateKey) -> x509.Certificate:
    return ca.sign(
        crypto.build_csr(key, ACME), not_before=datetime(2024, 1, 22, 12, 25, 4, tzinfo=UTC)
    )


def test_openssl_date_matches_treezor_example() -> None:
    """The layout of Treezor's 'notBefore=Jan 22 12:25:04 2024 GMT'."""
    assert crypto.openssl_date(datetime(2024, 1, 22, 12, 25, 4, tzinfo=UTC)) == (
        "Jan 22 12:25:04 2024 GMT"
    )


def test_openssl_date_pads_single_digit_days_with_a_space() -> None:
    """'Jan  2', as ASN1_TIME_print writes %2d; hours and minutes keep their zeros."""
    assert crypto.openssl_date(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)) == (
        "Jan  2 03:04:05 2025 GMT"
    )


def test_openssl_date_converts_to_gmt_and_drops_microseconds() -> None:
    """An aware time in another zone is shown in GMT; a naive one is taken as UTC."""
    paris = timezone(timedelta(hours=1))
    assert crypto.openssl_date(datetime(2024, 12, 31, 23, 30, 0, 999, tzinfo=paris)) == (
        "Dec 31 22:30:00 2024 GMT"
    )
    assert crypto.openssl_date(datetime(2024, 12, 31, 23, 30)) == "Dec 31 23:30:00 2024 GMT"


def test_openssl_dates_of_a_certificate(cert: x509.Certificate) -> None:
    """Both lines of `openssl x509 -startdate -enddate -noout`."""
    assert crypto.openssl_dates(cert) == (
        "notBefore=Jan 22 12:25:04 2024 GMT\nnotAfter=Jan 21 12:25:04 2025 GMT"
    )


def test_export_pkcs12_round_trips(
    key: rsa.RSAPrivateKey, cert: x509.Certificate, ca: LocalCA
) -> None:
    """The .p12 holds key, certificate, chain and friendly name, behind the passphrase."""
    data = crypto.export_pkcs12(
        key, cert, ca.chain(), passphrase=b"correct horse", friendly_name="acme mtls"
    )
    loaded = pkcs12.load_pkcs12(data, b"correct horse")
    assert loaded.key is not None
    assert crypto.key_matches(loaded.key.public_key(), key.public_key())
    assert loaded.cert is not None
    assert loaded.cert.certificate == cert
    assert loaded.cert.friendly_name == b"acme mtls"
    assert [c.certificate for c in loaded.additional_certs] == ca.chain()
    with pytest.raises(ValueError, match="Invalid password"):
        pkcs12.load_pkcs12(data, b"wrong horse")
    assert crypto.contains_private_key_material(data)


@pytest.mark.parametrize("passphrase", [b"", b"1234567"])
def test_export_pkcs12_refuses_short_passphrases(
    key: rsa.RSAPrivateKey, cert: x509.Certificate, passphrase: bytes
) -> None:
    """Empty or shorter than 8 bytes: refused with a CryptoError that says the minimum."""
    with pytest.raises(crypto.CryptoError, match="at least 8 characters"):
        crypto.export_pkcs12(key, cert, [], passphrase=passphrase, friendly_name="x")


def test_export_pkcs12_refuses_a_certificate_of_another_key(cert: x509.Certificate) -> None:
    """Key and certificate must belong together."""
    stranger = crypto.generate_private_key()
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.export_pkcs12(stranger, cert, [], passphrase=b"12345678", friendly_name="x")
    assert caught.value.code == "key_mismatch"


@pytest.mark.parametrize(
    ("company", "kind", "purpose", "expected"),
    [
        ("Acme SAS", "csr", "mtls", "acme.sas_csr_mtls.pem"),
        ("Acme SAS", "privatekey", "mtls", "acme.sas_privatekey_mtls.pem"),
        ("your.company.name", "csr", "signature", "your.company.name_csr_signature.pem"),
        ("  Société  Générale ", "cert", "mtls", "societe.generale_cert_mtls.pem"),
        ("A/B ../..\\C", "chain", "mtls", "ab.c_chain_mtls.pem"),
        ("Acme", "p12", "mtls", "acme_p12_mtls.p12"),
        ("", "csr", "mtls", "company_csr_mtls.pem"),
        ("!!!", "cert", "mtls", "company_cert_mtls.pem"),
    ],
)
def test_treezor_filename(company: str, kind: crypto.FileKind, purpose: str, expected: str) -> None:
    """Treezor's <your.company.name>_<kind>_<purpose>.pem, with a safe company part."""
    assert crypto.treezor_filename(company, kind, purpose) == expected


def test_treezor_filename_refuses_unknown_kinds() -> None:
    """A typo in the kind is a programming error, not a silent odd name."""
    with pytest.raises(ValueError, match="unknown file kind"):
        crypto.treezor_filename("Acme", "key", "mtls")  # type: ignore[arg-type]
