"""Installing the certificate Treezor signed (rule 5): matched by key, checked, then put in
service for its (environment, purpose), superseding the certificate that was (DESIGN.md,
"Lifecycle"). Two things are decisions rather than checks, and are asked, never assumed:
replacing a good certificate in service, and trusting an issuer for an environment that has no
Treezor CA yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from certificates import crypto
from certificates.models import Certificate, Environment, Purpose, SigningRequest
from certificates.permissions import Action, is_administrator
from certificates.selectors.requests import subject_of
from certificates.selectors.status import CertificateStatus, status_of
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError
from certificates.services.notifications import notify_certificate_installed

# Replacing a certificate in one of these states takes a working certificate out of service.
GOOD_STATUSES = (CertificateStatus.VALID, CertificateStatus.NOT_YET_VALID)


@dataclass
class UploadResult:
    certificate: Certificate
    warnings: list[str] = field(default_factory=list)
    replaced: Certificate | None = None
    trusted_issuer: bool = False


@dataclass(frozen=True)
class IssuerToTrust:
    """A CA certificate offered as the environment's Treezor CA: what a person checks."""

    subject: str
    fingerprint: str  # colon-separated SHA-256, as openssl x509 -fingerprint -sha256 shows it
    not_after: str


@dataclass(frozen=True)
class Question:
    """One decision the upload needs before it can go on."""

    kind: str  # "replace" | "trust_issuer"
    message: str
    issuers: tuple[IssuerToTrust, ...] = ()


class ConfirmationNeeded(ServiceError):
    """Nothing was stored: the upload goes on only once every question is answered yes
    (``replace=True``, ``trust_issuer=True``; ``--replace``, ``--trust-issuer``)."""

    def __init__(self, questions: list[Question]) -> None:
        super().__init__(" ".join(q.message for q in questions), field="certificate")
        self.questions = questions

    def asks(self, kind: str) -> bool:
        return any(q.kind == kind for q in self.questions)


def _purpose_label(purpose: str) -> str:
    return str(Purpose(purpose).label)


def _pair(environment: Environment, purpose: str) -> str:
    return f"{environment.name} {_purpose_label(purpose)}"


def _matching_request(
    *, actor: Actor, fingerprint: str, environment: Environment | None, purpose: str | None
) -> SigningRequest:
    wanted = " ".join(
        part
        for part in (
            environment.name if environment is not None else "",
            _purpose_label(purpose) if purpose else "",
        )
        if part
    )
    request = (
        SigningRequest.objects.select_related("environment", "key")
        .filter(key__fingerprint=fingerprint)
        .first()
    )
    # A user who may not upload there learns nothing about the other environment's requests.
    if request is None or not actor.may(Action.REQUEST, request.environment):
        scope = f"of {wanted} " if wanted else ""
        raise ServiceError(
            f"No signing request {scope}has this certificate's public key. Upload the "
            "certificate Treezor signed for a CSR made or imported in certdesk.",
            field="certificate",
        )
    if (environment is not None and request.environment_id != environment.pk) or (
        purpose and request.purpose != purpose
    ):
        raise ServiceError(
            f"This certificate's key belongs to request #{request.pk} for "
            f"{request.environment.name} {request.get_purpose_display()}, not {wanted}. Choose "
            "that environment and purpose, or check that Treezor sent the right file.",
            field="certificate",
        )
    return request


def _refuse_unusable(request: SigningRequest, leaf_fingerprint: str) -> None:
    if request.status == SigningRequest.Status.CANCELLED:
        raise ServiceError(
            f"Request #{request.pk} was cancelled; a certificate for it is not accepted. "
            "Make a new request.",
            field="certificate",
        )
    if request.key.compromised_at is not None:
        raise ServiceError(
            f"The key of request #{request.pk} was reported compromised; this certificate must "
            "not be installed. Ask Treezor to revoke it and make a replacement request.",
            field="certificate",
        )
    existing = Certificate.objects.filter(fingerprint=leaf_fingerprint).first()
    if existing is not None:
        raise ServiceError(
            f"This certificate was uploaded already (certificate #{existing.pk}, on "
            f"{existing.uploaded_at:%Y-%m-%d}).",
            field="certificate",
        )


