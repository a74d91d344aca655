"""Export the audit log's signed checkpoint where a database writer cannot rewrite it.

Beat runs :func:`audit_checkpoint_export` on a schedule (CERTDESK_AUDIT_CHECKPOINT_SECONDS,
hourly by default); ``manage.py audit_checkpoint`` runs it at once. Each run writes the
checkpoint to the log stream (logger ``certdesk.audit``, one line) and, when the log changed
since the last checkpoint emailed, emails it through the outbox to the administrators (active
superusers with an address). Hourly emails of an unchanged log would teach people to ignore them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse

from certificates import auditchain, emails
from certificates.models import OutboundEmail
from certificates.services.audit import Actor, audit_checkpoint_sign
from certificates.services.outbox import outbound_email_queue

logger = logging.getLogger("certdesk.audit")


@dataclass(frozen=True)
class CheckpointExport:
    checkpoint: auditchain.Checkpoint
    email: OutboundEmail | None
    recipients: list[str]


def administrator_addresses() -> list[str]:
    """Addresses of the active superusers who have one, in a stable order."""
    addresses = (
        get_user_model()
        .objects.filter(is_superuser=True, is_active=True)
        .exclude(email="")
        .order_by("username")
        .values_list("email", flat=True)
    )
    return list(dict.fromkeys(addresses))


def _last_emailed() -> auditchain.Checkpoint | None:
    body = (
        OutboundEmail.objects.filter(kind=OutboundEmail.Kind.AUDIT_CHECKPOINT)
        .order_by("-id")
        .values_list("body_text", flat=True)
        .first()
    )
    return auditchain.checkpoint_parse(body) if body else None


def audit_checkpoint_export() -> CheckpointExport:
    """Sign a checkpoint, log it, and email it to the administrators when the log changed."""
    checkpoint = audit_checkpoint_sign()
    logger.info("Audit log checkpoint: %s", checkpoint.text)
    recipients = administrator_addresses()
    if not recipients:
        logger.warning(
            "No active administrator has an email address: the audit checkpoint was only logged."
        )
        return CheckpointExport(checkpoint, None, [])
    last = _last_emailed()
    if last is not None and (last.count, last.head) == (checkpoint.count, checkpoint.head):
        return CheckpointExport(checkpoint, None, recipients)
    body_text, body_html = emails.render(
        "audit_checkpoint",
        {
            "checkpoint": checkpoint,
            "at": checkpoint.at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            "audit_url": settings.CERTDESK_SITE_URL + reverse("audit_log"),
        },
    )
    composed = emails.ComposedEmail(
        to=recipients,
        subject=f"certdesk audit log checkpoint: {checkpoint.count} events",
        body_text=body_text,
        body_html=body_html,
    )
    with transaction.atomic():
        email = outbound_email_queue(
            actor=Actor.system("audit checkpoint"),
            kind=OutboundEmail.Kind.AUDIT_CHECKPOINT,
            composed=composed,
        )
    return CheckpointExport(checkpoint, email, recipients)
