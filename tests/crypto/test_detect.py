"""Private-key material is recognised in every form a user may paste or upload (rule 6)."""

from __future__ import annotations

import base64
import random
import time
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import NameOID

from certificates import crypto
from tests.support.subjects import ACME
from tests.support.testca import LocalCA

PEM = serialization.Encoding.PEM
DER = serialization.Encoding.DER
PKCS8 = serialization.PrivateFormat.PKCS8
TRADITIONAL = serialization.PrivateFormat.TraditionalOpenSSL
OPENSSH = serialization.PrivateFormat.OpenSSH
PLAIN = serialization.NoEncryption()
PASSWORD = serialization.BestAvailableEncryption(b"correct horse")


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return crypto.generate_private_key()


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def ca() -> LocalCA:
    return LocalCA.create(with_intermediate=True)


@pytest.fixture(scope="module")
def csr(rsa_key: rsa.RSAPrivateKey) -> x509.CertificateSigningRequest:
    return crypto.build_csr(rsa_key, ACME)


@pytest.fixture(scope="module")
def cert(ca: LocalCA, csr: x509.CertificateSigningRequest) -> x509.Certificate:
    return ca.sign(csr)


@pytest.fixture(scope="module")
def key_forms(
    rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey, cert: x509.Certificate
) -> dict[str, bytes]:
    """One private key in every form the detector must catch."""
    ed_key = ed25519.Ed25519PrivateKey.generate()
    return {
        "pkcs1-pem": rsa_key.private_bytes(PEM, TRADITIONAL, PLAIN),
        "pkcs8-pem": rsa_key.private_bytes(PEM, PKCS8, PLAIN),
        "encrypted-pkcs8-pem": rsa_key.private_bytes(PEM, PKCS8, PASSWORD),
        "encrypted-pkcs1-pem": rsa_key.private_bytes(PEM, TRADITIONAL, PASSWORD),
        "sec1-pem": ec_key.private_bytes(PEM, TRADITIONAL, PLAIN),
        "ed25519-pem": ed_key.private_bytes(PEM, PKCS8, PLAIN),
        "openssh-pem": ed_key.private_bytes(PEM, OPENSSH, PLAIN),
        "dsa-pem": b"-----BEGIN DSA PRIVATE KEY-----\nMIIBuwIBAAKBgQ==\n-----END DSA PRIVATE",
        "pgp": b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF...\n",
        "pkcs1-der": rsa_key.private_bytes(DER, TRADITIONAL, PLAIN),
        "pkcs8-der": rsa_key.private_bytes(DER, PKCS8, PLAIN),
        "encrypted-pkcs8-der": rsa_key.private_bytes(DER, PKCS8, PASSWORD),
        "sec1-der": ec_key.private_bytes(DER, TRADITIONAL, PLAIN),
        "ec-pkcs8-der": ec_key.private_bytes(DER, PKCS8, PLAIN),
        "ed25519-der": ed_key.private_bytes(DER, PKCS8, PLAIN),
        "dsa-der": bytes.fromhex("3012020100020105020107020109020111020113"),
        "pkcs12-encrypted": pkcs12.serialize_key_and_certificates(
            b"acme", rsa_key, cert, None, PASSWORD
        ),
        "pkcs12-plain": pkcs12.serialize_key_and_certificates(b"acme", rsa_key, cert, None, PLAIN),
        "pkcs12-certificates-only": pkcs12.serialize_key_and_certificates(
            None, None, cert, None, PASSWORD
        ),
        "putty": b"PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nPrivate-Lines: 1\n",
    }


KEY_FORMS = [
    "pkcs1-pem",
    "pkcs8-pem",
    "encrypted-pkcs8-pem",
    "encrypted-pkcs1-pem",
    "sec1-pem",
    "ed25519-pem",
    "openssh-pem",
    "dsa-pem",
    "pgp",
    "pkcs1-der",
    "pkcs8-der",
    "encrypted-pkcs8-der",
    "sec1-der",
    "ec-pkcs8-der",
    "ed25519-der",
    "dsa-der",
    "pkcs12-encrypted",
    "pkcs12-plain",
    "pkcs12-certificates-only",
    "putty",
]
DER_FORMS = [form for form in KEY_FORMS if form.endswith("der") or form.startswith("pkcs12")]


