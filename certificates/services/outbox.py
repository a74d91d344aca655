"""The outbox: an email is a row first, then a worker claims it once and sends it."""

from __future__ import annotations

import logging

from django.core.mail import get_connection
from django.db import transaction
from django.utils import timezone

from certificates import emails
from certificates.models import Environment, OutboundEmail
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError

logger = logging.getLogger(__name__)


def outbound_email_queue(
    *,
    actor: Actor,
    kind: str,
    composed: emails.ComposedEmail,
    environment: Environment | None = None,
) -> OutboundEmail:
    """Store the email and queue its sending once the caller's transaction commits.

    Refused here already when it carries key material, so a refusal is an error the user sees,
    not a silent failure in a worker.
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
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="email.refused",
                environment=environment,
                details={
                    "subject": emails.loggable_subject(composed.subject),
                    "to": composed.to,
                },
            )
        raise ServiceError(
            "This email would carry private-key material, so certdesk refused to send it. "
            "Only CSRs and certificates are ever emailed."
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
    from certificates.tasks import send_outbound_email

    transaction.on_commit(lambda: send_outbound_email.delay(email.pk))
    return email


def outbound_email_deliver(*, email_id: int) -> str:
    """Claim the row, send it outside any transaction, record the outcome; returns the status.

    The claim (``select_for_update(skip_locked=True)``) lets exactly one worker send a queued or
    failed email; a second worker finds nothing to claim and returns.
    """
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(skip_locked=True)
            .filter(
                pk=email_id, status__in=[OutboundEmail.Status.QUEUED, OutboundEmail.Status.FAILED]
            )
            .first()
        )
        if email is None:
            return "not claimed"
        email.status = OutboundEmail.Status.SENDING
        email.attempts += 1
        email.sending_started_at = timezone.now()
        email.save(update_fields=["status", "attempts", "sending_started_at"])

    message = emails.build_message(
        to=list(email.to),
        subject=email.subject,
        body_text=email.body_text,
        body_html=email.body_html,
        attachments=list(email.attachments),
        message_id=emails.message_id_for(email.pk),
    )
    if emails.carries_private_key(message):
        OutboundEmail.objects.filter(pk=email.pk).update(
            status=OutboundEmail.Status.REFUSED,
            last_error="Refused by the outgoing guard: it carries private-key material.",
        )
        with transaction.atomic():
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
        OutboundEmail.objects.filter(pk=email.pk).update(
            status=OutboundEmail.Status.FAILED, last_error=f"{type(error).__name__}: {error}"[:1000]
        )
        logger.warning("Sending outbox email %s failed: %s", email.pk, type(error).__name__)
        raise
    OutboundEmail.objects.filter(pk=email.pk).update(
        status=OutboundEmail.Status.SENT, sent_at=timezone.now(), last_error=""
    )
    return OutboundEmail.Status.SENT
