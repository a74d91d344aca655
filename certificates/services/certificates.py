"""Uploading the certificate Treezor signed (rule 5): matched by key, checked, then stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from certificates import crypto
from certificates.models import Certificate, Environment, Purpose, SigningRequest
from certificates.permissions import Action, user_can
from certificates.selectors.requests import subject_of
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError


@dataclass
class UploadResult:
    certificate: Certificate
    warnings: list[str] = field(default_factory=list)


def _purpose_label(purpose: str) -> str:
    return str(Purpose(purpose).label)


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
    if request is None or (
        actor.user is not None and not user_can(actor.user, Action.REQUEST, request.environment)
    ):
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


def _warnings(request: SigningRequest, leaf: x509.Certificate, now: datetime) -> list[str]:
    warnings: list[str] = []
    got = crypto.Subject.from_x509_name(leaf.subject)
    asked = subject_of(request)
    if got != asked:
        warnings.append(
            f"The certificate's subject ({got.openssl_oneline()}) differs from the request's "
            f"({asked.openssl_oneline()}). Check with your TAM that this is intended."
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
    now: datetime | None = None,
) -> UploadResult:
    """Accept a signed certificate only if it matches a request and passes every check."""
    now = now or timezone.now()
    try:
        leaf, chain = crypto.split_leaf_and_chain(crypto.parse_certificates(data))
    except crypto.CryptoError as error:
        raise ServiceError(str(error), field="certificate") from None

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
    bundle = request.environment.ca_bundle.strip()
    if bundle:
        try:
            crypto.verify_chain(leaf, chain, bundle.encode("ascii"), at=now)
        except crypto.CryptoError as error:
            raise ServiceError(
                f"The certificate does not verify against the {request.environment.name} Treezor "
                f"CA bundle: {error}",
                field="certificate",
            ) from None
    warnings = _warnings(request, leaf, now)

    try:
        with transaction.atomic():
            certificate = Certificate.objects.create(
                signing_request=request,
                pem=crypto.certificate_to_pem(leaf).decode("ascii"),
                chain_pem=crypto.certificates_to_pem(chain).decode("ascii"),
                serial=format(leaf.serial_number, "X"),
                subject=crypto.Subject.from_x509_name(leaf.subject).openssl_oneline(),
                issuer=crypto.describe_name(leaf.issuer),
                not_before=leaf.not_valid_before_utc,
                not_after=leaf.not_valid_after_utc,
                fingerprint=leaf_fingerprint,
                uploaded_by=actor.user,
            )
            SigningRequest.objects.filter(pk=request.pk).update(
                status=SigningRequest.Status.FULFILLED, updated_at=now
            )
            audit_record(
                actor=actor,
                action="certificate.uploaded",
                target=certificate,
                environment=request.environment,
                details={
                    "request": request.pk,
                    "serial": certificate.serial,
                    "fingerprint": leaf_fingerprint,
                    "not_after": certificate.not_after.isoformat(),
                    "warnings": len(warnings),
                },
            )
    except IntegrityError:
        raise ServiceError(
            "This certificate was uploaded already, at the same moment.", field="certificate"
        ) from None
    return UploadResult(certificate=certificate, warnings=warnings)
