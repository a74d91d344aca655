"""Who the reminders go to, and what they say: the TAM's renewal email, the owners' reminder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from certificates import crypto, emails
from certificates.models import Certificate, Environment, SigningRequest
from certificates.selectors.reminders import owner_recipients_for
from certificates.selectors.threads import Thread
from certificates.services.reminders.decide import first_with_csr
from certificates.services.reminders.wording import (
    absolute,
    expiry_phrase,
    purpose_label,
    renewal_wizard_url,
)


def owner_recipients(environment: Environment) -> list[str]:
    """Requesters and custodians of ``environment`` (active, with an address), then its team
    addresses; each address once, whatever its case."""
    return owner_recipients_for([environment])[environment.pk]


@dataclass(frozen=True)
class InFlight:
    """Where the renewal of a certificate stands, and what the owners should do next."""

    summary: str
    action_label: str
    action_url: str


def renewal_in_flight(certificate: Certificate, renewals: list[SigningRequest]) -> InFlight:
    """The most advanced renewal request decides (received > sent > ready > started > none)."""

    def detail(request: SigningRequest) -> str:
        return absolute(reverse("request_detail", args=[request.pk]))

    by_status = {
        status: first_with_csr(renewals, status) for status in SigningRequest.Status.values
    }
    if (received := by_status[SigningRequest.Status.FULFILLED]) is not None:
        return InFlight(
            f"The renewal certificate was received (request #{received.pk}) but is not valid "
            "now: check its dates.",
            "Open the renewal request",
            detail(received),
        )
    if (sent := by_status[SigningRequest.Status.SENT]) is not None:
        sent_on = f"{timezone.localdate(sent.sent_at):%Y-%m-%d}" if sent.sent_at else "?"
        upload = f"{reverse('certificate_upload')}?{urlencode({'request': sent.pk})}"
        return InFlight(
            f"Renewal CSR sent to the TAM on {sent_on} (request #{sent.pk}); the certificate "
            "has not been received yet.",
            "Install the certificate when Treezor sends it",
            absolute(upload),
        )
    if (ready := by_status[SigningRequest.Status.READY]) is not None:
        return InFlight(
            f"Renewal CSR ready (request #{ready.pk}) but not sent to the TAM.",
            "Send it to the TAM",
            absolute(reverse("send_to_tam", args=[certificate.signing_request.environment.slug])),
        )
    started = next((r for r in renewals if r.status == SigningRequest.Status.DRAFT), None)
    if started is not None:
        return InFlight(
            f"A renewal request was started (request #{started.pk}) but has no CSR yet.",
            "Open the renewal request",
            detail(started),
        )
    return InFlight(
        "Nothing yet: no renewal request.",
        "Prepare the renewal request (a new key, as Treezor asks)",
        renewal_wizard_url(certificate),
    )


def _common_context(certificate: Certificate, now: datetime, company: str) -> dict[str, Any]:
    request = certificate.signing_request
    return {
        "company": company,
        "environment": request.environment,
        "purpose": purpose_label(request.purpose),
        "common_name": request.common_name,
        "certificate": certificate,
        "not_after": crypto.openssl_date(certificate.not_after),
        "phrase": expiry_phrase(certificate.not_after, now),
    }


def tam_renewal_compose(
    *,
    certificate: Certificate,
    now: datetime,
    company: str,
    ready: SigningRequest | None,
    already_sent: SigningRequest | None,
    thread: Thread | None = None,
) -> emails.ComposedEmail:
    """The TAM's renewal request: which certificate, and the new CSR when one is ready.

    Sent by the scan, so signed "certdesk, for <company>" with the team addresses, which are
    copied and receive the answer (``emails.tam_addressing``); ``thread``: the earlier emails
    about the certificate, which this one answers (the scan reads them for a whole batch)."""
    request = certificate.signing_request
    environment = request.environment
    signer = emails.sender_of(None, environment)
    thread = thread or Thread()
    attachments = []
    if ready is not None:
        attachments.append(
            emails.Attachment(
                filename=crypto.treezor_filename(company, "csr", request.purpose),
                content=ready.csr_pem,
            )
        )
    context = {
        **_common_context(certificate, now, company),
        "signature": signer.signature(company),
        "attachment": attachments[0].filename if attachments else "",
        "already_sent": already_sent,
        "already_sent_on": (
            f"{timezone.localdate(already_sent.sent_at):%Y-%m-%d}"
            if already_sent is not None and already_sent.sent_at
            else ""
        ),
    }
    text, html = emails.render("tam_renewal", context)
    addressing = emails.tam_addressing(environment, signer)
    return emails.ComposedEmail(
        to=addressing.to,
        cc=addressing.cc,
        reply_to=addressing.reply_to,
        subject=f"{company}: renewal of the Treezor {environment.name} "
        f"{purpose_label(request.purpose)} certificate, which {context['phrase']}",
        body_text=text,
        body_html=html,
        attachments=attachments,
        in_reply_to=thread.in_reply_to,
        references=thread.references,
    )


def owner_reminder_compose(
    *,
    certificate: Certificate,
    now: datetime,
    company: str,
    recipients: list[str],
    in_flight: InFlight,
    tam_note: str,
) -> emails.ComposedEmail:
    """The owners' reminder: days left, where the renewal stands, and the next step's link."""
    request = certificate.signing_request
    context = {
        **_common_context(certificate, now, company),
        "in_flight": in_flight,
        "tam_note": tam_note,
        "dashboard_url": absolute(reverse("dashboard")),
    }
    text, html = emails.render("owner_reminder", context)
    return emails.ComposedEmail(
        to=recipients,
        subject=f"Treezor {request.environment.name} {purpose_label(request.purpose)} "
        f"certificate {context['phrase']}",
        body_text=text,
        body_html=html,
    )
