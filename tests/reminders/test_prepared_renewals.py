"""Renewals prepared by the expiry scan (issue 11, point 7), and a TAM renewal email that asks
Treezor to sign only what it carries (point 2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from certificates import crypto
from certificates.models import (
    AuditEvent,
    Certificate,
    Environment,
    Key,
    Reminder,
    SigningRequest,
)
from certificates.services import reminders
from certificates.services.errors import ServiceError
from certificates.services.reminders import ScanReport, expiry_scan
from certificates.services.requests import request_create
from tests.support.reminders import DAY, NOW, TAM, make_certificate, make_renewal

pytestmark = pytest.mark.django_db

Scan = Callable[..., ScanReport]
GENERATED = Key.Source.GENERATED
IMPORTED = Key.Source.IMPORTED


def _html(message: object) -> str:
    assert isinstance(message, EmailMultiAlternatives)
    return str(message.alternatives[0][0])


def _renewals(certificate: Certificate) -> list[SigningRequest]:
    return list(SigningRequest.objects.filter(renews=certificate))


def test_a_month_ahead_the_scan_prepares_sends_and_tells_the_owners(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan
) -> None:
    """Default setting, a key certdesk generated: at 30 days the scan makes the renewal request
    (a new key, the same subject), attaches its CSR to the TAM's email, marks it sent (audited,
    "expiry scan") and tells the owners that installing Treezor's answer is the only step left."""
    certificate = make_certificate(owned_sandbox, not_after=NOW + 30 * DAY, key_source=GENERATED)
    report = scan()

    [renewal] = _renewals(certificate)
    assert renewal.status == SigningRequest.Status.SENT
    assert renewal.sent_at == NOW
    assert renewal.key.source == GENERATED
    assert renewal.key_id != certificate.signing_request.key_id
    assert (renewal.common_name, renewal.country, renewal.email) == (
        "acme.com",
        "FR",
        "it@acme.com",
    )
    csr = crypto.parse_csr(renewal.csr_pem.encode())
    assert crypto.public_key_fingerprint(csr.public_key()) == renewal.key.fingerprint

    tam, owners = mail.outbox
    assert tam.to == [TAM]
    assert tam.attachments == [("company_csr_mtls.pem", renewal.csr_pem, "application/x-pem-file")]
    assert "Please sign it and reply with the signed certificate" in tam.body
    assert "PRIVATE KEY" not in tam.message().as_string()

    event = AuditEvent.objects.get(action="request.sent_to_tam")
    assert event.target_id == str(renewal.pk)
    assert event.details["how"] == "expiry scan"
    assert event.details["renewal_of"] == certificate.pk
    assert event.details["to"] == [TAM]
    assert AuditEvent.objects.get(action="request.created").target_id == str(renewal.pk)

    assert f"certdesk prepared renewal request #{renewal.pk} (a new key)" in owners.body
    assert "the only step left is installing the certificate Treezor sends back" in owners.body
    upload = f"https://certdesk.example.com/certificates/upload/?request={renewal.pk}"
    assert upload in owners.body
    assert upload in _html(owners)
    [tam_line] = [o.line() for o in report.outcomes if o.kind == "tam_renewal"]
    assert f"prepared renewal request #{renewal.pk}, CSR attached" in tam_line


def test_by_default_a_key_the_user_brought_is_not_renewed_for_them(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan
) -> None:
    """Automatic, and the certificate's key came from the user's own CSR: no request is made;
    the TAM reads that the CSR will follow and is asked to sign nothing."""
    certificate = make_certificate(owned_sandbox, not_after=NOW + 30 * DAY, key_source=IMPORTED)
    scan()
    assert _renewals(certificate) == []
    tam, owners = mail.outbox
    assert tam.attachments == []
    assert "Nothing yet: no renewal request." in owners.body


