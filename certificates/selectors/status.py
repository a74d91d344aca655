"""Certificate status, derived from dates and records, never stored twice (DESIGN.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
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


def certificates_with_status(*, now: datetime | None = None) -> QuerySet[Certificate]:
    """Certificates annotated with what their status needs, in one query whatever their count.

    ``has_newer_valid``: another certificate of the same environment and purpose, valid now,
    that expires later and is not being revoked (DESIGN.md, "superseded").
    """
    now = now or timezone.now()
    newer_valid = (
        Certificate.objects.filter(
            signing_request__environment=OuterRef("signing_request__environment"),
            signing_request__purpose=OuterRef("signing_request__purpose"),
            not_before__lte=now,
            not_after__gt=now,
            revocation__isnull=True,
        )
        .filter(not_after__gt=OuterRef("not_after"))
        .exclude(pk=OuterRef("pk"))
    )
    return (
        Certificate.objects.select_related(
            "signing_request", "signing_request__environment", "revocation"
        )
        .annotate(has_newer_valid=Exists(newer_valid))
        .order_by("not_after", "pk")
    )


def status_of(certificate: Certificate, *, now: datetime | None = None) -> CertificateStatus:
    """Status of a certificate from :func:`certificates_with_status` (or fetched alone)."""
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
