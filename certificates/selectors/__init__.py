"""Every read that is more than a lookup: health, certificate status, the dashboard."""

from certificates.selectors.dashboard import DashboardCell, DashboardRow, dashboard_rows
from certificates.selectors.health import HEARTBEAT_CACHE_KEY, health_report, heartbeat_record
from certificates.selectors.requests import subject_of
from certificates.selectors.status import (
    CertificateStatus,
    certificate_status,
    certificates_with_status,
    status_of,
)

__all__ = [
    "HEARTBEAT_CACHE_KEY",
    "CertificateStatus",
    "DashboardCell",
    "DashboardRow",
    "certificate_status",
    "certificates_with_status",
    "dashboard_rows",
    "health_report",
    "heartbeat_record",
    "status_of",
    "subject_of",
]
