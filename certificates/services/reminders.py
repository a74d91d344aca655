"""The expiry scan: the TAM's renewal email a month ahead, the owners' reminders at each threshold.

Exactly once (rule 9), in three steps:

1. **Select** the candidates and their recorded reminders (one query each, whatever the count:
   :func:`certificates.selectors.reminders.reminder_candidates`) and work out, in Python, which
   reminder rows are missing (:func:`~certificates.selectors.reminders.reminders_due`).
2. **Insert** them all, ``pending``, in one ``bulk_create(ignore_conflicts=True)``. The unique
   constraints make an insert that another scan got to first a no-op, so a (certificate, kind,
   threshold) has one row for ever, and a row exists before its email does (django-ca records
   after sending, without a constraint: two runs send twice).
3. **Claim** each ``pending`` row in its own transaction (``select_for_update(skip_locked=True)``
   and still ``pending``): of two scans only the one holding the row sees it pending, and only
   it decides, so each scan reports exactly what it did. Then either ``skipped`` with the reason
   (a tighter threshold is due: one catch-up email, not a burst; nobody to email; the
   certificate stopped needing it since), or compose the email, store it in the outbox (which
   queues the Celery task on commit) and mark the row ``sending``. A row left ``pending`` by a
   scan that died between 2 and 3 is decided by the next one.

Finally the scan queues again the outbox emails no worker is going to send by itself (see
:func:`certificates.services.outbox.outbound_email_requeue_stale`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from certificates import crypto, emails
from certificates.models import (
    Certificate,
    Environment,
    Membership,
    OutboundEmail,
    Purpose,
    Reminder,
    Role,
    SigningRequest,
)
from certificates.selectors.reminders import (
    DueReminder,
    days_left,
    needing_new_rows,
    reminder_candidates,
    reminders_due,
    tightest_due_threshold,
)
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError
from certificates.services.keys import company_name
from certificates.services.outbox import outbound_email_queue, outbound_email_requeue_stale

logger = logging.getLogger(__name__)

SYSTEM = Actor(label="expiry scan")
OWNER_ROLES = (Role.REQUESTER, Role.CUSTODIAN)


# --- the report --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderOutcome:
    """What the scan did (or, in a dry run, would do) with one reminder."""

    certificate_id: int
    certificate_label: str
    kind: str
    threshold_days: int
    status: str  # queued | skipped | failed | would send | would skip
    to: tuple[str, ...] = ()
    subject: str = ""
    reason: str = ""
    email_id: int | None = None

    def line(self) -> str:
        what = "TAM renewal" if self.kind == Reminder.Kind.TAM_RENEWAL else "owner reminder"
        head = f"{self.status}: {what} ({self.threshold_days} days), {self.certificate_label}"
        if self.to:
            head += f" -> {', '.join(self.to)}: {self.subject!r}"
        if self.email_id is not None:
            head += f" [outbox #{self.email_id}]"
        if self.reason:
            head += f" ({self.reason})"
        return head


@dataclass
class ScanReport:
    now: datetime
    dry_run: bool
    candidates: int = 0
    outcomes: list[ReminderOutcome] = field(default_factory=list)
    requeued_emails: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def summary(self) -> dict[str, Any]:
        """JSON-friendly, for the Celery result and logs."""
        return {
            "now": self.now.isoformat(),
            "dry_run": self.dry_run,
            "candidates": self.candidates,
            "queued": self.count("queued"),
            "skipped": self.count("skipped"),
            "failed": self.count("failed"),
            "would_send": self.count("would send"),
            "requeued_emails": len(self.requeued_emails),
            "errors": len(self.errors),
        }

    def lines(self) -> list[str]:
        lines = [o.line() for o in self.outcomes]
        lines += [f"queued again: outbox #{pk}" for pk in self.requeued_emails]
        lines += [f"error: {e}" for e in self.errors]
        return lines


# --- wording -----------------------------------------------------------------------------------


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


def _purpose_label(purpose: str) -> str:
    return str(Purpose(purpose).label)


def certificate_label(certificate: Certificate) -> str:
    request = certificate.signing_request
    return (
        f"{request.environment.name} {_purpose_label(request.purpose)} {request.common_name} "
        f"(certificate #{certificate.pk}, serial {certificate.serial})"
    )


def _absolute(path: str) -> str:
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
    return _absolute(f"{reverse('wizard_start')}?{query}")


# --- who and what ------------------------------------------------------------------------------


def owner_recipients(environment: Environment) -> list[str]:
    """Requesters and custodians of ``environment`` (active, with an address), then its team
    addresses; each address once, whatever its case."""
    addresses = [
        m.user.email
        for m in Membership.objects.filter(
            environment=environment, role__in=OWNER_ROLES, user__is_active=True
        )
        .exclude(user__email="")
        .select_related("user")
        .order_by("user__username")
    ]
    addresses += [str(a) for a in environment.team_emails if str(a).strip()]
    seen: set[str] = set()
    unique = []
    for address in addresses:
        key = address.strip().lower()
        if key not in seen:
            seen.add(key)
            unique.append(address.strip())
    return unique


def _renewals(certificate: Certificate, *, lock: bool = False) -> list[SigningRequest]:
    """The renewal requests of ``certificate``, newest first, cancelled ones left out."""
    queryset = SigningRequest.objects.filter(renews=certificate).exclude(
        status=SigningRequest.Status.CANCELLED
    )
    if lock:
        # Against a user sending the same CSR from the "Send to the TAM" page meanwhile.
        queryset = queryset.select_for_update(of=("self",))
    return list(queryset.order_by("-created_at", "-pk"))


def _first(requests: Iterable[SigningRequest], status: str) -> SigningRequest | None:
    return next((r for r in requests if r.status == status and r.csr_pem), None)


@dataclass(frozen=True)
class InFlight:
    """Where the renewal of a certificate stands, and what the owners should do next."""

    summary: str
    action_label: str
    action_url: str


def renewal_in_flight(certificate: Certificate, renewals: list[SigningRequest]) -> InFlight:
    """The most advanced renewal request decides (received > sent > ready > started > none)."""

    def detail(request: SigningRequest) -> str:
        return _absolute(reverse("request_detail", args=[request.pk]))

    by_status = {status: _first(renewals, status) for status in SigningRequest.Status.values}
    if (received := by_status[SigningRequest.Status.FULFILLED]) is not None:
        return InFlight(
            f"The renewal certificate was received (request #{received.pk}) but is not valid "
            "now: check its dates.",
            "Open the renewal request",
            detail(received),
        )
    if (sent := by_status[SigningRequest.Status.SENT]) is not None:
        sent_on = f"{timezone.localdate(sent.sent_at):%Y-%m-%d}" if sent.sent_at else "?"
        return InFlight(
            f"Renewal CSR sent to the TAM on {sent_on} (request #{sent.pk}); the certificate "
            "has not been received yet.",
            "Upload the certificate when Treezor sends it",
            detail(sent),
        )
    if (ready := by_status[SigningRequest.Status.READY]) is not None:
        return InFlight(
            f"Renewal CSR ready (request #{ready.pk}) but not sent to the TAM.",
            "Send it to the TAM",
            _absolute(reverse("send_to_tam", args=[certificate.signing_request.environment.slug])),
        )
    started = next((r for r in renewals if r.status == SigningRequest.Status.DRAFT), None)
    if started is not None:
        return InFlight(
            f"A renewal request was started (request #{started.pk}) but has no CSR yet.",
            "Open the renewal request",
            detail(started),
        )
    return InFlight(
        "Nothing yet: no renewal request.",
        "Prepare the renewal request (a new key, as Treezor asks)",
        renewal_wizard_url(certificate),
    )


def _common_context(certificate: Certificate, now: datetime, company: str) -> dict[str, Any]:
    request = certificate.signing_request
    return {
        "company": company,
        "environment": request.environment,
        "purpose": _purpose_label(request.purpose),
        "common_name": request.common_name,
        "certificate": certificate,
        "not_after": crypto.openssl_date(certificate.not_after),
        "phrase": expiry_phrase(certificate.not_after, now),
    }


def tam_renewal_compose(
    *,
    certificate: Certificate,
    now: datetime,
    company: str,
    ready: SigningRequest | None,
    already_sent: SigningRequest | None,
) -> emails.ComposedEmail:
    """The TAM's renewal request: which certificate, and the new CSR when one is ready."""
    request = certificate.signing_request
    environment = request.environment
    attachments = []
    if ready is not None:
        attachments.append(
            emails.Attachment(
                filename=crypto.treezor_filename(company, "csr", request.purpose),
                content=ready.csr_pem,
            )
        )
    context = {
        **_common_context(certificate, now, company),
        "attachment": attachments[0].filename if attachments else "",
        "already_sent": already_sent,
        "already_sent_on": (
            f"{timezone.localdate(already_sent.sent_at):%Y-%m-%d}"
            if already_sent is not None and already_sent.sent_at
            else ""
        ),
    }
    text, html = emails.render("tam_renewal", context)
    return emails.ComposedEmail(
        to=list(environment.tam_emails),
        subject=f"{company}: renewal of the Treezor {environment.name} "
        f"{_purpose_label(request.purpose)} certificate, which {context['phrase']}",
        body_text=text,
        body_html=html,
        attachments=attachments,
    )


