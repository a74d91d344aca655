"""Sending CSRs to the Technical Account Manager, or recording that the user did it."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
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
from certificates.selectors.threads import Thread, tam_thread
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError
from certificates.services.keys import company_name
from certificates.services.outbox import (
    atomic_keeping_refusals,
    outbound_email_queue,
    refuse_key_material,
)
from certificates.services.requests import request_mark_sent_to_tam

if TYPE_CHECKING:
    from django.contrib.auth.models import User


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


# A few sentences for the TAM ("this replaces the CSR of Monday"), not a document.
TAM_MESSAGE_MAX_LENGTH = 2000
MESSAGE_REFUSED = (
    "Your message carries private-key material, so certdesk refused to send it: nothing was "
    "sent. Write it again without the key, and treat that key as compromised."
)


def tam_message_clean(message: str) -> str:
    """The "Message to your TAM" as it goes into the email, or :class:`ServiceError` on the
    ``message`` field: plain text (line breaks and tabs, no other control character), at most
    :data:`TAM_MESSAGE_MAX_LENGTH` characters. Key material is the outgoing guard's refusal
    (:func:`tam_message_carries_key`)."""
    text = message.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > TAM_MESSAGE_MAX_LENGTH:
        raise ServiceError(
            f"The message is {len(text):,} characters; keep it under "
            f"{TAM_MESSAGE_MAX_LENGTH:,} (a few sentences: the CSR details are in the email "
            "already).",
            field="message",
        )
    if any(
        unicodedata.category(char) in ("Cc", "Cf", "Cs") and char not in "\n\t" for char in text
    ):
        raise ServiceError(
            "The message contains control characters; type it as plain text.", field="message"
        )
    return text


def tam_message_carries_key(message: str) -> bool:
    return crypto.contains_private_key_material(message.encode("utf-8", "replace"))


def tam_email_compose(
    *,
    environment: Environment,
    signing_requests: Sequence[SigningRequest],
    sender: User | None = None,
    message: str = "",
    thread: Thread | None = None,
) -> emails.ComposedEmail:
    """The email a TAM receives: who, which environment and purposes, and the CSR files only.

    Signed by ``sender`` (None: certdesk itself), with the team copied and answers going to
    the sender and the team (``emails.tam_addressing``); ``message``, already cleaned by
    :func:`tam_message_clean`, comes first; ``thread`` makes a resend answer the first email.
    """
    company = company_name()
    purposes = ", ".join(r.get_purpose_display() for r in signing_requests)
    attachments = [
        emails.Attachment(
            filename=crypto.treezor_filename(company, "csr", r.purpose), content=r.csr_pem
        )
        for r in signing_requests
    ]
    signer = emails.sender_of(sender, environment)
    context = {
        "company": company,
        "environment": environment,
        "message": message,
        "signature": signer.signature(company),
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
    thread = thread or Thread()
    addressing = emails.tam_addressing(environment, signer)
    return emails.ComposedEmail(
        to=addressing.to,
        cc=addressing.cc,
        reply_to=addressing.reply_to,
        subject=f"{company}: certificate signing request{'s' if len(attachments) > 1 else ''} "
        f"for Treezor {environment.name} ({purposes})",
        body_text=text,
        body_html=html,
        attachments=attachments,
        in_reply_to=thread.in_reply_to,
        references=thread.references,
    )


def already_sent_message(signing_request: SigningRequest) -> str:
    """Why the send form does not send a sent CSR again: the TAM has it (or was emailed it)."""
    if signing_request.sent_on is not None:
        # Sent by hand: the person gave a day, no hour.
        when = f" on {signing_request.sent_on:%Y-%m-%d}"
    elif signing_request.sent_at is not None:
        when = f" on {timezone.localtime(signing_request.sent_at):%Y-%m-%d %H:%M}"
    else:
        when = ""
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
    message: str,
) -> OutboundEmail:
    actor.require(Action.REQUEST, environment)
    message = tam_message_clean(message)
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
            if tam_message_carries_key(message):
                # The outgoing guard would refuse the whole email; the refusal goes next to the
                # field that carries the key (recorded, never the message itself).
                raise refuse_key_material(
                    MESSAGE_REFUSED,
                    actor=actor,
                    action="email.refused",
                    environment=environment,
                    details={
                        "kind": OutboundEmail.Kind.TAM_CSR,
                        "requests": [r.pk for r in locked],
                        "why": "the message to the TAM carries private-key material",
                    },
                    field="message",
                )
            email = outbound_email_queue(
                actor=actor,
                kind=OutboundEmail.Kind.TAM_CSR,
                composed=tam_email_compose(
                    environment=environment,
                    signing_requests=locked,
                    sender=actor.user,
                    message=message,
                    thread=tam_thread(signing_requests=locked),
                ),
                environment=environment,
                submission_token=submission_token,
                # The outbox links one request; the audit events name every one it carried.
                signing_request=locked[0],
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
    message: str = "",
) -> OutboundEmail:
    """Email ready CSRs to the environment's TAM; they become ``sent``.

    ``message``: the sender's optional "Message to your TAM", first in the body
    (:func:`tam_message_clean`'s rules; private-key material in it is refused on that field).

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
        message=message,
    )


def tam_resend(
    *,
    actor: Actor,
    signing_request: SigningRequest,
    submission_token: uuid.UUID | None = None,
    message: str = "",
) -> OutboundEmail:
    """Email a CSR already sent (or marked sent by hand) to the TAM again, on purpose: audited
    as ``request.resent_to_tam`` with the first date; its ``sent_at`` keeps the first date.
    It answers the first email about the request (``In-Reply-To``, ``References``)."""
    return _send(
        actor=actor,
        environment=signing_request.environment,
        signing_requests=[signing_request],
        submission_token=submission_token,
        resend=True,
        message=message,
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
    # The person gave a day, no hour: ``sent_on`` is what pages show ("sent by hand on
    # 2026-11-30"); ``sent_at`` (noon that day, within the CSR's life) only orders the lists.
    noon = timezone.make_aware(datetime.combine(sent_on, time(12, 0)))
    sent_at = min(max(noon, signing_request.created_at), timezone.now())
    try:
        with transaction.atomic():
            request_mark_sent_to_tam(
                actor=actor,
                signing_requests=[signing_request],
                email=None,
                how="marked by hand",
                sent_at=sent_at,
            )
            SigningRequest.objects.filter(pk=signing_request.pk).update(sent_on=sent_on)
    except ServiceError:
        signing_request.refresh_from_db()
        if signing_request.status == SigningRequest.Status.CANCELLED:
            raise ServiceError(cancelled_message(signing_request)) from None
        raise
    signing_request.refresh_from_db()
    return signing_request
