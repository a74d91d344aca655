"""Revocations (rule 8): a compromised key is reported to the TAM at once; a certificate no
longer needed can be revoked; Treezor's confirmation is recorded; key material destroyed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from certificates import crypto, emails
from certificates.models import Certificate, Key, OutboundEmail, Revocation
from certificates.permissions import Action
from certificates.selectors.notices import compromise_notice_recipients
from certificates.selectors.requests import stored_subject
from certificates.selectors.threads import tam_thread
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError
from certificates.services.keys import company_name
from certificates.services.notifications import notify_compromise, notify_revocation_confirmed
from certificates.services.outbox import (
    atomic_keeping_refusals,
    outbound_email_queue,
    refuse_key_material,
)
from certificates.services.reminders.wording import absolute, renewal_wizard_url

if TYPE_CHECKING:
    from django.contrib.auth.models import User

NOTE_REFUSED = (
    "The note carries private-key material, so certdesk refused it: nothing was recorded or "
    "sent. Write the note again without the key, and treat that key as compromised."
)

NO_LONGER_NEEDED = (
    Revocation.Reason.SUPERSEDED,
    Revocation.Reason.CESSATION_OF_OPERATION,
    Revocation.Reason.OTHER,
)


def _revocation_email(
    certificate: Certificate, revocation: Revocation, sender: User | None
) -> emails.ComposedEmail:
    """The TAM's revocation request, signed by ``sender`` and answering the first email about
    the certificate (its CSR's, the renewal request's)."""
    request = certificate.signing_request
    environment = request.environment
    company = company_name()
    urgent = revocation.reason == Revocation.Reason.KEY_COMPROMISE
    signer = emails.sender_of(sender, environment)
    thread = tam_thread(certificates=[certificate])
    context = {
        "signature": signer.signature(company),
        "company": company,
        "environment": environment,
        "purpose": request.get_purpose_display(),
        "certificate": certificate,
        "serial": certificate.serial,
        "subject": stored_subject(request),
        "certificate_subject": crypto.human_subject(certificate.subject),  # UTF-8 (issue 16)
        "fingerprint": crypto.format_fingerprint(certificate.fingerprint),
        "key_fingerprint": crypto.format_fingerprint(request.key.fingerprint),
        "not_after": crypto.openssl_date(certificate.not_after),
        "revocation": revocation,
        "urgent": urgent,
    }
    text, html = emails.render("tam_revocation", context)
    prefix = "URGENT: key compromise, revoke" if urgent else "Please revoke"
    addressing = emails.tam_addressing(environment, signer)
    return emails.ComposedEmail(
        to=addressing.to,
        cc=addressing.cc,
        reply_to=addressing.reply_to,
        subject=f"{prefix} {company}'s Treezor {environment.name} {request.get_purpose_display()} "
        f"certificate {certificate.serial}",
        body_text=text,
        body_html=html,
        in_reply_to=thread.in_reply_to,
        references=thread.references,
    )


def _reporter(actor: Actor) -> str:
    """Who reported, as the team knows them: a person's name and address, else the origin."""
    user = actor.user
    if user is None:
        return "The server operator (command line)" if actor.label == "cli" else "certdesk"
    name = " ".join(p for p in (user.first_name.strip(), user.last_name.strip()) if p)
    name = name or user.get_username()
    return f"{name} ({user.email})" if user.email else name


def _compromise_notice(
    *, actor: Actor, certificate: Certificate, revocation: Revocation
) -> OutboundEmail | None:
    """Tell the environment's custodians and team addresses at once (issue 16): what happened,
    who reported it, what certdesk did, what is left; never the key. None: nobody to tell."""
    request = certificate.signing_request
    environment = request.environment
    recipients = compromise_notice_recipients(environment)
    if not recipients:
        return None
    company = company_name()
    context = {
        "company": company,
        "environment": environment,
        "purpose": request.get_purpose_display(),
        "common_name": request.common_name,
        "certificate": certificate,
        "fingerprint": crypto.format_fingerprint(certificate.fingerprint),
        "not_after": crypto.openssl_date(certificate.not_after),
        "revocation": revocation,
        "reporter": _reporter(actor),
        "reported_at": f"{timezone.localtime(revocation.requested_at):%Y-%m-%d %H:%M %Z}",
        "tam_emailed": revocation.tam_notified_at is not None,
        "tam": list(environment.tam_emails),
        "replacement_url": renewal_wizard_url(certificate),
        "certificate_url": absolute(reverse("certificate_detail", args=[certificate.pk])),
    }
    text, html = emails.render("compromise_notice", context)
    return outbound_email_queue(
        actor=actor,
        kind=OutboundEmail.Kind.COMPROMISE_NOTICE,
        composed=emails.ComposedEmail(
            to=recipients,
            subject=f"Key compromise reported: Treezor {environment.name} "
            f"{request.get_purpose_display()} certificate {certificate.serial} "
            f"({request.common_name})"[:255],
            body_text=text,
            body_html=html,
        ),
        environment=environment,
        certificate=certificate,
    )


