"""CSV exports of the certificate list and of the audit log: data leaving certdesk, so each is
recorded (who, with which filters, how many rows) before the first byte is sent.

The rows themselves are read by the selectors (``selectors.certificate_list``,
``selectors.audit``), from a queryset the view has already limited to what the person may see;
neither holds key material (rule 3).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from certificates.models import AuditEvent
from certificates.services.audit import Actor, audit_record


def _filters(filters: dict[str, Any]) -> dict[str, str]:
    """The filters as recorded: set ones only, as text (a date, a list of action codes)."""
    recorded = {}
    for name, value in filters.items():
        if value in (None, "", [], ()):
            continue
        if isinstance(value, list | tuple):
            value = ", ".join(str(item) for item in value)
        recorded[name] = str(value)
    return recorded


def certificate_list_export(*, actor: Actor, filters: dict[str, Any], rows: int) -> AuditEvent:
    """Record that ``actor`` exported ``rows`` certificates of the list, filtered so."""
    with transaction.atomic():
        return audit_record(
            actor=actor,
            action="certificate.list_exported",
            details={"format": "csv", "filters": _filters(filters), "rows": rows},
        )


def audit_log_export(*, actor: Actor, filters: dict[str, Any], rows: int) -> AuditEvent:
    """Record that ``actor`` exported ``rows`` events of the audit log, filtered so."""
    with transaction.atomic():
        return audit_record(
            actor=actor,
            action="audit.exported",
            details={"format": "csv", "filters": _filters(filters), "rows": rows},
        )
