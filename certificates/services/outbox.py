"""The outbox: an email is a row first, then a worker claims it once and sends it.

Delivery is at-least-once, never lost, and duplicates only in one narrow case (README, "Reminders
and the outbox"): a worker killed after the SMTP server accepted a message but before the row
says ``sent``. The row then stays ``sending``; once that is older than the Celery hard time limit
(no live worker can still be sending it: the limit would have killed it), the next claim or the
expiry scan sends it again, with the same Message-ID so the copy is recognisable.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from certificates import emails
from certificates.models import AuditEvent, Environment, OutboundEmail, Reminder
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError

logger = logging.getLogger(__name__)

# Celery's retries of one send task (tasks.send_outbound_email): 1 + 8 attempts, backing off
# from 30 s up to 30 min between them, so one task keeps trying for about an hour and a half.
MAX_RETRIES = 8
RETRY_BACKOFF = 30
RETRY_BACKOFF_MAX = 1800
# Past this many attempts in all (four tasks' worth: the first, then three given by the expiry
# scan after Celery's retries ran out, i.e. most of a working day), an email stays ``failed``
# for good, visible on the outbox page, and its reminder is ``failed``.
MAX_ATTEMPTS = 4 * (MAX_RETRIES + 1)


def _stuck_after() -> timedelta:
    """A ``sending`` row older than the hard time limit has no live worker behind it."""
    return timedelta(seconds=int(settings.CELERY_TASK_TIME_LIMIT))


def _abandoned_after() -> timedelta:
    """A queued or failed row untouched for this long has no Celery retry coming any more."""
    return timedelta(seconds=RETRY_BACKOFF_MAX) + _stuck_after()


class KeyMaterialRefused(ServiceError):
    """The outgoing guard refused text on its way out (an email, a note); the refusal is
    recorded in the audit log, and stays recorded even when the caller's transaction rolls back.

    The audit event is written where the refusal happens, inside the caller's transaction (so a
    caller that catches the refusal and commits, like the expiry scan, keeps it), and the
    exception carries what was recorded. A caller whose transaction the refusal rolls back wraps
    it in :func:`atomic_keeping_refusals`, which writes the event again after the rollback,
    outside the block. Why not a second database connection: the audit chain has one writer at
    a time (an advisory lock on PostgreSQL, SQLite's single writer), and the caller's own
    transaction may hold it already, so a second connection would wait on itself.
    """

    def __init__(
        self,
        message: str,
        *,
        actor: Actor,
        action: str,
        environment: Environment | None,
        details: dict[str, Any],
        field: str | None = None,
    ) -> None:
        super().__init__(message, field=field)
        self.actor = actor
        self.action = action
        self.environment = environment
        self.details = details
        self.event: AuditEvent | None = None

    def record_if_lost(self) -> AuditEvent:
        """Write the audit event, unless the one written earlier is still in the database."""
        if (
            self.event is not None
            and AuditEvent.objects.filter(pk=self.event.pk, hash=self.event.hash).exists()
        ):
            return self.event
        self.event = audit_record(
            actor=self.actor,
            action=self.action,
            environment=self.environment,
            details=self.details,
        )
        return self.event


@contextmanager
def atomic_keeping_refusals() -> Iterator[None]:
    """``transaction.atomic()``, after which a :class:`KeyMaterialRefused` raised inside is
    still in the audit log: the block rolls back, then the refusal is recorded again outside it
    (when this block is itself inside a transaction, in that one; wrap the outer one too)."""
    try:
        with transaction.atomic():
            yield
    except KeyMaterialRefused as refused:
        refused.record_if_lost()
        raise


def refuse_key_material(
    message: str,
    *,
    actor: Actor,
    action: str,
    environment: Environment | None,
    details: dict[str, Any],
    field: str | None = None,
) -> KeyMaterialRefused:
    """Record the refusal now and return the exception to raise (see KeyMaterialRefused)."""
    refused = KeyMaterialRefused(
        message,
        actor=actor,
        action=action,
        environment=environment,
        details=details,
        field=field,
    )
    refused.record_if_lost()
    return refused


def outbound_email_queue(
    *,
    actor: Actor,
    kind: str,
    composed: emails.ComposedEmail,
    environment: Environment | None = None,
) -> OutboundEmail:
    """Store the email and queue its sending once the caller's transaction commits.

    Refused here already when it carries key material, so a refusal is an error the user sees,
    not a silent failure in a worker: :class:`KeyMaterialRefused`, recorded as ``email.refused``
    (callers that roll back on it use :func:`atomic_keeping_refusals`).
    """
    attachments = [
        {"filename": a.filename, "content": a.content, "mimetype": a.mimetype}
        for a in composed.attachments
    ]
    probe = emails.build_message(
        to=composed.to,
        subject=composed.subject,
        body_text=composed.body_text,
        body_html=composed.body_html,
        attachments=attachments,
        message_id="<probe@certdesk.invalid>",
    )
    if emails.carries_private_key(probe):
        raise refuse_key_material(
            "This email would carry private-key material, so certdesk refused to send it. "
            "Only CSRs and certificates are ever emailed.",
            actor=actor,
            action="email.refused",
            environment=environment,
            details={
                "kind": kind,
                "subject": emails.loggable_subject(composed.subject),
                "to": composed.to,
            },
        )
    email = OutboundEmail.objects.create(
        kind=kind,
        environment=environment,
        to=composed.to,
        subject=composed.subject,
        body_text=composed.body_text,
        body_html=composed.body_html,
        attachments=attachments,
        created_by_label=actor.name,
    )
    _send_on_commit(email.pk)
    return email


def _send_on_commit(email_id: int) -> None:
    from certificates.tasks import send_outbound_email

    transaction.on_commit(lambda: send_outbound_email.delay(email_id))


def outbound_email_claim(*, email_id: int) -> OutboundEmail | None:
    """Mark the row ``sending`` for this worker, or None when it is not this worker's to send.

    ``select_for_update(skip_locked=True)`` lets exactly one worker claim a queued or failed
    row; a second finds nothing and returns. A row stuck in ``sending`` past the time limit is
    claimable again: its worker died, and sending it again is how nothing is lost.
    """
    now = timezone.now()
    claimable = Q(status__in=[OutboundEmail.Status.QUEUED, OutboundEmail.Status.FAILED]) | Q(
        status=OutboundEmail.Status.SENDING, sending_started_at__lt=now - _stuck_after()
    )
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(claimable, pk=email_id, attempts__lt=MAX_ATTEMPTS)
            .first()
        )
        if email is None:
            return None
        email.status = OutboundEmail.Status.SENDING
        email.attempts += 1
        email.sending_started_at = now
        email.save(update_fields=["status", "attempts", "sending_started_at"])
    return email


def outbound_email_deliver(*, email_id: int) -> str:
    """Claim the row, send it outside any transaction, record the outcome; returns the status.

    SMTP and network errors are raised again after the row says ``failed``, so the Celery task
    retries with backoff; past :data:`MAX_ATTEMPTS` the email is given up and ``failed`` stays.
    """
    email = outbound_email_claim(email_id=email_id)
    if email is None:
        return "not claimed"

    message = emails.build_message(
        to=list(email.to),
        subject=email.subject,
        body_text=email.body_text,
        body_html=email.body_html,
        attachments=list(email.attachments),
        message_id=emails.message_id_for(email.pk),
    )
    if emails.carries_private_key(message):
        reason = "Refused by the outgoing guard: it carries private-key material."
        with transaction.atomic():
            OutboundEmail.objects.filter(pk=email.pk).update(
                status=OutboundEmail.Status.REFUSED, last_error=reason
            )
            _reminders_end(email.pk, Reminder.Status.FAILED, reason)
            audit_record(
                actor=Actor.system(),
                action="email.refused",
                target=email,
                environment=email.environment,
                details={"subject": emails.loggable_subject(email.subject)},
            )
        return OutboundEmail.Status.REFUSED
    try:
        get_connection().send_messages([message])
    except Exception as error:
        last_error = f"{type(error).__name__}: {error}"[:1000]
        given_up = email.attempts >= MAX_ATTEMPTS
        with transaction.atomic():
            OutboundEmail.objects.filter(pk=email.pk).update(
                status=OutboundEmail.Status.FAILED, last_error=last_error
            )
            if given_up:
                _reminders_end(
                    email.pk,
                    Reminder.Status.FAILED,
                    f"The outbox gave up after {email.attempts} attempts: {last_error}",
                )
        logger.warning(
            "Sending outbox email %s failed (attempt %s): %s",
            email.pk,
            email.attempts,
            type(error).__name__,
        )
        if given_up:
            return OutboundEmail.Status.FAILED
        raise
    sent_at = timezone.now()
    with transaction.atomic():
        OutboundEmail.objects.filter(pk=email.pk).update(
            status=OutboundEmail.Status.SENT, sent_at=sent_at, last_error=""
        )
        Reminder.objects.filter(email_id=email.pk).update(
            status=Reminder.Status.SENT, sent_at=sent_at
        )
    return OutboundEmail.Status.SENT


def _reminders_end(email_id: int, status: str, reason: str) -> None:
    Reminder.objects.filter(email_id=email_id).update(status=status, reason=reason[:1000])


def outbound_email_requeue_stale(*, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Queue again the emails no worker is going to send by itself; returns their ids.

    - ``sending`` for longer than the hard time limit: the worker died mid-send. The row goes
      back to ``queued`` with a note; if the SMTP server had already accepted the message, the
      recipient gets it twice, with the same Message-ID (at-least-once: nothing is lost).
    - ``failed`` or ``queued`` and untouched for longer than Celery's longest backoff: its
      retries ran out, or the broker lost the task. Claiming is exclusive, so a task queued
      twice still sends once. ``failed`` rows are bounded by :data:`MAX_ATTEMPTS`.
    """
    now = now or timezone.now()
    stuck = list(
        OutboundEmail.objects.filter(
            status=OutboundEmail.Status.SENDING,
            sending_started_at__lt=now - _stuck_after(),
            attempts__lt=MAX_ATTEMPTS,
        )
        .select_related("environment")
        .only("pk", "kind", "subject", "environment")[:limit]
    )
    requeued: list[int] = []
    with transaction.atomic():
        for email in stuck:
            # Compare-and-set: of two scans, only the one that changes the row queues it.
            changed = OutboundEmail.objects.filter(
                pk=email.pk,
                status=OutboundEmail.Status.SENDING,
                sending_started_at__lt=now - _stuck_after(),
            ).update(
                status=OutboundEmail.Status.QUEUED,
                last_error="The worker stopped while sending; queued again. If the mail server "
                "had accepted it, it arrives twice with the same Message-ID.",
            )
            if changed:
                requeued.append(email.pk)
                _send_on_commit(email.pk)
                audit_record(
                    actor=Actor.system(),
                    action="email.requeued",
                    target=email,
                    environment=email.environment,
                    details={
                        "subject": emails.loggable_subject(email.subject),
                        "why": "its worker stopped while sending; it may arrive twice",
                    },
                )
        abandoned_rows = OutboundEmail.objects.filter(
            Q(status=OutboundEmail.Status.FAILED, sending_started_at__lt=now - _abandoned_after())
            | Q(
                Q(sending_started_at__isnull=True)
                | Q(sending_started_at__lt=now - _abandoned_after()),
                status=OutboundEmail.Status.QUEUED,
                created_at__lt=now - _abandoned_after(),
            ),
            attempts__lt=MAX_ATTEMPTS,
        )
        # Rows just put back from ``sending`` are queued already.
        abandoned = abandoned_rows.exclude(pk__in=requeued).values_list("pk", flat=True)[
            : max(limit - len(requeued), 0)
        ]
        for email_id in abandoned:
            requeued.append(email_id)
            _send_on_commit(email_id)
    if requeued:
        logger.info("Outbox: queued again %s email(s) no worker was sending", len(requeued))
    return requeued
