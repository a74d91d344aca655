"""/api/v1/requests: the list and one request with its CSR (``read``); create one, with a key
made here or your own CSR, and cancel one (``request``); its private key (``custody``).
/api/v1/environments/{slug}/send: email CSRs to the TAM (``request``), once per
``Idempotency-Key``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
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
from certificates.api.certificates import KEY_EXPORT_OPENAPI, key_response
from certificates.api.problems import ApiProblem, problem_responses
from certificates.api.schemas import (
    CancelIn,
    EmailOut,
    Id,
    KeyExportIn,
    PurposeName,
    RequestCreateIn,
    RequestDetailOut,
    RequestList,
    RequestOut,
    RequestStatusName,
    SendIn,
    Slug,
    SubjectOut,
)
from certificates.models import Certificate, OutboundEmail, SigningRequest
from certificates.permissions import Action
from certificates.services.tam import email_of_submission

router = Router(tags=["requests"])


def request_out(signing_request: SigningRequest) -> RequestOut:
    key = signing_request.key
    return RequestOut(
        id=signing_request.pk,
        environment=signing_request.environment.slug,
        purpose=signing_request.purpose,  # type: ignore[arg-type]
        status=signing_request.status,  # type: ignore[arg-type]
        subject=SubjectOut(
            country=signing_request.country,
            state=signing_request.state,
            locality=signing_request.locality,
            organization=signing_request.organization,
            organizational_unit=signing_request.organizational_unit,
            common_name=signing_request.common_name,
            email=signing_request.email,
        ),
        key_source=key.source,  # type: ignore[arg-type]
        key_fingerprint_sha256=crypto.format_fingerprint(key.fingerprint),
        private_key_held=key.has_private_key,
        renews=signing_request.renews_id,
        certificates=sorted(c.pk for c in signing_request.certificates.all()),
        created_at=signing_request.created_at,
        sent_at=signing_request.sent_at,
        sent_on=signing_request.sent_on,
        cancelled_at=signing_request.cancelled_at,
        cancel_reason=signing_request.cancel_reason,
    )


def request_detail_out(signing_request: SigningRequest) -> RequestDetailOut:
    return RequestDetailOut(
        **request_out(signing_request).model_dump(), csr_pem=signing_request.csr_pem
    )


def _fresh(pk: int) -> SigningRequest:
    return SigningRequest.objects.select_related("environment", "key").get(pk=pk)


class RequestFilters(Schema):
    environment: Slug | None = Field(None, description="An environment's slug.")
    purpose: PurposeName | None = None
    status: RequestStatusName | None = None
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


@router.get(
    "/requests", response={200: RequestList, **problem_responses()}, summary="List requests"
)
def request_list(request: HttpRequest, filters: Query[RequestFilters]) -> RequestList:
    """The signing requests of the token's environments, newest first (scope ``read``)."""
    caller = caller_of(request)
    need_scope(caller, "read")
    environments = caller.environments
    if filters.environment is not None:
        environments = [environment_for(caller, filters.environment)]
    rows: QuerySet[SigningRequest] = (
        SigningRequest.objects.filter(environment__in=environments)
        .select_related("environment", "key")
        .prefetch_related("certificates")
        .order_by("-created_at", "-pk")
    )
    if filters.purpose is not None:
        rows = rows.filter(purpose=filters.purpose)
    if filters.status is not None:
        rows = rows.filter(status=filters.status)
    page = rows[filters.offset : filters.offset + filters.limit]
    return RequestList(count=rows.count(), items=[request_out(r) for r in page])


@router.get(
    "/requests/{request_id}",
    response={200: RequestDetailOut, **problem_responses()},
    summary="One request, with its CSR",
)
def request_detail(request: HttpRequest, request_id: Id) -> RequestDetailOut:
    """The request and its CSR, PEM (scope ``read``). Never its key."""
    caller = caller_of(request)
    need_scope(caller, "read")
    return request_detail_out(request_for(caller, request_id))


