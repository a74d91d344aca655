"""The list pages: all certificates, all requests, the audit log.

Each page reads a constant number of queries whatever the number of rows: the visible
environments (one), the row count and one page of rows (and, for the audit log, its distinct
actions). Filtering, sorting and paging all happen in the database, status included
(``certificates_with_status`` computes it in SQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from certificates import crypto
from certificates.forms.lists import AuditFilterForm, CertificateFilterForm, RequestFilterForm
from certificates.models import AuditEvent, Certificate, Purpose, SigningRequest
from certificates.permissions import Action, environments_for, is_administrator, may_read_audit_log
from certificates.selectors import (
    CertificateStatus,
    certificates_with_status,
    days_left,
    status_of,
)

PER_PAGE = 50

ModelT = TypeVar("ModelT", bound=Model)


def page_of(request: HttpRequest, rows: QuerySet[ModelT]) -> Page[ModelT]:
    """The requested page; a page that is not a number or out of range says so and shows the
    first or the last page instead of an error."""
    paginator = Paginator(rows, PER_PAGE)
    asked = request.GET.get("page", "1")
    try:
        return paginator.page(asked)
    except PageNotAnInteger:
        messages.warning(request, f"“{asked}” is not a page number; here is the first page.")
        return paginator.page(1)
    except EmptyPage:
        if int(asked) < 1:
            messages.warning(request, "Pages start at 1; here is the first page.")
            return paginator.page(1)
        last = paginator.num_pages
        messages.warning(request, f"There is no page {asked}; here is the last page, {last}.")
        return paginator.page(last)


def paging(page: Page[Any]) -> dict[str, Any]:
    """What ``_pagination.html`` needs: the page and its numbers, elided around the current one."""
    numbers = page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)
    return {"page": page, "page_range": list(numbers)}


@dataclass(frozen=True)
class CertificateRow:
    certificate: Certificate
    status: CertificateStatus
    days_left: int | None  # None once expired: the status column says it
    not_after: str  # as OpenSSL prints it, which is what Treezor's page compares against

    @classmethod
    def of(cls, certificate: Certificate, now: datetime) -> CertificateRow:
        days = days_left(certificate.not_after, now)
        return cls(
            certificate=certificate,
            status=status_of(certificate, now=now),
            days_left=days if certificate.not_after > now else None,
            not_after=crypto.openssl_date(certificate.not_after),
        )

    @property
    def purpose(self) -> str:
        return str(Purpose(self.certificate.signing_request.purpose).label)

    @property
    def status_class(self) -> str:
        # The certificate page's badge classes: status-renewal-due, status-not-yet-valid...
        return "status-" + self.status.value.replace(" ", "-")


@require_GET
def certificate_list(request: HttpRequest) -> HttpResponse:
    """Every certificate of the environments the user may view, soonest expiry first."""
    now = timezone.now()
    environments = list(environments_for(request.user))
    form = CertificateFilterForm(request.GET, environments=environments)
    certificates = form.filter(
        certificates_with_status(now=now)
        .filter(signing_request__environment__in=environments)
        .order_by("not_after", "pk")
    )
    page = page_of(request, certificates)
    return render(
        request,
        "certificates/certificate_list.html",
        {
            "form": form,
            **paging(page),
            "rows": [CertificateRow.of(certificate, now) for certificate in page],
            "has_environments": bool(environments),
        },
    )


@require_GET
def request_list(request: HttpRequest) -> HttpResponse:
    """Every signing request of the environments the user may view, newest first."""
    environments = list(environments_for(request.user))
    form = RequestFilterForm(request.GET, environments=environments)
    signing_requests = form.filter(
        SigningRequest.objects.filter(environment__in=environments)
        .select_related("environment")
        .order_by("-created_at", "-pk")
    )
    return render(
        request,
        "certificates/request_list.html",
        {
            "form": form,
            **paging(page_of(request, signing_requests)),
            "has_environments": bool(environments),
        },
    )


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent

    @property
    def details(self) -> list[tuple[str, str]]:
        return list(detail_items(self.event.details))


def detail_items(details: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``details`` as (key, value) text pairs, nested keys dotted, lists joined: a page shows
    "reason: superseded", never a raw dict. The template escapes both halves."""
    if isinstance(details, dict):
        for key, value in details.items():
            name = f"{prefix}{key}"
            if isinstance(value, dict) and value:
                yield from detail_items(value, prefix=f"{name}.")
            else:
                yield name, _detail_text(value)
    elif details not in (None, "", [], {}):
        yield prefix.rstrip(".") or "details", _detail_text(details)


def _detail_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_detail_text(item) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_detail_text(item)}" for key, item in value.items()) or "—"
    return str(value)


@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """Administrators read every event; custodians the events of their environments only
    (the people who may take keys answer for what happens to them); others get 403."""
    user = request.user
    if not may_read_audit_log(user):
        raise PermissionDenied(
            "The audit log is for administrators and for custodians of an environment."
        )
    environments = list(environments_for(user, Action.CUSTODY))
    if is_administrator(user):
        events = AuditEvent.objects.all()
    else:
        events = AuditEvent.objects.filter(environment__in=environments)
    actions = list(events.order_by("action").values_list("action", flat=True).distinct())
    form = AuditFilterForm(request.GET, environments=environments, actions=actions)
    events = events.select_related("environment").order_by("-created_at", "-pk")
    page = page_of(request, form.filter(events))
    return render(
        request,
        "certificates/audit_log.html",
        {
            "form": form,
            **paging(page),
            "rows": [AuditRow(event) for event in page],
            "actions": actions,
        },
    )
