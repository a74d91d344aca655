"""/api/v1/certificates: the list and one certificate with its PEM and chain (``read``); upload
(``request``); report a compromise, confirm a revocation, export the private key (``custody``).

The same services as the browser's pages, so the same checks, refusals and audit events.
"""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from typing import Annotated

from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from ninja import Header, Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from certificates import crypto, services
from certificates.api.access import (
    certificate_for,
    environment_for,
    need_scope,
    one_time_token,
    request_for,
    require_role,
)
from certificates.api.auth import caller_of
from certificates.api.problems import ApiProblem, problem_responses
from certificates.api.schemas import (
    CertificateDetailOut,
    CertificateList,
    CertificateOut,
    CertificateUploadIn,
    CompromiseIn,
    Id,
    KeyExportIn,
    PurposeName,
    RevocationConfirmIn,
    RevocationOut,
    Slug,
    StatusName,
    UploadOut,
)
from certificates.models import Certificate, Revocation, SigningRequest
from certificates.permissions import Action
from certificates.selectors import certificates_with_status, days_left, status_of
from certificates.services.audit import audit_record
from certificates.services.revocations import revocation_confirm, revocation_report_compromise

router = Router(tags=["certificates"])

KEY_CONTENT_TYPES = {
    "application/x-pem-file": {
        "schema": {"type": "string"},
        "example": "-----BEGIN RSA PRIVATE KEY-----\n...",
    },
    "application/x-pkcs12": {"schema": {"type": "string", "format": "binary"}},
}
KEY_EXPORT_OPENAPI = {
    "responses": {
        "200": {
            "description": "The private key: PKCS#1 PEM, or a PKCS#12 bundle with its "
            "certificate and chain. Never cached (Cache-Control: no-store).",
            "content": KEY_CONTENT_TYPES,
        }
    }
}


def _revocation(certificate: Certificate) -> Revocation | None:
    try:
        return certificate.revocation
    except Revocation.DoesNotExist:
        return None


def certificate_out(certificate: Certificate, now: datetime) -> CertificateOut:
    revocation = _revocation(certificate)
    replaced_by = getattr(certificate, "replaced_by", None)
    return CertificateOut(
        id=certificate.pk,
        environment=certificate.signing_request.environment.slug,
        purpose=certificate.purpose,  # type: ignore[arg-type]
        request=certificate.signing_request_id,
        serial=certificate.serial,
        subject=certificate.subject,
        issuer=certificate.issuer,
        not_before=certificate.not_before,
        not_after=certificate.not_after,
        fingerprint_sha256=crypto.format_fingerprint(certificate.fingerprint),
        status=status_of(certificate, now=now).value,
        in_service=certificate.in_service,
        days_left=days_left(certificate.not_after, now) if certificate.not_after > now else None,
        uploaded_at=certificate.uploaded_at,
        replaces=certificate.replaces_id,
        replaced_by=replaced_by.pk if replaced_by is not None else None,
        revocation=RevocationOut(
            reason=revocation.reason,  # type: ignore[arg-type]
            suspected_since=revocation.suspected_since,
            requested_at=revocation.requested_at,
            tam_notified_at=revocation.tam_notified_at,
            confirmed_at=revocation.confirmed_at,
        )
        if revocation is not None
        else None,
    )


def certificate_detail_out(certificate: Certificate, now: datetime) -> CertificateDetailOut:
    summary = certificate_out(certificate, now)
    return CertificateDetailOut(
        **summary.model_dump(),
        pem=certificate.pem,
        chain_pem=certificate.chain_pem,
        full_chain_pem=certificate.pem.rstrip() + "\n" + certificate.chain_pem,
        warnings=list(certificate.warnings or []),
    )


def _annotated(pk: int) -> Certificate:
    """The certificate again, with its status annotation (after a write)."""
    return certificates_with_status().get(pk=pk)


class CertificateFilters(Schema):
    environment: Slug | None = Field(None, description="An environment's slug.")
    purpose: PurposeName | None = None
    status: StatusName | None = None
    in_service: bool | None = Field(
        None, description="true: only the certificate in service of each environment/purpose."
    )
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


@router.get(
    "/certificates",
    response={200: CertificateList, **problem_responses()},
    summary="List certificates",
)
def certificate_list(request: HttpRequest, filters: Query[CertificateFilters]) -> CertificateList:
    """The certificates of the token's environments, soonest expiry first (scope ``read``).
    ``in_service=true&environment=production&purpose=mtls`` is the certificate a deployment
    installs."""
    caller = caller_of(request)
    need_scope(caller, "read")
    now = timezone.now()
    environments = caller.environments
    if filters.environment is not None:
        environments = [environment_for(caller, filters.environment)]
    rows: QuerySet[Certificate] = certificates_with_status(now=now).filter(
        signing_request__environment__in=environments
    )
    if filters.purpose is not None:
        rows = rows.filter(purpose=filters.purpose)
    if filters.status is not None:
        # ``status`` is the annotation of certificates_with_status (Q: the plugin cannot see it).
        rows = rows.filter(Q(status=filters.status))
    if filters.in_service is not None:
        rows = rows.filter(superseded_at__isnull=filters.in_service)
    rows = rows.order_by("not_after", "pk")
    page = rows[filters.offset : filters.offset + filters.limit]
    return CertificateList(
        count=rows.count(), items=[certificate_out(certificate, now) for certificate in page]
    )


