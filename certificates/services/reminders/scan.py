"""The expiry scan itself: select, insert the missing rows, then claim and send (or dry run)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from certificates.models import Certificate, Reminder, SigningRequest
from certificates.selectors.reminders import (
    DueReminder,
    needing_new_rows,
    owner_recipients_for,
    reminder_candidates,
    reminders_due,
)
from certificates.services.heartbeat import expiry_scan_record
from certificates.services.keys import company_name
from certificates.services.outbox import (
    outbound_email_requeue_stale,
    outbound_emails_waiting_for_broker,
)
from certificates.services.reminders import claim
from certificates.services.reminders.decide import claim_order, may_prepare
from certificates.services.reminders.dry_run import dry_run as dry_run_report
from certificates.services.reminders.report import ReminderOutcome, ScanReport

logger = logging.getLogger(__name__)


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
    pending.sort(key=claim_order)
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
        dry_run_report(report, pending, eligible, now, company, recipients)
        return report

    for rows in _batches(pending, eligible):
        _claim(report, rows, eligible, now, company, recipients)

    report.requeued_emails = outbound_email_requeue_stale(now=now)
    # Each email's task was published when its transaction committed, which is done by now.
    report.waiting_for_broker = outbound_emails_waiting_for_broker(
        [o.email_id for o in report.outcomes if o.email_id is not None] + report.requeued_emails
    )
    logger.info("Expiry scan: %s", report.summary())
    # What /metrics reports as the last (successful) expiry scan.
    expiry_scan_record(errors=len(report.errors))
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


def _batches(
    pending: Sequence[Reminder], eligible: Mapping[int, Certificate]
) -> Iterator[list[Reminder]]:
    """The rows in order, up to ``claim.BATCH_SIZE`` a transaction; a TAM row that will likely
    prepare a renewal request (a new key) alone, so that its key generation and its audit
    events hold no one else's rows."""
    batch: list[Reminder] = []
    for row in pending:
        if _prepares(row, eligible):
            if batch:
                yield batch
            yield [row]
            batch = []
            continue
        batch.append(row)
        if len(batch) >= claim.BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _prepares(row: Reminder, eligible: Mapping[int, Certificate]) -> bool:
    certificate = eligible.get(row.certificate_id)
    if row.kind != Reminder.Kind.TAM_RENEWAL or certificate is None:
        return False
    renewals = [
        r for r in certificate.renewals.all() if r.status != SigningRequest.Status.CANCELLED
    ]
    return may_prepare(certificate, renewals)


def _claim(
    report: ScanReport,
    rows: list[Reminder],
    eligible: Mapping[int, Certificate],
    now: datetime,
    company: str,
    recipients: Mapping[int, list[str]],
) -> None:
    """Claim a batch; when it fails, claim its rows one by one, so that one bad reminder does
    not hold up the others (it stays ``pending``, listed in the report's errors)."""

    def run(batch: list[Reminder]) -> list[ReminderOutcome]:
        return claim.reminders_claim(
            batch, eligible=eligible, now=now, company=company, recipients=recipients
        )

    if len(rows) > 1:
        try:
            report.outcomes += run(rows)
            return
        except Exception as error:
            logger.warning(
                "A batch of %s reminders failed (%s: %s); claiming them one by one",
                len(rows),
                type(error).__name__,
                error,
            )
    for row in rows:
        try:
            report.outcomes += run([row])
        except Exception as error:  # one bad reminder must not hold up the others
            logger.exception("Reminder %s could not be processed", row.pk)
            report.errors.append(f"reminder #{row.pk}: {type(error).__name__}: {error}")