def _refuse_self_signed(leaf: x509.Certificate) -> None:
    # Rule 5: only Treezor issues these certificates; a self-signed one proves nothing.
    if crypto.is_self_signed(leaf):
        raise ServiceError(
            f"This certificate ({crypto.describe_name(leaf.subject)}) is self-signed: it was not "
            "issued by Treezor. Upload the certificate Treezor signed for your CSR.",
            field="certificate",
        )


def _issuers_to_trust(issuers: list[x509.Certificate]) -> tuple[IssuerToTrust, ...]:
    return tuple(
        IssuerToTrust(
            subject=crypto.describe_name(issuer.subject),
            fingerprint=crypto.format_fingerprint(crypto.certificate_fingerprint(issuer)),
            not_after=crypto.openssl_date(issuer.not_valid_after_utc),
        )
        for issuer in issuers
    )


def _trust_check(
    *,
    actor: Actor,
    request: SigningRequest,
    leaf: x509.Certificate,
    chain: list[x509.Certificate],
    now: datetime,
) -> tuple[list[x509.Certificate], Question | None]:
    """Verify the path to the environment's Treezor CA. With no CA set yet, return the issuing
    certificates an administrator may trust, and the question to ask them."""
    environment = request.environment
    bundle = environment.ca_bundle.strip()
    if bundle:
        try:
            crypto.verify_chain(leaf, chain, bundle.encode("ascii"), at=now)
        except crypto.CryptoError as error:
            raise ServiceError(
                f"The certificate does not verify against the {environment.name} Treezor "
                f"CA bundle: {error}",
                field="certificate",
            ) from None
        return [], None
    # The operator at the command line (no --user) administers the installation anyway.
    if actor.user is not None and not is_administrator(actor.user):
        raise ServiceError(
            f"{environment.name} has no Treezor CA yet, so certdesk cannot check who issued this "
            f"certificate. An administrator must set {environment.name}'s Treezor CA first "
            f"(Settings, {environment.name}), or upload this file and trust its issuer.",
            field="certificate",
        )
    issuers = crypto.issuing_chain(leaf, chain)
    if not issuers:
        raise ServiceError(
            f"{environment.name} has no Treezor CA yet, and this file does not carry the "
            "certificate of its issuer. Upload the full chain Treezor sent (PEM chain or .p7b), "
            f"or set {environment.name}'s Treezor CA in Settings first.",
            field="certificate",
        )
    try:
        crypto.verify_path(leaf, chain, issuers, at=now)
    except crypto.CryptoError as error:
        raise ServiceError(
            f"The certificate does not verify against the issuer it came with: {error}",
            field="certificate",
        ) from None
    offered = _issuers_to_trust(issuers)
    names = ", ".join(f"{i.subject} (SHA-256 {i.fingerprint})" for i in offered)
    return issuers, Question(
        kind="trust_issuer",
        message=f"{environment.name} has no Treezor CA yet. Trust this issuer for "
        f"{environment.name}: {names}? Check the fingerprint with your TAM; every later "
        f"{environment.name} certificate must then chain to it.",
        issuers=offered,
    )


def _replace_question(
    *, request: SigningRequest, current: Certificate | None, now: datetime
) -> Question | None:
    """Replacing a good certificate in service, or a second certificate for one request, is a
    decision; replacing an expiring, expired or revoked one is the normal course of things."""
    environment, purpose = request.environment, request.purpose
    if current is not None and status_of(current, now=now) in GOOD_STATUSES:
        return Question(
            kind="replace",
            message=f"{_pair(environment, purpose)} already has certificate #{current.pk}, "
            f"valid until {timezone.localtime(current.not_after):%Y-%m-%d %H:%M %Z}; installing "
            "this one replaces it.",
        )
    earlier = request.certificates.order_by("-uploaded_at", "-pk").first()
    if earlier is not None:
        return Question(
            kind="replace",
            message=f"Request #{request.pk} already has certificate #{earlier.pk} (uploaded "
            f"{earlier.uploaded_at:%Y-%m-%d}); installing a second certificate for the same "
            "request replaces it.",
        )
    return None


