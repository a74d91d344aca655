"""CSRs: certdesk's own, and the checks on CSRs users bring."""

from __future__ import annotations

import base64

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from certificates import crypto
from tests.support.subjects import ACME
from tests.support.testca import LocalCA


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return crypto.generate_private_key()


@pytest.fixture(scope="module")
def other_key() -> rsa.RSAPrivateKey:
    return crypto.generate_private_key()


@pytest.fixture(scope="module")
def csr(key: rsa.RSAPrivateKey) -> x509.CertificateSigningRequest:
    return crypto.build_csr(key, ACME)


@pytest.fixture(scope="module")
def csr_pem(csr: x509.CertificateSigningRequest) -> bytes:
    return crypto.csr_to_pem(csr)


def _refusal(data: bytes) -> crypto.CryptoError:
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.parse_csr(data)
    return caught.value


def test_build_csr_signs_with_sha256_for_the_subject(
    key: rsa.RSAPrivateKey, csr: x509.CertificateSigningRequest
) -> None:
    """The CSR carries the key and the subject, signed with SHA-256, and verifies."""
    assert csr.is_signature_valid
    assert isinstance(csr.signature_hash_algorithm, hashes.SHA256)
    assert crypto.key_matches(csr.public_key(), key.public_key())
    assert crypto.Subject.from_x509_name(csr.subject) == ACME


def test_csr_pem_has_the_request_header(csr_pem: bytes) -> None:
    """csr_to_pem writes the PEM label `openssl req` writes."""
    assert csr_pem.startswith(b"-----BEGIN CERTIFICATE REQUEST-----\n")


def test_build_csr_refuses_a_key_of_another_size() -> None:
    """certdesk never signs a CSR with a key Treezor would refuse."""
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (refused)
    with pytest.raises(crypto.CryptoError, match="RSA 1024 bits"):
        crypto.build_csr(small, ACME)


def test_parse_csr_reads_pem_and_der(csr: x509.CertificateSigningRequest, csr_pem: bytes) -> None:
    """PEM and DER forms of the same CSR parse to it."""
    assert crypto.parse_csr(csr_pem) == csr
    assert crypto.parse_csr(csr.public_bytes(serialization.Encoding.DER)) == csr


@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda pem: b"\xef\xbb\xbf" + pem, id="utf8-bom"),
        pytest.param(lambda pem: pem.replace(b"\n", b"\r\n"), id="crlf"),
        pytest.param(lambda pem: b"\n\n  " + pem.replace(b"\n", b"\n    ") + b"\n\n", id="indent"),
        pytest.param(lambda pem: b"Hello TAM,\nhere it is:\n" + pem + b"\nRegards\n", id="text"),
        pytest.param(lambda pem: b"".join(pem.splitlines()[1:-1]), id="bare-base64"),
    ],
)
def test_parse_csr_tolerates_copy_and_paste(
    csr: x509.CertificateSigningRequest, csr_pem: bytes, wrap: object
) -> None:
    """BOM, CRLF, indentation, text around the block and a body without armour all parse."""
    assert callable(wrap)
    assert crypto.parse_csr(wrap(csr_pem)) == csr


def test_parse_csr_refuses_garbage() -> None:
    """Bytes that are no CSR get the 'not a certificate signing request' message."""
    error = _refusal(b"\x00\x01garbage\xff" * 20)
    assert error.code == "not_csr"
    assert "not a certificate signing request (PEM or DER)" in str(error)


def test_parse_csr_refuses_a_csr_of_an_unknown_version(
    csr: x509.CertificateSigningRequest,
) -> None:
    """A CSR whose version field is not v1 (0) is refused as no CSR, not a crash."""
    der = csr.public_bytes(serialization.Encoding.DER)
    bad = der.replace(b"\x02\x01\x00", b"\x02\x01\x01", 1)
    assert bad != der
    assert _refusal(bad).code


def test_a_certificate_of_an_unknown_version_is_refused_not_a_crash() -> None:
    """cryptography raises InvalidVersion, not ValueError, for a version field it does not
    know: the upload must still answer with a message (a 500 otherwise)."""
    ca = LocalCA.create()
    cert = ca.sign(crypto.build_csr(crypto.generate_private_key(), ACME))
    der = bytearray(cert.public_bytes(serialization.Encoding.DER))
    at = der.find(bytes([0xA0, 0x03, 0x02, 0x01, 0x02]))
    der[at + 4] = 0x05
    with pytest.raises(crypto.CryptoError):
        crypto.parse_certificates(bytes(der))


def test_parse_csr_refuses_empty_input() -> None:
    """An empty (or blank) file says it is empty."""
    for data in (b"", b" \n\t", b"\xef\xbb\xbf"):
        assert _refusal(data).code == "empty"


def test_parse_csr_refuses_a_certificate(key: rsa.RSAPrivateKey) -> None:
    """A certificate given where a CSR is expected (PEM or DER) gets its own message."""
    ca = LocalCA.create()
    cert = ca.sign(crypto.build_csr(key, ACME))
    for data in (
        crypto.certificate_to_pem(cert),
        cert.public_bytes(serialization.Encoding.DER),
    ):
        error = _refusal(data)
        assert error.code == "certificate_not_csr"
        assert str(error).startswith("This is a certificate, not a certificate signing request.")


