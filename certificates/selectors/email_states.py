"""The real state of the emails a page asked for (issue 12, point 10): queued, sent, failed
with the reason, or refused, read from the outbox, never assumed from "we queued it".

A request's CSR emails and a certificate's revocation (and reminder) emails are found through
the audit events that queued them: each records the outbox row's id in ``details["email"]``.
Bodies and attachments are never loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import models

from certificates import crypto
from certificates.models import AuditEvent, OutboundEmail

# The audit actions that queue an email about their target, with the outbox id in details.
QUEUEING_ACTIONS = (
    "request.sent_to_tam",
    "request.resent_to_tam",
    "certificate.revocation_requested",
    "reminder.queued",
)


@dataclass(frozen=True)
class EmailState:
    pk: int
    kind: str
    to: list[str]
    created_at: datetime
    sent_at: datetime | None
    status: str
    # One sentence a user can act on: what happened, and what happens next.
    summary: str
    error: str
    attempts: int


def emails_about(target: models.Model) -> list[EmailState]:
    """The emails queued about ``target`` (a request or a certificate), newest first."""
    details = AuditEvent.objects.filter(
        target_type=target._meta.model_name or "",
        target_id=str(target.pk),
        action__in=QUEUEING_ACTIONS,
    ).values_list("details", flat=True)
    ids = {d["email"] for d in details if isinstance(d, dict) and isinstance(d.get("email"), int)}
    if not ids:
        return []
    rows = (
        OutboundEmail.objects.filter(pk__in=ids)
        .defer("body_text", "body_html", "attachments")
        .order_by("-created_at", "-pk")
    )
    return [_state(email) for email in rows]


def _withheld(text: str) -> str:
    if crypto.contains_private_key_material(text.encode("utf-8", "replace")):
        return "(withheld: it carries private-key material)"
    return text


def _state(email: OutboundEmail) -> EmailState:
    from certificates.services.outbox import MAX_ATTEMPTS

    status = OutboundEmail.Status
    error = _withheld(email.last_error)
    if email.status == status.SENT:
        summary = "Sent: the mail server accepted it."
    elif email.status == status.QUEUED:
        summary = "Queued: not sent yet; a worker sends it shortly."
    elif email.status == status.SENDING:
        summary = "Being sent now."
    elif email.status == status.REFUSED:
        summary = "Not sent: the outgoing guard refused it (it carried private-key material)."
    elif email.attempts >= MAX_ATTEMPTS:
        summary = (
            f"Not sent: certdesk gave up after {email.attempts} attempts. Fix the cause "
            "(administrators: the outbox page) and send it again, or email the TAM yourself."
        )
    else:
        summary = (
            f"Not sent yet: attempt {email.attempts} failed; certdesk tries again automatically."
        )
    return EmailState(
        pk=email.pk,
        kind=email.get_kind_display(),
        to=[str(address) for address in email.to],
        created_at=email.created_at,
        sent_at=email.sent_at,
        status=email.status,
        summary=summary,
        error=error,
        attempts=email.attempts,
    )