@pytest.mark.parametrize("form", KEY_FORMS)
def test_every_key_form_is_detected(key_forms: dict[str, bytes], form: str) -> None:
    """PEM (any label), DER (PKCS#1, PKCS#8, encrypted, SEC1), PKCS#12, OpenSSH, PuTTY."""
    assert crypto.contains_private_key_material(key_forms[form])
    assert crypto.find_private_key_material(key_forms[form])


def test_every_pkcs12_counts_even_without_a_key(key_forms: dict[str, bytes]) -> None:
    """A PFX is recognised by shape, never opened: its content is encrypted and chooses its own
    key-derivation cost, so a certificates-only one is refused too (documented choice)."""
    found = crypto.find_private_key_material(key_forms["pkcs12-certificates-only"])
    assert found is not None
    assert "PKCS#12" in found


@pytest.mark.parametrize("form", DER_FORMS)
def test_base64_of_der_keys_without_armour_is_detected(
    key_forms: dict[str, bytes], form: str
) -> None:
    """The base64 of a DER key or PFX, wrapped at 64 or 76 columns or on one line, is caught."""
    encoded = base64.b64encode(key_forms[form])
    for width in (64, 76, len(encoded)):
        wrapped = b"\n".join(encoded[i : i + width] for i in range(0, len(encoded), width))
        assert crypto.contains_private_key_material(wrapped), width


def test_key_inside_a_sentence_is_detected(key_forms: dict[str, bytes]) -> None:
    """A one-line base64 key pasted inside prose is still found."""
    encoded = base64.b64encode(key_forms["pkcs8-der"])
    text = b"Hi, here is the key we use: " + encoded + b" -- please keep it safe. Bob"
    assert crypto.contains_private_key_material(text)


