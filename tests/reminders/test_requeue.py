"""Beat's frequent requeue pass (issue 13, point 3): emails stored while the broker was down, or
whose task it lost, leave within minutes of its return instead of 35 minutes to 1 h 35 later."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import RequestFactory
from django.utils import timezone
from django.views.defaults import server_error

from certificates.models import OutboundEmail
from certificates.services import outbox
from certificates.services.outbox import WAITING_FOR_BROKER, outbound_email_requeue_unsent
from tests.support.brokers import celery_broker, spare_port
from tests.support.reminders import NOW

pytestmark = pytest.mark.django_db

MINUTE = timedelta(seconds=60)


def _email(kind: str = "reminder", *, age: timedelta, **fields: Any) -> OutboundEmail:
    email = OutboundEmail.objects.create(
        kind=kind, to=["x@example.com"], subject=kind, body_text=".", **fields
    )
    OutboundEmail.objects.filter(pk=email.pk).update(created_at=NOW - age)
    return email


@pytest.fixture
def publishes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The ids handed to the broker, in order (the broker takes every one)."""
    published: list[int] = []

    def publish(*, email_id: int) -> bool:
        published.append(email_id)
        return True

    monkeypatch.setattr(outbox, "outbound_email_publish", publish)
    return published


@pytest.fixture(autouse=True)
def _defaults(settings: Any) -> None:
    settings.CERTDESK_OUTBOX_REQUEUE_SECONDS = 60


def test_only_emails_never_attempted_and_older_than_the_period_are_handed_over(
    publishes: list[int],
) -> None:
    """Queued, no attempt, stored more than a minute ago: handed to the broker again. A just
    stored email (its task went at commit), an attempted one (Celery's retries own it), a sent
    or failed one: left alone."""
    waiting = _email(age=MINUTE + timedelta(seconds=1))
    _email(age=timedelta(seconds=59))
    _email(age=timedelta(hours=1), attempts=1)
    _email(age=timedelta(hours=1), status="sent", attempts=1)
    _email(age=timedelta(hours=1), status="failed", attempts=3)

    report = outbound_email_requeue_unsent(now=NOW)

    assert publishes == report.published == [waiting.pk]


def test_the_urgent_revocation_request_goes_first(publishes: list[int]) -> None:
    """Oldest first, but a revocation request (a compromised key) before everything else."""
    reminder = _email("reminder", age=timedelta(hours=2))
    csr = _email("tam_csr", age=timedelta(hours=1))
    revocation = _email("tam_revocation", age=MINUTE * 2)

    outbound_email_requeue_unsent(now=NOW)

    assert publishes == [revocation.pk, reminder.pk, csr.pk]


def test_an_email_handed_over_is_not_handed_over_again_for_five_periods(
    publishes: list[int],
) -> None:
    """When only the workers are slow, the queue does not fill with a copy of the same task a
    minute: the next copy comes five periods later (a lost task is not lost for good)."""
    email = _email(age=MINUTE * 2)
    with time_machine.travel(NOW, tick=False) as clock:
        outbound_email_requeue_unsent(now=timezone.now())
        for _ in range(4):
            clock.shift(MINUTE)
            outbound_email_requeue_unsent(now=timezone.now())
        assert publishes == [email.pk]
        clock.shift(MINUTE + timedelta(seconds=1))
        outbound_email_requeue_unsent(now=timezone.now())
    assert publishes == [email.pk, email.pk]


def test_with_the_broker_still_down_it_stops_at_the_first_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A broker that refuses: one attempt, not one per email (each would wait for a timeout);
    the others are reported waiting, and nothing is marked as handed over."""
    emails = [_email(age=MINUTE * 2) for _ in range(3)]
    tried: list[int] = []

    def refuse(*, email_id: int) -> bool:
        tried.append(email_id)
        return False

    monkeypatch.setattr(outbox, "outbound_email_publish", refuse)
    report = outbound_email_requeue_unsent(now=NOW)
    assert tried == [emails[0].pk]
    assert report.published == []
    assert report.waiting == [e.pk for e in emails]
    monkeypatch.undo()
    assert len(outbound_email_requeue_unsent(now=NOW).published) == 3  # eager: sent now
    assert len(mail.outbox) == 3


def test_a_publish_failure_is_logged_and_leaves_the_email_queued_with_a_note(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The broker refusing the task after the commit (nobody listens on its port): no
    exception for the page to turn into a 500, the email queued with a note a user can read,
    the failure logged."""
    email = _email(age=timedelta(0))
    port = spare_port()
    with celery_broker(f"redis://127.0.0.1:{port}/0"):
        assert outbox.outbound_email_publish(email_id=email.pk) is False
    email.refresh_from_db()
    assert (email.status, email.attempts) == ("queued", 0)
    assert email.last_error.startswith(
        f"{WAITING_FOR_BROKER} (Redis) could not take it (OperationalError: Error 111 "
        f"connecting to 127.0.0.1:{port}. Connection refused.)"
    )
    assert email.last_error.endswith(
        "It leaves as soon as the queue is back; do not send it again."
    )
    assert f"Outbox email {email.pk} stays queued" in caplog.text
    assert outbox.outbound_emails_waiting_for_broker([email.pk]) == [email.pk]


def test_beat_runs_the_requeue_pass_every_minute_and_drops_piled_up_runs() -> None:
    """The schedule docs/operations.md states: every CERTDESK_OUTBOX_REQUEUE_SECONDS (60 s by
    default); runs queued while no worker took them expire instead of running one after the
    other."""
    from certificates.tasks import outbox_requeue

    entry = settings.CELERY_BEAT_SCHEDULE["outbox-requeue"]
    assert entry["task"] == outbox_requeue.name == "certificates.tasks.outbox_requeue"
    assert entry["schedule"] == timedelta(seconds=settings.CERTDESK_OUTBOX_REQUEUE_SECONDS)
    assert entry["options"] == {"expires": settings.CERTDESK_OUTBOX_REQUEUE_SECONDS}
    assert outbox_requeue() == {"published": 0, "waiting": 0}


def test_the_error_page_never_claims_that_nothing_was_stored() -> None:
    """A 500 after a commit (the email stored) told the user "Nothing you sent was stored.
    Please try again", and the retry emailed the TAM twice: it now says what is true."""
    page = server_error(RequestFactory().get("/")).content.decode()
    assert "Nothing you sent was stored" not in page
    assert "may or may not have been" in page
    assert "check whether it was done" in page
