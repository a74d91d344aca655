"""Installing a certificate (DESIGN.md, "Lifecycle"): which certificate is in service is a
recorded fact; replacing a good one and trusting a new issuer are decisions; only a certificate
from the environment's trusted Treezor CA is installed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from django.contrib.auth.models import User
from django.db import connection

from certificates import crypto, selectors, services
from certificates.models import AuditEvent, Certificate, Environment, SigningRequest
from certificates.selectors import CertificateStatus
from certificates.services import Actor, ServiceError
from certificates.services import certificates as installing
from certificates.services.certificates import ConfirmationNeeded
from certificates.services.revocations import revocation_confirm, revocation_report_compromise
from tests.support.environments import migrated_environment, trusting
from tests.support.subjects import ACME
from tests.support.testca import LocalCA

pytestmark = pytest.mark.django_db

CLI = Actor.cli()
DAY = timedelta(days=1)


def new_request(
    environment: Environment, purpose: str = "mtls", renews: Certificate | None = None
) -> SigningRequest:
    return services.request_create(
        actor=CLI, environment=environment, purpose=purpose, subject=ACME, renews=renews
    )


def install(
    issue: Callable[..., bytes], request: SigningRequest, *, days: int = 365, replace: bool = False
) -> Certificate:
    return services.certificate_upload(
        actor=CLI, data=issue(request, days=days), replace=replace
    ).certificate


def statuses(*certificates: Certificate) -> list[CertificateStatus]:
    return [selectors.status_of(Certificate.objects.get(pk=c.pk)) for c in certificates]


def test_the_first_certificate_goes_in_service(
    production: Environment, issue: Callable[..., bytes]
) -> None:
    """Installing the first certificate of a pair puts it in service, replacing nothing."""
    certificate = install(issue, new_request(production))
    assert certificate.in_service
    assert certificate.replaces is None
    assert selectors.certificate_in_service(environment=production, purpose="mtls") == certificate
    assert selectors.certificate_in_service(environment=production, purpose="signature") is None


def test_a_renewal_supersedes_the_certificate_in_service_and_says_who_and_when(
    production: Environment, issue: Callable[..., bytes], admin_user: User
) -> None:
    """A renewal's certificate replaces the expiring one without a question, and the record
    says which replaced which, when and by whom (audited on both)."""
    old = install(issue, new_request(production), days=20)  # inside the renewal window
    renewal = new_request(production, renews=old)
    admin = Actor(user=admin_user)
    result = services.certificate_upload(actor=admin, data=issue(renewal))
    new = result.certificate
    old.refresh_from_db()
    assert result.replaced == old
    assert (new.replaces, old.replaced_by) == (old, new)
    assert old.superseded_at is not None
    assert not old.in_service
    assert new.uploaded_by == admin_user
    assert statuses(old, new) == [CertificateStatus.SUPERSEDED, CertificateStatus.VALID]
    superseded = AuditEvent.objects.get(action="certificate.superseded")
    assert (superseded.target_id, superseded.details["by"], superseded.actor_label) == (
        str(old.pk),
        new.pk,
        "admin",
    )
    uploaded = AuditEvent.objects.filter(action="certificate.uploaded").order_by("-id").first()
    assert uploaded is not None
    assert uploaded.details["replaces"] == old.pk


def test_supersession_never_flips_back_whatever_the_dates(
    production: Environment, issue: Callable[..., bytes]
) -> None:
    """The issue's scenario: renewal, compromise, confirmed revocation, and a replacement that
    expires before an older certificate. Each status is what was recorded: the replacement is
    valid and in service, the older ones stay superseded or revoked, and the scan, the dry run
    and the monitoring command look at the replacement."""
    production.tam_emails = ["tam@treezor.example"]
    production.save()
    first = install(issue, new_request(production), days=200)
    second = install(issue, new_request(production, renews=first), days=400, replace=True)
    revocation = revocation_report_compromise(
        actor=CLI, certificate=second, suspected_since=datetime.now(UTC).date()
    )
    revocation_confirm(actor=CLI, revocation=revocation, confirmed_on=datetime.now(UTC).date())
    # The replacement expires before `first` would: dates must not bring `first` back.
    third = install(issue, new_request(production), days=25)
    assert statuses(first, second, third) == [
        CertificateStatus.SUPERSEDED,
        CertificateStatus.REVOKED,
        CertificateStatus.RENEWAL_DUE,
    ]
    assert selectors.certificate_in_service(environment=production, purpose="mtls") == third
    assert [c.pk for c in selectors.certificates_in_service()] == [third.pk]
    cell = next(
        cell
        for row in selectors.dashboard_rows(_superuser())
        if row.environment == production
        for cell in row.cells
        if cell.purpose == "mtls"
    )
    assert (cell.certificate, cell.status) == (third, CertificateStatus.RENEWAL_DUE)


def _superuser() -> User:
    return User.objects.get_or_create(
        username="root", defaults={"is_superuser": True, "is_active": True}
    )[0]


def test_replacing_a_good_certificate_is_a_decision(
    production: Environment, issue: Callable[..., bytes]
) -> None:
    """Over a valid certificate outside its renewal window, the upload stores nothing and asks;
    with replace=True it installs."""
    current = install(issue, new_request(production))
    other = new_request(production)
    pem = issue(other)
    with pytest.raises(ConfirmationNeeded) as asked:
        services.certificate_upload(actor=CLI, data=pem)
    assert asked.value.asks("replace")
    assert f"Production mTLS already has certificate #{current.pk}, valid until" in str(asked.value)
    assert Certificate.objects.count() == 1
    assert not AuditEvent.objects.filter(action="certificate.superseded").exists()
    other.refresh_from_db()
    assert other.status != SigningRequest.Status.FULFILLED
    new = services.certificate_upload(actor=CLI, data=pem, replace=True).certificate
    assert new.replaces == current


def test_a_second_certificate_for_the_same_request_is_a_decision(
    production: Environment, issue: Callable[..., bytes]
) -> None:
    """Even when the first one is inside its renewal window, a second certificate for one
    request (another CA's, say) is never swapped in silently."""
    request = new_request(production)
    install(issue, request, days=10)
    with pytest.raises(ConfirmationNeeded, match=f"Request #{request.pk} already has"):
        services.certificate_upload(actor=CLI, data=issue(request, days=300))


def test_replacing_an_expiring_certificate_needs_no_question(
    production: Environment, issue: Callable[..., bytes]
) -> None:
    """Renewal due, expired or revoked: replacing it is the normal course."""
    install(issue, new_request(production), days=29)
    assert install(issue, new_request(production)).replaces is not None


def test_the_warnings_stay_with_the_certificate(
    production: Environment, issue: Callable[..., bytes]
) -> None:
    """No clientAuth: the warning is kept on the certificate, not only returned once."""
    request = new_request(production)
    certificate = services.certificate_upload(
        actor=CLI, data=issue(request, client_auth=False)
    ).certificate
    certificate.refresh_from_db()
    assert any("client-authentication" in w for w in certificate.warnings)


# --- trust -------------------------------------------------------------------------------------


@pytest.fixture
def untrusted_production(db: None) -> Environment:
    environment = migrated_environment("Production")
    environment.ca_bundle = ""
    environment.save()
    return environment


def test_a_self_signed_certificate_is_always_refused(
    untrusted_production: Environment, admin_user: User
) -> None:
    """The review's attack: a certificate self-signed with the request's own key, valid until
    9999, is refused for everyone, administrators trusting its issuer included."""
    key = crypto.generate_private_key()
    csr = crypto.build_csr(key, ACME)
    request = services.request_import(
        actor=CLI,
        environment=untrusted_production,
        purpose="mtls",
        csr_data=crypto.csr_to_pem(csr),
    )
    now = datetime.now(UTC)
    forged = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(csr.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - DAY)
        .not_valid_after(datetime(9999, 12, 31, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    for actor in (CLI, Actor(user=admin_user)):
        with pytest.raises(ServiceError, match="self-signed"):
            services.certificate_upload(
                actor=actor,
                data=crypto.certificate_to_pem(forged),
                trust_issuer=True,
                replace=True,
            )
    assert not Certificate.objects.exists()
    request.refresh_from_db()
    assert request.status == SigningRequest.Status.READY


def test_without_a_ca_a_requester_is_told_an_administrator_must_set_it(
    untrusted_production: Environment,
    issue: Callable[..., bytes],
    make_member: Callable[[str, Environment], User],
) -> None:
    """A Production requester cannot make certdesk trust an issuer, even with trust_issuer."""
    requester = Actor(user=make_member("requester", untrusted_production))
    request = new_request(untrusted_production)
    with pytest.raises(
        ServiceError, match="An administrator must set Production's Treezor CA first"
    ):
        services.certificate_upload(actor=requester, data=issue(request), trust_issuer=True)
    untrusted_production.refresh_from_db()
    assert untrusted_production.ca_bundle == ""
    assert not Certificate.objects.exists()


def test_an_administrator_is_offered_the_issuer_and_trusting_it_is_recorded(
    untrusted_production: Environment, admin_user: User
) -> None:
    """A file carrying its chain: the administrator is asked (subject and SHA-256 shown);
    saying yes stores the issuer as Production's CA, audited, and installs the certificate."""
    treezor = LocalCA.create("Treezor Production Root CA", with_intermediate=True)
    request = new_request(untrusted_production)
    leaf = treezor.sign(crypto.parse_csr(request.csr_pem.encode()))
    pem = crypto.certificates_to_pem([leaf, *treezor.chain(), treezor.root])
    admin = Actor(user=admin_user)
    with pytest.raises(ConfirmationNeeded) as asked:
        services.certificate_upload(actor=admin, data=pem)
    (question,) = asked.value.questions
    assert question.kind == "trust_issuer"
    assert "Trust this issuer for Production" in question.message
    root_fingerprint = crypto.format_fingerprint(crypto.certificate_fingerprint(treezor.root))
    assert root_fingerprint in [issuer.fingerprint for issuer in question.issuers]
    untrusted_production.refresh_from_db()
    assert untrusted_production.ca_bundle == ""

    result = services.certificate_upload(actor=admin, data=pem, trust_issuer=True)
    assert result.trusted_issuer
    untrusted_production.refresh_from_db()
    trusted = crypto.parse_ca_bundle(untrusted_production.ca_bundle.encode())
    assert treezor.root in trusted
    event = AuditEvent.objects.get(action="environment.ca_trusted")
    assert event.actor_label == "admin"
    assert crypto.certificate_fingerprint(treezor.root) in [
        issuer["fingerprint"] for issuer in event.details["issuers"]
    ]


def test_a_file_without_its_issuer_cannot_be_trusted(
    untrusted_production: Environment, issue: Callable[..., bytes]
) -> None:
    """With no CA set and only the leaf in the file, there is nothing to trust: say what to do."""
    request = new_request(untrusted_production)
    with pytest.raises(ServiceError, match="does not carry the certificate of its issuer"):
        services.certificate_upload(actor=CLI, data=issue(request), trust_issuer=True)


def test_a_certificate_from_another_ca_is_refused_once_a_ca_is_trusted(
    production: Environment, issue: Callable[..., bytes]
) -> None:
    """The review's second attack: another CA's certificate for an existing request is never
    installed (so it can never reach a PKCS#12 bundle)."""
    request = new_request(production)
    install(issue, request)
    stranger = LocalCA.create("Not Treezor CA")
    pem = crypto.certificate_to_pem(stranger.sign(crypto.parse_csr(request.csr_pem.encode())))
    with pytest.raises(
        ServiceError, match="does not verify against the Production Treezor CA bundle"
    ):
        services.certificate_upload(actor=CLI, data=pem, replace=True)
    assert Certificate.objects.count() == 1


# --- downloads ---------------------------------------------------------------------------------


def test_a_pkcs12_bundle_holds_the_certificate_of_its_own_page(
    production: Environment, issue: Callable[..., bytes]
) -> None:
    """Two certificates for one request: each page's PKCS#12 holds that page's certificate."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    request = new_request(production)
    first = install(issue, request, days=300)
    second = install(issue, request, days=200, replace=True)
    for certificate in (first, second):
        export = services.key_export(
            actor=CLI,
            signing_request=request,
            key_format="pkcs12",
            passphrase="a long passphrase",
            certificate=certificate,
        )
        bundle = pkcs12.load_pkcs12(export.content, b"a long passphrase")
        assert bundle.cert is not None
        assert crypto.certificate_fingerprint(bundle.cert.certificate) == certificate.fingerprint
    other = install(issue, new_request(production), replace=True)
    with pytest.raises(ServiceError, match="was not issued for request"):
        services.key_export(
            actor=CLI,
            signing_request=request,
            key_format="pkcs12",
            passphrase="a long passphrase",
            certificate=other,
        )


# --- concurrency -------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_installs_leave_one_certificate_in_service(
    postgres: None,
    local_ca: LocalCA,
    issue: Callable[..., bytes],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two uploads for one pair, held by a barrier until both have passed every check, race
    into their transactions: one installs, the other is told another certificate was installed
    at the same moment; the pair has one certificate in service, replacing the old one once."""
    production = trusting(migrated_environment("Production"), local_ca)
    old = install(issue, new_request(production), days=20)
    pems = [issue(new_request(production)) for _ in range(2)]
    barrier = threading.Barrier(2)
    warnings = installing._warnings

    def warnings_together(*args: object) -> list[str]:
        result = warnings(*args)  # type: ignore[arg-type]
        barrier.wait(timeout=30)
        return result

    monkeypatch.setattr(installing, "_warnings", warnings_together)
    outcomes: list[object] = []

    def run(pem: bytes) -> None:
        try:
            outcomes.append(services.certificate_upload(actor=CLI, data=pem).certificate)
        except ServiceError as error:
            outcomes.append(error)
        finally:
            connection.close()

    with time_machine.travel(datetime.now(UTC), tick=True):
        threads = [threading.Thread(target=run, args=(pem,)) for pem in pems]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    installed = [o for o in outcomes if isinstance(o, Certificate)]
    refused = [o for o in outcomes if isinstance(o, ServiceError)]
    assert len(installed) == 1, outcomes
    assert len(refused) == 1, outcomes
    assert "at the same moment" in refused[0].message
    in_service = Certificate.objects.filter(environment=production, superseded_at__isnull=True)
    assert [c.pk for c in in_service] == [installed[0].pk]
    old.refresh_from_db()
    assert old.replaced_by.pk == installed[0].pk


def test_a_request_cancelled_during_the_upload_keeps_nothing(
    production: Environment, issue: Callable[..., bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancel that lands between the upload's checks and its install: the upload says the
    request was cancelled, and no certificate is left in service."""
    request = new_request(production)
    pem = issue(request)
    warnings = installing._warnings

    def cancel_meanwhile(*args: object) -> list[str]:
        services.request_cancel(actor=CLI, signing_request=request, reason="wrong host name")
        return warnings(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(installing, "_warnings", cancel_meanwhile)
    with pytest.raises(ServiceError, match="was cancelled meanwhile"):
        services.certificate_upload(actor=CLI, data=pem)
    assert not Certificate.objects.exists()
