"""Celery tasks: thin wrappers that call services (see DESIGN.md, shape of the code)."""

from smtplib import SMTPException
from typing import Any

from celery import shared_task

from certificates import selectors
from certificates.services import outbox, reminders
from certificates.services.outbox import outbound_email_deliver


@shared_task(name="certificates.tasks.heartbeat")
def heartbeat() -> str:
    """Record that a worker ran a beat-scheduled task; /healthz shows when it last did."""
    return selectors.heartbeat_record().isoformat()


@shared_task(
    name="certificates.tasks.send_outbound_email",
    # Acknowledged after it ran: a worker lost mid-task leaves the message to be delivered again.
    acks_late=True,
    autoretry_for=(SMTPException, OSError),
    retry_backoff=outbox.RETRY_BACKOFF,
    retry_backoff_max=outbox.RETRY_BACKOFF_MAX,
    retry_jitter=True,
    max_retries=outbox.MAX_RETRIES,
)
def send_outbound_email(email_id: int) -> str:
    """Send one outbox email; SMTP and network errors retry with backoff."""
    return outbound_email_deliver(email_id=email_id)


@shared_task(name="certificates.tasks.expiry_scan")
def expiry_scan() -> dict[str, Any]:
    """Beat's hourly scan: renewal emails to the TAM, reminders to the owners (rules 7 and 9)."""
    return reminders.expiry_scan().summary()


@shared_task(name="certificates.tasks.audit_checkpoint")
def audit_checkpoint() -> str:
    """Beat's signed checkpoint of the audit log, to the log stream and the administrators."""
    from certificates.services.audit_checkpoint import audit_checkpoint_export

    return audit_checkpoint_export().checkpoint.text
