"""Celery tasks: thin wrappers that call services (see DESIGN.md, shape of the code)."""

from smtplib import SMTPException

from celery import shared_task

from certificates import selectors
from certificates.services.outbox import outbound_email_deliver


@shared_task(name="certificates.tasks.heartbeat")
def heartbeat() -> str:
    """Record that a worker ran a beat-scheduled task; /healthz shows when it last did."""
    return selectors.heartbeat_record().isoformat()


@shared_task(
    name="certificates.tasks.send_outbound_email",
    acks_late=True,
    autoretry_for=(SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=1800,
    retry_jitter=True,
    max_retries=8,
)
def send_outbound_email(email_id: int) -> str:
    """Send one outbox email; SMTP and network errors retry with backoff."""
    return outbound_email_deliver(email_id=email_id)
