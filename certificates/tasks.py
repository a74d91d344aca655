"""Celery tasks: thin wrappers that call services (see DESIGN.md, shape of the code)."""

from celery import shared_task

from certificates import selectors


@shared_task(name="certificates.tasks.heartbeat")
def heartbeat() -> str:
    """Record that a worker ran a beat-scheduled task; /healthz shows when it last did."""
    return selectors.heartbeat_record().isoformat()
