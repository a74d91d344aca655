"""Every read that is more than a lookup: health, certificate status, the dashboard."""

from certificates.selectors.dashboard import DashboardCell, DashboardRow, dashboard_rows
from certificates.selectors.health import HEARTBEAT_CACHE_KEY, health_report
from certificates.selectors.requests import (
    OPEN_STATUSES,
    SENDABLE,
    SendPlan,
    csr_bundle,
    missing_sets,
    open_requests,
    same_purpose_conflict,
    same_purpose_message,
    stored_subject,
    subject_of,
    subject_prefill,
    tam_send_plan,
)
from certificates.selectors.status import (
    CertificateStatus,
    certificate_in_service,
    certificate_status,
    certificates_in_service,
    certificates_with_status,
    days_left,
    may_renew,
    status_of,
)
from certificates.selectors.timeline import TimelineEntry, certificate_timeline, request_timeline

__all__ = [
    "HEARTBEAT_CACHE_KEY",
    "OPEN_STATUSES",
    "SENDABLE",
    "CertificateStatus",
    "DashboardCell",
    "DashboardRow",
    "SendPlan",
    "TimelineEntry",
    "certificate_in_service",
    "certificate_status",
    "certificate_timeline",
    "certificates_in_service",
    "certificates_with_status",
    "csr_bundle",
    "dashboard_rows",
    "days_left",
    "health_report",
    "may_renew",
    "missing_sets",
    "open_requests",
    "request_timeline",
    "same_purpose_conflict",
    "same_purpose_message",
    "status_of",
    "stored_subject",
    "subject_of",
    "subject_prefill",
    "tam_send_plan",
]