def owner_reminder_compose(
    *,
    certificate: Certificate,
    now: datetime,
    company: str,
    recipients: list[str],
    in_flight: InFlight,
    tam_note: str,
) -> emails.ComposedEmail:
    """The owners' reminder: days left, where the renewal stands, and the next step's link."""
    request = certificate.signing_request
    context = {
        **_common_context(certificate, now, company),
        "in_flight": in_flight,
        "tam_note": tam_note,
        "dashboard_url": _absolute(reverse("dashboard")),
    }
    text, html = emails.render("owner_reminder", context)
    return emails.ComposedEmail(
        to=recipients,
        subject=f"Treezor {request.environment.name} {_purpose_label(request.purpose)} "
        f"certificate {context['phrase']}",
        body_text=text,
        body_html=html,
    )


def _no_tam_reason(environment: Environment) -> str:
    return (
        f"{environment.name} has no TAM address; an administrator adds it in Settings, then "
        "the renewal CSR goes from the Send to the TAM page."
    )


def _no_owner_reason(environment: Environment) -> str:
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
        return f"certdesk asked the TAM for the renewal on {asked_on:%Y-%m-%d}."
    return f"certdesk could not email the TAM: {tam.reason}"


# --- the scan ----------------------------------------------------------------------------------


def expiry_scan(*, now: datetime | None = None, dry_run: bool = False) -> ScanReport:
    """Send the reminders due at ``now``: each (certificate, kind, threshold) at most once.

    With ``dry_run``, say what would be sent and write nothing at all.
    """
    now = now or timezone.now()
    report = ScanReport(now=now, dry_run=dry_run)
    candidates = list(needing_new_rows(reminder_candidates(now=now), now=now))
    report.candidates = len(candidates)
    planned = [due for certificate in candidates for due in reminders_due(certificate, now=now)]
    if dry_run:
        _dry_run(report, planned, now)
        return report

    if planned:
        reminders_insert(planned)

    pending = list(
        Reminder.objects.filter(status=Reminder.Status.PENDING).select_related(
            "certificate__signing_request__environment"
        )
    )
    # Rows left pending by an earlier scan belong to certificates that need no new row now:
    # whether they may still be sent is the candidate rules' answer, asked for those only.
    eligible = {
        certificate.pk: certificate
        for certificate in reminder_candidates(now=now).filter(
            pk__in={reminder.certificate_id for reminder in pending}
        )
    }
    # The TAM's email first: the owners' reminder then says what it did (CSR sent, or not).
    pending.sort(key=lambda r: (r.certificate_id, r.kind != Reminder.Kind.TAM_RENEWAL))
    recipients: dict[int, list[str]] = {}
    company = company_name() if pending else ""
    for reminder in pending:
        certificate = eligible.get(reminder.certificate_id)
        try:
            outcome = _send_one(reminder, certificate, now, company, recipients)
        except Exception as error:  # one bad reminder must not hold up the others
            logger.exception("Reminder %s could not be processed", reminder.pk)
            report.errors.append(f"reminder #{reminder.pk}: {type(error).__name__}: {error}")
            continue
        if outcome is not None:
            report.outcomes.append(outcome)

    report.requeued_emails = outbound_email_requeue_stale(now=now)
    logger.info("Expiry scan: %s", report.summary())
    return report


