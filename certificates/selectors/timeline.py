"""What happened to a request and its certificates, told from the audit log (issue 11, point 8).

The audit log is the record (append-only, hash-chained); a timeline only reads it. Each page gets
one query whatever the history's length: events are matched on their target (the request, its key,
its certificates) and, where the target is another object, on an id in their details (a renewal
request names the certificate it ``renews``).

Labels are written from a few known detail fields only (ids, dates, a reason, addresses): raw
details are never rendered, and audit details never hold key material anyway (services/audit.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import CharField, Q
from django.db.models.functions import Cast
from django.urls import reverse

from certificates.models import AuditEvent, Certificate, Reminder, Revocation, SigningRequest


@dataclass(frozen=True)
class TimelineEntry:
    """One line of a timeline: when, who, what in plain words, and a link where useful."""

    when: datetime
    who: str
    label: str
    url: str | None
    action: str


# What the audit log calls the command line and certdesk itself, in words for a page.
_ACTOR_NAMES = {"cli": "command line", "system": "certdesk"}

_REVOCATION_REASONS = dict(Revocation.Reason.choices)

_KEY_FORMATS = {"pem": "PKCS#1 PEM", "pkcs12": "PKCS#12 bundle"}

# Shown on the request page; reminders and certificate exports belong to the certificate page.
_CERTIFICATE_ACTIONS_ON_REQUEST_PAGE = (
    "certificate.uploaded",
    "certificate.superseded",
    "certificate.revocation_requested",
    "certificate.revoked",
)


def _id(value: Any) -> int | None:
    """An id from event details, or None for anything else (older events, odd values)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _certificate_url(certificate_id: int | None) -> str | None:
    return reverse("certificate_detail", args=[certificate_id]) if certificate_id else None


def _request_url(request_id: int | None) -> str | None:
    return reverse("request_detail", args=[request_id]) if request_id else None


def _addresses(details: dict[str, Any]) -> str:
    to = details.get("to")
    if isinstance(to, list) and to and all(isinstance(address, str) for address in to):
        return f" (to {', '.join(to)})"
    return ""


def _days(count: Any) -> str:
    if not isinstance(count, int) or isinstance(count, bool):
        return ""
    return f"{count} day{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class _Described:
    label: str
    url: str | None = None


def _request_event(event: AuditEvent, *, here: int | None) -> _Described | None:
    """Events whose target is a signing request (None: not for the certificate ``here``)."""
    details = event.details
    action = event.action
    if action in ("request.created", "request.imported"):
        how = (
            "certdesk generated its key"
            if action == "request.created"
            else "from a CSR brought by the user; certdesk holds only its public key"
        )
        renews = _id(details.get("renews"))
        if renews is None:
            return _Described(f"Request created: {how}")
        return _Described(
            f"Request created to renew certificate #{renews}: {how}", _certificate_url(renews)
        )
    if action in ("request.sent_to_tam", "request.resent_to_tam"):
        again = " again" if action == "request.resent_to_tam" else ""
        renewal_of = _id(details.get("renewal_of"))
        if renewal_of is not None:
            return _Described(
                f"Sent to the TAM{again} by email through certdesk, with the renewal email for "
                f"certificate #{renewal_of}{_addresses(details)}",
                _certificate_url(renewal_of),
            )
        return _Described(f"Sent to the TAM{again} by email through certdesk{_addresses(details)}")
    if action == "request.marked_sent":
        sent_on = _text(details.get("sent_on"))
        return _Described(
            "Marked as sent to the TAM by hand" + (f", sent on {sent_on}" if sent_on else "")
        )
    if action == "request.cancelled":
        reason = _text(details.get("reason"))
        return _Described("Cancelled" + (f": {reason}" if reason else ""))
    if action == "key.exported":
        key_format = _KEY_FORMATS.get(_text(details.get("format")), "")
        label = "Private key downloaded" + (f" ({key_format})" if key_format else "")
        # A PKCS#12 bundle holds one certificate: on another certificate's page it is not news.
        certificate = _id(details.get("certificate"))
        if certificate is None or certificate == here:
            return _Described(label)
        if here is not None:
            return None
        return _Described(f"{label} with certificate #{certificate}", _certificate_url(certificate))
    return _Described(_fallback(action))


def _key_event(event: AuditEvent, *, here: int | None) -> _Described:
    """Events whose target is the request's key."""
    if event.action == "key.compromised":
        certificate = _id(event.details.get("certificate"))
        if certificate is None or certificate == here:
            return _Described("Key reported compromised")
        return _Described(
            f"Key reported compromised (certificate #{certificate})", _certificate_url(certificate)
        )
    if event.action == "key.destroyed":
        return _Described("Private key destroyed: certdesk no longer holds it")
    return _Described(_fallback(event.action))


