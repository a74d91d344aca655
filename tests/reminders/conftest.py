"""Fixtures of the reminder tests: certificates made straight in the database (no RSA work),
an environment with owners, a frozen clock, and a real SMTP listener on loopback."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.utils import timezone
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from certificates import crypto
from certificates.models import Certificate, Environment, Key, Membership, SigningRequest
from certificates.services.reminders import ScanReport, expiry_scan
from tests.reminders.smtp import SMTPListener

NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
OWNERS = ["alice@acme.example", "bob@acme.example", "team@acme.example"]
TAM = "tam@treezor.example"


@pytest.fixture(autouse=True)
def _reminder_settings(settings: Any) -> None:
    """The documented defaults, whatever the environment running the tests sets."""
    settings.CERTDESK_RENEWAL_LEAD_DAYS = 30
    settings.CERTDESK_REMINDER_DAYS = [30, 14, 7, 3, 1, 0]
    settings.CERTDESK_SITE_URL = "https://certdesk.example.com"
    settings.CELERY_TASK_TIME_LIMIT = 300


@pytest.fixture(scope="session")
def renewal_csr_pem() -> str:
    """One real CSR (its key thrown away), attached to renewal emails like a real one."""
    key = crypto.generate_private_key()
    subject = crypto.Subject("FR", "Brittany", "Rennes", "Acme", "IT", "acme.com", "it@acme.com")
    return crypto.csr_to_pem(crypto.build_csr(key, subject)).decode("ascii")


def _request(
    environment: Environment,
    *,
    purpose: str = "mtls",
    status: str = SigningRequest.Status.FULFILLED,
    csr_pem: str = "x",
    renews: Certificate | None = None,
    sent_at: datetime | None = None,
    common_name: str = "acme.com",
    key_source: str = Key.Source.IMPORTED,
) -> SigningRequest:
    # A generated key's private half is never read here: any bytes stand for the ciphertext.
    key = Key.objects.create(
        fingerprint=secrets.token_hex(32),
        source=key_source,
        encrypted_private_key=b"sealed" if key_source == Key.Source.GENERATED else None,
    )
    return SigningRequest.objects.create(
        environment=environment,
        purpose=purpose,
        key=key,
        country="FR",
        state="Brittany",
        locality="Rennes",
        organization="Acme",
        common_name=common_name,
        email="it@acme.com",
        csr_pem=csr_pem,
        status=status,
        renews=renews,
        sent_at=sent_at,
    )


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
        request = _request(
            environment,
            purpose=purpose,
            renews=renews,
            common_name=common_name,
            key_source=key_source,
        )
    previous = Certificate.objects.filter(
        environment=environment, purpose=purpose, superseded_at__isnull=True
    ).first()
    if previous is not None:
        previous.superseded_at = timezone.now()
        previous.save(update_fields=["superseded_at"])
    return Certificate.objects.create(
        signing_request=request,
        environment=environment,
        purpose=purpose,
        replaces=previous,
        pem="x",
        serial=secrets.token_hex(8).upper(),
        subject=f"CN={common_name},O=Acme,C=FR",
        issuer="CN=Treezor Test Root CA",
        not_before=not_before or not_after - 365 * DAY,
        not_after=not_after,
        fingerprint=secrets.token_hex(32),
    )


def make_renewal(
    certificate: Certificate,
    csr_pem: str,
    *,
    status: str = SigningRequest.Status.READY,
    sent_at: datetime | None = None,
) -> SigningRequest:
    return _request(
        certificate.signing_request.environment,
        purpose=certificate.signing_request.purpose,
        status=status,
        csr_pem=csr_pem,
        renews=certificate,
        sent_at=sent_at,
    )


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
        user = User.objects.create_user(f"{name}-{environment.slug}", email=email, is_active=active)
        Membership.objects.create(user=user, environment=environment, role=role)


@pytest.fixture
def owned_sandbox(sandbox: Environment) -> Environment:
    add_owners(sandbox)
    return sandbox


@pytest.fixture
def frozen() -> Iterator[time_machine.Traveller]:
    """The clock stopped at NOW; tests move it with ``frozen.move_to``."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def scan(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> Callable[..., ScanReport]:
    """Run the scan and let its commits queue (and, eagerly, send) the emails."""

    def run(**kwargs: Any) -> ScanReport:
        with django_capture_on_commit_callbacks(execute=True):
            return expiry_scan(**kwargs)

    return run


def sent_subjects() -> list[str]:
    return [str(message.subject) for message in mail.outbox]


@pytest.fixture
def eager_retries() -> Iterator[None]:
    """Let eagerly run tasks retry as a worker would (the suite propagates errors at once).

    Celery runs an eager retry straight away, with no countdown: the backoff is not waited for.
    """
    from config.celery import app

    before = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = before


@pytest.fixture
def smtp_settings(settings: Any) -> Callable[[SMTPListener], None]:
    """Point Django's real SMTP backend (behind the outgoing guard) at a listener."""

    def point(listener: SMTPListener) -> None:
        settings.CERTDESK_EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = listener.port
        settings.EMAIL_HOST_USER = ""
        settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_USE_TLS = False
        settings.EMAIL_USE_SSL = False
        settings.EMAIL_TIMEOUT = 10

    return point
