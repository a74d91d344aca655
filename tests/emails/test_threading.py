"""Emails about the same request or certificate thread with the first one (issue 16): a resend,
the scan's renewal email, a revocation request and a compromise report carry In-Reply-To (the
first email's Message-ID) and References (the chain), stored on the outbox row and set by the
worker; each row names what it is about (``signing_request``, ``certificate``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from certificates import services
from certificates.models import Certificate, Environment, OutboundEmail, SigningRequest
from certificates.selectors.threads import REFERENCES_KEPT, tam_thread
from certificates.services import Actor
from certificates.services.reminders import expiry_scan
from certificates.services.revocations import revocation_report_compromise, revocation_request
from tests.support.factories import CertificateFactory
from tests.support.reminders import DAY, NOW, make_renewal
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

CLI = Actor.cli()


@pytest.fixture
def sent(production: Environment, delivered: Callable[..., Any]) -> OutboundEmail:
    """A CSR emailed to the TAM: the first email of its thread."""
    request = services.request_create(
        actor=CLI, environment=production, purpose="mtls", subject=ACME
    )
    email: OutboundEmail = delivered(
        services.tam_send, actor=CLI, environment=production, signing_requests=[request]
    )
    return email


def _certificate_of(request: SigningRequest) -> Certificate:
    """Treezor's certificate for ``request``, installed (made straight, no RSA work)."""
    SigningRequest.objects.filter(pk=request.pk).update(status=SigningRequest.Status.FULFILLED)
    return CertificateFactory.create(
        signing_request=request, environment=request.environment, purpose=request.purpose
    )


def test_a_first_email_starts_a_thread_and_names_its_request(sent: OutboundEmail) -> None:
    sent.refresh_from_db()
    assert (sent.in_reply_to, sent.references) == ("", "")
    assert sent.signing_request is not None
    message = mail.outbox[0].message()
    assert "In-Reply-To" not in message
    assert "References" not in message


def test_resends_answer_the_first_email_with_the_whole_chain(
    sent: OutboundEmail, delivered: Callable[..., Any]
) -> None:
    """First resend: In-Reply-To and References the first email; the second resend: still
    In-Reply-To the first, References both earlier ones, in order; set on the sent message."""
    request = sent.signing_request
    assert request is not None
    first_resend = delivered(services.tam_resend, actor=CLI, signing_request=request)
    second_resend = delivered(services.tam_resend, actor=CLI, signing_request=request)

    assert first_resend.in_reply_to == sent.message_id
    assert first_resend.references == sent.message_id
    assert second_resend.in_reply_to == sent.message_id
    assert second_resend.references == f"{sent.message_id} {first_resend.message_id}"
    assert second_resend.signing_request_id == request.pk
    message = mail.outbox[-1].message()
    assert message["In-Reply-To"] == sent.message_id
    assert message["References"] == f"{sent.message_id} {first_resend.message_id}"
    assert message["Message-ID"] == second_resend.message_id


def test_a_revocation_request_answers_the_certificates_csr_email(
    sent: OutboundEmail, delivered: Callable[..., Any]
) -> None:
    assert sent.signing_request is not None
    certificate = _certificate_of(sent.signing_request)
    delivered(revocation_request, actor=CLI, certificate=certificate, reason="superseded")
    revocation = OutboundEmail.objects.get(kind=OutboundEmail.Kind.TAM_REVOCATION)
    assert revocation.in_reply_to == sent.message_id
    assert revocation.references == sent.message_id
    assert revocation.certificate_id == certificate.pk
    assert mail.outbox[-1].message()["In-Reply-To"] == sent.message_id


