"""Reads about signing requests: their subject, which are open, and what to send to the TAM."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Case, QuerySet, Value, When

from certificates import crypto
from certificates.crypto.errors import FIELD_LABELS
from certificates.models import Certificate, CompanyProfile, Environment, Purpose, SigningRequest
from certificates.selectors.company import company_profile
from certificates.selectors.status import certificate_in_service

# Waiting for Treezor's certificate: not fulfilled, not cancelled (DESIGN.md, "Lifecycle").
OPEN_STATUSES = (
    SigningRequest.Status.DRAFT,
    SigningRequest.Status.READY,
    SigningRequest.Status.SENT,
)
# A CSR that may be emailed to the TAM: ready, or sent already (a resend).
SENDABLE = (SigningRequest.Status.READY, SigningRequest.Status.SENT)


def subject_of(signing_request: SigningRequest) -> crypto.Subject:
    """The subject the request asked for, as the crypto core models it."""
    return crypto.Subject(
        country=signing_request.country,
        state=signing_request.state,
        locality=signing_request.locality,
        organization=signing_request.organization,
        organizational_unit=signing_request.organizational_unit,
        common_name=signing_request.common_name,
        email=signing_request.email,
    )


def stored_subject(signing_request: SigningRequest) -> str:
    """The subject exactly as the stored CSR holds it, in its own order, as
    `openssl req -noout -subject -nameopt oneline,-esc_msb` shows it: what Treezor will read,
    not a re-formatting of certdesk's fields, with its letters in UTF-8 for people (pages and
    emails: "Île-de-France", not OpenSSL's ``\\C3\\8E`` escapes). A draft has no CSR yet: its
    fields then, in the same format."""
    if signing_request.csr_pem:
        try:
            return crypto.csr_subject_human(signing_request.csr_pem.encode("ascii", "replace"))
        except crypto.CryptoError:
            pass
    return subject_of(signing_request).human_oneline()


def open_requests(
    *, environment: Environment, purpose: str, renews: Certificate | None = None
) -> QuerySet[SigningRequest]:
    """The requests of one (environment, purpose) still waiting for a certificate, newest
    first; with ``renews``, those that renew that certificate come first. The wizard asks before
    starting another one: a second open request of a pair is usually a mistake."""
    found = SigningRequest.objects.filter(
        environment=environment, purpose=purpose, status__in=OPEN_STATUSES
    ).select_related("environment", "renews")
    if renews is None:
        return found.order_by("-created_at", "-pk")
    first_renewing = Case(When(renews=renews, then=Value(0)), default=Value(1))
    return found.annotate(renews_other=first_renewing).order_by(
        "renews_other", "-created_at", "-pk"
    )


def purposes_required(environment: Environment) -> list[str]:
    """The certificate sets Treezor asks of the environment: mTLS always, and the PCI DSS
    signature set when the environment uses PCI DSS endpoints."""
    return [Purpose.MTLS, *([Purpose.SIGNATURE] if environment.signature_required else [])]


def same_purpose_conflict(
    signing_requests: Iterable[SigningRequest],
) -> tuple[SigningRequest, SigningRequest] | None:
    """Two requests of one purpose, if any: Treezor gets one CSR per purpose (both would even
    carry the same file name, ``<company>_csr_mtls.pem``), so one email never attaches two."""
    seen: dict[str, SigningRequest] = {}
    for signing_request in sorted(signing_requests, key=lambda r: r.pk):
        if (earlier := seen.get(signing_request.purpose)) is not None:
            return earlier, signing_request
        seen[signing_request.purpose] = signing_request
    return None


def same_purpose_message(first: SigningRequest, second: SigningRequest) -> str:
    return (
        f"Requests #{first.pk} and #{second.pk} are both {first.get_purpose_display()} CSRs: "
        "send one, cancel the other."
    )


@dataclass(frozen=True)
class MissingSet:
    """A certificate set the environment requires that the TAM would not get."""

    purpose: str
    label: str  # "PCI DSS signature"
    ready: SigningRequest | None  # a CSR of that purpose that could be ticked, if one exists

    def message(self, environment: Environment) -> str:
        hint = (
            f": tick request #{self.ready.pk} to send it too"
            if self.ready is not None
            else ": make it, then send both"
        )
        return f"{environment.name} also needs the {self.label} CSR{hint}."


def missing_sets(
    environment: Environment, chosen: Sequence[SigningRequest], sendable: Sequence[SigningRequest]
) -> list[MissingSet]:
    """Required purposes that the chosen CSRs leave out and that Treezor has no other way of
    covering: no CSR of that purpose sent already (Treezor has it) and no certificate of that
    purpose in service. Sending the mTLS renewal alone, while the signature certificate is in
    service, is complete; a first Production mTLS CSR without the signature one is not."""
    chosen_purposes = {r.purpose for r in chosen}
    missing = []
    for purpose in purposes_required(environment):
        if purpose in chosen_purposes:
            continue
        of_purpose = [r for r in sendable if r.purpose == purpose]
        if any(r.status == SigningRequest.Status.SENT for r in of_purpose):
            continue
        if certificate_in_service(environment=environment, purpose=purpose) is not None:
            continue
        ready = next((r for r in of_purpose if r.status == SigningRequest.Status.READY), None)
        missing.append(MissingSet(purpose=purpose, label=str(Purpose(purpose).label), ready=ready))
    return missing


@dataclass(frozen=True)
class SendPlan:
    """What the send page offers: every sendable CSR, the ones ticked by default (every ready
    CSR, but only the newest of a purpose), and the ready ones left out because a newer CSR of
    the same purpose is ticked."""

    sendable: list[SigningRequest]
    preselected: list[SigningRequest]
    shadowed: list[SigningRequest]

    @property
    def ready(self) -> list[SigningRequest]:
        """The CSRs ready to send (not sent yet): the ones the page offers to tick."""
        return [r for r in self.sendable if r.status == SigningRequest.Status.READY]

    @property
    def already_sent(self) -> list[SigningRequest]:
        """The CSRs sent already and still waiting for a certificate: listed, resent elsewhere."""
        return [r for r in self.sendable if r.status == SigningRequest.Status.SENT]

    def ticked(self, wanted: SigningRequest | None = None) -> list[SigningRequest]:
        """The default choice; ``wanted`` (``?request=N``) takes the place of its purpose's."""
        chosen = list(self.preselected)
        if wanted is not None:
            chosen = [r for r in chosen if r.purpose != wanted.purpose] + [wanted]
        return chosen