@pytest.mark.parametrize(
    ("setting", "key_source", "prepared"),
    [
        (True, IMPORTED, True),
        (False, GENERATED, False),
        (None, GENERATED, True),
        (None, IMPORTED, False),
    ],
)
def test_the_environment_setting_decides_when_an_administrator_chose(
    owned_sandbox: Environment,
    frozen: time_machine.Traveller,
    scan: Scan,
    setting: bool | None,
    key_source: str,
    prepared: bool,
) -> None:
    """On and Off are the administrator's word whatever the key; Automatic follows the key."""
    owned_sandbox.prepare_renewals = setting
    owned_sandbox.save()
    certificate = make_certificate(owned_sandbox, not_after=NOW + 30 * DAY, key_source=key_source)
    scan()
    assert len(_renewals(certificate)) == (1 if prepared else 0)
    assert bool(mail.outbox[0].attachments) is prepared


@pytest.mark.parametrize("status", ["draft", "ready", "sent"])
def test_a_renewal_request_in_flight_is_not_made_twice(
    owned_sandbox: Environment,
    frozen: time_machine.Traveller,
    scan: Scan,
    renewal_csr_pem: str,
    status: str,
) -> None:
    """A renewal request the owners started (draft, ready or sent) is the renewal: the scan
    makes no second one; a ready CSR is attached and sent, as before."""
    certificate = make_certificate(owned_sandbox, not_after=NOW + 30 * DAY, key_source=GENERATED)
    existing = make_renewal(
        certificate,
        "" if status == "draft" else renewal_csr_pem,
        status=status,
        sent_at=NOW - DAY if status == "sent" else None,
    )
    scan()
    assert _renewals(certificate) == [existing]
    assert not AuditEvent.objects.filter(action="request.created").exists()
    tam = mail.outbox[0]
    assert bool(tam.attachments) is (status == "ready")


def test_a_cancelled_renewal_request_does_not_count(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan, renewal_csr_pem: str
) -> None:
    """A withdrawn renewal request is no renewal: the scan prepares a new one."""
    certificate = make_certificate(owned_sandbox, not_after=NOW + 30 * DAY, key_source=GENERATED)
    cancelled = make_renewal(certificate, renewal_csr_pem)
    SigningRequest.objects.filter(pk=cancelled.pk).update(
        status="cancelled", cancelled_at=NOW - DAY
    )
    scan()
    [prepared] = [r for r in _renewals(certificate) if r.pk != cancelled.pk]
    assert prepared.status == "sent"
    assert mail.outbox[0].attachments[0][1] == prepared.csr_pem


def test_a_subject_no_longer_valid_sends_the_tam_email_without_csr_and_says_why(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan
) -> None:
    """The old request's Common Name no longer passes Treezor's table: no key, no request; the
    TAM's email goes without CSR (nothing to sign) and the owners read why and what to do."""
    certificate = make_certificate(owned_sandbox, not_after=NOW + 30 * DAY, key_source=GENERATED)
    SigningRequest.objects.filter(pk=certificate.signing_request_id).update(
        common_name="https://acme.com/"
    )
    keys_before = Key.objects.count()
    report = scan()
    assert _renewals(certificate) == []
    assert Key.objects.count() == keys_before
    tam, owners = mail.outbox
    assert tam.attachments == []
    assert "The renewal CSR will follow in a separate email" in tam.body
    assert "sign it" not in tam.body
    assert "No renewal request was prepared automatically: the subject of request" in owners.body
    assert "prepare the renewal in the wizard" in owners.body
    assert report.count("queued") == 2