class AlreadyRequested(ServiceError):
    """The certificate has a revocation already (a second report, another tab, a colleague)."""


def _already_requested(existing: Revocation) -> AlreadyRequested:
    when = f"{timezone.localtime(existing.requested_at):%Y-%m-%d %H:%M}"
    by = f" by {existing.requested_by.get_username()}" if existing.requested_by else ""
    if existing.reason == Revocation.Reason.KEY_COMPROMISE:
        return AlreadyRequested(
            f"This key was already reported compromised on {when}{by}; the TAM was asked then "
            "to revoke the certificate (its page shows that email). Nothing more was sent."
        )
    return AlreadyRequested(
        f"A revocation of this certificate was requested already on {when}{by} "
        f"({existing.get_reason_display().lower()}). Nothing more was sent."
    )


def _open_revocation_check(certificate: Certificate) -> None:
    """Inside the caller's transaction: the certificate row is locked first, so of two reports
    at once the second waits, then finds the first one's revocation ("already reported")
    instead of hitting the one-revocation-per-certificate constraint (a 500 before issue 13)."""
    Certificate.objects.select_for_update().filter(pk=certificate.pk).values_list("pk").first()
    existing = (
        Revocation.objects.select_related("requested_by").filter(certificate=certificate).first()
    )
    if existing is not None:
        raise _already_requested(existing)


def _revocation_of_submission(
    certificate: Certificate, submission_token: uuid.UUID | None
) -> Revocation | None:
    """The revocation a form with this one-time token made already (its email carries it)."""
    if submission_token is None:
        return None
    if not OutboundEmail.objects.filter(
        submission_token=submission_token, kind=OutboundEmail.Kind.TAM_REVOCATION
    ).exists():
        return None
    return Revocation.objects.filter(certificate=certificate).first()


@contextmanager
def _one_revocation(certificate: Certificate) -> Iterator[None]:
    """The constraint as the last word: a revocation stored meanwhile is "already reported"."""
    try:
        yield
    except IntegrityError:
        existing = (
            Revocation.objects.select_related("requested_by")
            .filter(certificate=certificate)
            .first()
        )
        if existing is None:
            raise
        raise _already_requested(existing) from None


def _request_revocation(
    *,
    actor: Actor,
    certificate: Certificate,
    reason: str,
    suspected_since: date | None,
    note: str,
    submission_token: uuid.UUID | None = None,
) -> Revocation:
    environment = certificate.signing_request.environment
    if not environment.tam_emails and crypto.contains_private_key_material(
        note.encode("utf-8", "replace")
    ):
        # With a TAM address the outgoing guard refuses the email (``email.refused``); without
        # one the note would still be stored, so it is refused here the same way.
        raise refuse_key_material(
            NOTE_REFUSED,
            actor=actor,
            action="revocation.note_refused",
            environment=environment,
            details={"serial": certificate.serial, "reason": reason},
            field="note",
        )
    revocation = Revocation.objects.create(
        certificate=certificate,
        reason=reason,
        suspected_since=suspected_since,
        note=note,
        requested_by=actor.user,
    )
    if environment.tam_emails:
        email = outbound_email_queue(
            actor=actor,
            kind=OutboundEmail.Kind.TAM_REVOCATION,
            composed=_revocation_email(certificate, revocation, actor.user),
            environment=environment,
            submission_token=submission_token,
            certificate=certificate,
        )
        revocation.tam_notified_at = timezone.now()
        revocation.save(update_fields=["tam_notified_at"])
        email_id: int | None = email.pk
    else:
        email_id = None
    audit_record(
        actor=actor,
        action="certificate.revocation_requested",
        target=certificate,
        environment=environment,
        details={
            "reason": reason,
            "suspected_since": suspected_since.isoformat() if suspected_since else None,
            "serial": certificate.serial,
            "email": email_id,
        },
    )
    return revocation