def _certificate_event(event: AuditEvent, *, here: int | None) -> _Described:
    """Events whose target is a certificate; ``here`` is the certificate whose page this is
    (its own events read "Replaced by …"), None on the request page ("Certificate #5 …")."""
    details = event.details
    action = event.action
    target = _id(event.target_id)
    this = target is not None and target == here
    name = "" if this else f"Certificate #{target}"
    own_url = None if this else _certificate_url(target)
    if action == "certificate.uploaded":
        replaces = _id(details.get("replaces"))
        replacing = f", replacing certificate #{replaces}" if replaces is not None else ""
        if this:
            return _Described(f"Received and installed{replacing}", _certificate_url(replaces))
        return _Described(f"{name} received and installed{replacing}", own_url)
    if action == "certificate.superseded":
        by = _id(details.get("by"))
        by_text = f" by certificate #{by}" if by is not None else ""
        return _Described(
            f"{name} replaced{by_text}" if name else f"Replaced{by_text}", _certificate_url(by)
        )
    if action == "certificate.revocation_requested":
        code = _text(details.get("reason"))
        reason = str(_REVOCATION_REASONS.get(code, code.replace("_", " "))).lower()
        emailed = (
            "; the TAM was emailed"
            if details.get("email") is not None
            else "; no TAM address, so nobody was emailed"
        )
        what = f"Revocation of certificate #{target} requested" if name else "Revocation requested"
        return _Described(what + (f" ({reason})" if reason else "") + emailed, own_url)
    if action == "certificate.revoked":
        confirmed_on = _text(details.get("confirmed_on"))
        when = f": Treezor confirmed it on {confirmed_on}" if confirmed_on else ""
        return _Described((f"{name} revoked" if name else "Revoked") + when, own_url)
    if action == "certificate.exported":
        return _Described("Certificate written to files from the command line", own_url)
    if action == "reminder.queued":
        days = _days(details.get("threshold_days"))
        if details.get("kind") == Reminder.Kind.TAM_RENEWAL:
            ahead = f", {days} before expiry" if days else ""
            return _Described(f"Renewal email to the TAM queued{ahead}", own_url)
        left = f": {days} left" if days else ""
        return _Described(f"Reminder to the owners queued{left}", own_url)
    return _Described(_fallback(action), own_url)


def _fallback(action: str) -> str:
    """An action this module has no words for yet: its name, readable (never its details)."""
    return action.replace(".", " ").replace("_", " ").capitalize()


def _entries(
    events: Iterable[AuditEvent], describe: Callable[[AuditEvent], _Described | None]
) -> list[TimelineEntry]:
    entries = []
    for event in events:
        described = describe(event)
        if described is None:
            continue
        entries.append(
            TimelineEntry(
                when=event.created_at,
                who=_ACTOR_NAMES.get(event.actor_label, event.actor_label),
                label=described.label,
                url=described.url,
                action=event.action,
            )
        )
    return entries


def _describe_for(*, here: int | None) -> Callable[[AuditEvent], _Described | None]:
    def describe(event: AuditEvent) -> _Described | None:
        if event.target_type == "certificate":
            return _certificate_event(event, here=here)
        if event.target_type == "key":
            return _key_event(event, here=here)
        return _request_event(event, here=here)

    return describe


def _oldest_first(condition: Q) -> Iterable[AuditEvent]:
    return AuditEvent.objects.filter(condition).order_by("created_at", "id")


def request_timeline(signing_request: SigningRequest) -> list[TimelineEntry]:
    """What happened to a request, its key and its certificates, oldest first (one query)."""
    certificate_ids = (
        Certificate.objects.filter(signing_request_id=signing_request.pk)
        .annotate(target=Cast("pk", output_field=CharField()))
        .values("target")
    )
    condition = (
        Q(target_type="signingrequest", target_id=str(signing_request.pk))
        | Q(target_type="key", target_id=str(signing_request.key_id))
        | Q(
            target_type="certificate",
            target_id__in=certificate_ids,
            action__in=_CERTIFICATE_ACTIONS_ON_REQUEST_PAGE,
        )
    )
    return _entries(_oldest_first(condition), _describe_for(here=None))


def certificate_timeline(certificate: Certificate) -> list[TimelineEntry]:
    """What happened to a certificate and its key, its reminders and renewal requests, oldest
    first (one query; the request's own history is on the request page)."""
    signing_request_id = certificate.signing_request_id
    key_ids = (
        SigningRequest.objects.filter(pk=signing_request_id)
        .annotate(target=Cast("key_id", output_field=CharField()))
        .values("target")
    )
    condition = (
        Q(target_type="certificate", target_id=str(certificate.pk))
        | Q(target_type="key", target_id__in=key_ids)
        | Q(
            target_type="signingrequest",
            target_id=str(signing_request_id),
            action="key.exported",
        )
        | Q(action__in=("request.created", "request.imported"), details__renews=certificate.pk)
    )
    describe_here = _describe_for(here=certificate.pk)

    def describe(event: AuditEvent) -> _Described | None:
        # A renewal request of this certificate: its page is the request's.
        if event.target_type == "signingrequest" and event.action != "key.exported":
            request_id = _id(event.target_id)
            return _Described(f"Renewal request #{request_id} created", _request_url(request_id))
        return describe_here(event)

    return _entries(_oldest_first(condition), describe)