@router.get(
    "/certificates/{certificate_id}",
    response={200: CertificateDetailOut, **problem_responses()},
    summary="One certificate, with its PEM and chain",
)
def certificate_detail(request: HttpRequest, certificate_id: Id) -> CertificateDetailOut:
    """The certificate and its chain as PEM (scope ``read``); recorded as
    ``certificate.exported``, as the browser's download is."""
    caller = caller_of(request)
    need_scope(caller, "read")
    certificate = certificate_for(caller, certificate_id)
    services.certificate_export(actor=caller.actor, certificate=certificate, part="files")
    return certificate_detail_out(certificate, timezone.now())


@router.post(
    "/certificates",
    response={201: UploadOut, **problem_responses(409)},
    summary="Upload the certificate Treezor signed",
)
def certificate_upload(request: HttpRequest, body: CertificateUploadIn) -> Status[UploadOut]:
    """Install a certificate (scope ``request``), with the browser's checks: it must match a
    request of the token's environments by its key, chain to the environment's Treezor CA, not
    be self-signed or expired. Replacing a good certificate in service needs ``replace: true``
    and trusting a new issuer ``trust_issuer: true`` (administrators): without them, 409 with
    the questions, and nothing is stored."""
    caller = caller_of(request)
    need_scope(caller, "request")
    environment = (
        environment_for(caller, body.environment) if body.environment is not None else None
    )
    if environment is not None:
        require_role(caller, Action.REQUEST, environment)
    result = services.certificate_upload(
        actor=caller.actor,
        data=body.certificate.encode("utf-8"),
        environment=environment,
        purpose=body.purpose,
        replace=body.replace,
        trust_issuer=body.trust_issuer,
    )
    now = timezone.now()
    return Status(
        HTTPStatus.CREATED,
        UploadOut(
            certificate=certificate_detail_out(_annotated(result.certificate.pk), now),
            replaced=result.replaced.pk if result.replaced is not None else None,
            trusted_issuer=result.trusted_issuer,
        ),
    )


@router.post(
    "/certificates/{certificate_id}/compromise",
    response={200: CertificateOut, **problem_responses(409)},
    summary="Report a compromised key",
)
def certificate_compromise(
    request: HttpRequest,
    certificate_id: Id,
    body: CompromiseIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> CertificateOut:
    """Mark the key compromised and email the TAM an urgent revocation request now (scope
    ``custody``); the environment's custodians and team are told. Once only: a repeated call
    with the same ``Idempotency-Key`` returns the first report; any other second report is 409."""
    caller = caller_of(request)
    need_scope(caller, "custody")
    certificate = certificate_for(caller, certificate_id, Action.CUSTODY)
    revocation_report_compromise(
        actor=caller.actor,
        certificate=certificate,
        suspected_since=body.suspected_since,
        note=body.note,
        submission_token=one_time_token(caller, "compromise", idempotency_key),
    )
    return certificate_out(_annotated(certificate.pk), timezone.now())


@router.post(
    "/certificates/{certificate_id}/revocation/confirm",
    response={200: CertificateOut, **problem_responses(409)},
    summary="Record that Treezor revoked it",
)
def revocation_confirmed(
    request: HttpRequest, certificate_id: Id, body: RevocationConfirmIn
) -> CertificateOut:
    """Record the day Treezor confirmed the revocation (scope ``custody``): the certificate is
    then revoked."""
    caller = caller_of(request)
    need_scope(caller, "custody")
    certificate = certificate_for(caller, certificate_id, Action.CUSTODY)
    revocation = _revocation(certificate)
    if revocation is None:
        raise ApiProblem(HTTPStatus.CONFLICT, "No revocation was requested for this certificate.")
    revocation_confirm(actor=caller.actor, revocation=revocation, confirmed_on=body.confirmed_on)
    return certificate_out(_annotated(certificate.pk), timezone.now())


@sensitive_variables("export", "body")
def key_response(
    request: HttpRequest,
    *,
    pk: int,
    body: KeyExportIn,
    find: str,
) -> HttpResponse:
    """The one way a private key leaves through the API (rule 3): a ``custody`` token of a
    custodian, recorded by the service; a refusal (403, 404) is recorded as
    ``key.export_refused``, as in the browser. Never cached."""
    caller = caller_of(request)
    signing_request: SigningRequest
    certificate: Certificate | None = None
    try:
        need_scope(caller, "custody")
        if find == "certificate":
            certificate = certificate_for(caller, pk, Action.CUSTODY)
            signing_request = certificate.signing_request
        else:
            signing_request = request_for(caller, pk, Action.CUSTODY)
    except ApiProblem as refused:
        audit_record(
            actor=caller.actor,
            action="key.export_refused",
            details={
                "url_name": f"api_{find}_key",
                "pk": pk,
                "status": refused.status,
                "method": request.method,
            },
        )
        raise
    export = services.key_export(
        actor=caller.actor,
        signing_request=signing_request,
        key_format=body.format,
        passphrase=body.passphrase,
        certificate=certificate,
    )
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Cache-Control"] = "no-store, private"
    return response


@router.post(
    "/certificates/{certificate_id}/key",
    response=problem_responses(),
    openapi_extra=KEY_EXPORT_OPENAPI,
    summary="Export the certificate's private key",
)
def certificate_key_export(
    request: HttpRequest, certificate_id: Id, body: KeyExportIn
) -> HttpResponse:
    """The private key of this certificate (scope ``custody``): ``{"format": "pem"}`` gives
    PKCS#1 PEM; ``{"format": "pkcs12", "passphrase": "..."}`` a PKCS#12 bundle with the
    certificate and its chain. Recorded as ``key.exported``; ``Cache-Control: no-store``."""
    return key_response(request, pk=certificate_id, body=body, find="certificate")