def revocation_report_compromise(
    *,
    actor: Actor,
    certificate: Certificate,
    suspected_since: date,
    note: str = "",
    submission_token: uuid.UUID | None = None,
) -> Revocation:
    """Mark the key compromised and the certificate revocation-requested, and email the TAM
    now: the email is queued when this transaction commits, not on the next scheduled scan.

    Once only (issue 13): with the form's ``submission_token`` a repeated submission returns
    the first one's revocation and sends nothing; any other second report (another tab, a
    colleague at the same moment) is refused as "already reported"."""
    environment = certificate.signing_request.environment
    actor.require(Action.CUSTODY, environment)
    if suspected_since > timezone.localdate():
        raise ServiceError(
            "The compromise cannot be suspected since a future date.", field="suspected_since"
        )
    if (first := _revocation_of_submission(certificate, submission_token)) is not None:
        return first
    # A refused note rolls everything back, and its refusal is still recorded.
    with _one_revocation(certificate), atomic_keeping_refusals():
        try:
            _open_revocation_check(certificate)
        except AlreadyRequested:
            # The same form again, which waited on the lock: the first one's revocation.
            if (first := _revocation_of_submission(certificate, submission_token)) is not None:
                return first
            raise
        now = timezone.now()
        Key.objects.filter(
            pk=certificate.signing_request.key_id, compromised_at__isnull=True
        ).update(compromised_at=now)
        revocation = _request_revocation(
            actor=actor,
            certificate=certificate,
            reason=Revocation.Reason.KEY_COMPROMISE,
            suspected_since=suspected_since,
            note=note,
            submission_token=submission_token,
        )
        notice = _compromise_notice(actor=actor, certificate=certificate, revocation=revocation)
        audit_record(
            actor=actor,
            action="key.compromised",
            target=certificate.signing_request.key,
            environment=environment,
            details={
                "certificate": certificate.pk,
                "key_fingerprint": certificate.signing_request.key.fingerprint,
                # The custodians and team addresses told at once (None: nobody to tell).
                "notice": notice.pk if notice is not None else None,
                "notice_to": list(notice.to) if notice is not None else [],
            },
        )
        notify_compromise(actor=actor, certificate=certificate, revocation=revocation)
    return revocation


def revocation_request(
    *, actor: Actor, certificate: Certificate, reason: str, note: str = ""
) -> Revocation:
    """Ask Treezor to revoke a certificate that is no longer needed (superseded, retired)."""
    environment = certificate.signing_request.environment
    actor.require(Action.CUSTODY, environment)
    if reason not in NO_LONGER_NEEDED:
        raise ServiceError(
            "Choose why the certificate is no longer needed; for a leaked key, report a "
            "compromise instead.",
            field="reason",
        )
    if reason == Revocation.Reason.OTHER and not note.strip():
        raise ServiceError("Say why in the note when the reason is 'other'.", field="note")
    with _one_revocation(certificate), atomic_keeping_refusals():
        _open_revocation_check(certificate)
        return _request_revocation(
            actor=actor, certificate=certificate, reason=reason, suspected_since=None, note=note
        )


def revocation_confirm(*, actor: Actor, revocation: Revocation, confirmed_on: date) -> Revocation:
    """Record that Treezor confirmed the revocation: the certificate is then revoked."""
    certificate = revocation.certificate
    environment = certificate.signing_request.environment
    actor.require(Action.CUSTODY, environment)
    if confirmed_on > timezone.localdate():
        raise ServiceError("The confirmation date cannot be in the future.", field="confirmed_on")
    if confirmed_on < timezone.localdate(revocation.requested_at):
        raise ServiceError(
            "Treezor cannot have confirmed before the revocation was requested "
            f"({timezone.localdate(revocation.requested_at):%Y-%m-%d}).",
            field="confirmed_on",
        )
    confirmed_at = min(
        timezone.now(), timezone.make_aware(datetime.combine(confirmed_on, time(12)))
    )
    with transaction.atomic():
        updated = Revocation.objects.filter(pk=revocation.pk, confirmed_at__isnull=True).update(
            confirmed_at=confirmed_at
        )
        if not updated:
            raise ServiceError("This revocation was confirmed already.")
        audit_record(
            actor=actor,
            action="certificate.revoked",
            target=certificate,
            environment=environment,
            details={"confirmed_on": confirmed_on.isoformat(), "serial": certificate.serial},
        )
        notify_revocation_confirmed(actor=actor, revocation=revocation, confirmed_on=confirmed_on)
    revocation.refresh_from_db()
    return revocation
