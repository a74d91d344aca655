"""What the expiry scan reports: one outcome per reminder, and the counts of the whole scan."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from certificates import emails
from certificates.models import Reminder
from certificates.selectors.reminders import DueReminder
from certificates.services.reminders.wording import certificate_label


class OutcomeStatus(StrEnum):
    """What the scan did (or, in a dry run, would do) with one reminder. The values are the
    words the report and ``send_reminders`` print; a reminder *row* has ``Reminder.Status``."""

    QUEUED = "queued"
    SKIPPED = "skipped"
    FAILED = "failed"
    WOULD_SEND = "would send"
    WOULD_SKIP = "would skip"


@dataclass(frozen=True)
class ReminderOutcome:
    """What the scan did (or, in a dry run, would do) with one reminder."""

    certificate_id: int
    certificate_label: str
    kind: str
    threshold_days: int
    status: OutcomeStatus
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
            "queued": self.count(OutcomeStatus.QUEUED),
            "skipped": self.count(OutcomeStatus.SKIPPED),
            "failed": self.count(OutcomeStatus.FAILED),
            "would_send": self.count(OutcomeStatus.WOULD_SEND),
            "requeued_emails": len(self.requeued_emails),
            "errors": len(self.errors),
            "waiting_for_broker": len(self.waiting_for_broker),
        }

    def lines(self) -> list[str]:
        lines = [o.line() for o in self.outcomes]
        lines += [f"queued again: outbox #{pk}" for pk in self.requeued_emails]
        lines += [f"error: {e}" for e in self.errors]
        return lines


def outcome(
    due: DueReminder | Reminder,
    status: OutcomeStatus,
    *,
    composed: emails.ComposedEmail | None = None,
    reason: str = "",
    email_id: int | None = None,
    note: str = "",
) -> ReminderOutcome:
    """The report's line for ``due`` (a row, or one a dry run imagines)."""
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
