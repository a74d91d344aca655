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
   it decides, so each scan reports exactly what it did. :func:`reminder_decide` then says
   what becomes of it: ``skipped`` with the reason (a tighter threshold is due: one catch-up
   email, not a burst; nobody to email; the certificate stopped needing it since), or the
   email to compose, store in the outbox (which queues the Celery task on commit) and mark
   ``sending``. A row left ``pending`` by a scan that died between 2 and 3 is decided by the
   next one.

The dry run asks the same :func:`reminder_decide` about the same rows (those pending now and
those step 2 would insert), in the same order; it only leaves out the writes and the sends, so
``send_reminders --dry-run`` lists what the next scan sends.

Renewals prepared by the scan (issue 11, point 7): when the environment asks for it
(:func:`~certificates.selectors.reminders.prepares_renewals`) and no renewal request exists yet,
the TAM's email is the moment the scan makes one (a new key, the subject of the certificate
being renewed), attaches its CSR and marks it sent, all in the transaction that claimed the TAM
row: that claim is what makes it happen once, whichever scans run at the same time. Without a
TAM address nothing is prepared (the TAM row is skipped, and the owners read why).

Finally the scan queues again the outbox emails no worker is going to send by itself (see
:func:`certificates.services.outbox.outbound_email_requeue_stale`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
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
    OutboundEmail,
    Purpose,
    Reminder,
    SigningRequest,
)
from certificates.selectors.reminders import (
    DueReminder,
    needing_new_rows,
    owner_recipients_for,
    prepares_renewals,
    reminder_candidates,
    reminders_due,
    tightest_due_threshold,
)
from certificates.selectors.requests import subject_of
from certificates.selectors.status import days_left
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError
from certificates.services.keys import company_name
from certificates.services.outbox import (
    outbound_email_queue,
    outbound_email_requeue_stale,
    outbound_emails_waiting_for_broker,
)
from certificates.services.requests import request_create

logger = logging.getLogger(__name__)

