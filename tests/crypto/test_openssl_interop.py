"""Interoperability with the real `openssl` command (OpenSSL 3).

What certdesk writes, OpenSSL reads; what Treezor's own commands write, certdesk accepts, or
refuses with the right message.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from certificates import crypto
from tests.support.openssl import openssl, run_openssl
from tests.support.subjects import ACME, ACME_SUBJ
from tests.support.testca import LocalCA

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("openssl")


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return crypto.generate_private_key()


@pytest.fixture(scope="module")
def ca() -> LocalCA:
    return LocalCA.create()


@pytest.fixture(scope="module")
def ca2() -> LocalCA:
    return LocalCA.create(with_intermediate=True)


@pytest.fixture(scope="module")
def seed_key(work: Path) -> Path:
    """`openssl genrsa -out k.pem 2048`, exactly as Treezor's page says (PKCS#8 on OpenSSL 3)."""
    openssl("genrsa", "-out", "seed_key.pem", "2048", cwd=work)
    return work / "seed_key.pem"


@pytest.fixture(scope="module")
def seed_csr(work: Path, seed_key: Path) -> Path:
    """Treezor's `openssl req -new -key ... -out ...`, answered with -subj."""
    openssl("req", "-new", "-key", seed_key, "-out", "seed_csr.pem", "-subj", ACME_SUBJ, cwd=work)
    return work / "seed_csr.pem"