def test_a_compromise_report_answers_the_csr_and_renewal_emails(
    production: Environment, sent: OutboundEmail, delivered: Callable[..., Any]
) -> None:
    """The scan's renewal email answers the CSR email; the compromise report answers the
    first of them, with both in References. The notice to the team is not part of it."""
    assert sent.signing_request is not None
    production.prepare_renewals = False
    production.save()
    with time_machine.travel(NOW, tick=False):
        SigningRequest.objects.filter(pk=sent.signing_request.pk).update(
            status=SigningRequest.Status.FULFILLED
        )
        certificate = CertificateFactory.create(
            signing_request=sent.signing_request,
            environment=production,
            purpose="mtls",
            not_after=timezone.now() + 20 * DAY,
        )
        delivered(expiry_scan)
        renewal = OutboundEmail.objects.get(kind=OutboundEmail.Kind.TAM_RENEWAL)
        assert renewal.in_reply_to == sent.message_id
        assert renewal.references == sent.message_id
        assert renewal.certificate_id == certificate.pk
        delivered(
            revocation_report_compromise,
            actor=CLI,
            certificate=certificate,
            suspected_since=timezone.localdate(),
        )
    report = OutboundEmail.objects.get(kind=OutboundEmail.Kind.TAM_REVOCATION)
    assert report.in_reply_to == sent.message_id
    assert report.references == f"{sent.message_id} {renewal.message_id}"
    notice = OutboundEmail.objects.get(kind=OutboundEmail.Kind.COMPROMISE_NOTICE)
    assert (notice.in_reply_to, notice.references) == ("", "")


def test_the_renewal_csr_sent_by_hand_answers_the_renewal_email(
    production: Environment,
    sent: OutboundEmail,
    delivered: Callable[..., Any],
    renewal_csr_pem: str,
) -> None:
    """A renewal request sent from the send page is about the certificate it renews: it
    answers that certificate's first email (its CSR's), with the scan's renewal email after."""
    assert sent.signing_request is not None
    certificate = _certificate_of(sent.signing_request)
    renewal = make_renewal(certificate, renewal_csr_pem)
    email = delivered(
        services.tam_send, actor=CLI, environment=production, signing_requests=[renewal]
    )
    assert email.in_reply_to == sent.message_id
    assert email.signing_request_id == renewal.pk


def test_a_refused_or_unrelated_email_is_not_in_the_thread(
    production: Environment, sent: OutboundEmail
) -> None:
    """The TAM never received a refused email; another request's email is another thread."""
    assert sent.signing_request is not None
    other = services.request_create(
        actor=CLI, environment=production, purpose="signature", subject=ACME
    )
    services.tam_send(actor=CLI, environment=production, signing_requests=[other])
    refused = OutboundEmail.objects.create(
        kind=OutboundEmail.Kind.TAM_CSR,
        to=["tam@treezor.example"],
        subject="refused",
        body_text="x",
        status=OutboundEmail.Status.REFUSED,
        signing_request=sent.signing_request,
    )
    thread = tam_thread(signing_requests=[sent.signing_request])
    assert thread.references == [sent.message_id]
    assert refused.message_id not in thread.references


def test_a_long_conversation_keeps_the_first_and_the_latest_emails(
    sent: OutboundEmail,
) -> None:
    request = sent.signing_request
    assert request is not None
    resends = [services.tam_resend(actor=CLI, signing_request=request) for _ in range(12)]
    thread = tam_thread(signing_requests=[request])
    assert len(thread.references) == REFERENCES_KEPT
    assert thread.in_reply_to == sent.message_id
    assert thread.references[1:] == [e.message_id for e in resends[-(REFERENCES_KEPT - 1) :]]


@pytest.fixture(scope="session")
def renewal_csr_pem() -> str:
    from certificates import crypto

    key = crypto.generate_private_key()
    return crypto.csr_to_pem(crypto.build_csr(key, ACME)).decode("ascii")


def test_the_failure_notice_names_what_the_failed_email_was_about(
    production: Environment, alice: Any
) -> None:
    """A TAM email refused by the guard at sending time: its sender's notice names the same
    request, for the outbox's links."""
    from certificates.services.outbox import outbound_email_deliver

    request = services.request_create(
        actor=CLI, environment=production, purpose="mtls", subject=ACME
    )
    email = services.tam_send(
        actor=Actor.cli(alice), environment=production, signing_requests=[request]
    )
    leaked = "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----"
    OutboundEmail.objects.filter(pk=email.pk).update(body_text=leaked)
    assert outbound_email_deliver(email_id=email.pk) == OutboundEmail.Status.REFUSED
    notice = OutboundEmail.objects.exclude(pk=email.pk).get()
    assert notice.to == ["alice@acme.example"]
    assert notice.signing_request_id == request.pk
