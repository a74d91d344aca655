"""Which certificates the expiry scan looks at, and which of their reminders are due.

The selection is one query on the ``Certificate.not_after`` index plus one for the reminders
already recorded, whatever the number of certificates: never one query per certificate (the
mistake STYLE.md warns about in Lemur's expiry job).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
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

from certificates.models import (
    Certificate,
    Environment,
    Key,
    Membership,
    Reminder,
    Role,
    SigningRequest,
)
from certificates.selectors.status import certificates_in_service, days_left

DAY = timedelta(days=1)
OWNER_ROLES = (Role.REQUESTER, Role.CUSTODIAN)


def renewal_lead_days() -> int:
    return int(settings.CERTDESK_RENEWAL_LEAD_DAYS)


def owner_thresholds() -> list[int]:
    """CERTDESK_REMINDER_DAYS, plus the renewal lead days, tightest last.

    Rule 7 says the owners hear about a renewal when the TAM does, so the day the window opens
    is always an owner threshold, even when CERTDESK_REMINDER_DAYS does not list it.
    """
    return sorted({*settings.CERTDESK_REMINDER_DAYS, renewal_lead_days()}, reverse=True)


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
    in_range = Certificate.objects.filter(
        superseded_at__isnull=True, not_after__gt=now - renewal_lead_days() * DAY
    )
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
    Out (rule 9): every certificate that is not in service (renewed, replaced: superseded is a
    recorded fact), and revoked or revocation-requested ones (the compromise email covers them).
    Each comes with its ``reminders`` and ``renewals`` prefetched (one query each, for all).
    """
    lead = renewal_lead_days()
    horizon = max(owner_thresholds()[0], lead) + 1
    return (
        certificates_in_service(now=now)
        .filter(
            not_after__lt=now + timedelta(days=horizon),
            not_after__gt=now - timedelta(days=lead),
            revocation__isnull=True,
        )
        # The key: whether the scan prepares a renewal itself reads its source.
        .select_related("signing_request__key")
        .prefetch_related(
            Prefetch("reminders", queryset=Reminder.objects.order_by("threshold_days", "pk")),
            # For a dry run's emails; sending reads them again, locked, at the time.
            Prefetch("renewals", queryset=SigningRequest.objects.order_by("-created_at", "-pk")),
        )
    )


@dataclass(frozen=True)
class DueReminder:
    """A reminder row the scan should insert, ``pending``. Whether it is then sent or skipped
    is :func:`certificates.services.reminders.decide.reminder_decide`'s answer, not this one's."""

    certificate: Certificate
    kind: str
    threshold_days: int


def tightest_due_threshold(left: int) -> int | None:
    """The smallest owner threshold at or above ``left`` days: the one reminder to send."""
    due = [t for t in owner_thresholds() if left <= t]
    return min(due) if due else None


def reminders_due(certificate: Certificate, *, now: datetime) -> list[DueReminder]:
    """The reminder rows missing for ``certificate`` at ``now`` (pure: no query).

    A threshold is due once the days left are at or below it, so a threshold missed while the
    scheduler was down is caught up by the next scan (rule 9). When several are due at once,
    each gets its row, so that each is decided once: only the tightest is sent and the others
    are recorded as skipped, one catch-up email, not a burst (django-ca's "exactly equal" test,
    STYLE.md, would lose them instead).
    """
    left = days_left(certificate.not_after, now)
    recorded = list(certificate.reminders.all())
    due: list[DueReminder] = []

    lead = renewal_lead_days()
    has_tam = any(r.kind == Reminder.Kind.TAM_RENEWAL for r in recorded)
    if left <= lead and not has_tam:
        due.append(DueReminder(certificate, Reminder.Kind.TAM_RENEWAL, lead))

    tightest = tightest_due_threshold(left)
    if tightest is None:
        return due
    done = {r.threshold_days for r in recorded if r.kind == Reminder.Kind.OWNER}
    due += [
        DueReminder(certificate, Reminder.Kind.OWNER, threshold)
        for threshold in owner_thresholds()
        if threshold >= tightest and threshold not in done
    ]
    return due


def owner_recipients_for(environments: Iterable[Environment]) -> dict[int, list[str]]:
    """Per environment: its requesters and custodians, then the administrators (who answer for
    every environment), then its team addresses; people only when active, with an address, and
    not having turned reminders off on their Profile; each address once, whatever its case.
    Two queries for all the environments."""
    by_pk = {environment.pk: environment for environment in environments}
    if not by_pk:
        return {}
    addresses: dict[int, list[str]] = {pk: [] for pk in by_pk}
    for environment_id, email in (
        Membership.objects.filter(
            environment__in=list(by_pk), role__in=OWNER_ROLES, user__is_active=True
        )
        .exclude(user__email="")
        .exclude(user__certdesk_profile__receives_reminders=False)
        .order_by("user__username")
        .values_list("environment_id", "user__email")
    ):
        addresses[environment_id].append(email)
    administrators = list(
        get_user_model()
        .objects.filter(is_superuser=True, is_active=True)
        .exclude(email="")
        .exclude(certdesk_profile__receives_reminders=False)
        .order_by("username")
        .values_list("email", flat=True)
    )
    recipients: dict[int, list[str]] = {}
    for pk, environment in by_pk.items():
        seen: set[str] = set()
        unique: list[str] = []
        team = [str(a) for a in environment.team_emails]
        for address in [*addresses[pk], *administrators, *team]:
            key = address.strip().lower()
            if key and key not in seen:
                seen.add(key)
                unique.append(address.strip())
        recipients[pk] = unique
    return recipients


def prepares_renewals(certificate: Certificate) -> bool:
    """Whether the scan prepares the renewal of ``certificate`` itself (issue 11, point 7).

    The environment's explicit choice when an administrator made one; otherwise on, unless the
    key being replaced was brought by the user: they made their own key and CSR, so certdesk
    does not decide for them that its own generated key will do.
    """
    environment = certificate.signing_request.environment
    if environment.prepare_renewals is not None:
        return environment.prepare_renewals
    return certificate.signing_request.key.source != Key.Source.IMPORTED
