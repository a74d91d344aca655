"""The real state of the emails a page asked for (issue 12, point 10): queued, sent, failed
with the reason, or refused, read from the outbox, never assumed from "we queued it".

A request's CSR emails and a certificate's revocation (and reminder) emails are found through
the audit events that queued them: each records the outbox row's id in ``details["email"]``.
Bodies and attachments are never loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import models
from django.utils import timezone

from certificates import crypto
from certificates.models import AuditEvent, OutboundEmail, SigningRequest
from certificates.outbox_policy import MAX_ATTEMPTS, TAM_KINDS

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
    # Set when the email finally failed (given up or refused): the sender was told (issue 13).
    given_up: bool = False

    @property
    def state(self) -> str:
        """One word for short places (the dashboard, a list): queued, sending, sent, retrying,
        failed (given up for good) or refused."""
        if self.status == OutboundEmail.Status.FAILED:
            return "failed" if self.given_up else "retrying"
        return self.status


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
        given_up=email.status == status.FAILED and email.attempts >= MAX_ATTEMPTS,
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


TAM_SEND_ACTIONS = ("request.sent_to_tam", "request.resent_to_tam")


def latest_tam_emails(signing_requests: Iterable[SigningRequest]) -> dict[int, EmailState]:
    """Each request's newest CSR email to the TAM, by request id, in two queries whatever the
    number of requests (the dashboard's count stays constant). A request marked sent by hand
    has none: it is absent from the answer."""
    targets = {str(r.pk): r.pk for r in signing_requests}
    if not targets:
        return {}
    email_ids: dict[int, set[int]] = {}
    for target_id, details in AuditEvent.objects.filter(
        target_type=SigningRequest._meta.model_name or "",
        target_id__in=list(targets),
        action__in=TAM_SEND_ACTIONS,
    ).values_list("target_id", "details"):
        if isinstance(details, dict) and isinstance(details.get("email"), int):
            email_ids.setdefault(targets[target_id], set()).add(details["email"])
    every_id = set().union(*email_ids.values()) if email_ids else set()
    if not every_id:
        return {}
    states = {
        email.pk: _state(email)
        for email in OutboundEmail.objects.filter(pk__in=every_id).defer(
            "body_text", "body_html", "attachments"
        )
    }
    latest: dict[int, EmailState] = {}
    for request_id, ids in email_ids.items():
        found = [states[i] for i in ids if i in states]
        if found:
            latest[request_id] = max(found, key=lambda state: (state.created_at, state.pk))
    return latest


# How long a failed TAM email stays in its sender's "failed emails" notice on the dashboard.
FAILED_NOTICE_DAYS = 30


def failed_emails_of(user: object, *, now: datetime | None = None) -> list[EmailState]:
    """The TAM emails ``user`` asked for that failed (retrying, given up, or refused) in the
    last :data:`FAILED_NOTICE_DAYS` days, newest first: the dashboard's notice for the sender."""
    if not isinstance(user, get_user_model()) or user.pk is None:
        return []
    now = now or timezone.now()
    rows = (
        OutboundEmail.objects.filter(
            created_by=user,
            kind__in=TAM_KINDS,
            status__in=[OutboundEmail.Status.FAILED, OutboundEmail.Status.REFUSED],
            created_at__gte=now - timedelta(days=FAILED_NOTICE_DAYS),
        )
        .defer("body_text", "body_html", "attachments")
        .order_by("-created_at", "-pk")
    )
    return [_state(email) for email in rows]
