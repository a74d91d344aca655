"""The dashboard: environments (rows) by purposes (columns), in a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from certificates.models import Certificate, Environment, OutboundEmail, Purpose, SigningRequest
from certificates.permissions import Action, environments_for, is_administrator
from certificates.selectors.email_states import EmailState, latest_tam_emails
from certificates.selectors.status import (
    CertificateStatus,
    certificates_in_service,
    certificates_with_status,
    days_left,
    may_renew,
    status_of,
)

OPEN_STATUSES = (
    SigningRequest.Status.DRAFT,
    SigningRequest.Status.READY,
    SigningRequest.Status.SENT,
)
NEEDS_ACTION = {
    CertificateStatus.RENEWAL_DUE,
    CertificateStatus.EXPIRED,
    CertificateStatus.REVOCATION_REQUESTED,
    CertificateStatus.REVOKED,
}


@dataclass
class DashboardCell:
    environment: Environment
    purpose: str
    required: bool
    certificate: Certificate | None = None
    status: CertificateStatus | None = None
    days_left: int | None = None
    in_flight: list[SigningRequest] = field(default_factory=list)
    # The newest CSR email to the TAM of each sent request, by request id (issue 13: the cell
    # says "sent" only when the mail server accepted it; queued, retrying or failed otherwise).
    tam_emails: dict[int, EmailState] = field(default_factory=dict)
    action_label: str = ""
    action_url: str = ""

    @property
    def in_flight_states(self) -> list[tuple[SigningRequest, EmailState | None]]:
        """Each open request with the state of its latest email to the TAM (None: none)."""
        return [(r, self.tam_emails.get(r.pk)) for r in self.in_flight]

    @property
    def purpose_label(self) -> str:
        return str(Purpose(self.purpose).label)

    @property
    def urgency(self) -> str:
        """ok, warn or bad: the colour of the cell."""
        if self.status is None:
            return "none"
        if self.status in {
            CertificateStatus.EXPIRED,
            CertificateStatus.REVOKED,
            CertificateStatus.REVOCATION_REQUESTED,
        }:
            return "bad"
        if self.days_left is not None and self.days_left <= 7:
            return "bad"
        if self.status == CertificateStatus.RENEWAL_DUE:
            return "warn"
        return "ok"


@dataclass
class DashboardRow:
    environment: Environment
    cells: list[DashboardCell]
    can_request: bool


def _wizard_url(environment: Environment, purpose: str, renews: Certificate | None = None) -> str:
    query = {"environment": environment.slug, "purpose": purpose}
    if renews is not None:
        query["renews"] = str(renews.pk)
    return reverse("wizard_start") + "?" + urlencode(query)


def _next_action(cell: DashboardCell, can_request: bool) -> tuple[str, str]:
    ready = [r for r in cell.in_flight if r.status == SigningRequest.Status.READY]
    sent = [r for r in cell.in_flight if r.status == SigningRequest.Status.SENT]
    if ready and can_request:
        return "Send to the TAM", reverse("send_to_tam", args=[cell.environment.slug])
    if sent and can_request:
        return "Upload the certificate", reverse("certificate_upload") + "?" + urlencode(
            {"request": sent[0].pk}
        )
    if cell.in_flight:
        return "Open the request", reverse("request_detail", args=[cell.in_flight[0].pk])
    if cell.certificate is None:
        return (
            ("Request a certificate", _wizard_url(cell.environment, cell.purpose))
            if (can_request)
            else ("", "")
        )
    if cell.status in NEEDS_ACTION and can_request:
        if cell.status is not None and may_renew(cell.certificate, cell.status):
            return "Renew", _wizard_url(cell.environment, cell.purpose, renews=cell.certificate)
        # Revoked: a new request replaces it (the certificate page offers no Renew either).
        return "Request a certificate", _wizard_url(cell.environment, cell.purpose)
    return "View", reverse("certificate_detail", args=[cell.certificate.pk])


def dashboard_rows(user: object, *, now: datetime | None = None) -> list[DashboardRow]:
    """One row per environment the user may see; the query count does not grow with data."""
    now = now or timezone.now()
    environments = list(environments_for(user))  # type: ignore[arg-type]
    requestable = {e.pk for e in environments_for(user, Action.REQUEST)}  # type: ignore[arg-type]

    current = {
        (c.environment_id, c.purpose): c
        for c in certificates_in_service(now=now).filter(environment__in=environments)
    }
    open_requests: dict[tuple[int, str], list[SigningRequest]] = {}
    for request in SigningRequest.objects.filter(
        environment__in=environments, status__in=OPEN_STATUSES
    ).order_by("-created_at", "-pk"):
        open_requests.setdefault((request.environment_id, request.purpose), []).append(request)
    tam_emails = latest_tam_emails(
        r
        for requests in open_requests.values()
        for r in requests
        if r.status == SigningRequest.Status.SENT
    )

    rows = []
    for environment in environments:
        can_request = environment.pk in requestable
        cells = []
        for purpose in Purpose.values:
            key = (environment.pk, purpose)
            cell = DashboardCell(
                environment=environment,
                purpose=purpose,
                required=purpose == Purpose.MTLS or environment.signature_required,
                certificate=current.get(key),
                in_flight=open_requests.get(key, []),
            )
            cell.tam_emails = {r.pk: tam_emails[r.pk] for r in cell.in_flight if r.pk in tam_emails}
            if cell.certificate is not None:
                cell.status = status_of(cell.certificate, now=now)
                cell.days_left = days_left(cell.certificate.not_after, now)
            cell.action_label, cell.action_url = _next_action(cell, can_request)
            cells.append(cell)
        rows.append(DashboardRow(environment=environment, cells=cells, can_request=can_request))
    return rows


@dataclass(frozen=True)
class AttentionItem:
    """One line of the dashboard's "Needs attention": how many, and the list that shows them."""

    key: str
    label: str
    count: int
    url: str
    help: str