def reminders_insert(planned: list[DueReminder]) -> None:
    """Insert the rows, all ``pending``; a row another scan inserted first is left as it is."""
    with transaction.atomic():
        Reminder.objects.bulk_create(
            [
                Reminder(
                    certificate=due.certificate, kind=due.kind, threshold_days=due.threshold_days
                )
                for due in planned
            ],
            ignore_conflicts=True,
        )


def _outcome(
    due: DueReminder | Reminder,
    status: str,
    *,
    composed: emails.ComposedEmail | None = None,
    reason: str = "",
    email_id: int | None = None,
) -> ReminderOutcome:
    return ReminderOutcome(
        certificate_id=due.certificate.pk,
        certificate_label=certificate_label(due.certificate),
        kind=due.kind,
        threshold_days=due.threshold_days,
        status=status,
        to=tuple(composed.to) if composed is not None else (),
        subject=composed.subject if composed is not None else "",
        reason=reason,
        email_id=email_id,
    )


def _send_one(
    row: Reminder,
    certificate: Certificate | None,
    now: datetime,
    company: str,
    recipients_cache: dict[int, list[str]],
) -> ReminderOutcome | None:
    """Claim one pending reminder and hand its email to the outbox, all in one transaction."""
    with transaction.atomic():
        reminder = (
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(pk=row.pk, status=Reminder.Status.PENDING)
            .first()
        )
        if reminder is None:
            return None  # another scan holds it, or has sent it meanwhile
        reminder.certificate = row.certificate
        if certificate is None:
            return _skip(
                reminder,
                "no longer due: the certificate was renewed, revoked or superseded, or expired "
                "long ago, before this reminder went out",
            )
        if reminder.kind == Reminder.Kind.TAM_RENEWAL:
            return _send_tam(reminder, certificate, now, company)
        tightest = tightest_due_threshold(days_left(certificate.not_after, now))
        if tightest is not None and reminder.threshold_days > tightest:
            return _skip(reminder, f"superseded by the {tightest}-day reminder")
        environment = certificate.signing_request.environment
        if environment.pk not in recipients_cache:
            recipients_cache[environment.pk] = owner_recipients(environment)
        to = recipients_cache[environment.pk]
        if not to:
            return _skip(reminder, _no_owner_reason(environment))
        tam = Reminder.objects.filter(
            certificate=certificate, kind=Reminder.Kind.TAM_RENEWAL
        ).first()
        composed = owner_reminder_compose(
            certificate=certificate,
            now=now,
            company=company,
            recipients=to,
            in_flight=renewal_in_flight(certificate, _renewals(certificate)),
            tam_note=tam_note_for(tam),
        )
        return _queue(reminder, certificate, composed, OutboundEmail.Kind.REMINDER)


