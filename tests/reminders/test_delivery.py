"""From the outbox to the mail server: a killed worker, a refusing server, and the limits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from smtplib import SMTPException
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.mail import get_connection

from certificates import emails
from certificates.models import AuditEvent, Environment, OutboundEmail, Reminder
from certificates.services.outbox import (
    MAX_ATTEMPTS,
    outbound_email_claim,
    outbound_email_deliver,
)
from certificates.services.reminders import ScanReport, expiry_scan
from tests.support.reminders import DAY, NOW, OWNERS, make_certificate
from tests.support.smtp import SMTPListener

pytestmark = pytest.mark.django_db

Scan = Callable[..., ScanReport]
PAST_TIME_LIMIT = timedelta(seconds=301)


def _owner_email(environment: Environment) -> OutboundEmail:
    """A 7-day owner reminder in the outbox, queued but not sent (no commit has run)."""
    environment.tam_emails = []
    environment.save()
    make_certificate(environment, not_after=NOW + 7 * DAY)
    expiry_scan()
    return OutboundEmail.objects.get(kind="reminder")


def test_a_worker_killed_between_claim_and_send_loses_nothing(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan
) -> None:
    """The row stays "sending"; before the time limit nobody touches it, after it the next scan
    queues it again and it is delivered once, attempts 2, the reminder "sent", audited."""
    email = _owner_email(owned_sandbox)
    claimed = outbound_email_claim(email_id=email.pk)  # ... and the worker dies here
    assert claimed is not None
    assert claimed.status == "sending"

    frozen.shift(timedelta(seconds=299))
    assert scan().requeued_emails == []
    assert outbound_email_deliver(email_id=email.pk) == "not claimed"  # a live worker may have it
    frozen.shift(timedelta(seconds=2))
    report = scan()
    assert report.requeued_emails == [email.pk]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == email.message_id
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("sent", 2)
    assert Reminder.objects.get(email=email).status == "sent"
    assert AuditEvent.objects.filter(action="email.requeued", target_id=str(email.pk)).exists()
    scan()
    assert len(mail.outbox) == 1


def test_a_worker_killed_after_the_server_accepted_causes_one_duplicate_with_the_same_id(
    owned_sandbox: Environment, frozen: time_machine.Traveller, scan: Scan
) -> None:
    """The documented at-least-once case: the message left, the row still says "sending". It is
    sent again once, with the same Message-ID, and never a third time."""
    email = _owner_email(owned_sandbox)
    claimed = outbound_email_claim(email_id=email.pk)
    assert claimed is not None
    message = emails.build_message(
        to=list(claimed.to),
        subject=claimed.subject,
        body_text=claimed.body_text,
        body_html=claimed.body_html,
        attachments=[],
        message_id=claimed.message_id,
    )
    get_connection().send_messages([message])  # accepted; then the worker is killed
    frozen.shift(PAST_TIME_LIMIT)
    scan()
    frozen.shift(timedelta(hours=3))
    scan()
    assert len(mail.outbox) == 2
    first, second = (m.extra_headers["Message-ID"] for m in mail.outbox)
    assert first == second == email.message_id


def test_a_redelivered_task_takes_over_a_stuck_row_only_past_the_time_limit(
    owned_sandbox: Environment, frozen: time_machine.Traveller
) -> None:
    """acks_late: the broker hands the task again after the worker died; the claim succeeds
    only once no live worker can still be sending (hard time limit passed)."""
    email = _owner_email(owned_sandbox)
    outbound_email_claim(email_id=email.pk)
    assert outbound_email_deliver(email_id=email.pk) == "not claimed"
    frozen.shift(PAST_TIME_LIMIT)
    assert outbound_email_deliver(email_id=email.pk) == "sent"
    assert len(mail.outbox) == 1


@pytest.mark.slow
def test_a_server_refusing_for_a_while_gets_the_email_once(
    owned_sandbox: Environment,
    frozen: time_machine.Traveller,
    scan: Scan,
    smtp_settings: Callable[[SMTPListener], None],
    eager_retries: None,
) -> None:
    """A real SMTP listener answers 451 twice: the Celery task retries with backoff (eagerly
    here), the third attempt is accepted; one message arrives, the row is sent, attempts 3."""
    owned_sandbox.tam_emails = []
    owned_sandbox.save()
    make_certificate(owned_sandbox, not_after=NOW + 3 * DAY)
    with SMTPListener(refuse=2) as smtp:
        smtp_settings(smtp)
        scan()
    assert smtp.refused == 2
    (message,) = smtp.messages
    assert message["Subject"] == "Treezor Sandbox mTLS certificate expires in 3 days"
    assert message["To"] == ", ".join(OWNERS)
    email = OutboundEmail.objects.get()
    assert (email.status, email.attempts, email.last_error) == ("sent", 3, "")
    # A long header is folded on the wire ("\r\n "): the id is what is inside.
    assert message["Message-ID"].strip() == email.message_id
    assert Reminder.objects.get(threshold_days=3).status == "sent"


def test_the_send_task_retries_smtp_errors_with_backoff_and_a_bound() -> None:
    """The task the outbox queues: late acknowledgement, SMTP and network errors retried with
    exponential backoff, a bounded number of times."""
    from certificates.outbox_policy import MAX_RETRIES
    from certificates.tasks import RETRIED_ERRORS, send_outbound_email

    assert send_outbound_email.acks_late is True
    assert set(RETRIED_ERRORS) == {SMTPException, OSError}
    assert send_outbound_email.max_retries == MAX_RETRIES == 8


def test_the_backoff_is_the_documented_one_15_to_30_s_first_doubling_up_to_30_min() -> None:
    """The documented schedule (docs/operations.md): retry n waits 30 s * 2**n (capped at
    30 min) times a factor in [0.5, 1.0]. Full jitter (Celery's own) retried after 1-6 s: never
    below half the nominal delay now, never above it, and the whole series spans 46 min to
    1 h 31 min."""
    from certificates.tasks import retry_delay

    lowest = [retry_delay(n, uniform=lambda low, high: low) for n in range(8)]
    highest = [retry_delay(n, uniform=lambda low, high: high) for n in range(8)]
    assert lowest == [15, 30, 60, 120, 240, 480, 900, 900]
    assert highest == [30, 60, 120, 240, 480, 960, 1800, 1800]
    assert (sum(lowest), sum(highest)) == (2745, 5490)  # 45 min 45 s, 1 h 31 min 30 s
    for n in range(8):
        for _ in range(200):  # the real random factor
            assert lowest[n] <= retry_delay(n) <= highest[n]


def test_each_retry_of_the_send_task_waits_the_computed_delay(
    owned_sandbox: Environment,
    settings: Any,
    eager_retries: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The task asks retry_delay for each of its 8 retries, in order, and then gives up: the
    row is failed after 9 attempts."""
    from certificates import tasks
    from certificates.tasks import send_outbound_email

    settings.CERTDESK_EMAIL_BACKEND = "tests.support.smtp.RefusingBackend"
    email = OutboundEmail.objects.create(
        kind="reminder", to=OWNERS, subject="Expiry", body_text="."
    )
    asked: list[int] = []
    computed = tasks.retry_delay

    def delay(retries: int) -> float:
        asked.append(retries)
        return computed(retries)

    monkeypatch.setattr(tasks, "retry_delay", delay)
    send_outbound_email.apply(args=(email.pk,))
    assert asked == list(range(8))
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("failed", 9)
    assert email.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"


@pytest.mark.slow
def test_when_retries_run_out_the_scan_retries_up_to_a_bound_then_leaves_it_failed(
    owned_sandbox: Environment,
    frozen: time_machine.Traveller,
    scan: Scan,
    smtp_settings: Callable[[SMTPListener], None],
    eager_retries: None,
) -> None:
    """A server that always refuses: each Celery task tries 9 times; each later scan (once no
    Celery retry can be coming) gives it another task, until MAX_ATTEMPTS; then the email stays
    failed, visible with its error, and its reminder is failed. Nothing is ever sent twice."""
    owned_sandbox.tam_emails = []
    owned_sandbox.save()
    make_certificate(owned_sandbox, not_after=NOW + 3 * DAY)
    with SMTPListener(refuse=10_000) as smtp:
        smtp_settings(smtp)
        scan()
        email = OutboundEmail.objects.get()
        assert (email.status, email.attempts) == ("failed", 9)
        frozen.shift(timedelta(minutes=30))
        assert scan().requeued_emails == []  # a Celery retry may still be on its way
        for _ in range(3):
            frozen.shift(timedelta(hours=1))
            assert scan().requeued_emails == [email.pk]
        frozen.shift(timedelta(hours=1))
        assert scan().requeued_emails == []
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("failed", MAX_ATTEMPTS)
    assert email.last_error.startswith("SMTPDataError: (451")
    assert smtp.refused == MAX_ATTEMPTS
    reminder = Reminder.objects.get(email=email)
    assert reminder.status == "failed"
    assert reminder.reason.startswith(f"The outbox gave up after {MAX_ATTEMPTS} attempts")
