"""Certificate status, derived from dates and records, never stored twice (DESIGN.md)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db.models import Case, CharField, QuerySet, Value, When
from django.utils import timezone

from certificates.models import Certificate, Environment, Revocation

DAY = timedelta(days=1)


class CertificateStatus(StrEnum):
    NOT_YET_VALID = "not yet valid"
    VALID = "valid"
    RENEWAL_DUE = "renewal due"
    EXPIRED = "expired"
    REVOCATION_REQUESTED = "revocation requested"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


def certificate_status(
    *,
    not_before: datetime,
    not_after: datetime,
    now: datetime,
    revocation_requested: bool,
    revocation_confirmed: bool,
    superseded: bool,
    renewal_lead_days: int,
) -> CertificateStatus:
    """The one status a certificate shows, derived from its dates and records (DESIGN.md).

    Records outrank dates: a revoked or replaced certificate says so even after it expired, and
    ``superseded`` is the recorded fact that another certificate was installed in its place,
    never a guess from which one expires last.
    """
    if revocation_confirmed:
        return CertificateStatus.REVOKED
    if revocation_requested:
        return CertificateStatus.REVOCATION_REQUESTED
    if superseded:
        return CertificateStatus.SUPERSEDED
    if now >= not_after:
        return CertificateStatus.EXPIRED
    if now < not_before:
        return CertificateStatus.NOT_YET_VALID
    if not_after - now <= timedelta(days=renewal_lead_days):
        return CertificateStatus.RENEWAL_DUE
    return CertificateStatus.VALID


def status_expression(*, now: datetime, renewal_lead_days: int) -> Case:
    """:func:`certificate_status` as SQL.

    The branches are the pure function's, in its order, so lists can filter and paginate by
    status in the database; ``tests/selectors/test_status.py`` proves both agree for every status.
    ``now`` and ``now + lead`` are parameters, so no date arithmetic runs in SQL and SQLite and
    PostgreSQL compare the same values.
    """
    return Case(
        When(revocation__confirmed_at__isnull=False, then=Value(CertificateStatus.REVOKED.value)),
        When(revocation__isnull=False, then=Value(CertificateStatus.REVOCATION_REQUESTED.value)),
        When(superseded_at__isnull=False, then=Value(CertificateStatus.SUPERSEDED.value)),
        When(not_after__lte=now, then=Value(CertificateStatus.EXPIRED.value)),
        When(not_before__gt=now, then=Value(CertificateStatus.NOT_YET_VALID.value)),
        # not_after - now <= lead, written as not_after <= now + lead (a parameter).
        When(
            not_after__lte=now + timedelta(days=renewal_lead_days),
            then=Value(CertificateStatus.RENEWAL_DUE.value),
        ),
        default=Value(CertificateStatus.VALID.value),
        output_field=CharField(),
    )


def certificates_with_status(*, now: datetime | None = None) -> QuerySet[Certificate]:
    """Certificates annotated with their ``status`` at ``now``, in one query, so callers may
    ``.filter(status=...)`` and paginate in the database."""
    now = now or timezone.now()
    return (
        Certificate.objects.select_related(
            "signing_request",
            "signing_request__environment",
            "signing_request__key",
            "environment",
            "revocation",
            "replaces",
            "replaced_by",
        )
        .annotate(
            status=status_expression(now=now, renewal_lead_days=settings.CERTDESK_RENEWAL_LEAD_DAYS)
        )
        .order_by("not_after", "pk")
    )


def certificates_in_service(*, now: datetime | None = None) -> QuerySet[Certificate]:
    """The answer to "which certificate is current": at most one per (environment, purpose),
    the one installed last for that pair (a database constraint holds it to one). Every page,
    command, reminder and feed asks this, never the dates."""
    return certificates_with_status(now=now).filter(superseded_at__isnull=True)


def certificate_in_service(
    *, environment: Environment, purpose: str, now: datetime | None = None
) -> Certificate | None:
    """The certificate in service for one (environment, purpose), or None before the first."""
    return certificates_in_service(now=now).filter(environment=environment, purpose=purpose).first()


def status_of(certificate: Certificate, *, now: datetime | None = None) -> CertificateStatus:
    """Status of a certificate from :func:`certificates_with_status` (or fetched alone).

    A certificate from :func:`certificates_with_status` carries its status for the ``now`` that
    queryset was built with; callers pass the same ``now`` to both (the dashboard and the
    ``list_certificates`` command do).
    """
    annotated = getattr(certificate, "status", None)
    if annotated is not None:
        return CertificateStatus(annotated)
    now = now or timezone.now()
    revocation = getattr(certificate, "revocation", None) if _has_revocation(certificate) else None
    return certificate_status(
        not_before=certificate.not_before,
        not_after=certificate.not_after,
        now=now,
        revocation_requested=revocation is not None,
        revocation_confirmed=revocation is not None and revocation.confirmed_at is not None,
        superseded=certificate.superseded_at is not None,
        renewal_lead_days=settings.CERTDESK_RENEWAL_LEAD_DAYS,
    )


def days_left(not_after: datetime, now: datetime) -> int:
    """Whole days until notAfter, rounded down: 0 on the last day, negative once expired."""
    return math.floor((not_after - now) / DAY)


def _has_revocation(certificate: Certificate) -> bool:
    try:
        certificate.revocation  # noqa: B018 - a reverse one-to-one raises when absent
    except Revocation.DoesNotExist:
        return False
    return True


def may_renew(certificate: Certificate, status: CertificateStatus) -> bool:
    """Whether a renewal (a new key, the same subject) may start from ``certificate``: the one
    rule behind every Renew button (dashboard, certificate page). A superseded certificate was
    renewed already; a revoked one is replaced by a new request, not renewed."""
    return certificate.in_service and status != CertificateStatus.REVOKED
