"""Certificate status in SQL (certificates_with_status) agrees with certificate_status in Python.

Run on SQLite and, with DATABASE_URL, on PostgreSQL: dates are compared by each database, so
both must agree with the pure function, boundaries included.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db.models import Q

from certificates.models import Certificate, Environment, Revocation
from certificates.selectors import (
    CertificateStatus,
    certificate_status,
    certificates_with_status,
    status_of,
)
from tests.support.factories import CertificateFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 1, 12, 0, 0, 250_000, tzinfo=UTC)
DAY = timedelta(days=1)
LEAD = timedelta(days=settings.CERTDESK_RENEWAL_LEAD_DAYS)
TICK = timedelta(microseconds=1)


def environment(name: str) -> Environment:
    return Environment.objects.create(name=name, slug=name.lower().replace(" ", "-"))


def certificate(
    env: Environment,
    *,
    not_before: datetime = NOW - 10 * DAY,
    not_after: datetime = NOW + 200 * DAY,
    purpose: str = "mtls",
) -> Certificate:
    """A certificate installed for (env, purpose): the one in service there is superseded by it,
    as the upload service records it."""
    installed = CertificateFactory.create(
        signing_request__environment=env,
        signing_request__purpose=purpose,
        not_before=not_before,
        not_after=not_after,
        supersede_at=NOW - DAY,
    )
    return installed


def revoke(cert: Certificate, *, confirmed: bool) -> None:
    Revocation.objects.create(
        certificate=cert, reason="key_compromise", confirmed_at=NOW - DAY if confirmed else None
    )


def in_python(row: Certificate, now: datetime) -> CertificateStatus:
    """The pure function, fed with the row's own dates and records (revocation joined in)."""
    try:
        revocation: Revocation | None = row.revocation
    except Revocation.DoesNotExist:
        revocation = None
    return certificate_status(
        not_before=row.not_before,
        not_after=row.not_after,
        now=now,
        revocation_requested=revocation is not None,
        revocation_confirmed=revocation is not None and revocation.confirmed_at is not None,
        superseded=row.superseded_at is not None,
        renewal_lead_days=settings.CERTDESK_RENEWAL_LEAD_DAYS,
    )


@pytest.fixture
def one_of_each() -> dict[int, CertificateStatus]:
    """A certificate in every status at NOW, plus the edge cases, each with what it must show."""
    expected: dict[int, CertificateStatus] = {}

    def add(
        name: str,
        status: CertificateStatus,
        not_before: datetime = NOW - 10 * DAY,
        not_after: datetime = NOW + 200 * DAY,
    ) -> Certificate:
        cert = certificate(environment(name), not_before=not_before, not_after=not_after)
        expected[cert.pk] = status
        return cert

    revoke(add("Revoked", CertificateStatus.REVOKED), confirmed=True)
    revoke(add("Requested", CertificateStatus.REVOCATION_REQUESTED), confirmed=False)
    add("Expired", CertificateStatus.EXPIRED, not_after=NOW - DAY)
    add("Not yet", CertificateStatus.NOT_YET_VALID, not_before=NOW + DAY)
    add("Due", CertificateStatus.RENEWAL_DUE, not_after=NOW + 10 * DAY)
    add("Valid", CertificateStatus.VALID)
    # Superseded is recorded: a certificate replaced by a later install stays superseded even
    # when the one that replaced it expires first; a signature certificate is not affected.
    shared = environment("Shared")
    old = certificate(shared, not_after=NOW + 365 * DAY)
    new = certificate(shared, not_after=NOW + 100 * DAY)
    other_purpose = certificate(shared, not_after=NOW + 50 * DAY, purpose="signature")
    expected |= {
        old.pk: CertificateStatus.SUPERSEDED,
        new.pk: CertificateStatus.VALID,
        other_purpose.pk: CertificateStatus.VALID,
    }
    # Edges: each comparison at its exact boundary, and records outranking dates.
    add("Ends now", CertificateStatus.EXPIRED, not_after=NOW)
    add("Starts now", CertificateStatus.VALID, not_before=NOW)
    add("Starts a tick later", CertificateStatus.NOT_YET_VALID, not_before=NOW + TICK)
    add("Lead exactly", CertificateStatus.RENEWAL_DUE, not_after=NOW + LEAD)
    add("Lead and a tick", CertificateStatus.VALID, not_after=NOW + LEAD + TICK)
    add("Whole seconds", CertificateStatus.EXPIRED, not_after=NOW.replace(microsecond=0))
    revoke(add("Revoked late", CertificateStatus.REVOKED, not_after=NOW - DAY), confirmed=True)
    revoke(
        add("Requested early", CertificateStatus.REVOCATION_REQUESTED, not_before=NOW + DAY),
        confirmed=False,
    )
    replaced = environment("Replaced")
    expired_old = certificate(replaced, not_after=NOW - DAY)
    certificate(replaced, not_after=NOW + 300 * DAY)
    expected[expired_old.pk] = CertificateStatus.SUPERSEDED
    # A replaced certificate that is then revoked says revoked: records of revocation outrank.
    revoked_old = environment("Revoked after replacement")
    first = certificate(revoked_old)
    certificate(revoked_old)
    revoke(first, confirmed=True)
    expected[first.pk] = CertificateStatus.REVOKED
    return expected


