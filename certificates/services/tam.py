"""Sending CSRs to the Technical Account Manager, or recording that the user did it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime, time

from django.db import IntegrityError
from django.utils import timezone

from certificates import crypto, emails
from certificates.models import Environment, OutboundEmail, SigningRequest
from certificates.permissions import Action
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
from certificates.services.requests import request_mark_sent_to_tam


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


def already_sent_message(signing_request: SigningRequest) -> str:
    """Why the send form does not send a sent CSR again: the TAM has it (or was emailed it)."""
    when = (
        f" on {timezone.localtime(signing_request.sent_at):%Y-%m-%d %H:%M}"
        if signing_request.sent_at is not None
        else ""
    )
    return (
        f"Request #{signing_request.pk} was sent to the TAM already{when}. To send it again, "
        'use "Resend to the TAM" on the request\'s page.'
    )


def _check_sendable(
    environment: Environment, signing_requests: Sequence[SigningRequest], *, resend: bool = False
) -> None:
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
        # Issue 13: a sent CSR goes again only through the explicit resend (tam_resend).
        if signing_request.status == SigningRequest.Status.SENT and not resend:
            raise ServiceError(already_sent_message(signing_request))
        if signing_request.status == SigningRequest.Status.READY and resend:
            raise ServiceError(
                f"Request #{signing_request.pk} was never sent to the TAM; send it first."
            )
    # One CSR per purpose per email: the same rule as the send page (selectors.requests), held
    # here too so that the command line or a forged POST cannot attach two.
    if (conflict := same_purpose_conflict(signing_requests)) is not None:
        raise ServiceError(same_purpose_message(*conflict))


def email_of_submission(submission_token: uuid.UUID | None) -> OutboundEmail | None:
    """The email a form with this one-time token sent already, if any."""
    if submission_token is None:
        return None
    return OutboundEmail.objects.filter(submission_token=submission_token).first()


def _first_result(submission_token: uuid.UUID | None, kind: str) -> OutboundEmail | None:
    existing = email_of_submission(submission_token)
    if existing is not None and existing.kind != kind:
        raise ServiceError("This form was used for another email already; reload the page.")
    return existing


def _send(
    *,
    actor: Actor,
    environment: Environment,
    signing_requests: Sequence[SigningRequest],
    submission_token: uuid.UUID | None,
    resend: bool,
) -> OutboundEmail:
    actor.require(Action.REQUEST, environment)
    # A repeated submission of one form (double click, a retry) finds the first one's email.
    if (existing := _first_result(submission_token, OutboundEmail.Kind.TAM_CSR)) is not None:
        return existing
    try:
        # A refusal by the outgoing guard rolls the send back and stays in the audit log.
        with atomic_keeping_refusals():
            # Locked so two clicks on "Send" cannot both mark and both email: the second waits
            # here, then finds the first one's email (same token) or the CSRs sent (refused).
            locked = list(
                SigningRequest.objects.select_for_update(of=("self",))
                .select_related("environment", "key", "renews")
                .filter(pk__in=[r.pk for r in signing_requests])
                .order_by("purpose", "pk")
            )
            if (
                existing := _first_result(submission_token, OutboundEmail.Kind.TAM_CSR)
            ) is not None:
                return existing
            _check_sendable(environment, locked, resend=resend)
            email = outbound_email_queue(
                actor=actor,
                kind=OutboundEmail.Kind.TAM_CSR,
                composed=tam_email_compose(environment=environment, signing_requests=locked),
                environment=environment,
                submission_token=submission_token,
            )
            if not resend:
                request_mark_sent_to_tam(
                    actor=actor,
                    signing_requests=locked,
                    email=email,
                    how="send to the TAM",
                    sent_at=timezone.now(),
                )
                return email
            for signing_request in locked:
                details: dict[str, object] = {"email": email.pk, "to": list(email.to)}
                if signing_request.sent_at is not None:
                    details["first_sent_at"] = signing_request.sent_at.isoformat()
                audit_record(
                    actor=actor,
                    action="request.resent_to_tam",
                    target=signing_request,
                    environment=environment,
                    details=details,
                )
    except IntegrityError:
        # The same token stored meanwhile by a parallel submission (the unique constraint let
        # one through): that one's email is the answer.
        if (existing := email_of_submission(submission_token)) is not None:
            return existing
        raise
    return email


def tam_send(
    *,
    actor: Actor,
    environment: Environment,
    signing_requests: Sequence[SigningRequest],
    submission_token: uuid.UUID | None = None,
) -> OutboundEmail:
    """Email ready CSRs to the environment's TAM; they become ``sent``.

    One click, one email (issue 13): with the form's ``submission_token``, a second submission
    returns the first one's email and sends nothing; a CSR already sent is refused (the TAM has
    it): sending it again is :func:`tam_resend`, an explicit, separately audited action.
    """
    return _send(
        actor=actor,
        environment=environment,
        signing_requests=signing_requests,
        submission_token=submission_token,
        resend=False,
    )


def tam_resend(
    *, actor: Actor, signing_request: SigningRequest, submission_token: uuid.UUID | None = None
) -> OutboundEmail:
    """Email a CSR already sent (or marked sent by hand) to the TAM again, on purpose: audited
    as ``request.resent_to_tam`` with the first date; its ``sent_at`` keeps the first date."""
    return _send(
        actor=actor,
        environment=signing_request.environment,
        signing_requests=[signing_request],
        submission_token=submission_token,
        resend=True,
    )


def request_mark_sent(
    *, actor: Actor, signing_request: SigningRequest, sent_on: date
) -> SigningRequest:
    """Record that the user emailed the CSR to the TAM themselves, on ``sent_on``."""
    environment = signing_request.environment
    actor.require(Action.REQUEST, environment)
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
    try:
        request_mark_sent_to_tam(
            actor=actor,
            signing_requests=[signing_request],
            email=None,
            how="marked by hand",
            sent_at=min(sent_at, timezone.now()),
        )
    except ServiceError:
        signing_request.refresh_from_db()
        if signing_request.status == SigningRequest.Status.CANCELLED:
            raise ServiceError(cancelled_message(signing_request)) from None
        raise
    signing_request.refresh_from_db()
    return signing_request
