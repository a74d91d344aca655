"""Certificate status, derived from dates and records, never stored twice (DESIGN.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db.models import BooleanField, Case, CharField, Max, Q, QuerySet, Value, When
from django.utils import timezone

from certificates.models import Certificate, Revocation


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
    has_newer_valid: bool,
    renewal_lead_days: int,
) -> CertificateStatus:
    """The one status a certificate shows, derived from its dates and records (DESIGN.md).

    Records outrank dates: a revoked or replaced certificate says so even after it expired.
    """
    if revocation_confirmed:
        return CertificateStatus.REVOKED
    if revocation_requested:
        return CertificateStatus.REVOCATION_REQUESTED
    if has_newer_valid:
        return CertificateStatus.SUPERSEDED
    if now >= not_after:
        return CertificateStatus.EXPIRED
    if now < not_before:
        return CertificateStatus.NOT_YET_VALID
    if not_after - now <= timedelta(days=renewal_lead_days):
        return CertificateStatus.RENEWAL_DUE
    return CertificateStatus.VALID


def status_expression(*, now: datetime, renewal_lead_days: int) -> Case:
    """:func:`certificate_status` as SQL, over a queryset annotated with ``has_newer_valid``.

    The branches are the pure function's, in its order, so lists can filter and paginate by
    status in the database; ``tests/test_status_sql.py`` proves both agree for every status.
    ``now`` and ``now + lead`` are parameters, so no date arithmetic runs in SQL and SQLite and
    PostgreSQL compare the same values.
    """
    return Case(
        When(revocation__confirmed_at__isnull=False, then=Value(CertificateStatus.REVOKED.value)),
        When(revocation__isnull=False, then=Value(CertificateStatus.REVOCATION_REQUESTED.value)),
        When(has_newer_valid=True, then=Value(CertificateStatus.SUPERSEDED.value)),
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


def newest_valid_expiry(*, now: datetime) -> dict[tuple[int, str], datetime]:
    """The latest notAfter among the certificates valid at ``now`` and not being revoked, per
    (environment id, purpose): one aggregate query, linear in the number of certificates."""
    rows = (
        Certificate.objects.filter(not_before__lte=now, not_after__gt=now, revocation__isnull=True)
        .order_by()
        .values_list("signing_request__environment_id", "signing_request__purpose")
        .annotate(latest=Max("not_after"))
    )
    return {(environment_id, purpose): latest for environment_id, purpose, latest in rows}


def has_newer_valid_expression(*, now: datetime) -> Case:
    """True when another certificate of the same environment and purpose, valid now and not
    being revoked, expires later (DESIGN.md, "superseded").

    "Some valid certificate expires later" is "this one expires before the latest valid one",
    so one aggregate query (a handful of environment x purpose groups) replaces a per-row
    subquery that grew with the square of the certificates of one group.
    """
    latest = newest_valid_expiry(now=now)
    return Case(
        *(
            When(
                Q(
                    signing_request__environment_id=environment_id,
                    signing_request__purpose=purpose,
                    not_after__lt=latest_not_after,
                ),
                then=Value(True),
            )
            for (environment_id, purpose), latest_not_after in latest.items()
        ),
        default=Value(False),
        output_field=BooleanField(),
    )


def certificates_with_status(*, now: datetime | None = None) -> QuerySet[Certificate]:
    """Certificates annotated with their status, in a constant number of queries.

    ``has_newer_valid``: see :func:`has_newer_valid_expression` (its aggregate query runs when
    this queryset is built). ``status``: the :class:`CertificateStatus` value at ``now``, so
    callers may ``.filter(status=...)`` and paginate in the database.
    """
    now = now or timezone.now()
    return (
        Certificate.objects.select_related(
            "signing_request", "signing_request__environment", "revocation"
        )
        .annotate(has_newer_valid=has_newer_valid_expression(now=now))
        .annotate(
            status=status_expression(now=now, renewal_lead_days=settings.CERTDESK_RENEWAL_LEAD_DAYS)
        )
        .order_by("not_after", "pk")
    )


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
    has_newer_valid = getattr(certificate, "has_newer_valid", None)
    if has_newer_valid is None:
        has_newer_valid = (
            certificates_with_status(now=now).filter(pk=certificate.pk).get().has_newer_valid  # type: ignore[attr-defined]
        )
    revocation = getattr(certificate, "revocation", None) if _has_revocation(certificate) else None
    return certificate_status(
        not_before=certificate.not_before,
        not_after=certificate.not_after,
        now=now,
        revocation_requested=revocation is not None,
        revocation_confirmed=revocation is not None and revocation.confirmed_at is not None,
        has_newer_valid=bool(has_newer_valid),
        renewal_lead_days=settings.CERTDESK_RENEWAL_LEAD_DAYS,
    )


def _has_revocation(certificate: Certificate) -> bool:
    try:
        certificate.revocation  # noqa: B018 - a reverse one-to-one raises when absent
    except Revocation.DoesNotExist:
        return False
    return True
