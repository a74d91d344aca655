"""The outgoing guard: no message carrying private-key material leaves, whoever sends it."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.mail import EmailMessage, mail_admins

from certificates import crypto, emails, services
from certificates.models import AuditEvent, Environment, OutboundEmail
from certificates.services import Actor, ServiceError
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

KEY_PEM = crypto.private_key_to_pem(crypto.generate_private_key()).decode()


@pytest.mark.parametrize(
    "message",
    [
        EmailMessage("Here is the key", f"Body\n{KEY_PEM}", to=["tam@treezor.example"]),
        EmailMessage(f"Subject {KEY_PEM[:80]}", "body", to=["tam@treezor.example"]),
    ],
)
def test_any_caller_is_refused_a_message_with_a_private_key(message: EmailMessage) -> None:
    """A message with a key in its body or subject is not delivered; the refusal is recorded."""
    assert message.send() == 0
    assert mail.outbox == []
    refusal = AuditEvent.objects.get(action="email.refused")
    assert "PRIVATE KEY" not in str(refusal.details)


def test_an_attachment_with_a_key_is_refused_too() -> None:
    """Attachments are inspected as well as the text."""
    message = EmailMessage("CSRs", "attached", to=["tam@treezor.example"])
    message.attach("acme_csr_mtls.pem", KEY_PEM, "application/x-pem-file")
    assert message.send() == 0
    assert mail.outbox == []


def test_django_error_reports_go_through_the_guard(settings: object) -> None:
    """Even Django's own error emails to the administrators are stopped if they carry a key."""
    settings.ADMINS = [("Ops", "ops@example.com")]  # type: ignore[attr-defined]
    mail_admins("Server error", f"Traceback... {KEY_PEM}")
    assert mail.outbox == []
    mail_admins("Server error", "Traceback without secrets")
    assert len(mail.outbox) == 1


def test_a_clean_message_passes() -> None:
    """A CSR attachment is not key material; the message is delivered."""
    message = EmailMessage("CSR", "attached", to=["tam@treezor.example"])
    csr = crypto.csr_to_pem(
        crypto.build_csr(
            crypto.generate_private_key(),
            ACME,
        )
    )
    message.attach("acme_csr_mtls.pem", csr.decode(), "application/x-pem-file")
    assert message.send() == 1
    assert len(mail.outbox) == 1


def test_the_outbox_refuses_to_queue_a_message_with_a_key(sandbox: Environment) -> None:
    """A service composing an email with a key gets a clear error; no row, no email."""
    composed = emails.ComposedEmail(
        to=["tam@treezor.example"],
        subject="CSRs",
        body_text="see attached",
        body_html="",
        attachments=[emails.Attachment("acme_csr_mtls.pem", KEY_PEM)],
    )
    with pytest.raises(ServiceError, match="refused to send it"):
        services.outbound_email_queue(
            actor=Actor.cli(), kind="tam_csr", composed=composed, environment=sandbox
        )
    assert not OutboundEmail.objects.exists()
    assert AuditEvent.objects.filter(action="email.refused").count() == 1


def test_a_row_altered_to_carry_a_key_is_refused_by_the_worker(sandbox: Environment) -> None:
    """If a stored email were changed to hold a key, the sending task refuses it and says so."""
    email = OutboundEmail.objects.create(
        kind="tam_csr", to=["tam@treezor.example"], subject="x", body_text=KEY_PEM
    )
    assert services.outbound_email_deliver(email_id=email.pk) == "refused"
    email.refresh_from_db()
    assert email.status == "refused"
    assert "PRIVATE KEY" not in email.last_error
    assert mail.outbox == []
