"""Sending CSRs to the Technical Account Manager, or recording that the user did it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time

from django.db import transaction
from django.utils import timezone

from certificates import crypto, emails
from certificates.models import Environment, OutboundEmail, SigningRequest
from certificates.permissions import Action, require
from certificates.selectors.requests import (
    SENDABLE,
    same_purpose_conflict,
    same_purpose_message,
    stored_subject,
)
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError
from certificates.services.keys import company_name
from certificates.services.outbox import atomic_keeping_refusals, outbound_email_queue


def cancelled_message(signing_request: SigningRequest) -> str:
    """A withdrawn request never goes to Treezor again (issue 11: cancel, then never send)."""
    when = (
        f" on {timezone.localtime(signing_request.cancelled_at):%Y-%m-%d}"
        if signing_request.cancelled_at is not None
        else ""
    )
    return (
        f"Request #{signing_request.pk} was cancelled{when}; it can no longer be sent. "
        "Make a new request."
    )


def tam_email_compose(
    *, environment: Environment, signing_requests: Sequence[SigningRequest]
) -> emails.ComposedEmail:
    """The email a TAM receives: who, which environment and purposes, and the CSR files only."""
    company = company_name()
    purposes = ", ".join(r.get_purpose_display() for r in signing_requests)
    attachments = [
        emails.Attachment(
            filename=crypto.treezor_filename(company, "csr", r.purpose), content=r.csr_pem
        )
        for r in signing_requests
    ]
    context = {
        "company": company,
        "environment": environment,
        "requests": [
            {
                "request": r,
                "filename": attachment.filename,
                "fingerprint": crypto.format_fingerprint(r.key.fingerprint),
                "subject": stored_subject(r),
                "renews": r.renews,
            }
            for r, attachment in zip(signing_requests, attachments, strict=True)
        ],
    }
    text, html = emails.render("tam_csr", context)
    return emails.ComposedEmail(
        to=list(environment.tam_emails),
        subject=f"{company}: certificate signing request{'s' if len(attachments) > 1 else ''} "
        f"for Treezor {environment.name} ({purposes})",
        body_text=text,
        body_html=html,
        attachments=attachments,
    )


def _check_sendable(environment: Environment, signing_requests: Sequence[SigningRequest]) -> None:
    if not environment.tam_emails:
        raise ServiceError(
            f"{environment.name} has no Technical Account Manager address yet; an administrator "
            "adds it in Settings."
        )
    if not signing_requests:
        raise ServiceError("Choose at least one CSR to send.")
    for signing_request in signing_requests:
        if signing_request.environment_id != environment.pk:
            raise ServiceError(f"Request #{signing_request.pk} is not for {environment.name}.")
        if signing_request.status == SigningRequest.Status.CANCELLED:
            raise ServiceError(cancelled_message(signing_request))
        if signing_request.status not in SENDABLE:
            raise ServiceError(
                f"Request #{signing_request.pk} is {signing_request.get_status_display().lower()};"
                " only ready or sent CSRs can be sent to the TAM."
            )
    # One CSR per purpose per email: the same rule as the send page (selectors.requests), held
    # here too so that the command line or a forged POST cannot attach two.
    if (conflict := same_purpose_conflict(signing_requests)) is not None:
        raise ServiceError(same_purpose_message(*conflict))


def tam_send(
    *, actor: Actor, environment: Environment, signing_requests: Sequence[SigningRequest]
) -> OutboundEmail:
    """Email the CSRs to the environment's TAM; they become ``sent`` (a resend is recorded)."""
    if actor.user is not None:
        require(actor.user, Action.REQUEST, environment)
    # A refusal by the outgoing guard rolls the send back and stays in the audit log.
    with atomic_keeping_refusals():
        # Locked so two clicks on "Send" cannot both mark and both email.
        locked = list(
            SigningRequest.objects.select_for_update(of=("self",))
            .select_related("environment", "key", "renews")
            .filter(pk__in=[r.pk for r in signing_requests])
            .order_by("purpose", "pk")
        )
        _check_sendable(environment, locked)
        email = outbound_email_queue(
            actor=actor,
            kind=OutboundEmail.Kind.TAM_CSR,
            composed=tam_email_compose(environment=environment, signing_requests=locked),
            environment=environment,
        )
        now = timezone.now()
        for signing_request in locked:
            resend = signing_request.status == SigningRequest.Status.SENT
            if not resend:
                signing_request.status = SigningRequest.Status.SENT
                signing_request.sent_at = now
                signing_request.save(update_fields=["status", "sent_at", "updated_at"])
            audit_record(
                actor=actor,
                action="request.resent_to_tam" if resend else "request.sent_to_tam",
                target=signing_request,
                environment=environment,
                details={"email": email.pk, "to": list(environment.tam_emails)},
            )
    return email


def request_mark_sent(
    *, actor: Actor, signing_request: SigningRequest, sent_on: date
) -> SigningRequest:
    """Record that the user emailed the CSR to the TAM themselves, on ``sent_on``."""
    environment = signing_request.environment
    if actor.user is not None:
        require(actor.user, Action.REQUEST, environment)
    if signing_request.status == SigningRequest.Status.CANCELLED:
        raise ServiceError(cancelled_message(signing_request))
    today = timezone.localdate()
    if sent_on > today:
        raise ServiceError("The date it was sent cannot be in the future.", field="sent_on")
    if sent_on < timezone.localdate(signing_request.created_at):
        raise ServiceError(
            "The date it was sent cannot be before the CSR was made "
            f"({timezone.localdate(signing_request.created_at):%Y-%m-%d}).",
            field="sent_on",
        )
    if signing_request.status != SigningRequest.Status.READY:
        raise ServiceError(
            f"Request #{signing_request.pk} is {signing_request.get_status_display().lower()}; "
            "only a ready CSR can be marked as sent."
        )
    sent_at = timezone.make_aware(datetime.combine(sent_on, time(12, 0)))
    with transaction.atomic():
        updated = SigningRequest.objects.filter(
            pk=signing_request.pk, status=SigningRequest.Status.READY
        ).update(status=SigningRequest.Status.SENT, sent_at=min(sent_at, timezone.now()))
        if not updated:
            signing_request.refresh_from_db()
            if signing_request.status == SigningRequest.Status.CANCELLED:
                raise ServiceError(cancelled_message(signing_request))
            raise ServiceError(f"Request #{signing_request.pk} changed meanwhile; reload the page.")
        audit_record(
            actor=actor,
            action="request.marked_sent",
            target=signing_request,
            environment=environment,
            details={"sent_on": sent_on.isoformat()},
        )
    signing_request.refresh_from_db()
    return signing_request