def _list_url(name: str, **query: str) -> str:
    return reverse(name) + "?" + urlencode(query)


def needs_attention(
    user: object,
    *,
    environments: list[Environment],
    own_failed_emails: int = 0,
    now: datetime | None = None,
) -> list[AttentionItem]:
    """What waits for someone in the environments ``user`` may see, each a count linking to
    the filtered list that shows exactly those rows: renewals due, CSRs not sent, revocations
    waiting for Treezor, emails failed (administrators: the outbox's; others: their own, shown
    on the dashboard). Three queries, whatever the number of rows."""
    now = now or timezone.now()
    counts = (
        certificates_with_status(now=now)
        .filter(signing_request__environment__in=environments)
        .aggregate(
            due=Count("pk", filter=Q(status=CertificateStatus.RENEWAL_DUE.value)),
            waiting=Count("pk", filter=Q(status=CertificateStatus.REVOCATION_REQUESTED.value)),
        )
    )
    not_sent = SigningRequest.objects.filter(
        environment__in=environments, status=SigningRequest.Status.READY
    ).count()
    items = [
        AttentionItem(
            key="renewals",
            label="Renewals due",
            count=counts["due"],
            url=_list_url("certificate_list", status=CertificateStatus.RENEWAL_DUE.value),
            help="Certificates in their last month: renew them with a new key.",
        ),
        AttentionItem(
            key="not_sent",
            label="CSRs not sent",
            count=not_sent,
            url=_list_url("request_list", status=SigningRequest.Status.READY.value),
            help="Ready requests nobody has sent to the TAM yet.",
        ),
        AttentionItem(
            key="revocations",
            label="Revocations waiting for Treezor",
            count=counts["waiting"],
            url=_list_url("certificate_list", status=CertificateStatus.REVOCATION_REQUESTED.value),
            help="Record Treezor's confirmation on each certificate's page once it comes.",
        ),
    ]
    if is_administrator(user):  # type: ignore[arg-type]
        emails = OutboundEmail.objects.aggregate(
            failed=Count("pk", filter=Q(status=OutboundEmail.Status.FAILED)),
            refused=Count("pk", filter=Q(status=OutboundEmail.Status.REFUSED)),
        )
        items.append(
            AttentionItem(
                key="emails",
                label="Emails failed",
                count=emails["failed"],
                url=_list_url("outbox", status=OutboundEmail.Status.FAILED.value),
                help="Not delivered yet: certdesk retries, then gives up. The outbox says why.",
            )
        )
        if emails["refused"]:
            items.append(
                AttentionItem(
                    key="refused",
                    label="Emails refused by the outgoing guard",
                    count=emails["refused"],
                    url=_list_url("outbox", status=OutboundEmail.Status.REFUSED.value),
                    help="They carried private-key material and were never sent.",
                )
            )
    else:
        items.append(
            AttentionItem(
                key="emails",
                label="Emails failed",
                count=own_failed_emails,
                url="#failed-emails-heading",
                help="Emails you asked certdesk to send to the TAM that were not delivered.",
            )
        )
    return items
