"""certificate_upload (rule 5): matched by key, checked, dated from itself, or refused whole."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certificates import crypto, selectors, services
from certificates.models import AuditEvent, Certificate, Environment, SigningRequest
from certificates.selectors import CertificateStatus
from certificates.services import Actor, ServiceError
from tests.support.subjects import ACME
from tests.support.testca import LocalCA

pytestmark = pytest.mark.django_db

CLI = Actor.cli()


@pytest.fixture
def request_mtls(sandbox: Environment) -> SigningRequest:
    return services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=ACME)


def assert_nothing_stored() -> None:
    assert not Certificate.objects.exists()
    assert not AuditEvent.objects.filter(action="certificate.uploaded").exists()


def test_upload_fulfils_the_request_with_dates_read_from_the_certificate(
    request_mtls: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """The certificate is stored for its request, which becomes fulfilled; no warning."""
    pem = issue(request_mtls)
    result = services.certificate_upload(actor=CLI, data=pem)
    leaf = x509.load_pem_x509_certificate(pem)
    certificate = result.certificate
    assert result.warnings == []
    assert certificate.signing_request == request_mtls
    assert (certificate.not_before, certificate.not_after) == (
        leaf.not_valid_before_utc,
        leaf.not_valid_after_utc,
    )
    assert certificate.serial == format(leaf.serial_number, "X")
    assert certificate.fingerprint == crypto.certificate_fingerprint(leaf)
    request_mtls.refresh_from_db()
    assert request_mtls.status == SigningRequest.Status.FULFILLED
    assert AuditEvent.objects.get(action="certificate.uploaded").details["request"] == (
        request_mtls.pk
    )


def test_upload_accepts_der_and_pkcs7(sandbox: Environment, local_ca: LocalCA) -> None:
    """DER and a PKCS#7 bundle, as CAs often send them, upload like PEM does."""
    from cryptography.hazmat.primitives.serialization import pkcs7

    for encode in (
        lambda cert: cert.public_bytes(serialization.Encoding.DER),
        lambda cert: pkcs7.serialize_certificates([cert], serialization.Encoding.DER),
    ):
        request = services.request_create(
            actor=CLI, environment=sandbox, purpose="mtls", subject=ACME
        )
        cert = local_ca.sign(crypto.parse_csr(request.csr_pem.encode()))
        result = services.certificate_upload(actor=CLI, data=encode(cert), replace=True)
        assert result.certificate.signing_request == request


def test_a_certificate_for_another_key_is_refused(
    request_mtls: SigningRequest, local_ca: LocalCA
) -> None:
    """A certificate whose key no request has is refused with what to do."""
    stranger = crypto.build_csr(crypto.generate_private_key(), ACME)
    pem = crypto.certificate_to_pem(local_ca.sign(stranger))
    with pytest.raises(ServiceError, match="No signing request has this certificate's public key"):
        services.certificate_upload(actor=CLI, data=pem)
    assert_nothing_stored()


def test_a_certificate_of_another_environment_or_purpose_is_refused(
    request_mtls: SigningRequest,
    production: Environment,
    sandbox: Environment,
    issue: Callable[..., bytes],
) -> None:
    """Chosen Production, or signature, for a Sandbox mTLS key: refused, naming the real one."""
    pem = issue(request_mtls)
    with pytest.raises(
        ServiceError, match=r"belongs to request #\d+ for Sandbox mTLS, not Production"
    ):
        services.certificate_upload(actor=CLI, data=pem, environment=production)
    with pytest.raises(ServiceError, match="not Sandbox PCI DSS signature"):
        services.certificate_upload(actor=CLI, data=pem, environment=sandbox, purpose="signature")
    assert_nothing_stored()


def test_an_expired_certificate_is_refused(
    request_mtls: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """A certificate past its notAfter is refused, with the date as openssl prints it."""
    pem = issue(request_mtls, not_before=datetime.now(UTC) - timedelta(days=30), days=10)
    with pytest.raises(ServiceError, match=r"expired: notAfter=\w{3} [ \d]\d .* GMT"):
        services.certificate_upload(actor=CLI, data=pem)
    assert_nothing_stored()


def test_the_same_certificate_twice_is_refused(
    request_mtls: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """A second upload of the same certificate names the first one."""
    pem = issue(request_mtls)
    first = services.certificate_upload(actor=CLI, data=pem).certificate
    with pytest.raises(ServiceError, match=f"uploaded already \\(certificate #{first.pk}"):
        services.certificate_upload(actor=CLI, data=pem)
    assert Certificate.objects.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"certainly not a certificate", "not a certificate"),
        (b"", "empty"),
    ],
)
def test_unparseable_input_is_refused(
    request_mtls: SigningRequest, data: bytes, message: str
) -> None:
    """Garbage and empty uploads each get their own message; nothing is stored."""
    with pytest.raises(ServiceError, match=f"(?i){message}"):
        services.certificate_upload(actor=CLI, data=data)
    assert_nothing_stored()


