"""The outbox page: every email certdesk sent or tried to send, for administrators.

Superusers only (403 for everyone else; the login middleware sends anonymous visitors to the
login page first). It lists when, to whom, what kind, the subject, what the email was about (a
link to the request or certificate), status, attempts and the last error, newest first, 50 a
page, filterable by status and kind. Bodies and attachments are never
loaded, let alone shown: a refused email is refused because its content carried key material.

Routed in ``certificates/urls.py``, at ``/outbox/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from certificates import crypto, emails
from certificates.models import OutboundEmail, OutboundNotification
from certificates.selectors.notifications import notification_rows
from certificates.views.access import superuser_required

PER_PAGE = 50


@dataclass(frozen=True)
class OutboxRow:
    pk: int
    created_at: datetime
    sent_at: datetime | None
    to: list[str]
    kind: str
    subject: str
    status: str
    status_label: str
    attempts: int
    error: str
    environment: str
    # What the email was about (issue 16), for a link; None for emails about nothing in
    # particular (checkpoints) or sent before certdesk recorded it.
    signing_request_id: int | None = None
    certificate_id: int | None = None


def _withheld(text: str) -> str:
    """Subjects and errors are shown, unless they are themselves the leak."""
    if crypto.contains_private_key_material(text.encode("utf-8", "replace")):
        return "(withheld: it carries private-key material)"
    return text


def _row(email: OutboundEmail) -> OutboxRow:
    return OutboxRow(
        pk=email.pk,
        created_at=email.created_at,
        sent_at=email.sent_at,
        to=[str(address) for address in email.to],
        kind=email.get_kind_display(),
        subject=emails.loggable_subject(email.subject),
        status=email.status,
        status_label=email.get_status_display(),
        attempts=email.attempts,
        error=_withheld(email.last_error),
        environment=email.environment.name if email.environment is not None else "",
        signing_request_id=email.signing_request_id,
        certificate_id=email.certificate_id,
    )


@superuser_required
@require_GET
@never_cache
def outbox_list(request: HttpRequest) -> HttpResponse:
    """Newest first, 50 a page; ``?status=`` and ``?kind=`` filter (unknown values are ignored)."""
    status = request.GET.get("status", "")
    kind = request.GET.get("kind", "")
    status = status if status in OutboundEmail.Status.values else ""
    kind = kind if kind in OutboundEmail.Kind.values else ""
    rows = (
        OutboundEmail.objects.select_related("environment")
        .defer("body_text", "body_html", "attachments")
        .order_by("-created_at", "-pk")
    )
    if status:
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    page = Paginator(rows, PER_PAGE).get_page(request.GET.get("page"))
    # Issue 18: the chat and webhook notifications, a second table (its own pages, ``npage``),
    # in two queries whatever the number of rows; the status filter applies to it too.
    notifications = OutboundNotification.objects.select_related("channel__environment").order_by(
        "-created_at", "-pk"
    )
    if status:
        notifications = notifications.filter(status=status)
    notification_page = Paginator(notifications, PER_PAGE).get_page(request.GET.get("npage"))
    return render(
        request,
        "certificates/outbox.html",
        {
            "page": page,
            "rows": [_row(email) for email in page.object_list],
            "status": status,
            "kind": kind,
            "statuses": OutboundEmail.Status.choices,
            "kinds": OutboundEmail.Kind.choices,
            "filtered": bool(status or kind),
            "notification_page": notification_page,
            "notification_rows": notification_rows(notification_page.object_list),
        },
    )