def test_a_failed_creation_leaves_nothing_half_written(
    owned_sandbox: Environment,
    frozen: time_machine.Traveller,
    scan: Scan,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """request_create stores the key, then refuses: its writes are rolled back, the TAM's email
    goes without CSR, the owners are told the reason, and the next scan does not retry."""
    real = request_create

    def store_then_refuse(**kwargs: object) -> SigningRequest:
        real(**kwargs)  # type: ignore[arg-type]
        raise ServiceError("The new key could not be stored; nothing was saved.")

    monkeypatch.setattr(reminders.prepare, "request_create", store_then_refuse)
    certificate = make_certificate(owned_sandbox, not_after=NOW + 30 * DAY, key_source=GENERATED)
    keys_before = Key.objects.count()
    scan()
    assert _renewals(certificate) == []
    assert Key.objects.count() == keys_before
    assert not AuditEvent.objects.filter(action="request.created").exists()
    tam, owners = mail.outbox
    assert tam.attachments == []
    assert (
        "No renewal request was prepared automatically: The new key could not be stored"
        in owners.body
    )
    frozen.shift(timedelta(hours=1))
    scan()
    assert len(mail.outbox) == 2


def test_scans_after_the_first_never_prepare_a_second_request(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan
) -> None:
    """Scanning every 6 hours until expiry: one renewal request, one TAM email, and each later
    owner reminder points at that request's upload page."""
    certificate = make_certificate(owned_sandbox, not_after=NOW + 31 * DAY, key_source=GENERATED)
    moment = NOW
    while moment <= certificate.not_after:
        frozen.move_to(moment)
        scan()
        moment += timedelta(hours=6)
    [renewal] = _renewals(certificate)
    assert len([m for m in mail.outbox if m.to == [TAM]]) == 1
    owners = [m for m in mail.outbox if m.to != [TAM]]
    assert len(owners) == 6
    upload = f"/certificates/upload/?request={renewal.pk}"
    assert all(upload in m.body for m in owners)


def test_a_dry_run_says_it_would_prepare_and_creates_nothing(
    owned_sandbox: Environment, frozen: time_machine.Traveller
) -> None:
    """The dry run reports "would prepare renewal request" and makes no key, request or row."""
    make_certificate(owned_sandbox, not_after=NOW + 30 * DAY, key_source=GENERATED)
    keys_before = Key.objects.count()
    report = expiry_scan(dry_run=True)
    [tam] = [o for o in report.outcomes if o.kind == "tam_renewal"]
    assert tam.status == "would send"
    assert "would prepare renewal request" in tam.line()
    assert Key.objects.count() == keys_before
    assert not SigningRequest.objects.filter(renews__isnull=False).exists()
    assert not Reminder.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("part", ["text", "html"])
def test_the_tam_is_asked_to_sign_only_when_a_csr_is_attached(
    owned_sandbox: Environment,
    frozen: time_machine.Traveller,
    scan: Scan,
    renewal_csr_pem: str,
    part: str,
) -> None:
    """Three certificates, three emails, in both the text and the HTML part: with a CSR, the
    TAM is asked to sign it; with one sent earlier, it is named (date, request #) and nothing is
    asked; with none, it will follow and there is nothing to sign yet."""
    attached = make_certificate(owned_sandbox, not_after=NOW + 30 * DAY)
    make_renewal(attached, renewal_csr_pem)
    earlier = make_certificate(owned_sandbox, not_after=NOW + 30 * DAY, purpose="signature")
    sent = make_renewal(earlier, renewal_csr_pem, status="sent", sent_at=NOW - 3 * DAY)
    scan()
    [with_csr, without] = [
        " ".join((m.body if part == "text" else _html(m)).split())
        for m in sorted(mail.outbox, key=lambda m: not m.attachments)
        if m.to == [TAM]
    ]
    assert attached.serial in with_csr
    assert "Please sign it and reply with the signed certificate" in with_csr
    assert earlier.serial in without
    assert f"was already sent to you on 2030-02-26 (our request #{sent.pk})" in without
    assert "sign it" not in without
    assert "reply with the signed certificate" not in without

    mail.outbox.clear()
    nothing = make_certificate(owned_sandbox, not_after=NOW + 30 * DAY)  # supersedes `attached`
    scan()
    [tam] = [m for m in mail.outbox if m.to == [TAM]]
    text = " ".join((tam.body if part == "text" else _html(tam)).split())
    assert nothing.serial in text
    assert "The renewal CSR will follow in a separate email" in text
    assert "nothing to sign until it arrives" in text
    assert "reply with the signed certificate" not in text
