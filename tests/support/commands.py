"""Running management commands in tests, and the setup they build on: requests made and
certificates installed through the services (or recorded straight, for what reads them)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from certificates import crypto, services
from certificates.models import Certificate, Environment, SigningRequest
from tests.support.subjects import ACME
from tests.support.testca import LocalCA


@dataclass
class Output:
    stdout: str
    stderr: str


def run(name: str, *args: str) -> Output:
    """Run a command in-process, as ``manage.py name args`` would, and capture its output."""
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=stdout, stderr=stderr)
    return Output(stdout.getvalue(), stderr.getvalue())


def make_request(
    environment: str = "sandbox", purpose: str = "mtls", subject: crypto.Subject = ACME
) -> SigningRequest:
    """A signing request made by certdesk, through the service (setup, not under test)."""
    return services.request_create(
        actor=services.Actor.cli(),
        environment=Environment.objects.get(slug=environment),
        purpose=purpose,
        subject=subject,
    )


def sign(
    ca: LocalCA, request: SigningRequest, *, not_before: datetime | None = None, days: int = 365
) -> x509.Certificate:
    csr = crypto.parse_csr(request.csr_pem.encode("ascii"))
    return ca.sign(csr, not_before=not_before, days=days)


def chain_pem(ca: LocalCA, leaf: x509.Certificate) -> bytes:
    """What Treezor sends back: the leaf followed by its intermediates."""
    return crypto.certificates_to_pem([leaf, *ca.chain()])


def upload(
    ca: LocalCA, request: SigningRequest, *, not_before: datetime | None = None, days: int = 365
) -> Certificate:
    """Sign ``request`` with the local CA and upload it through the service (setup)."""
    leaf = sign(ca, request, not_before=not_before, days=days)
    result = services.certificate_upload(actor=services.Actor.cli(), data=chain_pem(ca, leaf))
    return result.certificate


def install(
    ca: LocalCA, request: SigningRequest, *, not_before: datetime | None = None, days: int = 365
) -> Certificate:
    """Record a certificate for ``request`` straight into the database, as an install leaves
    it: the certificate in service for its environment and purpose is superseded by this one
    (``superseded_at``, ``replaces``). For tests of what reads those records (listing,
    revocation), independent of the upload's checks."""
    leaf = sign(ca, request, not_before=not_before, days=days)
    now = timezone.now()
    with transaction.atomic():
        current = Certificate.objects.filter(
            environment=request.environment, purpose=request.purpose, superseded_at__isnull=True
        ).first()
        if current is not None:
            Certificate.objects.filter(pk=current.pk).update(superseded_at=now)
        certificate = Certificate.objects.create(
            signing_request=request,
            environment=request.environment,
            purpose=request.purpose,
            pem=crypto.certificate_to_pem(leaf).decode("ascii"),
            chain_pem=crypto.certificates_to_pem(ca.chain()).decode("ascii"),
            serial=format(leaf.serial_number, "X"),
            subject=crypto.Subject.from_x509_name(leaf.subject).openssl_oneline(),
            issuer=crypto.describe_name(leaf.issuer),
            not_before=leaf.not_valid_before_utc,
            not_after=leaf.not_valid_after_utc,
            fingerprint=crypto.certificate_fingerprint(leaf),
            replaces=current,
        )
        SigningRequest.objects.filter(pk=request.pk).update(status=SigningRequest.Status.FULFILLED)
    return certificate


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


def assert_one_line_refusal(result: Finished, *expected: str) -> None:
    """Non-zero exit, one line on stderr naming the problem, no traceback."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]
