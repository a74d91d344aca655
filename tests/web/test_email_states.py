"""Issue 12, point 10 (the rest): a failed send is visible where it was requested. The request
page shows the real state of its CSR emails and the certificate page that of its revocation
email: queued, sent, or failed with the reason, read from the outbox."""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from certificates import services
from certificates.models import CompanyProfile, Environment, OutboundEmail, SigningRequest
from certificates.services import Actor
from certificates.services import outbox as outbox_service
from certificates.services.revocations import revocation_request
from certificates.services.tam import tam_send
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

CLI = Actor.cli()


class _RefusingServer:
    """A mail connection whose server drops every message, as a broken relay does."""

    def send_messages(self, messages: list[Any]) -> int:
        raise smtplib.SMTPRecipientsRefused({"tam@treezor.example": (550, b"No such user")})


@pytest.fixture
def mtls(sandbox: Environment) -> SigningRequest:
    CompanyProfile.objects.filter(pk=1).update(company_name="Acme SAS")
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save()
    return services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=ACME)


def _queue_without_sending(
    capture: DjangoCaptureOnCommitCallbacks, queue: Callable[[], object]
) -> OutboundEmail:
    with capture(execute=False):
        queue()
    return OutboundEmail.objects.get()


def _summary(page: str) -> str:
    start = page.index('id="email-states-heading"')
    return page[start : page.index("</section>", start)]


def test_the_request_page_shows_queued_failed_with_the_reason_then_sent(
    mtls: SigningRequest,
    sandbox: Environment,
    member_client: Callable[..., Client],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Not a bare "Sent" once the CSR is queued: the page follows the outbox row."""
    client = member_client("viewer", sandbox)
    email = _queue_without_sending(
        django_capture_on_commit_callbacks,
        lambda: tam_send(actor=CLI, environment=sandbox, signing_requests=[mtls]),
    )
    assert "Queued: not sent yet" in _summary(client.get(f"/requests/{mtls.pk}/").content.decode())

    with monkeypatch.context() as patched:
        patched.setattr(outbox_service, "get_connection", lambda: _RefusingServer())
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            services.outbound_email_deliver(email_id=email.pk)
    failed = _summary(client.get(f"/requests/{mtls.pk}/").content.decode())
    assert "Not sent yet: attempt 1 failed" in failed
    assert "SMTPRecipientsRefused" in failed
    assert "No such user" in failed

    assert services.outbound_email_deliver(email_id=email.pk) == "sent"
    sent = _summary(client.get(f"/requests/{mtls.pk}/").content.decode())
    assert "Sent: the mail server accepted it." in sent
    assert "SMTPRecipientsRefused" not in sent


def test_the_certificate_page_says_when_the_revocation_email_was_given_up(
    mtls: SigningRequest,
    sandbox: Environment,
    issue: Callable[..., bytes],
    member_client: Callable[..., Client],
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A revocation request whose email failed for good says so, with the reason and what to
    do, on the certificate page where the revocation was asked for."""
    certificate = services.certificate_upload(actor=CLI, data=issue(mtls)).certificate
    email = _queue_without_sending(
        django_capture_on_commit_callbacks,
        lambda: revocation_request(
            actor=CLI, certificate=certificate, reason="cessation_of_operation"
        ),
    )
    OutboundEmail.objects.filter(pk=email.pk).update(
        status="failed", attempts=outbox_service.MAX_ATTEMPTS - 1
    )
    monkeypatch.setattr(outbox_service, "get_connection", lambda: _RefusingServer())
    assert services.outbound_email_deliver(email_id=email.pk) == "failed"
    page = member_client("viewer", sandbox).get(f"/certificates/{certificate.pk}/")
    summary = _summary(page.content.decode())
    assert "Revocation request to the TAM" in summary
    assert f"gave up after {outbox_service.MAX_ATTEMPTS} attempts" in summary
    assert "email the TAM yourself" in summary
    assert "SMTPRecipientsRefused" in summary


def test_a_page_without_emails_shows_no_email_panel(
    mtls: SigningRequest, sandbox: Environment, member_client: Callable[..., Client]
) -> None:
    """A request never emailed has no Emails section (nothing to report)."""
    page = member_client("viewer", sandbox).get(f"/requests/{mtls.pk}/").content.decode()
    assert "email-states-heading" not in page
