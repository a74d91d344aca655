"""Which certificates the expiry scan looks at, and which of their reminders are due.

The selection is one query on the ``Certificate.not_after`` index plus one for the reminders
already recorded, whatever the number of certificates: never one query per certificate (the
mistake STYLE.md warns about in Lemur's expiry job).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import (
    Case,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)

from certificates.models import Certificate, Reminder, SigningRequest
from certificates.selectors.status import certificates_with_status

DAY = timedelta(days=1)


def renewal_lead_days() -> int:
    return int(settings.CERTDESK_RENEWAL_LEAD_DAYS)


def owner_thresholds() -> list[int]:
    """CERTDESK_REMINDER_DAYS, plus the renewal lead days, tightest last.

    Rule 7 says the owners hear about a renewal when the TAM does, so the day the window opens
    is always an owner threshold, even when CERTDESK_REMINDER_DAYS does not list it.
    """
    return sorted({*settings.CERTDESK_REMINDER_DAYS, renewal_lead_days()}, reverse=True)


def days_left(not_after: datetime, now: datetime) -> int:
    """Whole days until notAfter, rounded down: 0 on the last day, negative once expired."""
    return math.floor((not_after - now) / DAY)


def due_threshold_expression(*, now: datetime) -> Case:
    """The tightest owner threshold due at ``now``, in SQL: days left ≤ t is notAfter earlier
    than now + (t + 1) days; NULL while no threshold is due yet."""
    return Case(
        *(
            When(not_after__lt=now + (threshold + 1) * DAY, then=Value(threshold))
            for threshold in sorted(owner_thresholds())
        ),
        default=None,
        output_field=IntegerField(),
    )


def needing_new_rows(candidates: QuerySet[Certificate], *, now: datetime) -> QuerySet[Certificate]:
    """Only the candidates with a reminder row still to insert: the one for their tightest due
    owner threshold, or, inside the renewal window, the TAM's. The hourly steady state, where
    every due row exists already, then loads no certificate at all (the unique index on
    (certificate, kind, threshold) answers each NOT EXISTS)."""
    owner_recorded = Reminder.objects.filter(
        certificate=OuterRef("pk"),
        kind=Reminder.Kind.OWNER,
        threshold_days=OuterRef("due_threshold"),
    )
    tam_recorded = Reminder.objects.filter(
        certificate=OuterRef("pk"), kind=Reminder.Kind.TAM_RENEWAL
    )
    # Asked first, on the certificates table alone (the not_after index and the reminders'
    # unique index), so the candidate rules below, with their joins, run only for the few
    # certificates that have something new: none, in the hourly steady state.
    # Two plain NOT EXISTS (anti-joins) rather than one OR of them, which PostgreSQL can only
    # evaluate row by row.
    in_range = Certificate.objects.filter(not_after__gt=now - renewal_lead_days() * DAY)
    owner_missing = (
        in_range.annotate(due_threshold=due_threshold_expression(now=now))
        .filter(due_threshold__isnull=False)
        .exclude(Exists(owner_recorded))
        .values("pk")
    )
    tam_missing = (
        in_range.filter(not_after__lt=now + (renewal_lead_days() + 1) * DAY)
        .exclude(Exists(tam_recorded))
        .values("pk")
    )
    return candidates.filter(Q(pk__in=owner_missing) | Q(pk__in=tam_missing))


def reminder_candidates(*, now: datetime) -> QuerySet[Certificate]:
    """Certificates that may be due a reminder now, with what deciding that needs.

    In: ``notAfter`` within the furthest threshold (days left ≤ threshold means less than
    threshold + 1 days to go) and less than CERTDESK_RENEWAL_LEAD_DAYS past: a certificate that
    expired longer ago than that is history, not news, and gets nothing (a scheduler down for a
    whole month, or a first install, does not email about long-dead certificates).
    Out (rule 9): revoked or revocation-requested (the compromise email covers them), superseded
    by a newer valid certificate, or replaced by the certificate of a renewal that is valid now.
    Each comes with its ``reminders`` and ``renewals`` prefetched (one query each, for all).
    """
    lead = renewal_lead_days()
    horizon = max(owner_thresholds()[0], lead) + 1
    valid_renewal = Certificate.objects.filter(
        signing_request__renews=OuterRef("pk"),
        not_before__lte=now,
        not_after__gt=now,
        revocation__isnull=True,
    )
    return (
        certificates_with_status(now=now)
        .filter(
            not_after__lt=now + timedelta(days=horizon),
            not_after__gt=now - timedelta(days=lead),
            revocation__isnull=True,
        )
        .annotate(has_valid_renewal=Exists(valid_renewal))
        # Q, because django-stubs cannot see the annotation certificates_with_status made.
        .filter(Q(has_newer_valid=False), has_valid_renewal=False)
        .prefetch_related(
            Prefetch("reminders", queryset=Reminder.objects.order_by("threshold_days", "pk")),
            # For a dry run's emails; sending reads them again, locked, at the time.
            Prefetch("renewals", queryset=SigningRequest.objects.order_by("-created_at", "-pk")),
        )
    )


@dataclass(frozen=True)
class DueReminder:
    """A reminder row the scan should insert: ``pending`` to send, or ``skipped`` with why."""

    certificate: Certificate
    kind: str
    threshold_days: int
    status: str
    reason: str = ""

    @property
    def sends(self) -> bool:
        return self.status == Reminder.Status.PENDING


def tightest_due_threshold(left: int) -> int | None:
    """The smallest owner threshold at or above ``left`` days: the one reminder to send."""
    due = [t for t in owner_thresholds() if left <= t]
    return min(due) if due else None


def reminders_due(certificate: Certificate, *, now: datetime) -> list[DueReminder]:
    """The reminder rows missing for ``certificate`` at ``now`` (pure: no query).

    A threshold is due once the days left are at or below it, so a threshold missed while the
    scheduler was down is caught up by the next scan (rule 9). When several are due at once,
    only the tightest is sent and the others are recorded as skipped: one catch-up email, not a
    burst (django-ca's "exactly equal" test, STYLE.md, would lose them instead).
    """
    left = days_left(certificate.not_after, now)
    recorded = list(certificate.reminders.all())
    due: list[DueReminder] = []

    lead = renewal_lead_days()
    has_tam = any(r.kind == Reminder.Kind.TAM_RENEWAL for r in recorded)
    if left <= lead and not has_tam:
        due.append(DueReminder(certificate, Reminder.Kind.TAM_RENEWAL, lead, "pending"))

    tightest = tightest_due_threshold(left)
    if tightest is None:
        return due
    owner_due = [t for t in owner_thresholds() if t >= tightest]
    done = {r.threshold_days for r in recorded if r.kind == Reminder.Kind.OWNER}
    for threshold in owner_due:
        if threshold in done:
            continue
        if threshold == tightest:
            due.append(DueReminder(certificate, Reminder.Kind.OWNER, threshold, "pending"))
        else:
            due.append(
                DueReminder(
                    certificate,
                    Reminder.Kind.OWNER,
                    threshold,
                    "skipped",
                    f"superseded by the {tightest}-day reminder",
                )
            )
    return due