@pytest.fixture(scope="module")
def seed_cert(work: Path, seed_csr: Path, ca: LocalCA) -> Path:
    """The seed CSR signed by `openssl x509 -req` with the test CA's key: a real CA's output."""
    assert seed_csr == work / "seed_csr.pem"
    (work / "ca.pem").write_bytes(ca.bundle_pem())
    (work / "ca_key.pem").write_bytes(
        ca.root_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    command = "x509 -req -in seed_csr.pem -CA ca.pem -CAkey ca_key.pem -set_serial 4242 -days 30"
    openssl(*command.split(), "-out", "seed_cert.pem", cwd=work)
    return work / "seed_cert.pem"


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- What certdesk writes, OpenSSL reads ----------------------------------------------------


def test_openssl_checks_certdesk_key(work: Path, key: rsa.RSAPrivateKey) -> None:
    """`openssl rsa -check` accepts the PKCS#1 PEM key and sees 2048 bits."""
    path = _write(work / "certdesk_key.pem", crypto.private_key_to_pem(key))
    assert path.read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert "RSA key ok" in openssl("rsa", "-check", "-noout", "-in", path)
    assert "Private-Key: (2048 bit" in openssl("rsa", "-noout", "-text", "-in", path)


@pytest.mark.parametrize(
    "subject",
    [
        ACME,
        crypto.Subject("FR", "IdF", "Paris", "Acme, Inc", "", "api.acme.com", "it@acme.com"),
        crypto.Subject("FR", "Bretagne", "Île-Tudy", 'Ré "A"', "R&D + IT", "a.fr", "a@a.fr"),
        crypto.Subject("DE", "Baden-Württemberg", "Köln", "Ⓐcme 😀", "#1", "b.de", "x@b.de"),
    ],
    ids=["acme", "comma-no-ou", "quotes-plus", "non-ascii"],
)
def test_openssl_verifies_certdesk_csr_and_prints_the_same_subject(
    work: Path, key: rsa.RSAPrivateKey, subject: crypto.Subject
) -> None:
    """`openssl req -verify` accepts the CSR; `-subject` prints Subject.openssl_oneline()."""
    path = _write(work / "certdesk_csr.pem", crypto.csr_to_pem(crypto.build_csr(key, subject)))
    openssl("req", "-verify", "-noout", "-in", path)
    printed = openssl("req", "-noout", "-subject", "-in", path).rstrip("\n")
    assert printed == "subject=" + subject.openssl_oneline()


def test_openssl_reads_certdesk_pkcs12(work: Path, key: rsa.RSAPrivateKey, ca2: LocalCA) -> None:
    """OpenSSL 3 reads the .p12 without -legacy: AES-256, PBKDF2, the chain and the name."""
    cert = ca2.sign(crypto.build_csr(key, ACME))
    data = crypto.export_pkcs12(
        key, cert, ca2.chain(), passphrase=b"correct horse", friendly_name="acme mtls"
    )
    path = _write(work / "certdesk.p12", data)
    info = openssl("pkcs12", "-info", "-nokeys", "-in", path, "-passin", "pass:correct horse")
    assert "friendlyName: acme mtls" in info
    assert info.count("-----BEGIN CERTIFICATE-----") == 2
    assert "PBES2, PBKDF2, AES-256-CBC" in info
    assert "MAC: sha256" in info
    extracted = work / "from_p12.pem"
    passin = ("-passin", "pass:correct horse")
    openssl("pkcs12", "-in", path, *passin, "-nocerts", "-noenc", "-out", extracted)
    assert "RSA key ok" in openssl("rsa", "-check", "-noout", "-in", extracted)


# --- What Treezor's commands write, certdesk reads ------------------------------------------


def test_seed_genrsa_writes_pkcs8_on_openssl_3(seed_key: Path) -> None:
    """The note in treezor-mtls.md: OpenSSL 3's genrsa writes PKCS#8; certdesk still reads it."""
    assert seed_key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert crypto.load_private_key(seed_key.read_bytes()).key_size == 2048


def test_seed_csr_parses(seed_csr: Path) -> None:
    """The CSR from Treezor's commands is accepted, subject and key intact."""
    csr = crypto.parse_csr(seed_csr.read_bytes())
    subject = crypto.Subject.from_x509_name(csr.subject)
    assert subject == crypto.Subject(**{**ACME.as_dict(), "organizational_unit": ""})
    printed = openssl("req", "-noout", "-subject", "-in", seed_csr).rstrip("\n")
    assert printed == "subject=" + subject.openssl_oneline()


def test_seed_csr_in_der_parses(work: Path, seed_csr: Path) -> None:
    """`openssl req -outform DER` output is accepted too."""
    der = work / "seed_csr.der"
    openssl("req", "-in", seed_csr, "-outform", "DER", "-out", der)
    assert crypto.parse_csr(der.read_bytes()) == crypto.parse_csr(seed_csr.read_bytes())


def test_traditional_key_and_its_csr(work: Path) -> None:
    """`genrsa -traditional` (PKCS#1, what Treezor asks for) and its CSR are accepted."""
    openssl("genrsa", "-traditional", "-out", "trad_key.pem", "2048", cwd=work)
    assert (work / "trad_key.pem").read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    openssl("req", "-new", "-key", "trad_key.pem", "-subj", ACME_SUBJ, "-out", "trad.csr", cwd=work)
    csr = crypto.parse_csr((work / "trad.csr").read_bytes())
    key = crypto.load_private_key((work / "trad_key.pem").read_bytes())
    assert crypto.key_matches(csr.public_key(), key.public_key())


def _csr_for(work: Path, name: str, *keygen: str) -> bytes:
    openssl(*keygen, cwd=work)
    openssl(
        "req", "-new", "-key", f"{name}.pem", "-subj", ACME_SUBJ, "-out", f"{name}.csr", cwd=work
    )
    return (work / f"{name}.csr").read_bytes()


def test_1024_bit_csr_is_refused(work: Path) -> None:
    """A CSR for `openssl genrsa 1024` is refused, naming the size."""
    data = _csr_for(work, "small", "genrsa", "-out", "small.pem", "1024")
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.parse_csr(data)
    assert caught.value.code == "key_size"
    assert str(caught.value).startswith("The key is RSA 1024 bits; Treezor requires RSA 2048.")


def test_ec_csr_is_refused(work: Path) -> None:
    """A CSR for an EC P-256 key is refused, naming the key type."""
    keygen = "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem"
    data = _csr_for(work, "ec", *keygen.split())
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.parse_csr(data)
    assert caught.value.code == "key_type"
    assert "The CSR carries an EC (secp256r1) key" in str(caught.value)


def test_csr_with_a_broken_signature_is_refused(work: Path, seed_csr: Path) -> None:
    """An OpenSSL CSR edited after signing (a subject byte changed) is refused as altered."""
    der = work / "tamper.der"
    openssl("req", "-in", seed_csr, "-outform", "DER", "-out", der)
    tampered = _write(work / "tampered.der", der.read_bytes().replace(b"Rennes", b"Rennez"))
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.parse_csr(tampered.read_bytes())
    assert caught.value.code == "csr_signature"
    # OpenSSL agrees (OpenSSL 3.0 says so on stderr, with exit status 0).
    result = run_openssl("req", "-verify", "-noout", "-inform", "DER", "-in", tampered)
    assert b"verify failure" in result.stderr


# --- Private keys are refused wherever they turn up -----------------------------------------


@pytest.fixture(scope="module")
def openssl_keys(work: Path, seed_key: Path, seed_cert: Path) -> dict[str, bytes]:
    """One key in each form OpenSSL writes."""
    assert seed_key.parent == seed_cert.parent == work
    # Run in `work`, where seed_key.pem and seed_cert.pem are; no argument contains a space.
    commands = {
        "pkcs8.pem": "pkey -in seed_key.pem -out k_pkcs8.pem",
        "pkcs1.pem": "rsa -in seed_key.pem -traditional -out k_pkcs1.pem",
        "pkcs1.der": "rsa -in seed_key.pem -traditional -outform DER -out k_pkcs1.der",
        "pkcs8.der": "pkcs8 -topk8 -nocrypt -in seed_key.pem -outform DER -out k_pkcs8.der",
        "encrypted.pem": "pkcs8 -topk8 -v2 aes-256-cbc -in seed_key.pem -passout pass:pw12345678 "
        "-out k_enc.pem",
        "encrypted.der": "pkcs8 -topk8 -v2 aes-256-cbc -in seed_key.pem -passout pass:pw12345678 "
        "-outform DER -out k_enc.der",
        "pkcs12": "pkcs12 -export -inkey seed_key.pem -in seed_cert.pem -passout pass:pw12345678 "
        "-out k.p12",
        "pkcs12-legacy": "pkcs12 -export -legacy -inkey seed_key.pem -in seed_cert.pem "
        "-passout pass: -out k_legacy.p12",
        "ec.pem": "ecparam -genkey -name prime256v1 -out k_ec.pem",
    }
    forms: dict[str, bytes] = {}
    for name, command in commands.items():
        args = command.split()
        openssl(*args, cwd=work)
        forms[name] = (work / args[args.index("-out") + 1]).read_bytes()
    return forms


KEY_FORMS = [
    "pkcs8.pem",
    "pkcs1.pem",
    "pkcs1.der",
    "pkcs8.der",
    "encrypted.pem",
    "encrypted.der",
    "pkcs12",
    "pkcs12-legacy",
    "ec.pem",
]
PARSERS: dict[str, Callable[[bytes], object]] = {
    "parse_csr": crypto.parse_csr,
    "parse_certificates": crypto.parse_certificates,
    "parse_ca_bundle": crypto.parse_ca_bundle,
}


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("form", KEY_FORMS)
def test_openssl_private_keys_are_refused(
    openssl_keys: dict[str, bytes], form: str, parser: str
) -> None:
    """Every key form OpenSSL writes (PKCS#1/8, PEM/DER, encrypted, PKCS#12) is refused."""
    with pytest.raises(crypto.PrivateKeyMaterialError) as caught:
        PARSERS[parser](openssl_keys[form])
    assert "never uploaded" in str(caught.value)


@pytest.mark.parametrize("parser", PARSERS)
def test_key_pasted_with_csr_or_certificate_is_refused(
    openssl_keys: dict[str, bytes], seed_csr: Path, seed_cert: Path, parser: str
) -> None:
    """A key pasted before or after a CSR or a certificate is refused as key material."""
    for public in (seed_csr.read_bytes(), seed_cert.read_bytes()):
        for pasted in (public + openssl_keys["pkcs8.pem"], openssl_keys["pkcs1.pem"] + public):
            with pytest.raises(crypto.PrivateKeyMaterialError):
                PARSERS[parser](pasted)


def test_garbage_is_refused(work: Path) -> None:
    """Random bytes from `openssl rand` are neither a CSR nor a certificate."""
    garbage = _write(work / "garbage.bin", b"")
    openssl("rand", "-out", garbage, "700")
    with pytest.raises(crypto.CryptoError, match="not a certificate signing request"):
        crypto.parse_csr(garbage.read_bytes())
    with pytest.raises(crypto.CryptoError, match="This is not a certificate"):
        crypto.parse_certificates(garbage.read_bytes())


# --- Certificates ---------------------------------------------------------------------------


def test_certificate_given_as_csr_is_refused(seed_cert: Path) -> None:
    """A signed certificate uploaded as a CSR gets the certificate message."""
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.parse_csr(seed_cert.read_bytes())
    assert caught.value.code == "certificate_not_csr"


def test_csr_given_as_certificate_is_refused(seed_csr: Path) -> None:
    """A CSR uploaded as the certificate gets the CSR message."""
    with pytest.raises(crypto.CryptoError) as caught:
        crypto.parse_certificates(seed_csr.read_bytes())
    assert caught.value.code == "csr_not_certificate"


def test_openssl_signed_certificate_verifies(seed_cert: Path, seed_csr: Path, ca: LocalCA) -> None:
    """A certificate made by `openssl x509 -req` parses, matches its CSR and verifies."""
    certs = crypto.parse_certificates(seed_cert.read_bytes())
    leaf, chain = crypto.split_leaf_and_chain(certs)
    assert chain == []
    csr = crypto.parse_csr(seed_csr.read_bytes())
    assert crypto.key_matches(leaf.public_key(), csr.public_key())
    crypto.verify_chain(leaf, chain, ca.bundle_pem(), at=leaf.not_valid_before_utc)


def test_der_certificate_from_openssl_parses(work: Path, seed_cert: Path) -> None:
    """`openssl x509 -outform DER` output is read."""
    der = work / "seed_cert.der"
    openssl("x509", "-in", seed_cert, "-outform", "DER", "-out", der)
    assert crypto.parse_certificates(der.read_bytes()) == crypto.parse_certificates(
        seed_cert.read_bytes()
    )


@pytest.mark.parametrize("outform", ["PEM", "DER"])
def test_pkcs7_from_crl2pkcs7_parses_to_leaf_and_chain(
    work: Path, key: rsa.RSAPrivateKey, ca2: LocalCA, outform: str
) -> None:
    """`openssl crl2pkcs7 -nocrl -certfile chain.pem` (PEM and DER) gives leaf + ordered chain."""
    leaf = ca2.sign(crypto.build_csr(key, ACME))
    chain_pem = crypto.certificates_to_pem([ca2.root, leaf, *ca2.chain()])
    chain_file = _write(work / "chain.pem", chain_pem)
    out = work / f"chain.p7b.{outform.lower()}"
    openssl("crl2pkcs7", "-nocrl", "-certfile", chain_file, "-outform", outform, "-out", out)
    data = out.read_bytes()
    if outform == "PEM":
        assert data.startswith(b"-----BEGIN PKCS7-----")
    found_leaf, chain = crypto.split_leaf_and_chain(crypto.parse_certificates(data))
    assert found_leaf == leaf
    assert chain == [*ca2.chain(), ca2.root]


def test_openssl_dates_match_openssl(work: Path, key: rsa.RSAPrivateKey, ca: LocalCA) -> None:
    """openssl_dates() equals `openssl x509 -startdate -enddate -noout`, single-digit day too."""
    cert = ca.sign(
        crypto.build_csr(key, ACME), not_before=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), days=366
    )
    path = _write(work / "dates.pem", crypto.certificate_to_pem(cert))
    printed = openssl("x509", "-startdate", "-enddate", "-noout", "-in", path)
    assert printed.count("\n") == 2
    assert printed.rstrip("\n") == crypto.openssl_dates(cert)
    assert "notBefore=Jan  2 03:04:05 2024 GMT" in printed


