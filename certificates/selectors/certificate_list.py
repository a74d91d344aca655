"""The certificate list's CSV export: the columns of the page, and what a spreadsheet needs more
(notBefore, the fingerprint, the issuer), read a chunk at a time. Never a PEM, never a key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from django.db.models import QuerySet

from certificates.crypto import format_fingerprint
from certificates.models import Certificate, Purpose
from certificates.selectors.status import days_left, status_of

CERTIFICATE_CSV_HEADER = (
    "Environment",
    "Purpose",
    "Common Name",
    "Subject",
    "Issuer",
    "Serial",
    "SHA-256 fingerprint",
    "Not before (UTC)",
    "Not after (UTC)",
    "Days left",
    "Status",
    "In service",
    "Request",
    "Certificate",
)

# Rows read from the database at a time while an export streams.
EXPORT_CHUNK = 500


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def certificate_csv_rows(
    certificates: QuerySet[Certificate], *, now: datetime
) -> Iterator[list[str]]:
    """One row per certificate of ``certificates`` (from ``certificates_with_status`` at
    ``now``, already limited to what the reader may see and filtered as the page is)."""
    for certificate in certificates.iterator(chunk_size=EXPORT_CHUNK):
        signing_request = certificate.signing_request
        status = status_of(certificate, now=now)
        days = days_left(certificate.not_after, now)
        yield [
            signing_request.environment.name,
            str(Purpose(signing_request.purpose).label),
            signing_request.common_name,
            certificate.subject,
            certificate.issuer,
            certificate.serial,
            format_fingerprint(certificate.fingerprint),
            _utc(certificate.not_before),
            _utc(certificate.not_after),
            str(days) if certificate.not_after > now else "",
            status.value,
            "yes" if certificate.in_service else "no",
            str(signing_request.pk),
            str(certificate.pk),
        ]
