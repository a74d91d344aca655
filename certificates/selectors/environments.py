"""What the settings pages show of an environment's stored CA bundle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from certificates import crypto
from certificates.models import Environment


@dataclass(frozen=True)
class BundleCertificate:
    subject: str
    not_after: str
    expired: bool


@dataclass(frozen=True)
class BundleSummary:
    certificates: list[BundleCertificate]
    error: str = ""


def stored_ca_bundle(
    environment: Environment, *, now: datetime | None = None
) -> BundleSummary | None:
    """What the pages show of a stored CA bundle: subjects and expiry, or why it is unreadable."""
    if not environment.ca_bundle:
        return None
    try:
        certificates = crypto.parse_ca_bundle(environment.ca_bundle.encode("utf-8"))
    except crypto.CryptoError as error:
        return BundleSummary(certificates=[], error=error.message)
    now = now or timezone.now()
    return BundleSummary(
        certificates=[
            BundleCertificate(
                subject=crypto.describe_name(certificate.subject),
                not_after=crypto.openssl_date(certificate.not_valid_after_utc),
                expired=certificate.not_valid_after_utc < now,
            )
            for certificate in certificates
        ]
    )
