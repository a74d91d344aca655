"""``manage.py send_reminders``, the beat entry and the Celery task that run the same scan."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from pytest_django.fixtures import DjangoCaptureOnCommitCallbacks

from certificates.models import AuditEvent, Environment, OutboundEmail, Reminder
from certificates.services import reminders
from certificates.services.reminders import ScanReport, expiry_scan
from tests.support.reminders import DAY, NOW, OWNERS, TAM, add_owners, make_certificate

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("send_reminders", *args, stdout=out)
    return out.getvalue()


def test_a_dry_run_lists_what_would_be_sent_and_writes_nothing(
    owned_sandbox: Environment, frozen: time_machine.Traveller
) -> None:
    """--dry-run prints each email it would send, to whom, and what it would skip; afterwards
    there is no reminder row, no outbox email, no audit event and no mail."""
    certificate = make_certificate(owned_sandbox, not_after=NOW + 5 * DAY)
    audit_before = AuditEvent.objects.count()
    output = _run("--dry-run")
    label = f"Sandbox mTLS acme.com (certificate #{certificate.pk}, serial {certificate.serial})"
    assert f"would send: TAM renewal (30 days), {label} -> {TAM}" in output
    assert f"would send: owner reminder (7 days), {label} -> {', '.join(OWNERS)}" in output
    assert "'Treezor Sandbox mTLS certificate expires in 5 days'" in output
    assert f"would skip: owner reminder (14 days), {label}" in output
    assert "2 email(s) would be sent; nothing was written." in output
    assert not Reminder.objects.exists()
    assert not OutboundEmail.objects.exists()
    assert AuditEvent.objects.count() == audit_before
    assert mail.outbox == []


def test_the_command_sends_what_is_due_and_says_so(
    owned_sandbox: Environment,
    frozen: time_machine.Traveller,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """Without --dry-run it runs the scan: it prints what it queued, and a second run nothing."""
    make_certificate(owned_sandbox, not_after=NOW + 5 * DAY)
    with django_capture_on_commit_callbacks(execute=True):
        output = _run()
    assert "queued: TAM renewal (30 days)" in output
    assert "queued: owner reminder (7 days)" in output
    assert "2 email(s) queued, 2 reminder(s) skipped" in output
    assert len(mail.outbox) == 2
    with django_capture_on_commit_callbacks(execute=True):
        again = _run()
    assert "0 email(s) queued" in again
    assert len(mail.outbox) == 2


def test_beat_runs_the_expiry_scan_every_hour_by_default() -> None:
    """The static schedule has the scan beside the heartbeat, every CERTDESK_EXPIRY_SCAN_SECONDS
    (3600 by default), under the task name the worker registers."""
    from certificates import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["expiry-scan"]
    assert entry["task"] == tasks.expiry_scan.name == "certificates.tasks.expiry_scan"
    assert entry["schedule"] == timedelta(seconds=settings.CERTDESK_EXPIRY_SCAN_SECONDS)
    assert settings.CERTDESK_EXPIRY_SCAN_SECONDS == 3600
    assert "heartbeat" in settings.CELERY_BEAT_SCHEDULE


def test_the_task_runs_the_scan(
    owned_sandbox: Environment,
    frozen: time_machine.Traveller,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """The beat task is a thin wrapper: it scans and returns a JSON-friendly summary."""
    from certificates import tasks

    make_certificate(owned_sandbox, not_after=NOW + 30 * DAY)
    with django_capture_on_commit_callbacks(execute=True):
        summary = tasks.expiry_scan.delay().get()
    assert summary["queued"] == 2
    assert summary["candidates"] == 1
    assert len(mail.outbox) == 2


def test_the_dry_run_lists_exactly_what_the_next_scan_sends(
    owned_sandbox: Environment,
    production: Environment,
    frozen: time_machine.Traveller,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """One decision for both (issue 11, point 5): ``send_reminders --dry-run`` lists the same
    certificates, kinds, thresholds, recipients and subjects as the real scan that follows,
    including the rows a crashed scan left pending, and a superseded certificate gets nothing in
    either (not even its rows left pending)."""
    add_owners(production)
    due = make_certificate(owned_sandbox, not_after=NOW + 7 * DAY, key_source="generated")
    old = make_certificate(owned_sandbox, not_after=NOW + 5 * DAY, purpose="signature")
    make_certificate(owned_sandbox, not_after=NOW + 300 * DAY, purpose="signature")  # replaces it
    crashed = make_certificate(production, not_after=NOW + 12 * DAY)
    left_behind = make_certificate(production, not_after=NOW + 3 * DAY, purpose="signature")
    # What a scan that died between its insert and its claims leaves: rows pending, no email.
    for certificate in (crashed, left_behind):
        Reminder.objects.create(certificate=certificate, kind="tam_renewal", threshold_days=30)
        Reminder.objects.create(certificate=certificate, kind="owner", threshold_days=14)
    make_certificate(production, not_after=NOW + 400 * DAY, purpose="signature")  # replaces it

    output = _run("--dry-run")
    dry = expiry_scan(dry_run=True)
    assert Reminder.objects.filter(status="pending").count() == 4  # the dry run wrote nothing
    with django_capture_on_commit_callbacks(execute=True):
        real = expiry_scan()

    def plan(report: ScanReport) -> dict[tuple[int, str, int], tuple[str, tuple[str, ...], str]]:
        sends = {"would send": "send", "queued": "send", "would skip": "skip", "skipped": "skip"}
        return {
            (o.certificate_id, o.kind, o.threshold_days): (sends[o.status], o.to, o.subject)
            for o in report.outcomes
        }

    assert plan(dry) == plan(real)
    assert {(c, kind) for (c, kind, _), (what, _, _) in plan(real).items() if what == "send"} == {
        (due.pk, "tam_renewal"),
        (due.pk, "owner"),
        (crashed.pk, "tam_renewal"),
        (crashed.pk, "owner"),
    }
    assert all(o.certificate_id != old.pk for o in dry.outcomes + real.outcomes)
    assert {o.reason for o in real.outcomes if o.certificate_id == left_behind.pk} == {
        reminders.NO_LONGER_DUE
    }
    would_send = sorted((o.to, o.subject) for o in dry.outcomes if o.status == "would send")
    assert sorted((tuple(m.to), str(m.subject)) for m in mail.outbox) == would_send
    crashed_label = f"Production mTLS acme.com (certificate #{crashed.pk}"
    assert f"would send: owner reminder (14 days), {crashed_label}" in output
    assert f"would send: TAM renewal (30 days), {crashed_label}" in output
    assert "would prepare renewal request" in output
    assert "4 email(s) would be sent; nothing was written." in output


def test_a_reminder_that_cannot_be_processed_makes_the_command_exit_1(
    owned_sandbox: Environment,
    frozen: time_machine.Traveller,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """An error on one reminder does not stop the others, but the command no longer exits 0
    (cron and monitoring saw success): exit 1, the error listed, the reminder still pending."""
    make_certificate(owned_sandbox, not_after=NOW + 5 * DAY)

    def fail_the_tam(**kwargs: object) -> object:
        raise RuntimeError("the template is broken")

    # The TAM's email fails in the batch of the certificate's four rows, then alone.
    monkeypatch.setattr(reminders.claim, "tam_renewal_compose", fail_the_tam)
    out, err = io.StringIO(), io.StringIO()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(SystemExit) as exited:
        call_command("send_reminders", stdout=out, stderr=err)
    assert exited.value.code == 1
    tam = Reminder.objects.get(kind=Reminder.Kind.TAM_RENEWAL)
    assert f"error: reminder #{tam.pk}: RuntimeError: the template is broken" in out.getvalue()
    assert err.getvalue().strip() == (
        "1 reminder(s) could not be processed (listed above); they stay pending and the next "
        "scan tries them again."
    )
    assert tam.status == "pending"
    assert [m.subject for m in mail.outbox] == [
        "Treezor Sandbox mTLS certificate expires in 5 days"
    ]
