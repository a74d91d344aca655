"""Signing requests: a new key and CSR made here, or a CSR the user brought (rule 2 for both)."""

from __future__ import annotations

import uuid

from cryptography import x509
from django.db import IntegrityError, transaction
from django.views.decorators.debug import sensitive_variables

from certificates import crypto, vault
from certificates.models import Certificate, Environment, Key, Purpose, SigningRequest
from certificates.permissions import Action, require
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError


def _reused_key_error(fingerprint: str) -> ServiceError:
    previous = (
        SigningRequest.objects.select_related("environment")
        .filter(key__fingerprint=fingerprint)
        .first()
    )
    where = (
        f" (request #{previous.pk}, {previous.environment.name} {previous.get_purpose_display()})"
        if previous is not None
        else ""
    )
    # Treezor: "Use a different RSA key for each CSR" — across purposes, environments, renewals.
    return ServiceError(
        f"This CSR's key was used before{where}. Treezor requires a different RSA key for each "
        "CSR: generate a new key and CSR.",
        field="csr",
    )


def _check_renews(renews: Certificate | None, environment: Environment, purpose: str) -> None:
    if renews is None:
        return
    request = renews.signing_request
    if request.environment_id != environment.pk or request.purpose != purpose:
        raise ServiceError(
            f"Certificate #{renews.pk} is for {request.environment.name} "
            f"{request.get_purpose_display()}; its renewal must be for the same environment and "
            "purpose."
        )


def _subject_fields(subject: crypto.Subject) -> dict[str, str]:
    return {
        "country": subject.country,
        "state": subject.state,
        "locality": subject.locality,
        "organization": subject.organization,
        "organizational_unit": subject.organizational_unit,
        "common_name": subject.common_name,
        "email": subject.email,
    }


def _store(
    *,
    actor: Actor,
    action: str,
    key: Key,
    environment: Environment,
    purpose: str,
    csr_pem: str,
    subject: crypto.Subject,
    renews: Certificate | None,
    creation_token: uuid.UUID | None,
) -> SigningRequest:
    """The ready request for a stored key, and its audit event (inside the caller's atomic)."""
    request = SigningRequest.objects.create(
        environment=environment,
        purpose=purpose,
        key=key,
        csr_pem=csr_pem,
        status=SigningRequest.Status.READY,
        renews=renews,
        created_by=actor.user,
        creation_token=creation_token,
        **_subject_fields(subject),
    )
    audit_record(
        actor=actor,
        action=action,
        target=request,
        environment=environment,
        details={
            "purpose": purpose,
            "key_source": key.source,
            "key_fingerprint": key.fingerprint,
            "renews": renews.pk if renews is not None else None,
        },
    )
    return request


@sensitive_variables("private_key")
def request_create(
    *,
    actor: Actor,
    environment: Environment,
    purpose: str,
    subject: crypto.Subject,
    renews: Certificate | None = None,
    creation_token: uuid.UUID | None = None,
) -> SigningRequest:
    """Generate a new RSA 2048 key and its CSR; the key is stored encrypted, never in clear.

    With a ``creation_token`` (the wizard's), a second call with the same token returns the
    first request instead of making a second key: a double-submitted form creates one request.
    """
    if actor.user is not None:
        require(actor.user, Action.REQUEST, environment)
    if purpose not in Purpose.values:
        raise ServiceError(f"Purpose must be one of {', '.join(Purpose.values)}.", field="purpose")
    _check_renews(renews, environment, purpose)
    if (existing := _by_token(creation_token)) is not None:
        return existing

    # Slow (RSA generation), so outside the transaction.
    private_key = crypto.generate_private_key()
    fingerprint = crypto.public_key_fingerprint(private_key.public_key())
    encrypted, key_id = vault.encrypt(crypto.private_key_to_pem(private_key), bound_to=fingerprint)
    csr_pem = crypto.csr_to_pem(crypto.build_csr(private_key, subject)).decode("ascii")
    del private_key

    try:
        with transaction.atomic():
            key = Key.objects.create(
                fingerprint=fingerprint,
                source=Key.Source.GENERATED,
                encrypted_private_key=encrypted,
                encryption_key_id=key_id,
                created_by=actor.user,
            )
            request = _store(
                actor=actor,
                action="request.created",
                key=key,
                environment=environment,
                purpose=purpose,
                csr_pem=csr_pem,
                subject=subject,
                renews=renews,
                creation_token=creation_token,
            )
    except IntegrityError:
        # The same form submitted twice at once: the token lets one through; the other's new
        # key is dropped unsaved. (A 2048-bit fingerprint collision is not going to happen.)
        if (existing := _by_token(creation_token)) is not None:
            return existing
        raise ServiceError("The new key could not be stored; nothing was saved.") from None
    return request


def request_import_check(
    *, csr_data: bytes
) -> tuple[x509.CertificateSigningRequest, crypto.Subject]:
    """Everything request_import refuses, checked without writing: the wizard asks early."""
    try:
        csr = crypto.parse_csr(csr_data)
    except crypto.CryptoError as error:
        raise ServiceError(str(error), field="csr") from None
    try:
        subject = crypto.validate_subject(
            **_subject_fields(crypto.Subject.from_x509_name(csr.subject))
        )
    except crypto.SubjectError as error:
        problems = "; ".join(error.errors.values())
        raise ServiceError(
            f"The CSR's subject does not follow Treezor's table: {problems}. Make a new CSR "
            "with the fields corrected.",
            field="csr",
        ) from None
    fingerprint = crypto.public_key_fingerprint(csr.public_key())
    if Key.objects.filter(fingerprint=fingerprint).exists():
        raise _reused_key_error(fingerprint)
    return csr, subject


def _by_token(creation_token: uuid.UUID | None) -> SigningRequest | None:
    if creation_token is None:
        return None
    return SigningRequest.objects.filter(creation_token=creation_token).first()


def request_import(
    *,
    actor: Actor,
    environment: Environment,
    purpose: str,
    csr_data: bytes,
    renews: Certificate | None = None,
    creation_token: uuid.UUID | None = None,
) -> SigningRequest:
    """Keep a CSR the user made themselves; certdesk keeps only its public key."""
    if actor.user is not None:
        require(actor.user, Action.REQUEST, environment)
    if purpose not in Purpose.values:
        raise ServiceError(f"Purpose must be one of {', '.join(Purpose.values)}.", field="purpose")
    _check_renews(renews, environment, purpose)
    if (existing := _by_token(creation_token)) is not None:
        return existing
    csr, subject = request_import_check(csr_data=csr_data)
    fingerprint = crypto.public_key_fingerprint(csr.public_key())
    try:
        with transaction.atomic():
            key = Key.objects.create(
                fingerprint=fingerprint, source=Key.Source.IMPORTED, created_by=actor.user
            )
            request = _store(
                actor=actor,
                action="request.imported",
                key=key,
                environment=environment,
                purpose=purpose,
                csr_pem=crypto.csr_to_pem(csr).decode("ascii"),
                subject=subject,
                renews=renews,
                creation_token=creation_token,
            )
    except IntegrityError:
        # Two imports of one CSR at once: the unique fingerprint lets only one through.
        if (existing := _by_token(creation_token)) is not None:
            return existing
        raise _reused_key_error(fingerprint) from None
    return request