def _send_tam(
    reminder: Reminder, certificate: Certificate, now: datetime, company: str
) -> ReminderOutcome:
    environment = certificate.signing_request.environment
    if not environment.tam_emails:
        return _skip(reminder, _no_tam_reason(environment))
    renewals = _renewals(certificate, lock=True)
    ready = _first(renewals, SigningRequest.Status.READY)
    already_sent = _first(renewals, SigningRequest.Status.SENT) if ready is None else None
    composed = tam_renewal_compose(
        certificate=certificate, now=now, company=company, ready=ready, already_sent=already_sent
    )
    outcome = _queue(reminder, certificate, composed, OutboundEmail.Kind.TAM_RENEWAL)
    if ready is not None and outcome.email_id is not None:
        ready.status = SigningRequest.Status.SENT
        ready.sent_at = timezone.now()
        ready.save(update_fields=["status", "sent_at", "updated_at"])
        audit_record(
            actor=SYSTEM,
            action="request.sent_to_tam",
            target=ready,
            environment=environment,
            details={
                "email": outcome.email_id,
                "to": list(environment.tam_emails),
                "renewal_of": certificate.pk,
            },
        )
    return outcome


def _queue(
    reminder: Reminder, certificate: Certificate, composed: emails.ComposedEmail, kind: str
) -> ReminderOutcome:
    environment = certificate.signing_request.environment
    try:
        email = outbound_email_queue(
            actor=SYSTEM, kind=kind, composed=composed, environment=environment
        )
    except ServiceError as error:  # the outgoing guard: recorded, and never tried again
        reminder.status = Reminder.Status.FAILED
        reminder.reason = error.message
        reminder.save(update_fields=["status", "reason"])
        return _outcome(reminder, "failed", reason=error.message)
    reminder.status = Reminder.Status.SENDING
    reminder.email = email
    reminder.save(update_fields=["status", "email"])
    audit_record(
        actor=SYSTEM,
        action="reminder.queued",
        target=certificate,
        environment=environment,
        details={
            "kind": reminder.kind,
            "threshold_days": reminder.threshold_days,
            "email": email.pk,
            "to": composed.to,
        },
    )
    return _outcome(reminder, "queued", composed=composed, email_id=email.pk)