def test_a_private_key_where_a_certificate_is_expected_is_refused(
    request_mtls: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """A certificate pasted together with a private key is refused as a whole, explained."""
    key_pem = crypto.private_key_to_pem(crypto.generate_private_key())
    with pytest.raises(ServiceError, match=r"(?i)private key") as refusal:
        services.certificate_upload(actor=CLI, data=issue(request_mtls) + key_pem)
    assert key_pem.decode() not in str(refusal.value)
    assert_nothing_stored()


def test_chain_is_verified_against_the_environment_ca_bundle(sandbox: Environment) -> None:
    """With a bundle configured: a chain to it uploads; a certificate of another CA does not."""
    treezor = LocalCA.create("Treezor Test Root CA", with_intermediate=True)
    other = LocalCA.create("Other Root CA")
    sandbox.ca_bundle = treezor.bundle_pem().decode()
    sandbox.save()

    request = services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=ACME)
    csr = crypto.parse_csr(request.csr_pem.encode())
    with pytest.raises(ServiceError, match="does not verify against the Sandbox Treezor CA bundle"):
        services.certificate_upload(actor=CLI, data=crypto.certificate_to_pem(other.sign(csr)))
    assert_nothing_stored()

    leaf = treezor.sign(csr)
    with pytest.raises(ServiceError, match="Sandbox Treezor CA bundle"):  # intermediate missing
        services.certificate_upload(actor=CLI, data=crypto.certificate_to_pem(leaf))
    full = crypto.certificates_to_pem([leaf, *treezor.chain()])
    certificate = services.certificate_upload(actor=CLI, data=full).certificate
    assert certificate.chain_pem.count("BEGIN CERTIFICATE") == 1  # the intermediate


def test_subject_mismatch_missing_eku_and_short_validity_are_warned(
    request_mtls: SigningRequest, local_ca: LocalCA
) -> None:
    """Accepted, but the result warns of each difference a user must know about."""
    csr = crypto.parse_csr(request_mtls.csr_pem.encode())
    other_subject = crypto.Subject(**{**ACME.__dict__, "common_name": "other.acme.com"})
    cert = local_ca.sign(csr, subject=other_subject.to_x509_name(), client_auth=False, days=20)
    result = services.certificate_upload(actor=CLI, data=crypto.certificate_to_pem(cert))
    joined = " | ".join(result.warnings)
    assert "CN = other.acme.com" in joined
    assert "differs from the request" in joined
    assert "client-authentication extended key usage" in joined
    assert "inside the 30-day renewal window" in joined


def test_a_renewal_certificate_supersedes_the_old_one(
    sandbox: Environment, request_mtls: SigningRequest, issue: Callable[..., bytes]
) -> None:
    """Once the renewal's certificate is uploaded, the old certificate is superseded."""
    old = services.certificate_upload(actor=CLI, data=issue(request_mtls, days=365)).certificate
    assert selectors.status_of(old) == CertificateStatus.VALID
    with time_machine.travel(datetime.now(UTC) + timedelta(days=340), tick=False):
        assert selectors.status_of(old) == CertificateStatus.RENEWAL_DUE
        renewal = services.request_create(
            actor=CLI, environment=sandbox, purpose="mtls", subject=ACME, renews=old
        )
        new = services.certificate_upload(actor=CLI, data=issue(renewal, days=365)).certificate
        old.refresh_from_db()
        assert selectors.status_of(old) == CertificateStatus.SUPERSEDED
        assert selectors.status_of(new) == CertificateStatus.VALID


def test_a_pkcs7_of_400_self_signed_certificates_is_refused_with_the_count(
    request_mtls: SigningRequest,
) -> None:
    """The reviewer's denial-of-service file (400 certificates all named CN=a) is refused with
    the number certdesk accepts, and nothing is stored. Took 25-35 s before issue 12."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs7
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a")])
    start = datetime.now(UTC) - timedelta(days=1)
    certificates = []
    for serial in range(1, 401):
        key = ec.generate_private_key(ec.SECP256R1())
        certificates.append(
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(serial)
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=365))
            .sign(key, hashes.SHA256())
        )
    data = pkcs7.serialize_certificates(certificates, serialization.Encoding.DER)
    with pytest.raises(ServiceError) as raised:
        services.certificate_upload(actor=CLI, data=data)
    assert raised.value.field == "certificate"
    assert "holds 400 certificates" in str(raised.value)
    assert f"at most {crypto.MAX_UPLOAD_CERTIFICATES} in one upload" in str(raised.value)
    assert_nothing_stored()
