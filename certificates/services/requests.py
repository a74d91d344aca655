"""Signing requests: a new key and CSR made here, or a CSR the user brought (rule 2 for both)."""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from certificates import crypto, vault
from certificates.dbfiles import erase_freed_pages
from certificates.models import (
    Certificate,
    Environment,
    Key,
    OutboundEmail,
    Purpose,
    SigningRequest,
)
from certificates.permissions import Action
from certificates.selectors.requests import OPEN_STATUSES
from certificates.services.audit import Actor, AuditEntry, audit_record, audit_record_many
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
    return {field: getattr(subject, field) for field in crypto.SUBJECT_FIELDS}


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
    actor.require(Action.REQUEST, environment)
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
    actor.require(Action.REQUEST, environment)
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


# A reason is a sentence or two for the audit log and the request's page, not a document.
CANCEL_REASON_MAX_LENGTH = 500


def _cancel_reason(reason: str, signing_request: SigningRequest) -> str:
    text = reason.replace("\r\n", "\n").strip()
    if not text:
        raise ServiceError(
            f"Say why request #{signing_request.pk} is cancelled (for example: a typo in the "
            "Common Name); the reason stays on its page and in the audit log.",
            field="reason",
        )
    if len(text) > CANCEL_REASON_MAX_LENGTH:
        raise ServiceError(
            f"The reason is {len(text):,} characters; keep it under "
            f"{CANCEL_REASON_MAX_LENGTH} (a sentence or two).",
            field="reason",
        )
    # Line breaks and tabs are text; other control characters (escape sequences, NUL) would
    # garble a terminal or a log reader, and bidi overrides can disguise what a reason says.
    if any(
        (unicodedata.category(char) in ("Cc", "Cf", "Cs") and char not in "\n\t") for char in text
    ):
        raise ServiceError(
            "The reason contains control characters; type it as plain text.", field="reason"
        )
    return text


def request_cancel_check(*, signing_request: SigningRequest) -> None:
    """What request_cancel refuses about the request itself, checked without writing: the
    request's page asks it before offering the button."""
    certificate = signing_request.certificates.order_by("-pk").first()
    if certificate is not None:
        raise ServiceError(
            f"Request #{signing_request.pk} already has certificate #{certificate.pk}: revoke "
            "it instead (on the certificate's page)."
        )
    if signing_request.status == SigningRequest.Status.CANCELLED:
        when = (
            f" on {timezone.localtime(signing_request.cancelled_at):%Y-%m-%d %H:%M}"
            if signing_request.cancelled_at is not None
            else ""
        )
        raise ServiceError(f"Request #{signing_request.pk} was cancelled{when} already.")
    if signing_request.status not in OPEN_STATUSES:
        raise ServiceError(
            f"Request #{signing_request.pk} is {signing_request.get_status_display().lower()}; "
            "only a request still waiting for its certificate can be cancelled."
        )


def request_cancel(*, actor: Actor, signing_request: SigningRequest, reason: str) -> SigningRequest:
    """Withdraw a request that has no certificate (draft, ready or sent), with a reason.

    A key certdesk generated for it is destroyed at once: nobody will ever install a
    certificate for it, and a private key kept for nothing is only a risk. The Key row and its
    fingerprint stay, so rule 2 refuses that key forever. A CSR already sent stays with
    Treezor: the user tells the TAM to ignore it.
    """
    environment = signing_request.environment
    actor.require(Action.REQUEST, environment)
    request_cancel_check(signing_request=signing_request)
    text = _cancel_reason(reason, signing_request)
    key = signing_request.key
    now = timezone.now()
    with transaction.atomic():
        # Compare-and-set on the status the user saw: a request sent, fulfilled or cancelled
        # meanwhile is not cancelled blindly. (A certificate installed meanwhile sets
        # "fulfilled"; the check constraint on cancelled_at refuses the reverse order.)
        updated = SigningRequest.objects.filter(
            pk=signing_request.pk, status=signing_request.status
        ).update(
            status=SigningRequest.Status.CANCELLED,
            cancelled_at=now,
            cancelled_by=actor.user,
            cancel_reason=text,
            updated_at=now,
        )
        if not updated:
            signing_request.refresh_from_db()
            request_cancel_check(signing_request=signing_request)
            raise ServiceError(
                f"Request #{signing_request.pk} changed meanwhile "
                f"(now {signing_request.get_status_display().lower()}); reload the page."
            )
        key_destroyed = bool(
            Key.objects.filter(pk=key.pk, encrypted_private_key__isnull=False).update(
                encrypted_private_key=None, destroyed_at=now
            )
        )
        audit_record(
            actor=actor,
            action="request.cancelled",
            target=signing_request,
            environment=environment,
            details={
                "reason": text,
                "previous_status": signing_request.status,
                "key_destroyed": key_destroyed,
                "key_fingerprint": key.fingerprint,
            },
        )
        if key_destroyed:
            audit_record(
                actor=actor,
                action="key.destroyed",
                target=key,
                environment=environment,
                details={
                    "key_fingerprint": key.fingerprint,
                    "request": signing_request.pk,
                    "why": "request cancelled",
                },
            )
            # Unrecoverable on this host (certificates/dbfiles.py).
            transaction.on_commit(erase_freed_pages)
    signing_request.refresh_from_db()
    key.refresh_from_db()
    return signing_request


def request_mark_sent_to_tam(
    *,
    actor: Actor,
    signing_requests: Sequence[SigningRequest],
    email: OutboundEmail | None,
    how: str,
    sent_at: datetime,
) -> None:
    """Ready requests become ``sent``, each with its audit event: the one place a request is
    sent to the TAM, whoever sends it (the send page, the expiry scan, the user by hand).

    ``email``: the email that carried their CSRs, recorded as ``request.sent_to_tam`` with its
    id and addresses (and, for the scan's renewal email, the certificate renewed); None when
    the user emailed the TAM themselves: ``request.marked_sent`` with the day, ``sent_at``'s.
    ``how`` says who moved them. A compare-and-set from ``ready``: when one of them changed
    meanwhile (sent, cancelled), :class:`ServiceError` and nothing changed. The objects given
    are updated in place.
    """
    if not signing_requests:
        return
    with transaction.atomic():
        updated = SigningRequest.objects.filter(
            pk__in=[r.pk for r in signing_requests], status=SigningRequest.Status.READY
        ).update(status=SigningRequest.Status.SENT, sent_at=sent_at, updated_at=timezone.now())
        if updated != len({r.pk for r in signing_requests}):
            changed = ", ".join(f"#{r.pk}" for r in signing_requests)
            raise ServiceError(f"Request {changed} changed meanwhile; reload the page.")
        entries = []
        for signing_request in signing_requests:
            signing_request.status = SigningRequest.Status.SENT
            signing_request.sent_at = sent_at
            details: dict[str, object]
            if email is None:
                details = {"sent_on": timezone.localdate(sent_at).isoformat()}
            else:
                details = {"email": email.pk, "to": list(email.to)}
                if email.kind == OutboundEmail.Kind.TAM_RENEWAL:
                    details["renewal_of"] = signing_request.renews_id
            details["how"] = how
            entries.append(
                AuditEntry(
                    actor=actor,
                    action="request.sent_to_tam" if email is not None else "request.marked_sent",
                    target=signing_request,
                    environment=signing_request.environment,
                    details=details,
                )
            )
        audit_record_many(entries)