def test_fingerprint_format_matches_openssl(seed_cert: Path) -> None:
    """format_fingerprint(certificate_fingerprint()) is what `-fingerprint -sha256` prints."""
    printed = openssl("x509", "-noout", "-fingerprint", "-sha256", "-in", seed_cert)
    match = re.fullmatch(r"sha256 Fingerprint=([0-9A-F:]+)\n", printed, flags=re.IGNORECASE)
    assert match is not None
    cert = crypto.parse_certificates(seed_cert.read_bytes())[0]
    assert crypto.format_fingerprint(crypto.certificate_fingerprint(cert)) == match.group(1)


def test_public_key_fingerprint_matches_openssl(work: Path, seed_key: Path, seed_csr: Path) -> None:
    """The key fingerprint is SHA-256 of the DER public key `openssl pkey -pubout` writes."""
    der = work / "pub.der"
    openssl("pkey", "-in", seed_key, "-pubout", "-outform", "DER", "-out", der)
    digest = openssl("dgst", "-sha256", "-r", der).split()[0]
    csr = crypto.parse_csr(seed_csr.read_bytes())
    assert crypto.public_key_fingerprint(csr.public_key()) == digest


@pytest.mark.parametrize(
    "scenario",
    ["root-signed", "with-intermediate", "other-ca", "missing-intermediate", "expired"],
)
def test_verify_chain_agrees_with_openssl_verify(
    work: Path, key: rsa.RSAPrivateKey, ca: LocalCA, ca2: LocalCA, scenario: str
) -> None:
    """verify_chain passes exactly where `openssl verify -attime` passes."""
    csr = crypto.build_csr(key, ACME)
    start = NOW - timedelta(days=10)
    leaf, chain, bundle = ca.sign(csr, not_before=start), [], ca.bundle_pem()
    if scenario == "with-intermediate":
        leaf, chain, bundle = ca2.sign(csr, not_before=start), ca2.chain(), ca2.bundle_pem()
    elif scenario == "other-ca":
        bundle = ca2.bundle_pem()
    elif scenario == "missing-intermediate":
        leaf, bundle = ca2.sign(csr, not_before=start), ca2.bundle_pem()
    elif scenario == "expired":
        leaf = ca.sign(csr, not_before=NOW - timedelta(days=400), days=365)
    expect_ok = scenario in ("root-signed", "with-intermediate")

    bundle_path = _write(work / "bundle.pem", bundle)
    leaf_path = _write(work / "leaf.pem", crypto.certificate_to_pem(leaf))
    untrusted = _write(work / "untrusted.pem", crypto.certificates_to_pem(chain) or b"")
    command: list[str | Path] = ["verify", "-attime", str(int(NOW.timestamp()))]
    if chain:
        command += ["-untrusted", untrusted]
    command += ["-CAfile", bundle_path, leaf_path]
    result = run_openssl(*command)
    assert (result.returncode == 0) is expect_ok, result.stdout + result.stderr

    if expect_ok:
        crypto.verify_chain(leaf, chain, bundle, at=NOW)
    else:
        with pytest.raises(crypto.CryptoError):
            crypto.verify_chain(leaf, chain, bundle, at=NOW)


def test_certificate_subject_matches_openssl(seed_cert: Path) -> None:
    """`openssl x509 -noout -subject` prints the same as Subject.openssl_oneline()."""
    cert = crypto.parse_certificates(seed_cert.read_bytes())[0]
    printed = openssl("x509", "-noout", "-subject", "-in", seed_cert).rstrip("\n")
    assert printed == "subject=" + crypto.Subject.from_x509_name(cert.subject).openssl_oneline()


def test_seed_cert_is_for_tls_clients_or_not(seed_cert: Path) -> None:
    """A certificate without extendedKeyUsage is not reported as having clientAuth."""
    cert: x509.Certificate = crypto.parse_certificates(seed_cert.read_bytes())[0]
    assert not crypto.has_client_auth_eku(cert)
