"""A CSR is accepted only if certdesk can show all of it (issue 12, point 5).

The reviewer's CSR had a second CN, O=Treezor SAS beside the company's O, a subjectAltName
DNS:*.treezor.com and basicConstraints CA:TRUE; it was accepted, and the request page and the
email to the TAM showed only the first CN and O.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from certificates import crypto
from tests.support.openssl import openssl
from tests.support.subjects import ACME


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return crypto.generate_private_key()


def _name(*pairs: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs])


ACME_PAIRS: tuple[tuple[x509.ObjectIdentifier, str], ...] = (
    (NameOID.COUNTRY_NAME, "FR"),
    (NameOID.STATE_OR_PROVINCE_NAME, "Brittany"),
    (NameOID.LOCALITY_NAME, "Rennes"),
    (NameOID.ORGANIZATION_NAME, "Acme"),
    (NameOID.COMMON_NAME, "acme.com"),
    (NameOID.EMAIL_ADDRESS, "it@acme.com"),
)


def _csr_pem(
    key: rsa.RSAPrivateKey,
    name: x509.Name | None = None,
    extensions: tuple[tuple[x509.ExtensionType, bool], ...] = (),
    attributes: tuple[tuple[x509.ObjectIdentifier, bytes], ...] = (),
) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(name or ACME.to_x509_name())
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    for oid, value in attributes:
        builder = builder.add_attribute(oid, value)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _refusal(data: bytes) -> crypto.CryptoError:
    with pytest.raises(crypto.CryptoError) as raised:
        crypto.parse_csr(data)
    return raised.value


def test_the_reviewers_csr_is_refused(key: rsa.RSAPrivateKey) -> None:
    """Second CN, O=Treezor SAS plus the company's O, SAN *.treezor.com, CA:TRUE: refused, the
    message naming the repeated attributes."""
    name = _name(
        *ACME_PAIRS,
        (NameOID.COMMON_NAME, "evil.example"),
        (NameOID.ORGANIZATION_NAME, "Treezor SAS"),
    )
    pem = _csr_pem(
        key,
        name,
        extensions=(
            (x509.SubjectAlternativeName([x509.DNSName("*.treezor.com")]), False),
            (x509.BasicConstraints(ca=True, path_length=None), True),
        ),
    )
    error = _refusal(pem)
    assert error.code == "csr_subject"
    assert "more than one CN, O." in str(error)
    assert "Treezor SAS" not in str(error)  # named, never quoted


def test_a_second_common_name_alone_is_refused(key: rsa.RSAPrivateKey) -> None:
    """One repeated attribute is enough: the page would show only the first CN."""
    error = _refusal(_csr_pem(key, _name(*ACME_PAIRS, (NameOID.COMMON_NAME, "other.com"))))
    assert error.code == "csr_subject"
    assert "more than one CN" in str(error)


def test_an_attribute_outside_treezors_table_is_refused(key: rsa.RSAPrivateKey) -> None:
    """serialNumber is not one of the seven fields certdesk keeps and shows."""
    error = _refusal(_csr_pem(key, _name(*ACME_PAIRS, (NameOID.SERIAL_NUMBER, "42"))))
    assert error.code == "csr_subject"
    assert "outside Treezor's table: serialNumber (2.5.4.5)" in str(error)


def test_a_multi_valued_rdn_is_refused(key: rsa.RSAPrivateKey) -> None:
    """CN=acme.com+O=Other in one RDN hides a second O beside the CN."""
    rdns = [x509.RelativeDistinguishedName([x509.NameAttribute(o, v)]) for o, v in ACME_PAIRS[:3]]
    rdns.append(
        x509.RelativeDistinguishedName(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, "acme.com"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme"),
            ]
        )
    )
    error = _refusal(_csr_pem(key, x509.Name(rdns)))
    assert error.code == "csr_subject"
    assert "several attributes in one part" in str(error)


def test_a_wildcard_subject_alt_name_is_refused(key: rsa.RSAPrivateKey) -> None:
    """A SAN other than the CN would widen the certificate beyond what the page shows."""
    pem = _csr_pem(
        key, extensions=((x509.SubjectAlternativeName([x509.DNSName("*.treezor.com")]), False),)
    )
    error = _refusal(pem)
    assert error.code == "csr_extension"
    assert "subjectAltName other than the Common Name" in str(error)


def test_basic_constraints_ca_true_is_refused(key: rsa.RSAPrivateKey) -> None:
    """A request for a CA certificate is refused."""
    pem = _csr_pem(key, extensions=((x509.BasicConstraints(ca=True, path_length=None), True),))
    error = _refusal(pem)
    assert error.code == "csr_extension"
    assert "basicConstraints CA:TRUE" in str(error)


def test_unlisted_extensions_and_key_usages_are_refused(key: rsa.RSAPrivateKey) -> None:
    """keyCertSign, serverAuth and an extension outside the allow-list are each named."""
    key_usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    pem = _csr_pem(
        key,
        extensions=(
            (key_usage, True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
            (x509.OCSPNoCheck(), False),
        ),
    )
    message = str(_refusal(pem))
    assert "keyUsage with key_cert_sign" in message
    assert "extendedKeyUsage other than clientAuth" in message
    assert "OCSPNoCheck (1.3.6.1.5.5.7.48.1.5)" in message


def test_a_challenge_password_attribute_is_refused(key: rsa.RSAPrivateKey) -> None:
    """CSR attributes other than the extension request are not shown anywhere: refused."""
    pem = _csr_pem(key, attributes=((x509.oid.AttributeOID.CHALLENGE_PASSWORD, b"secret"),))
    error = _refusal(pem)
    assert error.code == "csr_attribute"
    assert "challengePassword" in str(error)
    assert "secret" not in str(error)


def test_the_allow_list_accepts_what_says_no_more_than_the_subject(key: rsa.RSAPrivateKey) -> None:
    """SAN equal to the CN, CA:FALSE, digitalSignature/keyEncipherment and clientAuth pass."""
    key_usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    pem = _csr_pem(
        key,
        extensions=(
            (x509.SubjectAlternativeName([x509.DNSName("ACME.com")]), False),
            (x509.BasicConstraints(ca=False, path_length=None), True),
            (key_usage, True),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False),
        ),
    )
    csr = crypto.parse_csr(pem)
    assert crypto.Subject.from_x509_name(csr.subject) == ACME


def test_the_reviewers_csr_made_by_openssl_req_is_refused(
    key: rsa.RSAPrivateKey, tmp_path: Path
) -> None:
    """The same CSR as `openssl req -subj ... -addext` writes it is refused too."""
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(crypto.private_key_to_pem(key))
    out = tmp_path / "csr.pem"
    openssl(
        "req", "-new", "-key", key_file, "-out", out,
        "-subj", "/C=FR/ST=Brittany/L=Rennes/O=Acme/O=Treezor SAS/CN=acme.com/CN=evil.example",
        "-addext", "subjectAltName=DNS:*.treezor.com",
        "-addext", "basicConstraints=critical,CA:TRUE",
    )  # fmt: skip
    error = _refusal(out.read_bytes())
    assert error.code == "csr_subject"
    assert "more than one O, CN" in str(error)
    # And with the subject fixed, the extensions alone are still refused.
    openssl(
        "req", "-new", "-key", key_file, "-out", out,
        "-subj", "/C=FR/ST=Brittany/L=Rennes/O=Acme/CN=acme.com/emailAddress=it@acme.com",
        "-addext", "subjectAltName=DNS:*.treezor.com",
        "-addext", "basicConstraints=critical,CA:TRUE",
    )  # fmt: skip
    error = _refusal(out.read_bytes())
    assert error.code == "csr_extension"
    assert "basicConstraints CA:TRUE" in str(error)
    assert "subjectAltName other than the Common Name" in str(error)