SYSTEM = Actor(label="expiry scan")
# Renewal requests still on their way; a fulfilled one means Treezor answered already.
IN_FLIGHT = (SigningRequest.Status.DRAFT, SigningRequest.Status.READY, SigningRequest.Status.SENT)
NO_LONGER_DUE = (
    "no longer due: the certificate was renewed, revoked or superseded, or expired long ago, "
    "before this reminder went out"
)


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
    note: str = ""  # what else the scan did (or would do): the renewal CSR attached, prepared

    def line(self) -> str:
        what = "TAM renewal" if self.kind == Reminder.Kind.TAM_RENEWAL else "owner reminder"
        head = f"{self.status}: {what} ({self.threshold_days} days), {self.certificate_label}"
        if self.to:
            head += f" -> {', '.join(self.to)}: {self.subject!r}"
        if self.email_id is not None:
            head += f" [outbox #{self.email_id}]"
        if self.note:
            head += f"; {self.note}"
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
    # Emails stored in the outbox whose task the broker could not take: they leave once it is
    # back (outbox.outbound_email_requeue_unsent), not now.
    waiting_for_broker: list[int] = field(default_factory=list)

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
            "waiting_for_broker": len(self.waiting_for_broker),
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
    return owner_recipients_for([environment])[environment.pk]


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
        upload = f"{reverse('certificate_upload')}?{urlencode({'request': sent.pk})}"
        return InFlight(
            f"Renewal CSR sent to the TAM on {sent_on} (request #{sent.pk}); the certificate "
            "has not been received yet.",
            "Install the certificate when Treezor sends it",
            _absolute(upload),
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
        asked = f"certdesk asked the TAM for the renewal on {asked_on:%Y-%m-%d}."
        # A sent TAM row's reason says what the scan did about the renewal request itself.
        return f"{asked} {tam.reason}" if tam.reason else asked
    return f"certdesk could not email the TAM: {tam.reason}"


# --- one decision for every reminder ------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """What becomes of one reminder: skipped (``reason``), or sent to ``to``; for the TAM's
    email, with which renewal CSR (``attach``), or saying which one went before
    (``already_sent``), or with the CSR of a renewal request to prepare now (``prepare``)."""

    sends: bool
    reason: str = ""
    to: tuple[str, ...] = ()
    attach: SigningRequest | None = None
    already_sent: SigningRequest | None = None
    prepare: crypto.Subject | None = None
    # Why no renewal request is prepared although the environment asks for it (owners read it).
    not_prepared: str = ""


def _skipped(reason: str) -> Decision:
    return Decision(sends=False, reason=reason)


def reminder_decide(
    *,
    kind: str,
    threshold_days: int,
    certificate: Certificate | None,
    now: datetime,
    recipients: Mapping[int, list[str]],
    renewals: Sequence[SigningRequest] = (),
) -> Decision:
    """The one answer, for the scan and its dry run alike, to "what happens to this reminder".

    ``certificate`` is None when it is no longer a candidate (renewed, superseded, revoked,
    long expired). ``recipients``: the owners of each environment
    (:func:`~certificates.selectors.reminders.owner_recipients_for`). ``renewals``: the
    certificate's renewal requests, cancelled ones left out; only the TAM's email reads them.
    """
    if certificate is None:
        return _skipped(NO_LONGER_DUE)
    environment = certificate.signing_request.environment
    if kind == Reminder.Kind.TAM_RENEWAL:
        if not environment.tam_emails:
            return _skipped(_no_tam_reason(environment))
        to = tuple(environment.tam_emails)
        if (ready := _first(renewals, SigningRequest.Status.READY)) is not None:
            return Decision(sends=True, to=to, attach=ready)
        if (sent := _first(renewals, SigningRequest.Status.SENT)) is not None:
            return Decision(sends=True, to=to, already_sent=sent)
        if renewals or not prepares_renewals(certificate):
            # One started (a draft, or answered already) or the owners make it: no second one.
            return Decision(sends=True, to=to)
        try:
            subject = crypto.validate_subject(**asdict(subject_of(certificate.signing_request)))
        except crypto.SubjectError as error:
            problems = "; ".join(error.errors.values())
            return Decision(
                sends=True,
                to=to,
                not_prepared=f"the subject of request #{certificate.signing_request_id} no "
                f"longer follows Treezor's table ({problems}); prepare the renewal in the "
                "wizard with the fields corrected.",
            )
        return Decision(sends=True, to=to, prepare=subject)
    tightest = tightest_due_threshold(days_left(certificate.not_after, now))
    if tightest is not None and threshold_days > tightest:
        return _skipped(f"superseded by the {tightest}-day reminder")
    to_owners = recipients.get(environment.pk, [])
    if not to_owners:
        return _skipped(_no_owner_reason(environment))
    return Decision(sends=True, to=tuple(to_owners))


def _claim_order(reminder: Reminder) -> tuple[int, bool, int]:
    # The TAM's email first: the owners' reminder then says what it did (CSR sent, or not).
    return (
        reminder.certificate_id,
        reminder.kind != Reminder.Kind.TAM_RENEWAL,
        -reminder.threshold_days,
    )


# --- the scan ----------------------------------------------------------------------------------


def expiry_scan(*, now: datetime | None = None, dry_run: bool = False) -> ScanReport:
    """Send the reminders due at ``now``: each (certificate, kind, threshold) at most once.

    With ``dry_run``, say what would be sent and write nothing at all: the same rows, the same
    decisions, without the inserts, the claims and the emails.
    """
    now = now or timezone.now()
    report = ScanReport(now=now, dry_run=dry_run)
    candidates = list(needing_new_rows(reminder_candidates(now=now), now=now))
    report.candidates = len(candidates)
    planned = [due for certificate in candidates for due in reminders_due(certificate, now=now)]
    if planned and not dry_run:
        reminders_insert(planned)

    pending = list(
        Reminder.objects.filter(status=Reminder.Status.PENDING).select_related(
            "certificate__signing_request__environment"
        )
    )
    if dry_run:
        # What the real scan claims: the rows pending now and those it would have inserted.
        pending += [
            Reminder(certificate=d.certificate, kind=d.kind, threshold_days=d.threshold_days)
            for d in planned
        ]
    pending.sort(key=_claim_order)
    # Whether a row may still be sent is the candidate rules' answer, asked for these only.
    eligible = {
        certificate.pk: certificate
        for certificate in reminder_candidates(now=now).filter(
            pk__in={reminder.certificate_id for reminder in pending}
        )
    }
    environments = {c.signing_request.environment for c in eligible.values()}
    recipients = owner_recipients_for(environments)
    company = company_name() if pending else ""
    if dry_run:
        _dry_run(report, pending, eligible, now, company, recipients)
        return report

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
    # Each email's task was published when its transaction committed, which is done by now.
    report.waiting_for_broker = outbound_emails_waiting_for_broker(
        [o.email_id for o in report.outcomes if o.email_id is not None] + report.requeued_emails
    )
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
    note: str = "",
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
        note=note,
    )


def _send_one(
    row: Reminder,
    certificate: Certificate | None,
    now: datetime,
    company: str,
    recipients: Mapping[int, list[str]],
) -> ReminderOutcome | None:
    """Claim one pending reminder, decide, and hand its email to the outbox: one transaction."""
    with transaction.atomic():
        reminder = (
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(pk=row.pk, status=Reminder.Status.PENDING)
            .first()
        )
        if reminder is None:
            return None  # another scan holds it, or has sent it meanwhile
        reminder.certificate = row.certificate
        tam = reminder.kind == Reminder.Kind.TAM_RENEWAL
        decision = reminder_decide(
            kind=reminder.kind,
            threshold_days=reminder.threshold_days,
            certificate=certificate,
            now=now,
            recipients=recipients,
            # Locked, against a user sending the same CSR from the "Send to the TAM" page.
            renewals=_renewals(certificate, lock=True) if tam and certificate else (),
        )
        if not decision.sends:
            return _skip(reminder, decision.reason)
        assert certificate is not None  # a reminder of no candidate is always skipped
        if tam:
            return _send_tam(reminder, certificate, decision, now, company)
        recorded_tam = Reminder.objects.filter(
            certificate=certificate, kind=Reminder.Kind.TAM_RENEWAL
        ).first()
        composed = owner_reminder_compose(
            certificate=certificate,
            now=now,
            company=company,
            recipients=list(decision.to),
            in_flight=renewal_in_flight(certificate, _renewals(certificate)),
            tam_note=tam_note_for(recorded_tam),
        )
        return _queue(reminder, certificate, composed, OutboundEmail.Kind.REMINDER)


def _send_tam(
    reminder: Reminder, certificate: Certificate, decision: Decision, now: datetime, company: str
) -> ReminderOutcome:
    environment = certificate.signing_request.environment
    attach = decision.attach
    not_prepared = decision.not_prepared
    prepared = False
    if decision.prepare is not None:
        attach, not_prepared = _prepare_renewal(certificate, decision.prepare)
        prepared = attach is not None
    composed = tam_renewal_compose(
        certificate=certificate,
        now=now,
        company=company,
        ready=attach,
        already_sent=decision.already_sent,
    )
    # Kept on the TAM's row, for the owners' reminders (tam_note_for) and the audit trail.
    told = (
        f"certdesk prepared renewal request #{attach.pk} (a new key) and sent its CSR with that "
        "email: the only step left is installing the certificate Treezor sends back."
        if prepared and attach is not None
        else f"No renewal request was prepared automatically: {not_prepared}"
        if not_prepared
        else ""
    )
    outcome = _queue(
        reminder,
        certificate,
        composed,
        OutboundEmail.Kind.TAM_RENEWAL,
        told=told,
        note=_tam_note(attach=attach, prepared=prepared, not_prepared=not_prepared),
    )
    if attach is not None and outcome.email_id is not None:
        attach.status = SigningRequest.Status.SENT
        attach.sent_at = timezone.now()
        attach.save(update_fields=["status", "sent_at", "updated_at"])
        audit_record(
            actor=SYSTEM,
            action="request.sent_to_tam",
            target=attach,
            environment=environment,
            details={
                "email": outcome.email_id,
                "to": list(environment.tam_emails),
                "renewal_of": certificate.pk,
                "how": "expiry scan",
            },
        )
    return outcome


def _tam_note(*, attach: SigningRequest | None, prepared: bool, not_prepared: str) -> str:
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


def _prepare_renewal(
    certificate: Certificate, subject: crypto.Subject
) -> tuple[SigningRequest | None, str]:
    """The renewal request (a new key, rule 7), or why it could not be made.

    In a savepoint of the claim's transaction: a failure leaves no key and no request behind,
    and the TAM's email goes without a CSR.
    """
    try:
        with transaction.atomic():
            request = request_create(
                actor=SYSTEM,
                environment=certificate.signing_request.environment,
                purpose=certificate.signing_request.purpose,
                subject=subject,
                renews=certificate,
            )
    except ServiceError as error:
        return None, error.message
    except Exception as error:  # the TAM still hears about the renewal; the logs say more
        logger.exception("The renewal of certificate %s could not be prepared", certificate.pk)
        return None, f"certdesk could not create it ({type(error).__name__}); see its logs."
    return request, ""


def _queue(
    reminder: Reminder,
    certificate: Certificate,
    composed: emails.ComposedEmail,
    kind: str,
    *,
    told: str = "",
    note: str = "",
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
    reminder.reason = told
    reminder.save(update_fields=["status", "email", "reason"])
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
    return _outcome(reminder, "queued", composed=composed, email_id=email.pk, note=note)


def _skip(reminder: Reminder, reason: str) -> ReminderOutcome:
    reminder.status = Reminder.Status.SKIPPED
    reminder.reason = reason
    reminder.save(update_fields=["status", "reason"])
    return _outcome(reminder, "skipped", reason=reason)


# --- the dry run -------------------------------------------------------------------------------


@dataclass
class _Seen:
    """One certificate as the dry run imagines it after the emails it would send before."""

    renewals: list[SigningRequest]
    tam: Reminder | None


def _dry_run(
    report: ScanReport,
    pending: list[Reminder],
    eligible: Mapping[int, Certificate],
    now: datetime,
    company: str,
    recipients: Mapping[int, list[str]],
) -> None:
    """The scan's decisions without its writes: read from what the selection loaded."""
    seen: dict[int, _Seen] = {}
    for row in pending:
        certificate = eligible.get(row.certificate_id)
        if certificate is not None and certificate.pk not in seen:
            seen[certificate.pk] = _Seen(
                renewals=[
                    r
                    for r in certificate.renewals.all()
                    if r.status != SigningRequest.Status.CANCELLED
                ],
                tam=next(
                    (r for r in certificate.reminders.all() if r.kind == Reminder.Kind.TAM_RENEWAL),
                    None,
                ),
            )
        state = seen.get(row.certificate_id)
        tam = row.kind == Reminder.Kind.TAM_RENEWAL
        decision = reminder_decide(
            kind=row.kind,
            threshold_days=row.threshold_days,
            certificate=certificate,
            now=now,
            recipients=recipients,
            renewals=state.renewals if state is not None and tam else (),
        )
        if not decision.sends or certificate is None or state is None:
            if state is not None and tam:
                state.tam = Reminder(status=Reminder.Status.SKIPPED, reason=decision.reason)
            report.outcomes.append(_outcome(row, "would skip", reason=decision.reason))
            continue
        if tam:
            composed = tam_renewal_compose(
                certificate=certificate,
                now=now,
                company=company,
                ready=decision.attach,
                already_sent=decision.already_sent,
            )
            state.tam = Reminder(
                status=Reminder.Status.SENDING,
                created_at=now,
                reason=(
                    "certdesk would prepare the renewal request (a new key) and send its CSR."
                    if decision.prepare is not None
                    else f"No renewal request was prepared automatically: {decision.not_prepared}"
                    if decision.not_prepared
                    else ""
                ),
            )
            if decision.attach is not None:
                state.renewals = [
                    _as_sent(r, now) if r.pk == decision.attach.pk else r for r in state.renewals
                ]
            note = _tam_note(
                attach=decision.attach,
                prepared=decision.prepare is not None,
                not_prepared=decision.not_prepared,
            )
            report.outcomes.append(_outcome(row, "would send", composed=composed, note=note))
            continue
        composed = owner_reminder_compose(
            certificate=certificate,
            now=now,
            company=company,
            recipients=list(decision.to),
            in_flight=renewal_in_flight(certificate, state.renewals),
            tam_note=tam_note_for(state.tam),
        )
        report.outcomes.append(_outcome(row, "would send", composed=composed))


def _as_sent(request: SigningRequest, now: datetime) -> SigningRequest:
    """An unsaved copy of ``request`` as sending it would leave it."""
    return SigningRequest(
        pk=request.pk,
        status=SigningRequest.Status.SENT,
        sent_at=now,
        csr_pem=request.csr_pem,
        created_at=request.created_at,
    )