@router.post(
    "/requests",
    response={200: RequestDetailOut, 201: RequestDetailOut, **problem_responses()},
    summary="Create a signing request",
)
def request_create(
    request: HttpRequest,
    body: RequestCreateIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Status[RequestDetailOut]:
    """A new request (scope ``request``): with ``subject``, certdesk generates the RSA 2048 key
    and the CSR (the key stays here, encrypted); with ``csr``, your own CSR is kept (its key
    must be new). ``renews``: the certificate it renews (same environment and purpose). 201
    when made; a retry with the same ``Idempotency-Key`` returns the first one (200)."""
    caller = caller_of(request)
    need_scope(caller, "request")
    environment = environment_for(caller, body.environment)
    require_role(caller, Action.REQUEST, environment)
    renews: Certificate | None = None
    if body.renews is not None:
        renews = certificate_for(caller, body.renews)
    token = one_time_token(caller, "request", idempotency_key)
    existed = token is not None and SigningRequest.objects.filter(creation_token=token).exists()
    if body.subject is not None:
        try:
            subject = crypto.validate_subject(**body.subject.model_dump())
        except crypto.SubjectError as error:
            raise ApiProblem(
                HTTPStatus.BAD_REQUEST,
                str(error),
                errors={f"subject.{field}": message for field, message in error.errors.items()},
            ) from None
        created = services.request_create(
            actor=caller.actor,
            environment=environment,
            purpose=body.purpose,
            subject=subject,
            renews=renews,
            creation_token=token,
        )
    else:
        assert body.csr is not None
        created = services.request_import(
            actor=caller.actor,
            environment=environment,
            purpose=body.purpose,
            csr_data=body.csr.encode("utf-8"),
            renews=renews,
            creation_token=token,
        )
    if existed and (created.environment_id != environment.pk or created.purpose != body.purpose):
        raise ApiProblem(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            f"This Idempotency-Key made request #{created.pk} for another environment or "
            "purpose; use a new key for a new request.",
        )
    status = HTTPStatus.OK if existed else HTTPStatus.CREATED
    return Status(status, request_detail_out(_fresh(created.pk)))


@router.post(
    "/requests/{request_id}/cancel",
    response={200: RequestOut, **problem_responses()},
    summary="Cancel a request",
)
def request_cancel(request: HttpRequest, request_id: Id, body: CancelIn) -> RequestOut:
    """Withdraw a request that has no certificate, with a reason (scope ``request``); a key
    certdesk generated for it is destroyed at once."""
    caller = caller_of(request)
    need_scope(caller, "request")
    signing_request = request_for(caller, request_id, Action.REQUEST)
    services.request_cancel(actor=caller.actor, signing_request=signing_request, reason=body.reason)
    return request_out(_fresh(signing_request.pk))


@router.post(
    "/requests/{request_id}/key",
    response=problem_responses(),
    openapi_extra=KEY_EXPORT_OPENAPI,
    summary="Export the request's private key",
)
def request_key_export(request: HttpRequest, request_id: Id, body: KeyExportIn) -> HttpResponse:
    """The private key of this request (scope ``custody``), as for a certificate: PEM, or a
    PKCS#12 bundle with the request's certificate. Recorded; ``Cache-Control: no-store``."""
    return key_response(request, pk=request_id, body=body, find="request")


def email_out(email: OutboundEmail, requests: list[int], *, replayed: bool) -> EmailOut:
    return EmailOut(
        id=email.pk,
        kind=email.kind,
        status=email.status,  # type: ignore[arg-type]
        to=list(email.to),
        cc=list(email.cc),
        subject=email.subject,
        requests=requests,
        created_at=email.created_at,
        replayed=replayed,
    )


@router.post(
    "/environments/{slug}/send",
    response={200: EmailOut, 201: EmailOut, **problem_responses()},
    summary="Send CSRs to the TAM",
)
def send_to_tam(
    request: HttpRequest,
    slug: Slug,
    body: SendIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Status[EmailOut]:
    """Email ready CSRs of the environment to its TAM (scope ``request``); they become
    ``sent``. One CSR per purpose per email; a CSR sent already is refused (the TAM has it).
    With an ``Idempotency-Key``, a retried call returns the first call's email (200,
    ``replayed: true``) and sends nothing: send one with every call a pipeline may retry."""
    caller = caller_of(request)
    need_scope(caller, "request")
    environment = environment_for(caller, slug)
    require_role(caller, Action.REQUEST, environment)
    wanted = sorted(set(body.requests))
    chosen = list(
        SigningRequest.objects.filter(pk__in=wanted, environment=environment).order_by("pk")
    )
    if missing := sorted(set(wanted) - {r.pk for r in chosen}):
        raise ApiProblem(
            HTTPStatus.NOT_FOUND,
            f"No signing request {', '.join(f'#{pk}' for pk in missing)} in {environment.name}.",
        )
    token = one_time_token(caller, "send", idempotency_key)
    first = email_of_submission(token)
    if first is not None and first.environment_id != environment.pk:
        raise ApiProblem(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "This Idempotency-Key sent an email for another environment; use a new key.",
        )
    email = services.tam_send(
        actor=caller.actor,
        environment=environment,
        signing_requests=chosen,
        submission_token=token,
        message=body.message,
    )
    replayed = first is not None
    return Status(
        HTTPStatus.OK if replayed else HTTPStatus.CREATED,
        email_out(email, wanted, replayed=replayed),
    )
