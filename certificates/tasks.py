"""Celery tasks: thin wrappers that call services (see DESIGN.md, shape of the code)."""

import random
from collections.abc import Callable
from smtplib import SMTPException
from typing import Any

from celery import Task, shared_task

from certificates import notify
from certificates.outbox_policy import (
    MAX_RETRIES,
    NOTIFY_TASK,
    RETRY_BACKOFF,
    RETRY_BACKOFF_MAX,
    RETRY_JITTER,
    SEND_TASK,
)
from certificates.services import notifications, outbox, reminders
from certificates.services.heartbeat import heartbeat_record
from certificates.services.outbox import outbound_email_deliver

# Spreads retries apart; not a secret (the jitter of retry_delay).
_random = random.SystemRandom()


@shared_task(name="certificates.tasks.heartbeat")
def heartbeat() -> str:
    """Record that a worker ran a beat-scheduled task; /healthz shows when it last did."""
    return heartbeat_record().isoformat()


# The errors a later attempt may not meet: the mail server refusing for now, the network.
RETRIED_ERRORS = (SMTPException, OSError)


def retry_delay(retries: int, *, uniform: Callable[[float, float], float] | None = None) -> float:
    """Seconds before the send task's retry number ``retries`` (0 for the first retry).

    ``RETRY_BACKOFF * 2**retries``, capped at ``RETRY_BACKOFF_MAX``, times a random factor in
    ``RETRY_JITTER`` ([0.5, 1.0]): spread out, so that emails failing together do not retry
    together, yet never sooner than half the nominal delay (full jitter, Celery's own, gave
    retries after 1 s). ``uniform`` is ``random.uniform``'s signature, for tests.
    """
    nominal = min(RETRY_BACKOFF * 2 ** max(retries, 0), RETRY_BACKOFF_MAX)
    low, high = RETRY_JITTER
    factor = (uniform or _random.uniform)(low, high)
    return float(nominal * min(max(factor, low), high))


@shared_task(
    # The outbox queues it by this name on commit (outbox_policy.SEND_TASK).
    name=SEND_TASK,
    bind=True,
    # Acknowledged after it ran: a worker lost mid-task leaves the message to be delivered again.
    acks_late=True,
    max_retries=MAX_RETRIES,
)
def send_outbound_email(self: Task[Any, Any], email_id: int) -> str:
    """Send one outbox email; SMTP and network errors retry after :func:`retry_delay` (from
    15-30 s, doubling, up to 15-30 min), at most ``MAX_RETRIES`` times."""
    try:
        return outbound_email_deliver(email_id=email_id)
    except RETRIED_ERRORS as error:
        if self.request.retries >= MAX_RETRIES:
            raise  # this task's retries are spent: it fails, the row stays failed (the scan's)
        raise self.retry(exc=error, countdown=retry_delay(self.request.retries)) from error


@shared_task(
    # The notifications queue it by this name on commit (outbox_policy.NOTIFY_TASK).
    name=NOTIFY_TASK,
    bind=True,
    acks_late=True,
    max_retries=MAX_RETRIES,
)
def send_outbound_notification(self: Task[Any, Any], notification_id: int) -> str:
    """Send one chat or webhook notification (issue 18); a delivery error retries after
    :func:`retry_delay`, as an email's does, at most ``MAX_RETRIES`` times."""
    try:
        return notifications.outbound_notification_deliver(notification_id=notification_id)
    except (notify.DeliveryError, OSError) as error:
        if self.request.retries >= MAX_RETRIES:
            raise
        raise self.retry(exc=error, countdown=retry_delay(self.request.retries)) from error


@shared_task(name="certificates.tasks.outbox_requeue")
def outbox_requeue() -> dict[str, int]:
    """Beat's frequent pass (CERTDESK_OUTBOX_REQUEUE_SECONDS): emails stored while the broker was
    down, or whose task it lost, are handed to it again; so are the notifications no worker is
    sending (issue 18: stuck, out of retries, or never published)."""
    summary = outbox.outbound_email_requeue_unsent().summary()
    # The notifications' counts when there were any (the emails' summary keeps its shape).
    counts = notifications.outbound_notifications_requeue().summary()
    return {**summary, **{name: count for name, count in counts.items() if count}}


@shared_task(name="certificates.tasks.expiry_scan")
def expiry_scan() -> dict[str, Any]:
    """Beat's hourly scan: renewal emails to the TAM, reminders to the owners (rules 7 and 9)."""
    return reminders.expiry_scan().summary()


@shared_task(name="certificates.tasks.audit_checkpoint")
def audit_checkpoint() -> str:
    """Beat's signed checkpoint of the audit log, to the log stream and the administrators."""
    from certificates.services.audit_checkpoint import audit_checkpoint_export

    return audit_checkpoint_export().checkpoint.text