def tam_send_plan(environment: Environment) -> SendPlan:
    sendable = list(
        SigningRequest.objects.select_related("environment", "key", "renews")
        .filter(environment=environment, status__in=SENDABLE)
        .order_by("purpose", "-created_at", "-pk")
    )
    newest_ready: dict[str, SigningRequest] = {}
    shadowed: list[SigningRequest] = []
    for signing_request in sendable:
        if signing_request.status != SigningRequest.Status.READY:
            continue
        if signing_request.purpose in newest_ready:
            shadowed.append(signing_request)
        else:
            newest_ready[signing_request.purpose] = signing_request
    return SendPlan(sendable=sendable, preselected=list(newest_ready.values()), shadowed=shadowed)


def csr_bundle(environment: Environment) -> list[SigningRequest]:
    """The files to send to Treezor: the newest sendable CSR of each purpose the environment
    requires, when every one exists; empty while one is missing. One per purpose, so the zip
    never holds two files of the same name."""
    latest: dict[str, SigningRequest] = {}
    for signing_request in SigningRequest.objects.filter(
        environment=environment, status__in=SENDABLE
    ).order_by("-created_at", "-pk"):
        latest.setdefault(signing_request.purpose, signing_request)
    needed = purposes_required(environment)
    if any(purpose not in latest for purpose in needed):
        return []
    return [latest[purpose] for purpose in needed]


def subject_prefill(
    environment: Environment, purpose: str, renews: Certificate | None
) -> dict[str, str]:
    """The subject a new request starts from, in this order: the certificate renewed, else the
    last request of this environment and purpose, else the company profile's defaults."""
    source: SigningRequest | CompanyProfile | None = (
        renews.signing_request if renews is not None else None
    )
    if source is None:
        source = (
            SigningRequest.objects.filter(environment=environment, purpose=purpose)
            .order_by("-created_at", "-pk")
            .first()
        )
    if source is None:
        source = company_profile()
    return {name: getattr(source, name, "") for name in FIELD_LABELS}
