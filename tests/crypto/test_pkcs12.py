"""The .p12 certdesk writes: a MAC as costly to guess through as the key bag, still readable."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12

from certificates import crypto
from certificates.crypto.formats import PKCS12_KDF_ROUNDS, PKCS12_MAC_ITERATIONS
from tests.support.openssl import openssl, run_openssl
from tests.support.subjects import ACME
from tests.support.testca import LocalCA

# Not ASCII, and beyond U+FFFF: the MAC's BMPString password must match OpenSSL's.
PASSPHRASE = "Fenêtre ouverte 🔑 sur la baie"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return crypto.generate_private_key()


@pytest.fixture(scope="module")
def ca() -> LocalCA:
    return LocalCA.create(with_intermediate=True)


@pytest.fixture(scope="module")
def cert(ca: LocalCA, key: rsa.RSAPrivateKey) -> x509.Certificate:
    return ca.sign(crypto.build_csr(key, ACME))


@pytest.fixture(scope="module")
def bundle(
    tmp_path_factory: pytest.TempPathFactory,
    key: rsa.RSAPrivateKey,
    cert: x509.Certificate,
    ca: LocalCA,
) -> Path:
    data = crypto.export_pkcs12(
        key, cert, ca.chain(), passphrase=PASSPHRASE.encode(), friendly_name="acme mtls"
    )
    path = tmp_path_factory.mktemp("p12") / "acme.p12"
    path.write_bytes(data)
    return path


def test_the_mac_costs_at_least_what_the_key_bag_costs(bundle: Path) -> None:
    """`openssl pkcs12 -info` shows a SHA-256 MAC of 1,200,000 iterations beside bags of
    600,000 PBKDF2 rounds (not OpenSSL's default 2,048: a cheap passphrase oracle)."""
    info = openssl("pkcs12", "-info", "-noout", "-in", bundle, "-passin", f"pass:{PASSPHRASE}")
    mac = re.search(r"MAC: sha256, Iteration (\d+)", info)
    assert mac is not None, info
    bags = [int(n) for n in re.findall(r"PBKDF2, AES-256-CBC, Iteration (\d+)", info)]
    assert bags == [PKCS12_KDF_ROUNDS, PKCS12_KDF_ROUNDS]
    assert int(mac.group(1)) == PKCS12_MAC_ITERATIONS == 2 * PKCS12_KDF_ROUNDS


def test_openssl_extracts_key_and_certificates_and_refuses_a_wrong_passphrase(
    bundle: Path, key: rsa.RSAPrivateKey, cert: x509.Certificate, tmp_path: Path
) -> None:
    """`openssl pkcs12 -in f -nodes` verifies the rewritten MAC and gives the same key, the
    certificate and its chain; a wrong passphrase fails the MAC check."""
    out = tmp_path / "all.pem"
    openssl("pkcs12", "-in", bundle, "-nodes", "-passin", f"pass:{PASSPHRASE}", "-out", out)
    text = out.read_bytes()
    assert text.count(b"-----BEGIN CERTIFICATE-----") == 2
    extracted = serialization.load_pem_private_key(text, password=None)
    assert isinstance(extracted, rsa.RSAPrivateKey)
    assert extracted.private_numbers() == key.private_numbers()
    assert cert.public_bytes(serialization.Encoding.PEM) in text
    wrong = run_openssl("pkcs12", "-in", bundle, "-nodes", "-passin", "pass:Fenetre ouverte")
    assert wrong.returncode != 0
    assert b"Mac verify error" in wrong.stderr


def test_python_loads_the_bundle_into_a_tls_client_context(
    bundle: Path, key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    """cryptography's load_pkcs12 (OpenSSL verifies the MAC) gives key and certificate that an
    ssl.SSLContext, as requests and urllib use, takes as its client certificate."""
    loaded = pkcs12.load_pkcs12(bundle.read_bytes(), PASSPHRASE.encode())
    assert loaded.key is not None
    assert loaded.cert is not None
    assert loaded.cert.friendly_name == b"acme mtls"
    assert len(loaded.additional_certs) == 1
    pem = tmp_path / "client.pem"
    pem.write_bytes(
        loaded.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        + loaded.cert.certificate.public_bytes(serialization.Encoding.PEM)
    )
    context = ssl.create_default_context()
    context.load_cert_chain(pem)  # raises if the key and the certificate do not match
    with pytest.raises(ValueError, match="Invalid password"):
        pkcs12.load_pkcs12(bundle.read_bytes(), b"wrong passphrase")