def _skip(reminder: Reminder, reason: str) -> ReminderOutcome:
    reminder.status = Reminder.Status.SKIPPED
    reminder.reason = reason
    reminder.save(update_fields=["status", "reason"])
    return _outcome(reminder, "skipped", reason=reason)


def _dry_run(report: ScanReport, planned: list[DueReminder], now: datetime) -> None:
    """Compose what the scan would send, from what the selection loaded: reads only."""
    company = company_name() if planned else ""
    recipients: dict[int, list[str]] = {}
    tam_planned = {d.certificate.pk for d in planned if d.kind == Reminder.Kind.TAM_RENEWAL}
    for due in planned:
        if not due.sends:
            report.outcomes.append(_outcome(due, "would skip", reason=due.reason))
            continue
        certificate = due.certificate
        environment = certificate.signing_request.environment
        renewals = [
            r for r in certificate.renewals.all() if r.status != SigningRequest.Status.CANCELLED
        ]
        if due.kind == Reminder.Kind.TAM_RENEWAL:
            if not environment.tam_emails:
                report.outcomes.append(
                    _outcome(due, "would skip", reason=_no_tam_reason(environment))
                )
                continue
            ready = _first(renewals, SigningRequest.Status.READY)
            composed = tam_renewal_compose(
                certificate=certificate,
                now=now,
                company=company,
                ready=ready,
                already_sent=None if ready else _first(renewals, SigningRequest.Status.SENT),
            )
            report.outcomes.append(_outcome(due, "would send", composed=composed))
            continue
        if environment.pk not in recipients:
            recipients[environment.pk] = owner_recipients(environment)
        if not recipients[environment.pk]:
            reason = _no_owner_reason(environment)
            report.outcomes.append(_outcome(due, "would skip", reason=reason))
            continue
        recorded_tam = next(
            (r for r in certificate.reminders.all() if r.kind == Reminder.Kind.TAM_RENEWAL), None
        )
        if recorded_tam is not None:
            tam_note = tam_note_for(recorded_tam)
        elif certificate.pk in tam_planned:
            tam_note = (
                "certdesk asks the TAM for the renewal today."
                if environment.tam_emails
                else f"certdesk could not email the TAM: {_no_tam_reason(environment)}"
            )
        else:
            tam_note = ""
        composed = owner_reminder_compose(
            certificate=certificate,
            now=now,
            company=company,
            recipients=recipients[environment.pk],
            in_flight=renewal_in_flight(certificate, renewals),
            tam_note=tam_note,
        )
        report.outcomes.append(_outcome(due, "would send", composed=composed))