def test_key_body_after_a_label_on_the_same_line_is_detected(key_forms: dict[str, bytes]) -> None:
    """'key: MIIE...' then more lines: the run that starts mid-line is followed over lines."""
    encoded = base64.b64encode(key_forms["pkcs1-der"])
    lines = [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
    text = b"private key: " + b"\n".join(lines)
    assert crypto.contains_private_key_material(text)


def test_key_body_after_a_long_word_is_detected(key_forms: dict[str, bytes]) -> None:
    """A long ordinary word on the line before a pasted body does not hide the body."""
    encoded = base64.b64encode(key_forms["sec1-der"])
    text = b"Internationalisation\n" + b"\n".join(
        encoded[i : i + 64] for i in range(0, len(encoded), 64)
    )
    assert crypto.contains_private_key_material(text)


def test_pem_header_without_dashes_is_detected() -> None:
    """An armour line that lost its dashes in a paste is still a key."""
    assert crypto.contains_private_key_material(b"BEGIN RSA PRIVATE KEY\nMIIE...")


def test_key_pasted_with_a_csr_is_detected(
    key_forms: dict[str, bytes], csr: x509.CertificateSigningRequest
) -> None:
    """A CSR and its key pasted together are refused as a whole."""
    pasted = crypto.csr_to_pem(csr) + b"\n" + key_forms["pkcs1-pem"]
    assert crypto.contains_private_key_material(pasted)
    with pytest.raises(crypto.PrivateKeyMaterialError) as caught:
        crypto.ensure_no_private_key_material(pasted)
    assert "RSA PRIVATE KEY" in str(caught.value)


def test_utf8_bom_does_not_hide_a_der_key(key_forms: dict[str, bytes]) -> None:
    """A byte-order mark in front of DER bytes is skipped before the shape check."""
    assert crypto.contains_private_key_material(b"\xef\xbb\xbf" + key_forms["pkcs8-der"])


def test_public_material_is_not_mistaken_for_keys(
    rsa_key: rsa.RSAPrivateKey,
    ca: LocalCA,
    csr: x509.CertificateSigningRequest,
    cert: x509.Certificate,
) -> None:
    """CSRs, certificates, chains, PKCS#7, public keys and signatures are not key material."""
    chain = [cert, *ca.chain(), ca.root]
    public = rsa_key.public_key()
    ecdsa_signature = ec.generate_private_key(ec.SECP256R1()).sign(
        b"data", ec.ECDSA(hashes.SHA256())
    )
    samples = [
        crypto.csr_to_pem(csr),
        csr.public_bytes(DER),
        crypto.certificates_to_pem(chain),
        cert.public_bytes(DER),
        pkcs7.serialize_certificates(chain, PEM),
        pkcs7.serialize_certificates(chain, DER),
        base64.b64encode(pkcs7.serialize_certificates(chain, DER)),
        public.public_bytes(PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        public.public_bytes(DER, serialization.PublicFormat.PKCS1),
        public.public_bytes(PEM, serialization.PublicFormat.PKCS1),
        ecdsa_signature,
        ca.bundle_pem(),
        b"Hello, please find our certificate signing request attached. Regards.",
        b"",
    ]
    for sample in samples:
        assert not crypto.contains_private_key_material(sample), sample[:40]


def test_large_inputs_are_scanned_without_false_positives() -> None:
    """Megabytes of random bytes, base64 noise, dashes or one endless line give False.

    These are also the inputs that would make a backtracking pattern quadratic; they finish.
    """
    rng = random.Random(20240122)
    noise = rng.randbytes(1024 * 1024)
    samples = [
        noise,
        base64.encodebytes(noise),
        base64.b64encode(noise),
        b"-" * (1024 * 1024),
        b"A" * (1024 * 1024) + b"!",
        b"BEGIN " + b"A" * (1024 * 1024),
        b"MII" * (300 * 1024),
    ]
    for sample in samples:
        assert not crypto.contains_private_key_material(sample)


def test_key_at_the_end_of_a_large_text_is_found(key_forms: dict[str, bytes]) -> None:
    """The scan covers the whole input, not a prefix."""
    text = b"lorem ipsum dolor sit amet\n" * 40_000 + key_forms["pkcs8-pem"]
    assert crypto.contains_private_key_material(text)


def test_private_key_error_message_explains_what_to_do() -> None:
    """Keys are never uploaded; a key sent anywhere is compromised (Treezor's warning)."""
    message = str(crypto.PrivateKeyMaterialError("a private key"))
    assert "never uploaded" in message
    assert "consider it compromised" in message
    assert "If you were to send us your private key, you would have to generate new ones" in (
        message
    )


def _self_signed(key: rsa.RSAPrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self")])
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )


def test_self_signed_certificate_is_not_key_material(rsa_key: rsa.RSAPrivateKey) -> None:
    """A minimal certificate (no extensions) is not mistaken for a key either."""
    certificate = _self_signed(rsa_key)
    assert not crypto.contains_private_key_material(certificate.public_bytes(DER))
    assert not crypto.contains_private_key_material(base64.b64encode(certificate.public_bytes(DER)))


def _lines(text: bytes, width: int) -> bytes:
    return b"\n".join(text[i : i + width] for i in range(0, len(text), width))


@pytest.mark.parametrize("width", [4, 8, 15, 17, 33])
@pytest.mark.parametrize("form", ["pkcs1-der", "pkcs8-der", "sec1-der", "encrypted-pkcs8-der"])
def test_base64_key_in_short_lines_inside_a_note_is_detected(
    key_forms: dict[str, bytes], form: str, width: int
) -> None:
    """Issue 12, point 7: a key written as base64 in 15-character lines (or any width) in a
    revocation note, after a sentence and before a signature, is caught."""
    body = _lines(base64.b64encode(key_forms[form]), width)
    note = b"The laptop was stolen. For the record, the key was\n" + body + b"\nThanks, Bob"
    assert crypto.contains_private_key_material(note)


def test_base64_key_indented_quoted_or_in_html_lines_is_detected(
    key_forms: dict[str, bytes],
) -> None:
    """Indentation, e-mail quote marks, CRLF and HTML line breaks between the pieces are
    normalised away before the base64 is decoded."""
    pieces = [
        base64.b64encode(key_forms["pkcs8-der"])[i : i + 15]
        for i in range(0, len(base64.b64encode(key_forms["pkcs8-der"])), 15)
    ]
    samples = [
        b"\n".join(b"    " + piece for piece in pieces),
        b"\n".join(b"> " + piece for piece in pieces),
        b"\r\n".join(pieces),
        b"<p>Key:<br>" + b"<br>\n".join(pieces) + b"</p>",
        b" ".join(pieces),
    ]
    for sample in samples:
        assert crypto.contains_private_key_material(sample), sample[:40]


def test_hex_key_in_every_usual_spelling_is_detected(key_forms: dict[str, bytes]) -> None:
    """Hex runs are decoded too: plain, `openssl asn1parse`-like colons, spaced bytes, 0x and
    \\x prefixes, cut into lines and preceded by prose."""
    der = key_forms["sec1-der"]
    plain = der.hex().encode()
    samples = [
        plain,
        b"note: " + _lines(plain, 15) + b" end",
        b":".join(f"{byte:02x}".encode() for byte in der),
        _lines(b" ".join(f"{byte:02X}".encode() for byte in der), 48),
        b", ".join(f"0x{byte:02x}".encode() for byte in der),
        b"".join(f"\\x{byte:02x}".encode() for byte in der),
    ]
    for sample in samples:
        found = crypto.find_private_key_material(sample)
        assert found is not None, sample[:40]
        assert "hex" in found, sample[:40]


def test_armour_split_over_lines_and_base64_of_a_pem_are_detected(
    key_forms: dict[str, bytes],
) -> None:
    """A PEM key cut into 15-character lines (its BEGIN line split too), and the base64 of a
    whole PEM file, are both caught."""
    pem = key_forms["pkcs8-pem"]
    assert crypto.contains_private_key_material(_lines(pem.replace(b"\n", b""), 15))
    assert crypto.contains_private_key_material(_lines(base64.b64encode(pem), 15))


def test_normalised_scan_leaves_public_material_and_prose_alone(
    ca: LocalCA, csr: x509.CertificateSigningRequest, cert: x509.Certificate
) -> None:
    """What the TAM emails carry (CSRs, certificates, fingerprints in hex with colons, prose)
    is still not mistaken for a key once whitespace and punctuation are removed."""
    fingerprint = cert.fingerprint(hashes.SHA256()).hex(":").encode()
    samples = [
        _lines(crypto.csr_to_pem(csr).replace(b"\n", b""), 15),
        _lines(base64.b64encode(cert.public_bytes(DER)), 15),
        cert.public_bytes(DER).hex().encode(),
        b"Fingerprint " + fingerprint + b"\nSerial " + hex(cert.serial_number).encode(),
        b"Please begin with the private key ceremony; add a decade of bead face cafe data.",
        ca.bundle_pem().replace(b"\n", b" "),
    ]
    for sample in samples:
        assert not crypto.contains_private_key_material(sample), sample[:40]


def test_crafted_worst_case_is_scanned_in_well_under_a_second() -> None:
    """A megabyte built so every few bytes look like the start of a key (the most shape checks
    the normalised scan can be made to do) is still scanned in bounded time (about 0.6 s on a
    laptop; 3 s allowed for a slow CI machine): the scan stays linear."""
    crafted = base64.b64encode(bytes.fromhex("300602010002") * (750_000 // 6))
    started = time.perf_counter()
    assert not crypto.contains_private_key_material(crafted)
    assert time.perf_counter() - started < 3
