"""Keys: RSA 2048, PKCS#1 PEM, loading, fingerprints."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from certificates import crypto


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return crypto.generate_private_key()


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return crypto.generate_private_key()


def _pkcs8(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def test_generated_key_is_rsa_2048_with_e_65537(key: rsa.RSAPrivateKey) -> None:
    """Treezor's "Type: RSA, Size: 2048", with the usual public exponent."""
    assert crypto.KEY_SIZE == 2048
    assert key.key_size == 2048
    assert key.public_key().public_numbers().e == 65537


def test_private_key_pem_is_pkcs1_unencrypted(key: rsa.RSAPrivateKey) -> None:
    """Keys are written as PKCS#1 (Treezor's "Format: PKCS1"), not OpenSSL 3's PKCS#8."""
    pem = crypto.private_key_to_pem(key)
    assert pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----\n")
    assert pem.rstrip().endswith(b"-----END RSA PRIVATE KEY-----")
    assert b"ENCRYPTED" not in pem


def test_load_private_key_reads_pkcs1_and_pkcs8(key: rsa.RSAPrivateKey) -> None:
    """Both PEM forms of the same key load to that key, BOM and CRLF included."""
    for pem in (crypto.private_key_to_pem(key), _pkcs8(key)):
        loaded = crypto.load_private_key(b"\xef\xbb\xbf" + pem.replace(b"\n", b"\r\n"))
        assert loaded.private_numbers() == key.private_numbers()


def test_load_private_key_refuses_a_1024_bit_key() -> None:
    """A key of the wrong size is refused, naming its size."""
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (refused)
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.load_private_key(_pkcs8(small))
    assert caught.value.code == "key_size"
    assert str(caught.value) == "The key is RSA 1024 bits; Treezor requires RSA 2048."


def test_load_private_key_refuses_an_ec_key() -> None:
    """A non-RSA key is refused, naming its type."""
    with pytest.raises(crypto.CryptoError, match=r"EC \(secp256r1\).*RSA 2048") as caught:
        crypto.load_private_key(_pkcs8(ec.generate_private_key(ec.SECP256R1())))
    assert caught.value.code == "key_type"


def test_load_private_key_refuses_encrypted_keys(key: rsa.RSAPrivateKey) -> None:
    """An encrypted key (PKCS#8 or legacy PEM encryption) is refused with its own message."""
    for fmt in (serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL):
        pem = key.private_bytes(
            serialization.Encoding.PEM, fmt, serialization.BestAvailableEncryption(b"passphrase")
        )
        with pytest.raises(crypto.CryptoError, match="encrypted") as caught:
            crypto.load_private_key(pem)
        assert caught.value.code == "key_encrypted"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage",
        b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----",
    ],
)
def test_load_private_key_refuses_what_is_not_a_key(data: bytes) -> None:
    """Anything but one PEM private key is refused with a CryptoError."""
    with pytest.raises(crypto.CryptoError, match="not an RSA private key"):
        crypto.load_private_key(data)


def test_load_private_key_error_hides_the_key(key: rsa.RSAPrivateKey) -> None:
    """A damaged key's error neither quotes it nor chains the parser's exception (rule 3)."""
    pem = crypto.private_key_to_pem(key)
    lines = pem.splitlines()
    damaged = b"\n".join([lines[0], lines[1], lines[3], *lines[4:]])  # drop a line of the body
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.load_private_key(damaged)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
    assert lines[1].decode() not in str(caught.value)


def test_public_key_fingerprint_is_sha256_of_spki(key: rsa.RSAPrivateKey) -> None:
    """The fingerprint is the lowercase hex SHA-256 of the DER SubjectPublicKeyInfo."""
    spki = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    fingerprint = crypto.public_key_fingerprint(key.public_key())
    assert fingerprint == hashlib.sha256(spki).hexdigest()
    assert len(fingerprint) == 64
    assert fingerprint == fingerprint.lower()


def test_key_matches_compares_public_keys(
    key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    """Two objects of the same key match; two different keys do not."""
    reloaded = crypto.load_private_key(crypto.private_key_to_pem(key))
    assert crypto.key_matches(key.public_key(), reloaded.public_key())
    assert not crypto.key_matches(key.public_key(), other_key.public_key())


def test_format_fingerprint_uses_openssl_layout() -> None:
    """Uppercase byte pairs joined by colons; odd or non-hex input is refused."""
    assert crypto.format_fingerprint("ab01cd") == "AB:01:CD"
    assert crypto.format_fingerprint("a" * 64).count(":") == 31
    for bad in ("abc", "zz", ""):
        with pytest.raises(crypto.CryptoError):
            crypto.format_fingerprint(bad)