def test_parse_csr_refuses_two_csrs(csr_pem: bytes, other_key: rsa.RSAPrivateKey) -> None:
    """One key, one CSR: a file with two requests is refused."""
    second = crypto.csr_to_pem(crypto.build_csr(other_key, ACME))
    assert _refusal(csr_pem + second).code == "csr_several"


def test_parse_csr_refuses_a_1024_bit_key() -> None:
    """A CSR for a 1024-bit RSA key is refused, naming the size."""
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (refused)
    csr = x509.CertificateSigningRequestBuilder().subject_name(ACME.to_x509_name())
    error = _refusal(crypto.csr_to_pem(csr.sign(small, hashes.SHA256())))
    assert error.code == "key_size"
    assert str(error).startswith("The key is RSA 1024 bits; Treezor requires RSA 2048.")


@pytest.mark.parametrize(
    ("private_key", "described"),
    [
        (ec.generate_private_key(ec.SECP256R1()), "an EC (secp256r1) key"),
        (ed25519.Ed25519PrivateKey.generate(), "an Ed25519 key"),
    ],
)
def test_parse_csr_refuses_other_key_types(
    private_key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey, described: str
) -> None:
    """EC and Ed25519 CSRs are refused with a message naming the key type."""
    algorithm = None if isinstance(private_key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    builder = x509.CertificateSigningRequestBuilder().subject_name(ACME.to_x509_name())
    error = _refusal(crypto.csr_to_pem(builder.sign(private_key, algorithm)))
    assert error.code == "key_type"
    assert f"The CSR carries {described}; Treezor requires an RSA key of 2048 bits." in str(error)


def test_parse_csr_refuses_an_altered_subject(csr: x509.CertificateSigningRequest) -> None:
    """Editing the subject after signing breaks the signature: refused as altered."""
    der = csr.public_bytes(serialization.Encoding.DER)
    tampered = der.replace(b"Rennes", b"Nantes", 1)
    assert tampered != der
    error = _refusal(tampered)
    assert error.code == "csr_signature"
    assert "does not match the public key it carries" in str(error)


def test_parse_csr_refuses_a_swapped_public_key(
    csr: x509.CertificateSigningRequest, key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey
) -> None:
    """A CSR whose public key was replaced by another one is refused."""

    def spki(k: rsa.RSAPrivateKey) -> bytes:
        return k.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    der = csr.public_bytes(serialization.Encoding.DER)
    swapped = der.replace(spki(key), spki(other_key))
    assert swapped != der
    assert _refusal(swapped).code == "csr_signature"


def test_parse_csr_refuses_a_truncated_block(csr_pem: bytes) -> None:
    """A block cut short says so instead of 'not a CSR'."""
    error = _refusal(csr_pem[: len(csr_pem) // 2])
    assert error.code == "pem_damaged"
    assert "cut short" in str(error)


def test_parse_csr_refuses_a_key_pasted_with_the_csr(
    csr_pem: bytes, key: rsa.RSAPrivateKey
) -> None:
    """A private key pasted together with the CSR is refused as key material, first."""
    pasted = csr_pem + b"\n" + crypto.private_key_to_pem(key)
    with pytest.raises(crypto.PrivateKeyMaterialError) as caught:
        crypto.parse_csr(pasted)
    assert "consider it compromised" in str(caught.value)


def test_parse_csr_messages_never_quote_the_input(
    csr: x509.CertificateSigningRequest, csr_pem: bytes
) -> None:
    """No message carries a piece of what was uploaded."""
    body_line = csr_pem.splitlines()[1]
    tampered = csr.public_bytes(serialization.Encoding.DER).replace(b"Rennes", b"Nantes")
    samples = [
        csr_pem[:200],
        b"-----BEGIN CERTIFICATE REQUEST-----\n"
        + base64.encodebytes(tampered)
        + b"-----END CERTIFICATE REQUEST-----\n",
        body_line * 3,
        base64.b64encode(b"\x30\x03\x02\x01\x05" * 30),
    ]
    for data in samples:
        with pytest.raises(crypto.CryptoError) as caught:
            crypto.parse_csr(data)
        assert body_line.decode()[:20] not in str(caught.value)
        assert caught.value.__cause__ is None


def test_parse_csr_refuses_huge_input() -> None:
    """A file far larger than any CSR is refused by size."""
    assert _refusal(b"A" * (2 * 1024 * 1024)).code == "too_large"


def test_der_ending_in_a_whitespace_byte_parses(key: rsa.RSAPrivateKey) -> None:
    """DER is binary: a signature whose last byte is 0x0a or 0x20 must not be 'stripped'."""
    for index in range(5000):
        subject = crypto.Subject(**{**ACME.as_dict(), "common_name": f"host{index}.acme.com"})
        csr = crypto.build_csr(key, subject)
        der = csr.public_bytes(serialization.Encoding.DER)
        if der[-1:].isspace():
            break
    else:  # pragma: no cover - (250/256)**5000 is about 1e-52
        pytest.fail("no CSR ending in a whitespace byte")
    assert crypto.parse_csr(der) == csr
    assert crypto.parse_csr(b"\xef\xbb\xbf" + der) == csr
