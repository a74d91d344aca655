"""Rows and constants of the reminder tests: certificates made straight in the database (no RSA
work, through the factories), renewals, and an environment's owners."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.core import mail

from certificates.models import Certificate, Environment, Key, SigningRequest
from tests.support.factories import (
    CertificateFactory,
    KeyFactory,
    SigningRequestFactory,
    member,
)

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
OWNERS = ["alice@acme.example", "bob@acme.example", "team@acme.example"]
TAM = "tam@treezor.example"


def make_certificate(
    environment: Environment,
    *,
    not_after: datetime,
    not_before: datetime | None = None,
    purpose: str = "mtls",
    renews: Certificate | None = None,
    common_name: str = "acme.com",
    key_source: str = Key.Source.IMPORTED,
    request: SigningRequest | None = None,
) -> Certificate:
    """A certificate as certificate_upload installs it, without the cryptography: it takes
    over from the certificate in service for its (environment, purpose), if any. For
    ``request`` when given (a renewal's), else for a new fulfilled request."""
    if request is None:
        request = SigningRequestFactory.create(
            environment=environment,
            purpose=purpose,
            renews=renews,
            common_name=common_name,
            key=KeyFactory.create(source=key_source),
        )
    certificate = CertificateFactory.create(
        signing_request=request,
        environment=environment,
        purpose=purpose,
        not_after=not_after,
        not_before=not_before or not_after - 365 * DAY,
    )
    return certificate


def make_renewal(
    certificate: Certificate,
    csr_pem: str,
    *,
    status: str = SigningRequest.Status.READY,
    sent_at: datetime | None = None,
) -> SigningRequest:
    """The renewal request of ``certificate`` (an imported key: nothing to decrypt)."""
    renewal = SigningRequestFactory.create(
        environment=certificate.signing_request.environment,
        purpose=certificate.signing_request.purpose,
        status=status,
        csr_pem=csr_pem,
        renews=certificate,
        sent_at=sent_at,
    )
    return renewal


def add_owners(environment: Environment) -> None:
    """Requester alice and custodian bob count; a viewer, an inactive requester and a custodian
    without an address do not; the team address is added, its duplicate of alice's dropped."""
    environment.tam_emails = [TAM]
    environment.team_emails = ["team@acme.example", "Alice@Acme.example"]
    environment.save()
    people = [
        ("alice", "alice@acme.example", "requester", True),
        ("bob", "bob@acme.example", "custodian", True),
        ("carol", "carol@acme.example", "viewer", True),
        ("dave", "dave@acme.example", "requester", False),
        ("erin", "", "custodian", True),
    ]
    for name, email, role, active in people:
        member(
            role, environment, username=f"{name}-{environment.slug}", email=email, is_active=active
        )


def sent_subjects() -> list[str]:
    return [str(message.subject) for message in mail.outbox]
