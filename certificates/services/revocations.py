"""Revocations (rule 8): a compromised key is reported to the TAM at once; a certificate no
longer needed can be revoked; Treezor's confirmation is recorded; key material destroyed."""

from __future__ import annotations

from datetime import date, datetime, time

from django.db import transaction
from django.utils import timezone

from certificates import crypto, emails
from certificates.dbfiles import erase_freed_pages
from certificates.models import Certificate, Key, OutboundEmail, Revocation
from certificates.permissions import Action, require
from certificates.selectors.requests import stored_subject
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError
from certificates.services.keys import company_name
from certificates.services.outbox import (
    atomic_keeping_refusals,
    outbound_email_queue,
    refuse_key_material,
)

NOTE_REFUSED = (
    "The note carries private-key material, so certdesk refused it: nothing was recorded or "
    "sent. Write the note again without the key, and treat that key as compromised."
)

NO_LONGER_NEEDED = (
    Revocation.Reason.SUPERSEDED,
    Revocation.Reason.CESSATION_OF_OPERATION,
    Revocation.Reason.OTHER,
)


def _revocation_email(certificate: Certificate, revocation: Revocation) -> emails.ComposedEmail:
    request = certificate.signing_request
    environment = request.environment
    company = company_name()
    urgent = revocation.reason == Revocation.Reason.KEY_COMPROMISE
    context = {
        "company": company,
        "environment": environment,
        "purpose": request.get_purpose_display(),
        "certificate": certificate,
        "serial": certificate.serial,
        "subject": stored_subject(request),
        "certificate_subject": certificate.subject,
        "fingerprint": crypto.format_fingerprint(certificate.fingerprint),
        "key_fingerprint": crypto.format_fingerprint(request.key.fingerprint),
        "not_after": crypto.openssl_date(certificate.not_after),
        "revocation": revocation,
        "urgent": urgent,
    }
    text, html = emails.render("tam_revocation", context)
    prefix = "URGENT: key compromise, revoke" if urgent else "Please revoke"
    return emails.ComposedEmail(
        to=list(environment.tam_emails),
        subject=f"{prefix} {company}'s Treezor {environment.name} {request.get_purpose_display()} "
        f"certificate {certificate.serial}",
        body_text=text,
        body_html=html,
    )


def _open_revocation_check(certificate: Certificate) -> None:
    existing = Revocation.objects.filter(certificate=certificate).first()
    if existing is not None:
        raise ServiceError(
            f"A revocation of this certificate was requested already on "
            f"{existing.requested_at:%Y-%m-%d} ({existing.get_reason_display().lower()})."
        )


def _request_revocation(
    *,
    actor: Actor,
    certificate: Certificate,
    reason: str,
    suspected_since: date | None,
    note: str,
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
            composed=_revocation_email(certificate, revocation),
            environment=environment,
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
    *, actor: Actor, certificate: Certificate, suspected_since: date, note: str = ""
) -> Revocation:
    """Mark the key compromised and the certificate revocation-requested, and email the TAM
    now: the email is queued when this transaction commits, not on the next scheduled scan."""
    environment = certificate.signing_request.environment
    if actor.user is not None:
        require(actor.user, Action.CUSTODY, environment)
    if suspected_since > timezone.localdate():
        raise ServiceError(
            "The compromise cannot be suspected since a future date.", field="suspected_since"
        )
    # A refused note rolls everything back, and its refusal is still recorded.
    with atomic_keeping_refusals():
        _open_revocation_check(certificate)
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
        )
        audit_record(
            actor=actor,
            action="key.compromised",
            target=certificate.signing_request.key,
            environment=environment,
            details={
                "certificate": certificate.pk,
                "key_fingerprint": certificate.signing_request.key.fingerprint,
            },
        )
    return revocation


def revocation_request(
    *, actor: Actor, certificate: Certificate, reason: str, note: str = ""
) -> Revocation:
    """Ask Treezor to revoke a certificate that is no longer needed (superseded, retired)."""
    environment = certificate.signing_request.environment
    if actor.user is not None:
        require(actor.user, Action.CUSTODY, environment)
    if reason not in NO_LONGER_NEEDED:
        raise ServiceError(
            "Choose why the certificate is no longer needed; for a leaked key, report a "
            "compromise instead.",
            field="reason",
        )
    if reason == Revocation.Reason.OTHER and not note.strip():
        raise ServiceError("Say why in the note when the reason is 'other'.", field="note")
    with atomic_keeping_refusals():
        _open_revocation_check(certificate)
        return _request_revocation(
            actor=actor, certificate=certificate, reason=reason, suspected_since=None, note=note
        )


def revocation_confirm(*, actor: Actor, revocation: Revocation, confirmed_on: date) -> Revocation:
    """Record that Treezor confirmed the revocation: the certificate is then revoked."""
    certificate = revocation.certificate
    environment = certificate.signing_request.environment
    if actor.user is not None:
        require(actor.user, Action.CUSTODY, environment)
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
    revocation.refresh_from_db()
    return revocation


def key_destroy(*, actor: Actor, key: Key) -> Key:
    """Erase the encrypted private half of a compromised or revoked key; the row stays, so
    rule 2 still refuses the key if it ever comes back in a CSR."""
    request = key.signing_request
    environment = request.environment
    if actor.user is not None:
        require(actor.user, Action.CUSTODY, environment)
    if key.encrypted_private_key is None:
        raise ServiceError("certdesk holds no private key material for this key.")
    revoked = Revocation.objects.filter(certificate__signing_request=request).exists()
    if key.compromised_at is None and not revoked:
        raise ServiceError(
            "Only the key of a compromised or revoked certificate can be destroyed here; a key "
            "in use would leave its certificate without a key."
        )
    with transaction.atomic():
        Key.objects.filter(pk=key.pk).update(
            encrypted_private_key=None, destroyed_at=timezone.now()
        )
        audit_record(
            actor=actor,
            action="key.destroyed",
            target=key,
            environment=environment,
            details={"key_fingerprint": key.fingerprint},
        )
        # Unrecoverable on this host: SQLite's zeroed pages folded into the file, its log cut.
        transaction.on_commit(erase_freed_pages)
    key.refresh_from_db()
    return key
