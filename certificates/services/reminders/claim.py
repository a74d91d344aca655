"""Claiming pending reminders and handing their emails to the outbox: exactly once, in batches.

A batch of ``pending`` rows is claimed in one transaction (``select_for_update(skip_locked=True)``
and still ``pending``): of two scans only the one holding a row sees it pending, and only it
decides, so each scan reports exactly what it did. Each row is decided in the scan's order (the
TAM's email before the owners' reminder of the same certificate, which says what it did), and
the batch is written at once: one insert for its emails (each queued on commit), one update for
its rows, one lock and one insert for its audit events. A batch that fails is rolled back and
claimed again one row at a time, so one bad reminder does not hold up the others.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from certificates import emails
from certificates.models import Certificate, OutboundEmail, Reminder, SigningRequest
from certificates.selectors.threads import Thread, about, tam_threads
from certificates.services.audit import AuditEntry, audit_record_many
from certificates.services.errors import ServiceError
from certificates.services.notifications import notify_owner_reminders
from certificates.services.outbox import outbound_email_build, outbound_emails_queue
from certificates.services.reminders.compose import (
    owner_reminder_compose,
    renewal_in_flight,
    tam_renewal_compose,
)
from certificates.services.reminders.decide import Decision, reminder_decide
from certificates.services.reminders.prepare import SYSTEM, prepare_renewal
from certificates.services.reminders.report import OutcomeStatus, ReminderOutcome, outcome
from certificates.services.reminders.wording import tam_note_for, tam_report_note, tam_row_reason
from certificates.services.requests import request_mark_sent_to_tam

# Rows claimed per transaction: the audit chain's lock is held from the batch's audit insert
# to its commit only, so a larger batch costs others little; a smaller one, more statements.
BATCH_SIZE = 200


@dataclass
class _Batch:
    """What deciding the rows of one batch reads, loaded once for all of them."""

    renewals: defaultdict[int, list[SigningRequest]] = field(
        default_factory=lambda: defaultdict(list)
    )
    # The TAM's row of each certificate, as this batch leaves it (the owners' reminder says).
    tam_rows: dict[int, Reminder] = field(default_factory=dict)
    # The earlier TAM emails each renewal email answers, by certificate (read once per batch).
    threads: dict[int, Thread] = field(default_factory=dict)


@dataclass
class _Queued:
    reminder: Reminder
    certificate: Certificate
    email: OutboundEmail  # built, saved with the others
    composed: emails.ComposedEmail
    note: str = ""
    attach: SigningRequest | None = None
    sent_at: datetime | None = None


def _load(mine: Sequence[Reminder], certificates: Collection[int]) -> _Batch:
    batch = _Batch()
    tam = {r.certificate_id for r in mine if r.kind == Reminder.Kind.TAM_RENEWAL} & set(
        certificates
    )
    owner = {r.certificate_id for r in mine if r.kind == Reminder.Kind.OWNER} & set(certificates)
    renewals = (
        SigningRequest.objects.exclude(status=SigningRequest.Status.CANCELLED)
        .select_related("environment")
        .order_by("-created_at", "-pk")
    )
    if tam:
        # Locked, against a user sending the same CSR from the "Send to the TAM" page meanwhile.
        for request in renewals.select_for_update(of=("self",)).filter(renews__in=tam):
            batch.renewals[request.renews_id or 0].append(request)
        # The certificate's own emails (its CSR's) and its renewal requests' (their CSRs').
        batch.threads = tam_threads(
            {
                row.certificate_id: about(
                    signing_requests=batch.renewals[row.certificate_id],
                    certificates=[row.certificate],
                )
                for row in mine
                if row.certificate_id in tam
            }
        )
    if owner - tam:
        for request in renewals.filter(renews__in=owner - tam):
            batch.renewals[request.renews_id or 0].append(request)
        for row in Reminder.objects.filter(
            certificate__in=owner - tam, kind=Reminder.Kind.TAM_RENEWAL
        ):
            batch.tam_rows[row.certificate_id] = row
    return batch


def reminders_claim(
    rows: Sequence[Reminder],
    *,
    eligible: Mapping[int, Certificate],
    now: datetime,
    company: str,
    recipients: Mapping[int, list[str]],
) -> list[ReminderOutcome]:
    """Claim ``rows`` (``pending`` when the scan read them) in one transaction, decide each,
    and queue their emails; the outcomes of the rows this scan claimed, in their order.

    ``eligible``: the candidates among their certificates (a row of any other is skipped).
    """
    with transaction.atomic():
        claimed = {
            reminder.pk: reminder
            for reminder in Reminder.objects.select_for_update(skip_locked=True).filter(
                pk__in=[row.pk for row in rows], status=Reminder.Status.PENDING
            )
        }
        mine = [claimed[row.pk] for row in rows if row.pk in claimed]
        if not mine:
            return []  # another scan holds them, or has sent them meanwhile
        for row in rows:
            if row.pk in claimed:
                claimed[row.pk].certificate = row.certificate
        batch = _load(mine, eligible.keys())
        decided = [
            _decide(
                reminder, eligible.get(reminder.certificate_id), batch, now, company, recipients
            )
            for reminder in mine
        ]
        return _write(mine, decided)


def _decide(
    reminder: Reminder,
    certificate: Certificate | None,
    batch: _Batch,
    now: datetime,
    company: str,
    recipients: Mapping[int, list[str]],
) -> ReminderOutcome | _Queued:
    tam = reminder.kind == Reminder.Kind.TAM_RENEWAL
    renewals = batch.renewals[certificate.pk] if certificate is not None else []
    decision = reminder_decide(
        kind=reminder.kind,
        threshold_days=reminder.threshold_days,
        certificate=certificate,
        now=now,
        recipients=recipients,
        renewals=renewals if tam else (),
    )
    if tam:
        batch.tam_rows[reminder.certificate_id] = reminder
    if not decision.sends:
        reminder.status = Reminder.Status.SKIPPED
        reminder.reason = decision.reason
        return outcome(reminder, OutcomeStatus.SKIPPED, reason=decision.reason)
    assert certificate is not None  # a reminder of no candidate is always skipped
    if tam:
        queued = _tam_email(
            reminder,
            certificate,
            decision,
            renewals,
            now,
            company,
            batch.threads.get(certificate.pk),
        )
    else:
        composed = owner_reminder_compose(
            certificate=certificate,
            now=now,
            company=company,
            recipients=list(decision.to),
            in_flight=renewal_in_flight(certificate, renewals),
            tam_note=tam_note_for(batch.tam_rows.get(certificate.pk)),
        )
        queued = _build(reminder, certificate, composed, OutboundEmail.Kind.REMINDER)
    if isinstance(queued, _Queued) and queued.attach is not None:
        # As sending leaves it, for the owners' reminder that follows (written in _write).
        queued.sent_at = timezone.now()
        queued.attach.status = SigningRequest.Status.SENT
        queued.attach.sent_at = queued.sent_at
    return queued


def _tam_email(
    reminder: Reminder,
    certificate: Certificate,
    decision: Decision,
    renewals: list[SigningRequest],
    now: datetime,
    company: str,
    thread: Thread | None,
) -> ReminderOutcome | _Queued:
    attach, not_prepared, prepared = decision.attach, decision.not_prepared, None
    if decision.prepare is not None:
        prepared, not_prepared = prepare_renewal(certificate, decision.prepare)
        if prepared is not None:
            attach = prepared
            renewals.insert(0, prepared)
    composed = tam_renewal_compose(
        certificate=certificate,
        now=now,
        company=company,
        ready=attach,
        already_sent=decision.already_sent,
        thread=thread,
    )
    queued = _build(
        reminder,
        certificate,
        composed,
        OutboundEmail.Kind.TAM_RENEWAL,
        told=tam_row_reason(prepared=prepared, would_prepare=False, not_prepared=not_prepared),
        # What it carries: the renewal CSR attached, else the one sent already.
        signing_request=attach or decision.already_sent,
    )
    if isinstance(queued, _Queued):
        queued.attach = attach
        queued.note = tam_report_note(
            attach=attach, prepared=prepared is not None, not_prepared=not_prepared
        )
    return queued


def _build(
    reminder: Reminder,
    certificate: Certificate,
    composed: emails.ComposedEmail,
    kind: str,
    *,
    told: str = "",
    signing_request: SigningRequest | None = None,
) -> ReminderOutcome | _Queued:
    try:
        email = outbound_email_build(
            actor=SYSTEM,
            kind=kind,
            composed=composed,
            environment=certificate.signing_request.environment,
            signing_request=signing_request,
            certificate=certificate,
        )
    except ServiceError as error:  # the outgoing guard: recorded, and never tried again
        reminder.status = Reminder.Status.FAILED
        reminder.reason = error.message
        return outcome(reminder, OutcomeStatus.FAILED, reason=error.message)
    reminder.status = Reminder.Status.SENDING
    reminder.reason = told
    return _Queued(reminder, certificate, email, composed)


def _write(mine: list[Reminder], decided: list[ReminderOutcome | _Queued]) -> list[ReminderOutcome]:
    """The batch's writes: its emails, then per email its audit event (and the renewal request
    it carried marked sent), its rows; in the order the rows were decided."""
    outbound_emails_queue([item.email for item in decided if isinstance(item, _Queued)])
    entries: list[AuditEntry] = []
    outcomes: list[ReminderOutcome] = []
    for item in decided:
        if not isinstance(item, _Queued):
            outcomes.append(item)
            continue
        item.reminder.email = item.email
        entries.append(
            AuditEntry(
                actor=SYSTEM,
                action="reminder.queued",
                target=item.certificate,
                environment=item.certificate.signing_request.environment,
                details={
                    "kind": item.reminder.kind,
                    "threshold_days": item.reminder.threshold_days,
                    "email": item.email.pk,
                    "to": item.composed.to,
                },
            )
        )
        if item.attach is not None and item.sent_at is not None:
            audit_record_many(entries)  # the chain keeps the order things happened in
            entries = []
            request_mark_sent_to_tam(
                actor=SYSTEM,
                signing_requests=[item.attach],
                email=item.email,
                how="expiry scan",
                sent_at=item.sent_at,
            )
        outcomes.append(
            outcome(
                item.reminder,
                OutcomeStatus.QUEUED,
                composed=item.composed,
                email_id=item.email.pk,
                note=item.note,
            )
        )
    Reminder.objects.bulk_update(mine, ["status", "email", "reason"])
    audit_record_many(entries)
    # Issue 18: the owners' reminders to the chat rooms and webhooks that listen, in this batch.
    notify_owner_reminders(
        [
            (i.reminder, i.certificate)
            for i in decided
            if isinstance(i, _Queued) and i.reminder.kind == Reminder.Kind.OWNER
        ]
    )
    return outcomes
