"""The dry run: the scan's decisions about the same rows, in the same order, without its writes.

It asks the same :func:`~certificates.services.reminders.decide.reminder_decide`; it only leaves
out the inserts, the claims and the sends, so ``send_reminders --dry-run`` lists what the next
scan sends.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from certificates.models import Certificate, Reminder, SigningRequest
from certificates.services.reminders.compose import (
    owner_reminder_compose,
    renewal_in_flight,
    tam_renewal_compose,
)
from certificates.services.reminders.decide import reminder_decide
from certificates.services.reminders.report import OutcomeStatus, ScanReport, outcome
from certificates.services.reminders.wording import tam_note_for, tam_report_note, tam_row_reason


@dataclass
class _Seen:
    """One certificate as the dry run imagines it after the emails it would send before."""

    renewals: list[SigningRequest]
    tam: Reminder | None


def dry_run(
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
            report.outcomes.append(outcome(row, OutcomeStatus.WOULD_SKIP, reason=decision.reason))
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
                reason=tam_row_reason(
                    prepared=None,
                    would_prepare=decision.prepare is not None,
                    not_prepared=decision.not_prepared,
                ),
            )
            if decision.attach is not None:
                state.renewals = [
                    _as_sent(r, now) if r.pk == decision.attach.pk else r for r in state.renewals
                ]
            note = tam_report_note(
                attach=decision.attach,
                prepared=decision.prepare is not None,
                not_prepared=decision.not_prepared,
            )
            report.outcomes.append(
                outcome(row, OutcomeStatus.WOULD_SEND, composed=composed, note=note)
            )
            continue
        composed = owner_reminder_compose(
            certificate=certificate,
            now=now,
            company=company,
            recipients=list(decision.to),
            in_flight=renewal_in_flight(certificate, state.renewals),
            tam_note=tam_note_for(state.tam),
        )
        report.outcomes.append(outcome(row, OutcomeStatus.WOULD_SEND, composed=composed))


def _as_sent(request: SigningRequest, now: datetime) -> SigningRequest:
    """An unsaved copy of ``request`` as sending it would leave it."""
    return SigningRequest(
        pk=request.pk,
        status=SigningRequest.Status.SENT,
        sent_at=now,
        csr_pem=request.csr_pem,
        created_at=request.created_at,
    )
