"""The expiry scan: the TAM a month ahead, the owners at each threshold, each exactly once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test.utils import CaptureQueriesContext

from certificates.models import (
    AuditEvent,
    Certificate,
    Environment,
    Key,
    OutboundEmail,
    Reminder,
    Revocation,
    SigningRequest,
)
from certificates.selectors.audit import audit_chain_verify
from certificates.services.reminders import ScanReport, expiry_phrase, expiry_scan
from tests.support.factories import (
    CertificateFactory,
    EnvironmentFactory,
    KeyFactory,
    SigningRequestFactory,
)
from tests.support.reminders import (
    DAY,
    NOW,
    OWNERS,
    TAM,
    add_owners,
    make_certificate,
    make_renewal,
    sent_subjects,
)

pytestmark = pytest.mark.django_db

Scan = Callable[..., ScanReport]


def _reminders(certificate: Certificate) -> dict[tuple[str, int], Reminder]:
    return {(r.kind, r.threshold_days): r for r in certificate.reminders.all()}


def test_the_tam_at_30_days_and_the_owners_at_each_threshold_each_once(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan
) -> None:
    """Scanning every 6 hours from 40 days before expiry to 2 days after sends the TAM one
    email and the owners one per threshold (30, 14, 7, 3, 1, 0), none twice, none skipped."""
    certificate = make_certificate(owned_sandbox, not_after=NOW + 40 * DAY)
    moment = NOW
    while moment <= certificate.not_after + 2 * DAY:
        frozen.move_to(moment)
        scan()
        moment += timedelta(hours=6)

    tam = [m for m in mail.outbox if m.to == [TAM]]
    owners = [m for m in mail.outbox if m.to == OWNERS]
    assert len(tam) == 1
    assert tam[0].subject == (
        "company: renewal of the Treezor Sandbox mTLS certificate, which expires in 30 days"
    )
    assert [m.subject for m in owners] == [
        "Treezor Sandbox mTLS certificate expires in 30 days",
        "Treezor Sandbox mTLS certificate expires in 14 days",
        "Treezor Sandbox mTLS certificate expires in 7 days",
        "Treezor Sandbox mTLS certificate expires in 3 days",
        "Treezor Sandbox mTLS certificate expires in 1 day",
        "Treezor Sandbox mTLS certificate expires today",
    ]
    assert len(mail.outbox) == 7
    rows = _reminders(certificate)
    assert set(rows) == {("tam_renewal", 30)} | {("owner", t) for t in (30, 14, 7, 3, 1, 0)}
    assert {r.status for r in rows.values()} == {"sent"}
    assert all(r.sent_at is not None and r.email is not None for r in rows.values())
    assert OutboundEmail.objects.filter(status="sent").count() == 7


def test_the_emails_have_text_and_html_from_the_default_sender(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan, settings: object
) -> None:
    """Both kinds carry a plain-text and an HTML part, come from DEFAULT_FROM_EMAIL and give
    the serial and notAfter as OpenSSL prints it."""
    certificate = make_certificate(owned_sandbox, not_after=NOW + 30 * DAY)
    scan()
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert isinstance(message, EmailMultiAlternatives)
        assert message.from_email == settings.DEFAULT_FROM_EMAIL  # type: ignore[attr-defined]
        assert message.alternatives[0][1] == "text/html"
        assert certificate.serial in message.body
        assert "notAfter=Mar 31 12:00:00 2030 GMT" in message.body
    # Each carries its row's stored, random Message-ID (issue 13, point 6).
    sent_ids = {m.extra_headers["Message-ID"] for m in mail.outbox}
    assert sent_ids == set(OutboundEmail.objects.values_list("message_id", flat=True))


def test_running_the_scan_twice_sends_once(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan
) -> None:
    """A second scan at the same moment, or an hour later, finds the reminders recorded."""
    make_certificate(owned_sandbox, not_after=NOW + 14 * DAY)
    first = scan()
    scan()
    frozen.shift(timedelta(hours=1))
    scan()
    assert first.count("queued") == 2
    assert sent_subjects() == [
        "company: renewal of the Treezor Sandbox mTLS certificate, which expires in 14 days",
        "Treezor Sandbox mTLS certificate expires in 14 days",
    ]


def test_a_ready_renewal_csr_is_attached_and_becomes_sent(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan, renewal_csr_pem: str
) -> None:
    """The TAM gets the renewal request's CSR under Treezor's file name; the request becomes
    sent (dated, audited) and the owners read that it was sent, and what to do next."""
    certificate = make_certificate(owned_sandbox, not_after=NOW + 30 * DAY)
    renewal = make_renewal(certificate, renewal_csr_pem)
    scan()
    tam, owners = mail.outbox
    assert tam.to == [TAM]
    assert tam.attachments == [("company_csr_mtls.pem", renewal_csr_pem, "application/x-pem-file")]
    assert "The renewal CSR is attached: company_csr_mtls.pem" in tam.body
    assert "PRIVATE KEY" not in tam.message().as_string()
    renewal.refresh_from_db()
    assert renewal.status == SigningRequest.Status.SENT
    assert renewal.sent_at == NOW
    event = AuditEvent.objects.get(action="request.sent_to_tam")
    assert event.target_id == str(renewal.pk)
    assert f"Renewal CSR sent to the TAM on 2030-03-01 (request #{renewal.pk})" in owners.body
    assert "certdesk asked the TAM for the renewal on 2030-03-01." in owners.body
    # The next step is installing Treezor's answer: the upload page, for that request.
    assert f"https://certdesk.example.com/certificates/upload/?request={renewal.pk}" in owners.body


def test_without_a_ready_csr_the_tam_is_told_and_the_owners_get_the_wizard(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan
) -> None:
    """No CSR attached: the TAM reads that it will follow; the owners get the prefilled wizard."""
    certificate = make_certificate(owned_sandbox, not_after=NOW + 30 * DAY)
    scan()
    tam, owners = mail.outbox
    assert tam.attachments == []
    assert "The renewal CSR will follow in a separate email" in tam.body
    assert "Nothing yet: no renewal request." in owners.body
    wizard = (
        "https://certdesk.example.com/requests/new/"
        f"?environment=sandbox&purpose=mtls&renews={certificate.pk}"
    )
    assert wizard in owners.body
    assert wizard.replace("&", "&amp;") in owners.alternatives[0][0]  # type: ignore[attr-defined]


def test_a_renewal_already_sent_is_not_attached_again(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan, renewal_csr_pem: str
) -> None:
    """When the renewal CSR went to the TAM before the window opened, the email says when."""
    certificate = make_certificate(owned_sandbox, not_after=NOW + 30 * DAY)
    make_renewal(certificate, renewal_csr_pem, status="sent", sent_at=NOW - 3 * DAY)
    scan()
    tam, owners = mail.outbox
    assert tam.attachments == []
    assert "already sent to you on 2030-02-26" in tam.body
    assert "Renewal CSR sent to the TAM on 2030-02-26" in owners.body


def test_a_ready_csr_made_after_the_tam_email_is_flagged_to_the_owners(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan, renewal_csr_pem: str
) -> None:
    """A CSR ready but not sent shows up in the next reminder, with the send page as action."""
    certificate = make_certificate(owned_sandbox, not_after=NOW + 30 * DAY)
    scan()
    make_renewal(certificate, renewal_csr_pem)
    frozen.shift(16 * DAY)
    scan()
    last = mail.outbox[-1]
    assert last.subject == "Treezor Sandbox mTLS certificate expires in 14 days"
    assert "but not sent to the TAM" in last.body
    assert "https://certdesk.example.com/environments/sandbox/send/" in last.body


def test_a_certificate_renewed_in_time_gets_nothing_more(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan, renewal_csr_pem: str
) -> None:
    """Once the renewal's certificate is uploaded and valid, the old one's reminders stop."""
    old = make_certificate(owned_sandbox, not_after=NOW + 30 * DAY)
    scan()
    assert len(mail.outbox) == 2
    frozen.shift(10 * DAY)
    renewal = make_renewal(old, renewal_csr_pem, status="fulfilled")
    make_certificate(
        owned_sandbox, request=renewal, not_before=NOW + 10 * DAY, not_after=NOW + 375 * DAY
    )
    for days in (16, 23, 27, 29, 30, 31):
        frozen.move_to(NOW + days * DAY)
        scan()
    assert len(mail.outbox) == 2


def test_a_valid_renewal_stops_the_reminders_even_when_it_expires_sooner(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan, renewal_csr_pem: str
) -> None:
    """The replacement counts because it was installed in its place, not because it expires
    later (a short certificate Treezor issued does not make the old one current again)."""
    old = make_certificate(owned_sandbox, not_after=NOW + 14 * DAY)
    renewal = make_renewal(old, renewal_csr_pem, status="fulfilled")
    make_certificate(owned_sandbox, request=renewal, not_before=NOW - DAY, not_after=NOW + 10 * DAY)
    scan()
    assert all(old.serial not in message.body for message in mail.outbox)
    assert not old.reminders.exists()  # the short certificate gets its own, which is right


def test_an_installed_renewal_not_valid_yet_takes_over_the_reminders(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan, renewal_csr_pem: str
) -> None:
    """Installing is the recorded fact (issue 11): a renewal certificate that starts later is
    in service once installed, so the old one gets nothing more, whatever the dates say."""
    old = make_certificate(owned_sandbox, not_after=NOW + 14 * DAY)
    renewal = make_renewal(old, renewal_csr_pem, status="fulfilled")
    make_certificate(
        owned_sandbox, request=renewal, not_before=NOW + 20 * DAY, not_after=NOW + 400 * DAY
    )
    for days in range(0, 15):
        frozen.move_to(NOW + days * DAY)
        scan()
    assert mail.outbox == []
    assert not old.reminders.exists()


def _revoke(certificate: Certificate, *, confirmed: bool) -> None:
    Revocation.objects.create(
        certificate=certificate,
        reason=Revocation.Reason.KEY_COMPROMISE,
        confirmed_at=NOW if confirmed else None,
    )


@pytest.mark.parametrize("state", ["superseded", "revoked", "revocation requested"])
def test_a_superseded_revoked_or_revocation_requested_certificate_gets_nothing(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan, state: str
) -> None:
    """Rule 9: no reminder of either kind, at any threshold, for a certificate that is done."""
    certificate = make_certificate(owned_sandbox, not_after=NOW + 20 * DAY)
    if state == "superseded":
        make_certificate(owned_sandbox, not_after=NOW + 300 * DAY, not_before=NOW - DAY)
    else:
        _revoke(certificate, confirmed=state == "revoked")
    for days in range(0, 22):
        frozen.move_to(NOW + days * DAY)
        scan()
    assert mail.outbox == []
    assert not Reminder.objects.exists()


def test_a_scheduler_down_for_ten_days_sends_one_catch_up_not_a_burst(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan
) -> None:
    """Last scan at 15 days left, next one at 5: the 14- and 7-day reminders are recorded as
    superseded, only the 7-day one goes out (it is the tightest due), saying 5 days."""
    certificate = make_certificate(owned_sandbox, not_after=NOW + 15 * DAY)
    scan()  # the TAM and the 30-day reminder (14 is not due yet: 15 days left)
    assert len(mail.outbox) == 2
    frozen.shift(10 * DAY)
    report = scan()
    assert len(mail.outbox) == 3
    assert mail.outbox[-1].subject == "Treezor Sandbox mTLS certificate expires in 5 days"
    rows = _reminders(certificate)
    assert rows[("owner", 7)].status == "sent"
    assert rows[("owner", 14)].status == "skipped"
    assert rows[("owner", 14)].reason == "superseded by the 7-day reminder"
    assert [o.line() for o in report.outcomes if o.status == "skipped"] == [
        f"skipped: owner reminder (14 days), Sandbox mTLS acme.com (certificate "
        f"#{certificate.pk}, serial {certificate.serial}) (superseded by the 7-day reminder)"
    ]


def test_a_first_scan_after_expiry_sends_one_expired_reminder(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan
) -> None:
    """A certificate certdesk first sees 2 days after expiry: one TAM email and one owner
    reminder (threshold 0, "expired 2 days ago"); the five others are recorded as superseded."""
    certificate = make_certificate(owned_sandbox, not_after=NOW - 2 * DAY)
    scan()
    assert sent_subjects() == [
        "company: renewal of the Treezor Sandbox mTLS certificate, which expired 2 days ago",
        "Treezor Sandbox mTLS certificate expired 2 days ago",
    ]
    rows = _reminders(certificate)
    assert rows[("owner", 0)].status == "sent"
    assert sorted(t for (k, t), r in rows.items() if r.status == "skipped") == [1, 3, 7, 14, 30]


def test_certificates_expired_longer_than_the_lead_days_are_left_alone(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan
) -> None:
    """Past CERTDESK_RENEWAL_LEAD_DAYS after expiry a certificate is history: no email."""
    make_certificate(owned_sandbox, not_after=NOW - 31 * DAY)
    make_certificate(owned_sandbox, not_after=NOW + 32 * DAY, purpose="signature")
    scan()
    assert mail.outbox == []


def test_expired_today_is_said_so() -> None:
    """Threshold 0 reads "expires today" before notAfter and "expired today" after it."""
    assert expiry_phrase(NOW + timedelta(hours=3), NOW) == "expires today"
    assert expiry_phrase(NOW - timedelta(hours=3), NOW) == "expired today"
    assert expiry_phrase(NOW - 25 * timedelta(hours=1), NOW) == "expired 1 day ago"
    assert expiry_phrase(NOW + 1 * DAY, NOW) == "expires in 1 day"


def test_an_environment_without_tam_address_records_the_skip_and_tells_the_owners(
    sandbox: Environment, frozen: time_machine.Traveller, scan: Scan
) -> None:
    """No TAM address: the TAM reminder is skipped with the reason, and the owners read that
    the TAM could not be emailed."""
    add_owners(sandbox)
    sandbox.tam_emails = []
    sandbox.save()
    certificate = make_certificate(sandbox, not_after=NOW + 30 * DAY)
    scan()
    tam = _reminders(certificate)[("tam_renewal", 30)]
    assert tam.status == "skipped"
    assert "Sandbox has no TAM address" in tam.reason
    (owners,) = mail.outbox
    assert "certdesk could not email the TAM: Sandbox has no TAM address" in owners.body


def test_no_recipients_records_the_owner_reminder_as_skipped(
    sandbox: Environment, frozen: time_machine.Traveller, scan: Scan
) -> None:
    """Nobody to tell (no requester or custodian with an address, no team address): skipped,
    with the reason, and never retried."""
    sandbox.tam_emails = [TAM]
    sandbox.save()
    certificate = make_certificate(sandbox, not_after=NOW + 7 * DAY)
    scan()
    scan()
    assert sent_subjects() == [
        "company: renewal of the Treezor Sandbox mTLS certificate, which expires in 7 days"
    ]
    owner = _reminders(certificate)[("owner", 7)]
    assert owner.status == "skipped"
    assert owner.reason.startswith("Sandbox has no requester or custodian with an email address")


def test_a_pending_row_left_by_a_dead_scan_is_sent_or_dropped_by_the_next(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan
) -> None:
    """A scan that died after inserting its rows leaves them pending: the next scan sends the
    one still needed and records the other as no longer due (its certificate was revoked)."""
    kept = make_certificate(owned_sandbox, not_after=NOW + 7 * DAY)
    revoked = make_certificate(owned_sandbox, not_after=NOW + 7 * DAY, purpose="signature")
    # What a scan inserts in one statement before it sends anything: every due row, pending.
    for certificate in (kept, revoked):
        for threshold in (7, 14, 30):
            Reminder.objects.create(certificate=certificate, kind="owner", threshold_days=threshold)
        Reminder.objects.create(certificate=certificate, kind="tam_renewal", threshold_days=30)
    _revoke(revoked, confirmed=False)
    scan()
    assert {r.status for r in revoked.reminders.all()} == {"skipped"}
    assert {(r.kind, r.threshold_days): r.status for r in kept.reminders.all()} == {
        ("tam_renewal", 30): "sent",
        ("owner", 7): "sent",
        ("owner", 14): "skipped",  # superseded by the 7-day one
        ("owner", 30): "skipped",
    }
    assert len(mail.outbox) == 2


def _bulk_certificates(count: int, *, days_left: int) -> None:
    """``count`` certificates in service straight through bulk_create: one per (environment,
    purpose), so ``count / 2`` new environments (a TAM and a team address each), with their
    keys, requests and certificates."""
    first = Environment.objects.count()
    environments = Environment.objects.bulk_create(
        EnvironmentFactory.build(
            name=f"Bulk {n}",
            tam_emails=[TAM],
            team_emails=["team@acme.example"],
            signature_required=True,
        )
        for n in range(first, first + count // 2)
    )
    pairs = [(e, purpose) for e in environments for purpose in ("mtls", "signature")]
    keys = Key.objects.bulk_create(KeyFactory.build_batch(count))
    requests = SigningRequest.objects.bulk_create(
        SigningRequestFactory.build(
            environment=environment,
            purpose=purpose,
            key=key,
            organizational_unit="",
            common_name=f"host{key.pk}.acme.com",
        )
        for key, (environment, purpose) in zip(keys, pairs, strict=True)
    )
    # All expire at the same moment, all with the same days left.
    Certificate.objects.bulk_create(
        CertificateFactory.build(
            signing_request=request,
            serial=f"{request.pk:X}",
            subject="CN=acme.com",
            not_before=NOW + days_left * DAY - 365 * DAY,
            not_after=NOW + days_left * DAY + timedelta(hours=1),
        )
        for request in requests
    )
    if connection.vendor == "postgresql":
        # What autovacuum does after a bulk load: without statistics the planner takes the
        # fresh tables for empty and picks nested loops that take minutes at 1,000 rows.
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE certificates_certificate, certificates_signingrequest, "
                "certificates_key, certificates_reminder, certificates_environment"
            )


def _queries(**kwargs: object) -> int:
    with CaptureQueriesContext(connection) as queries:
        expiry_scan(**kwargs)  # type: ignore[arg-type]
    return len(queries)


@pytest.mark.slow
def test_a_scan_reads_as_many_queries_for_1000_certificates_as_for_10(
    owned_sandbox: Environment, frozen: time_machine.Traveller
) -> None:
    """Measured: a whole scan (selection, pending rows, outbox upkeep) whose candidates, 20 days
    from expiry with the 30-day reminders recorded, need nothing new. The same number of
    queries at 10 and at 1,000 certificates: no query per certificate."""
    _bulk_certificates(10, days_left=20)
    Reminder.objects.bulk_create(
        Reminder(certificate=c, kind=kind, threshold_days=30, status="sent")
        for c in Certificate.objects.all()
        for kind in ("tam_renewal", "owner")
    )
    few = _queries()
    _bulk_certificates(990, days_left=20)
    Reminder.objects.bulk_create(
        Reminder(certificate=c, kind=kind, threshold_days=30, status="sent")
        for c in Certificate.objects.filter(reminders__isnull=True)
        for kind in ("tam_renewal", "owner")
    )
    # Steady state: every due row exists, so no certificate needs a new one.
    assert expiry_scan().candidates == 0
    assert _queries() == few
    assert Reminder.objects.count() == 2000


@pytest.mark.slow
def test_a_dry_run_reads_as_many_queries_for_1000_due_certificates_as_for_10(
    owned_sandbox: Environment, frozen: time_machine.Traveller
) -> None:
    """Measured: a dry run where every candidate (5 days left) is due a TAM email and an owner
    reminder, composed in full. Renewals, reminders and recipients are read once for all, so the
    query count is the same at 10 and at 1,000 (sending then writes a few rows per email)."""
    _bulk_certificates(10, days_left=5)
    few = _queries(dry_run=True)
    _bulk_certificates(990, days_left=5)
    assert expiry_scan(dry_run=True).count("would send") == 2000
    assert _queries(dry_run=True) == few
    assert not Reminder.objects.exists()


def test_a_first_scan_makes_at_most_4_statements_per_email_queued(
    owned_sandbox: Environment, frozen: time_machine.Traveller
) -> None:
    """100 certificates newly due (5 days left, nothing recorded; keys brought by the user, so
    no renewal is prepared): 200 emails queued (TAM and 7-day reminder each) and 200 older
    thresholds recorded skipped, in at most 4 SQL statements per email (11.5 when each row
    was claimed, stored and audited alone), with every email and audit event still there and
    the audit chain intact."""
    _bulk_certificates(100, days_left=5)
    with CaptureQueriesContext(connection) as queries:
        report = expiry_scan()
    assert (report.count("queued"), report.count("skipped"), report.errors) == (200, 200, [])
    assert len(queries) / 200 <= 4
    assert OutboundEmail.objects.count() == 200
    assert Reminder.objects.filter(status="sending", email__isnull=False).count() == 200
    assert AuditEvent.objects.filter(action="reminder.queued").count() == 200
    assert audit_chain_verify().intact
    # Each email's event names it, in the order the emails were queued.
    events = AuditEvent.objects.filter(action="reminder.queued").order_by("id")
    assert [e.details["email"] for e in events] == sorted(
        OutboundEmail.objects.values_list("pk", flat=True)
    )
