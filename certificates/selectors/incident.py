"""A compromised key's incident, as its certificate page shows it: what was done, what is left,
and the one next action (issue 16).

Four steps, each read from the records (never stored): the TAM emailed (with that email's real
state), a replacement requested (a new key), the replacement installed, the old key destroyed.
The next action is the first step left that a person can take here: request the replacement,
send or upload it, destroy the old key. One query (the replacement request) besides what the
page has already read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from django.db.models import Q
from django.urls import reverse
from django.utils.http import urlencode

from certificates.models import Certificate, OutboundEmail, Revocation, SigningRequest
from certificates.selectors.email_states import EmailState

StepState = Literal["done", "pending", "todo", "failed"]


@dataclass(frozen=True)
class IncidentStep:
    key: str
    label: str
    state: StepState
    detail: str
    url: str = ""
    link_text: str = ""

    @property
    def done(self) -> bool:
        return self.state == "done"


@dataclass(frozen=True)
class NextAction:
    label: str
    url: str
    # Who may take it, when the person reading may not ("a requester of Sandbox").
    who: str
    allowed: bool
    danger: bool = False


@dataclass(frozen=True)
class Incident:
    reported_at: datetime | None
    steps: list[IncidentStep]
    next_action: NextAction | None
    replacement: SigningRequest | None

    @property
    def closed(self) -> bool:
        return all(step.done for step in self.steps)


def _tam_step(
    certificate: Certificate, revocation: Revocation | None, emails: list[EmailState]
) -> IncidentStep:
    revocation_label = str(OutboundEmail.Kind.TAM_REVOCATION.label)
    email = next((e for e in emails if e.kind == revocation_label), None)
    environment = certificate.signing_request.environment
    if email is None:
        if revocation is not None and revocation.tam_notified_at is None:
            return IncidentStep(
                "tam",
                "TAM emailed",
                "failed",
                f"No email was sent: {environment.name} had no TAM address. Contact Treezor "
                "yourself to revoke the certificate.",
            )
        return IncidentStep("tam", "TAM emailed", "pending", "No email to the TAM found yet.")
    to = ", ".join(email.to)
    if email.state == "sent":
        return IncidentStep("tam", "TAM emailed", "done", f"To {to}. {email.summary}")
    if email.state in ("failed", "refused"):
        return IncidentStep("tam", "TAM emailed", "failed", f"To {to}. {email.summary}")
    return IncidentStep("tam", "TAM emailed", "pending", f"To {to}. {email.summary}")


def replacement_of(
    certificate: Certificate, *, since: datetime | None = None
) -> SigningRequest | None:
    """The newest request, not cancelled, that replaces ``certificate``: one that renews it, or
    (after Treezor revoked it, when a new request cannot renew it) one for the same environment
    and purpose made since the report."""
    replaces = Q(renews=certificate)
    if since is not None:
        replaces |= Q(
            environment_id=certificate.signing_request.environment_id,
            purpose=certificate.signing_request.purpose,
            created_at__gte=since,
        )
    return (
        SigningRequest.objects.filter(replaces)
        .exclude(status=SigningRequest.Status.CANCELLED)
        .exclude(pk=certificate.signing_request_id)
        .order_by("-created_at", "-pk")
        .first()
    )


def incident_of(
    certificate: Certificate,
    *,
    revocation: Revocation | None,
    emails: list[EmailState],
    replaced_by: Certificate | None,
    key_destroyable: bool,
    renew_url: str,
    can_request: bool,
    can_custody: bool,
) -> Incident | None:
    """The incident of a certificate whose key was reported compromised, or None."""
    signing_request = certificate.signing_request
    key = signing_request.key
    compromised = key.compromised_at is not None or (
        revocation is not None and revocation.reason == Revocation.Reason.KEY_COMPROMISE
    )
    if not compromised:
        return None
    environment = signing_request.environment
    reported_at = key.compromised_at or (revocation.requested_at if revocation else None)
    replacement = replacement_of(certificate, since=reported_at)
    installed = replaced_by

    steps = [_tam_step(certificate, revocation, emails)]
    if replacement is None:
        steps.append(
            IncidentStep(
                "requested",
                "Replacement requested",
                "todo",
                "A new key and CSR, with the same subject.",
            )
        )
    else:
        steps.append(
            IncidentStep(
                "requested",
                "Replacement requested",
                "done",
                f"Request #{replacement.pk}: {replacement.get_status_display().lower()}.",
                reverse("request_detail", args=[replacement.pk]),
                f"Request #{replacement.pk}",
            )
        )
    if installed is not None:
        steps.append(
            IncidentStep(
                "installed",
                "Replacement installed",
                "done",
                f"Certificate #{installed.pk} is in service in its place.",
                reverse("certificate_detail", args=[installed.pk]),
                f"Certificate #{installed.pk}",
            )
        )
    else:
        steps.append(
            IncidentStep(
                "installed",
                "Replacement installed",
                "todo",
                "Upload the certificate Treezor signs for the replacement request.",
            )
        )
    if key.destroyed_at is not None:
        key_step = IncidentStep(
            "destroyed",
            "Old key destroyed",
            "done",
            f"Destroyed {key.destroyed_at:%Y-%m-%d %H:%M}.",
        )
    elif not key.has_private_key:
        key_step = IncidentStep(
            "destroyed",
            "Old key destroyed",
            "done",
            "certdesk never held it (the CSR was brought): destroy your own copies.",
        )
    else:
        key_step = IncidentStep(
            "destroyed",
            "Old key destroyed",
            "todo",
            "certdesk still holds the compromised private key (nobody may download it).",
        )
    steps.append(key_step)

    requesters = f"a requester or custodian of {environment.name}"
    custodians = f"a custodian of {environment.name}"
    next_action: NextAction | None = None
    if replacement is None:
        next_action = NextAction("Start a replacement request", renew_url, requesters, can_request)
    elif installed is None:
        if replacement.status == SigningRequest.Status.READY:
            next_action = NextAction(
                "Send the replacement CSR to the TAM",
                reverse("send_to_tam", args=[environment.slug]),
                requesters,
                can_request,
            )
        elif replacement.status == SigningRequest.Status.SENT:
            next_action = NextAction(
                "Upload the replacement certificate",
                reverse("certificate_upload") + "?" + urlencode({"request": replacement.pk}),
                requesters,
                can_request,
            )
        else:
            next_action = NextAction(
                "Open the replacement request",
                reverse("request_detail", args=[replacement.pk]),
                requesters,
                True,
            )
    if next_action is None and key_destroyable and not key_step.done:
        next_action = NextAction(
            "Destroy the old private key",
            reverse("certificate_destroy_key", args=[certificate.pk]),
            custodians,
            can_custody,
            danger=True,
        )
    return Incident(
        reported_at=reported_at,
        steps=steps,
        next_action=next_action,
        replacement=replacement,
    )