def test_every_status_in_sql_is_the_status_in_python(
    one_of_each: dict[int, CertificateStatus],
) -> None:
    """Lists filtered by status in the database show what the certificate page says."""
    rows = list(certificates_with_status(now=NOW))
    for row in rows:
        assert row.status == in_python(row, NOW), row.signing_request.environment.name  # type: ignore[attr-defined]
        if row.pk in one_of_each:
            assert row.status == one_of_each[row.pk], row.signing_request.environment.name  # type: ignore[attr-defined]
    assert {row.status for row in rows} == set(CertificateStatus)  # type: ignore[attr-defined]


def test_sql_and_python_agree_at_every_moment_of_a_certificates_life(
    one_of_each: dict[int, CertificateStatus],
) -> None:
    """Whatever the day, the status the lists filter on is the status a user reads."""
    moments = [NOW + offset * DAY for offset in range(-20, 400, 30)]
    moments += [NOW + LEAD, NOW + 100 * DAY - LEAD, NOW + 100 * DAY, NOW - 10 * DAY]
    moments += [NOW.replace(microsecond=0), NOW + TICK, NOW - TICK, NOW + LEAD + TICK]
    for now in moments:
        for row in certificates_with_status(now=now):
            assert row.status == in_python(row, now), (now, row.signing_request.environment.name)  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", list(CertificateStatus))
def test_filtering_by_status_happens_in_the_database(
    one_of_each: dict[int, CertificateStatus], status: CertificateStatus
) -> None:
    """Filtering on a status returns exactly the certificates showing it."""
    wanted = {pk for pk, expected in one_of_each.items() if expected == status}
    found = set(
        certificates_with_status(now=NOW).filter(Q(status=status)).values_list("pk", flat=True)
    )
    assert wanted <= found
    assert all(one_of_each.get(pk, status) == status for pk in found)


def test_status_of_reads_the_annotation_without_a_query(
    one_of_each: dict[int, CertificateStatus], django_assert_num_queries
) -> None:
    """A list page's rows know their status without one query per row."""
    rows = list(certificates_with_status(now=NOW))
    with django_assert_num_queries(0):
        statuses = {row.pk: status_of(row, now=NOW) for row in rows}
    assert {pk: statuses[pk] for pk in one_of_each} == one_of_each


def test_status_of_a_certificate_fetched_alone_is_the_same(
    one_of_each: dict[int, CertificateStatus],
) -> None:
    """The certificate page (a plain fetch) and the lists (annotated) show the same status."""
    for pk, expected in one_of_each.items():
        assert status_of(Certificate.objects.get(pk=pk), now=NOW) == expected