def _warnings(request: SigningRequest, leaf: x509.Certificate, now: datetime) -> list[str]:
    warnings: list[str] = []
    got = crypto.Subject.from_x509_name(leaf.subject)
    asked = subject_of(request)
    if got != asked:
        warnings.append(
            f"The certificate's subject ({got.human_oneline()}) differs from the request's "
            f"({asked.human_oneline()}). Check with your TAM that this is intended."
        )
    if request.purpose == Purpose.MTLS and not crypto.has_client_auth_eku(leaf):
        warnings.append(
            "The certificate lacks the client-authentication extended key usage; an mTLS "
            "server may refuse it. Ask your TAM to confirm."
        )
    not_before, not_after = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    if not_before > now:
        warnings.append(
            f"The certificate is not valid yet: notBefore={crypto.openssl_date(not_before)}."
        )
    lead = timedelta(days=settings.CERTDESK_RENEWAL_LEAD_DAYS)
    if not_after - now < lead:
        days = (not_after - now).days
        warnings.append(
            f"The certificate expires in {days} days, inside the {lead.days}-day renewal window: "
            "start its renewal now."
        )
    return warnings


def certificate_upload(
    *,
    actor: Actor,
    data: bytes,
    environment: Environment | None = None,
    purpose: str | None = None,
    replace: bool = False,
    trust_issuer: bool = False,
    now: datetime | None = None,
) -> UploadResult:
    """Install a signed certificate only if it matches a request and passes every check.

    It then is the certificate in service for its (environment, purpose), and the one that was
    is recorded as superseded by it. Raises :class:`ConfirmationNeeded`, having stored nothing,
    when it would replace a good certificate (``replace``) or trust a new issuer
    (``trust_issuer``, administrators only).
    """
    now = now or timezone.now()
    try:
        leaf, chain = crypto.split_leaf_and_chain(crypto.parse_certificates(data))
    except crypto.CryptoError as error:
        raise ServiceError(str(error), field="certificate") from None
    _refuse_self_signed(leaf)

    request = _matching_request(
        actor=actor,
        fingerprint=crypto.public_key_fingerprint(leaf.public_key()),
        environment=environment,
        purpose=purpose,
    )
    leaf_fingerprint = crypto.certificate_fingerprint(leaf)
    _refuse_unusable(request, leaf_fingerprint)
    if leaf.not_valid_after_utc <= now:
        raise ServiceError(
            f"This certificate expired: notAfter={crypto.openssl_date(leaf.not_valid_after_utc)}. "
            "Ask Treezor for a new certificate (renew with a new key).",
            field="certificate",
        )
    issuers, trust_question = _trust_check(
        actor=actor, request=request, leaf=leaf, chain=chain, now=now
    )
    warnings = _warnings(request, leaf, now)
    try:
        with transaction.atomic():
            return _install(
                actor=actor,
                request=request,
                leaf=leaf,
                chain=chain,
                warnings=warnings,
                issuers=issuers,
                trust_question=trust_question,
                replace=replace,
                trust_issuer=trust_issuer,
                now=now,
            )
    except IntegrityError:
        # The partial unique index on the pair, or the fingerprint: a concurrent install won.
        raise ServiceError(
            f"Another certificate was installed for {_pair(request.environment, request.purpose)} "
            "at the same moment. Reload the page to see it, then upload again if this one "
            "should replace it.",
            field="certificate",
        ) from None


