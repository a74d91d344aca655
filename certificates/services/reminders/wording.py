"""The scan's words: expiry phrases, labels, links, and why a reminder is skipped."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from certificates.models import Certificate, Environment, Purpose, Reminder, SigningRequest
from certificates.selectors.status import days_left

NO_LONGER_DUE = (
    "no longer due: the certificate was renewed, revoked or superseded, or expired long ago, "
    "before this reminder went out"
)


def expiry_phrase(not_after: datetime, now: datetime) -> str:
    """ "expires in 14 days", "expires today", "expired today", "expired 3 days ago"."""
    if now >= not_after:
        ago = days_left(now, not_after)  # whole days since expiry
        if ago == 0:
            return "expired today"
        return f"expired {ago} day{'s' if ago != 1 else ''} ago"
    left = days_left(not_after, now)
    if left == 0:
        return "expires today"
    return f"expires in {left} day{'s' if left != 1 else ''}"


def purpose_label(purpose: str) -> str:
    return str(Purpose(purpose).label)


def certificate_label(certificate: Certificate) -> str:
    request = certificate.signing_request
    return (
        f"{request.environment.name} {purpose_label(request.purpose)} {request.common_name} "
        f"(certificate #{certificate.pk}, serial {certificate.serial})"
    )


def absolute(path: str) -> str:
    return f"{settings.CERTDESK_SITE_URL}{path}"


def renewal_wizard_url(certificate: Certificate) -> str:
    """The wizard, prefilled to renew ``certificate`` (environment, purpose, subject)."""
    request = certificate.signing_request
    query = urlencode(
        {
            "environment": request.environment.slug,
            "purpose": request.purpose,
            "renews": str(certificate.pk),
        }
    )
    return absolute(f"{reverse('wizard_start')}?{query}")


def no_tam_reason(environment: Environment) -> str:
    return (
        f"{environment.name} has no TAM address; an administrator adds it in Settings, then "
        "the renewal CSR goes from the Send to the TAM page."
    )


def no_owner_reason(environment: Environment) -> str:
    return (
        f"{environment.name} has no requester or custodian with an email address, and no team "
        "address."
    )


def tam_note_for(tam: Reminder | None) -> str:
    """What the owners are told about the TAM's renewal email."""
    if tam is None:
        return ""
    if tam.status in (Reminder.Status.SENT, Reminder.Status.SENDING, Reminder.Status.PENDING):
        asked_on = timezone.localdate(tam.created_at)
        asked = f"certdesk asked the TAM for the renewal on {asked_on:%Y-%m-%d}."
        # A sent TAM row's reason says what the scan did about the renewal request itself.
        return f"{asked} {tam.reason}" if tam.reason else asked
    return f"certdesk could not email the TAM: {tam.reason}"


def tam_row_reason(
    *, prepared: SigningRequest | None, would_prepare: bool, not_prepared: str
) -> str:
    """Kept on the TAM's row, for the owners' reminders (:func:`tam_note_for`) and the audit
    trail: what the scan did (or, in a dry run, would do) about the renewal request."""
    if prepared is not None:
        return (
            f"certdesk prepared renewal request #{prepared.pk} (a new key) and sent its CSR with "
            "that email: the only step left is installing the certificate Treezor sends back."
        )
    if would_prepare:
        return "certdesk would prepare the renewal request (a new key) and send its CSR."
    if not_prepared:
        return f"No renewal request was prepared automatically: {not_prepared}"
    return ""


def tam_report_note(*, attach: SigningRequest | None, prepared: bool, not_prepared: str) -> str:
    """What the report says the TAM's email carried, beside its subject."""
    if prepared and attach is not None:
        return f"prepared renewal request #{attach.pk}, CSR attached"
    if prepared:
        return "would prepare renewal request, CSR attached"
    if attach is not None:
        return f"renewal CSR of request #{attach.pk} attached"
    if not_prepared:
        return f"no renewal request prepared: {not_prepared}"
    return ""
