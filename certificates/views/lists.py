"""The list pages: all certificates, all requests, the audit log, and the CSV exports of the
first and the last.

Each page reads a constant number of queries whatever the number of rows: the visible
environments (one), the row count and one page of rows (and, for the audit log, its distinct
actions). Filtering, sorting and paging all happen in the database, status included
(``certificates_with_status`` computes it in SQL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from certificates import crypto
from certificates.audit_wording import action_words
from certificates.csv_format import csv_lines
from certificates.forms.lists import AuditFilterForm, CertificateFilterForm, RequestFilterForm
from certificates.models import AuditEvent, Certificate, Environment, Purpose, SigningRequest
from certificates.permissions import Action, environments_for, is_administrator, may_read_audit_log
from certificates.selectors import (
    CertificateStatus,
    certificates_with_status,
    days_left,
    status_of,
)
from certificates.selectors.audit import (
    AUDIT_CSV_HEADER,
    audit_csv_rows,
    audit_people_names,
    audit_person,
    audit_rows,
)
from certificates.selectors.certificate_list import CERTIFICATE_CSV_HEADER, certificate_csv_rows
from certificates.services import Actor
from certificates.services.exports import audit_log_export, certificate_list_export

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


def _certificates(
    request: HttpRequest, now: datetime
) -> tuple[CertificateFilterForm, QuerySet[Certificate], list[Environment]]:
    """The certificates the user may view (their environments), with the filter form; the
    queryset is not narrowed by the form yet."""
    environments = list(environments_for(request.user))
    form = CertificateFilterForm(request.GET, environments=environments)
    certificates = (
        certificates_with_status(now=now)
        .filter(signing_request__environment__in=environments)
        .order_by("not_after", "pk")
    )
    return form, certificates, environments


@require_GET
def certificate_list(request: HttpRequest) -> HttpResponse:
    """Every certificate of the environments the user may view, soonest expiry first; the
    superseded and revoked ones only when asked for (``?show=all``)."""
    now = timezone.now()
    form, visible, environments = _certificates(request, now)
    page = page_of(request, form.filter(visible))
    shows_all = form.shows_all()
    hidden = 0 if shows_all else form.hidden(form.filter(visible, hide=False)).count()
    return render(
        request,
        "certificates/certificate_list.html",
        {
            "form": form,
            **paging(page),
            "rows": [CertificateRow.of(certificate, now) for certificate in page],
            "has_environments": bool(environments),
            "shows_all": shows_all,
            # How many the default view leaves out, for the "show them" link (one count).
            "hidden_count": hidden,
        },
    )


def csv_response(lines: Any, filename: str) -> StreamingHttpResponse:
    """A CSV attachment, streamed line by line."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@never_cache
def certificate_list_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The certificate list as CSV, with the page's filters and search (the rows the user may
    see, the superseded and revoked ones when shown): recorded, then streamed."""
    now = timezone.now()
    form, visible, _ = _certificates(request, now)
    certificates = form.filter(visible)
    certificate_list_export(
        actor=Actor.from_request(request), filters=form.chosen(), rows=certificates.count()
    )
    return csv_response(
        csv_lines(CERTIFICATE_CSV_HEADER, certificate_csv_rows(certificates, now=now)),
        f"certdesk-certificates-{timezone.localdate():%Y-%m-%d}.csv",
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


def _audit_events(request: HttpRequest) -> tuple[AuditFilterForm, QuerySet[AuditEvent]]:
    """The events the user may read, filtered by the form (403 for those who may read none).
    Administrators read every event; custodians the events of their environments only (the
    people who may take keys answer for what happens to them)."""
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
    readable = events
    form = AuditFilterForm(
        request.GET,
        environments=environments,
        actions=actions,
        person_lookup=lambda name: audit_person(name, readable),
    )
    events = events.select_related("environment").order_by("-created_at", "-pk")
    return form, form.filter(events)


@require_GET
def audit_log(request: HttpRequest) -> HttpResponse:
    """The audit log, newest first: actions in words, targets linked, filters by environment,
    person, action and days (403 for those who may not read it)."""
    form, events = _audit_events(request)
    page = page_of(request, events)
    administrator = is_administrator(request.user)
    return render(
        request,
        "certificates/audit_log.html",
        {
            "form": form,
            **paging(page),
            "rows": audit_rows(page, administrator=administrator),
            "actions": form.actions,
            "action_options": [(action, action_words(action)) for action in form.actions],
            # Administrators manage people: their filter suggests every name.
            "people": audit_people_names() if administrator else [],
        },
    )


@require_GET
@never_cache
def audit_log_csv(request: HttpRequest) -> StreamingHttpResponse:
    """The audit log as CSV, with the page's filters and the reader's limits: recorded (the
    export is itself an event), then streamed a chunk at a time, up to that event."""
    form, events = _audit_events(request)
    export = audit_log_export(
        actor=Actor.from_request(request), filters=form.chosen(), rows=events.count()
    )
    return csv_response(
        csv_lines(AUDIT_CSV_HEADER, audit_csv_rows(events.filter(pk__lt=export.pk))),
        f"certdesk-audit-log-{timezone.localdate():%Y-%m-%d}.csv",
    )