def _install(
    *,
    actor: Actor,
    request: SigningRequest,
    leaf: x509.Certificate,
    chain: list[x509.Certificate],
    warnings: list[str],
    issuers: list[x509.Certificate],
    trust_question: Question | None,
    replace: bool,
    trust_issuer: bool,
    now: datetime,
) -> UploadResult:
    environment, purpose = request.environment, request.purpose
    # Locked, so two uploads for one pair take turns; the second then finds this one in
    # service (or, on PostgreSQL, no row and the unique index) and cannot supersede twice.
    current = (
        Certificate.objects.select_for_update(of=("self",))
        .select_related("revocation")
        .filter(environment=environment, purpose=purpose, superseded_at__isnull=True)
        .first()
    )
    questions = [
        q
        for q, answered in (
            (trust_question, trust_issuer),
            (_replace_question(request=request, current=current, now=now), replace),
        )
        if q is not None and not answered
    ]
    if questions:
        raise ConfirmationNeeded(questions)
    if trust_question is not None:
        _trust_issuers(actor=actor, environment=environment, issuers=issuers)

    if current is not None:
        Certificate.objects.filter(pk=current.pk).update(superseded_at=now)
    certificate = Certificate.objects.create(
        signing_request=request,
        environment=environment,
        purpose=purpose,
        pem=crypto.certificate_to_pem(leaf).decode("ascii"),
        chain_pem=crypto.certificates_to_pem(chain).decode("ascii"),
        serial=format(leaf.serial_number, "X"),
        # For people: letters in UTF-8, not OpenSSL's \XX escapes (issue 16).
        subject=crypto.Subject.from_x509_name(leaf.subject).human_oneline(),
        issuer=crypto.describe_name(leaf.issuer),
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        fingerprint=crypto.certificate_fingerprint(leaf),
        warnings=warnings,
        uploaded_by=actor.user,
        replaces=current,
    )
    fulfilled = (
        SigningRequest.objects.filter(pk=request.pk)
        .exclude(status=SigningRequest.Status.CANCELLED)
        .update(status=SigningRequest.Status.FULFILLED, updated_at=now)
    )
    if not fulfilled:  # cancelled while this upload was being checked: nothing is kept
        raise ServiceError(
            f"Request #{request.pk} was cancelled meanwhile; a certificate for it is not "
            "accepted. Make a new request.",
            field="certificate",
        )
    audit_record(
        actor=actor,
        action="certificate.uploaded",
        target=certificate,
        environment=environment,
        details={
            "request": request.pk,
            "serial": certificate.serial,
            "fingerprint": certificate.fingerprint,
            "not_after": certificate.not_after.isoformat(),
            "warnings": len(warnings),
            "replaces": current.pk if current is not None else None,
        },
    )
    if current is not None:
        audit_record(
            actor=actor,
            action="certificate.superseded",
            target=current,
            environment=environment,
            details={"by": certificate.pk, "serial": current.serial},
        )
        current.superseded_at = now
    notify_certificate_installed(actor=actor, certificate=certificate, replaced=current)
    return UploadResult(
        certificate=certificate,
        warnings=warnings,
        replaced=current,
        trusted_issuer=trust_question is not None,
    )


def _trust_issuers(
    *, actor: Actor, environment: Environment, issuers: list[x509.Certificate]
) -> None:
    # Compare-and-set: an administrator setting a CA meanwhile is not overwritten.
    stored = Environment.objects.filter(pk=environment.pk, ca_bundle="").update(
        ca_bundle=crypto.certificates_to_pem(issuers).decode("ascii")
    )
    if not stored:
        raise ServiceError(
            f"{environment.name}'s Treezor CA was set meanwhile; upload the certificate again "
            "to check it against that CA.",
            field="certificate",
        )
    environment.refresh_from_db(fields=["ca_bundle"])
    audit_record(
        actor=actor,
        action="environment.ca_trusted",
        target=environment,
        environment=environment,
        details={
            "issuers": [
                {
                    "subject": crypto.describe_name(issuer.subject),
                    "fingerprint": crypto.certificate_fingerprint(issuer),
                }
                for issuer in issuers
            ],
            "how": "trusted on upload",
        },
    )
