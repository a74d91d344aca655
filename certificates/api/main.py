"""certdesk's REST API (issue 17), django-ninja: mounted at /api/v1/ (certificates/urls.py),
its OpenAPI 3 schema at /api/v1/schema and a readable reference at /api/v1/docs.

Every operation is authenticated by a personal API token (``auth.TokenAuth``) and calls the
services the browser calls. Errors are RFC 9457 problems (``problems.py``): a refusal of a
service is 400 with its message, a decision an upload needs 409, a malformed request 422.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, URLResolver
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import Swagger
from ninja.openapi.schema import OpenAPISchema

from certificates import crypto
from certificates.api import certificates, environments, requests
from certificates.api.auth import TokenAuth
from certificates.api.problems import (
    PROBLEM_CONTENT_TYPE,
    ApiProblem,
    problem_response,
    unauthorized,
)
from certificates.services.certificates import ConfirmationNeeded
from certificates.services.errors import ServiceError
from certificates.services.revocations import AlreadyRequested
from certificates.vault import VaultError

DESCRIPTION = """\
What the browser does, for scripts and deployment pipelines: read certificates and requests,
create requests, upload certificates, send CSRs to the TAM, cancel, report a compromise, confirm
a revocation, and export a private key.

**Tokens.** Make one on your Profile page (*API tokens*) or with `manage.py create_api_token`,
and send it as `Authorization: Bearer <token>`. A token names its environments and scopes
(`read`, `request`, `custody`) and never does more than its owner's roles allow at the moment of
the call. It expires (a year at most), can be revoked, and stops with its owner's account.

**Errors** are `application/problem+json` (RFC 9457) with the browser's messages: 401 for a
missing, expired or revoked token, 403 for a scope or role, 404 for an object the token may not
see, 429 with `Retry-After` past the token's rate limit.

Every call is recorded in the audit log like the same action in the browser, with the token's
name.
"""


class ReferencePage(Swagger):
    """Swagger UI from django-ninja's own static files, in a certdesk page: nothing from another
    host and no inline script, so the site's Content-Security-Policy holds here too."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        schema_url = self.get_openapi_url(api, kwargs)
        return render(
            request,
            "certificates/api/reference.html",
            {"swagger_settings": {**self.settings, "url": schema_url}, "schema_url": schema_url},
        )


class CertdeskAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Any) -> str:
        return str(operation.view_func.__name__)

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
                        response["description"] = HTTPStatus(int(status)).phrase
                    if headers := RESPONSE_HEADERS.get(int(status)):
                        response["headers"] = headers
        return schema


# Headers every answer of these statuses carries (RFC 6750 for 401, RFC 9110 for 429).
RESPONSE_HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "Bearer, as RFC 6750 says: the API takes a token.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds to wait before the token may call again.",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    },
}


api = CertdeskAPI(
    title="certdesk API",
    version="1",
    description=DESCRIPTION,
    auth=TokenAuth(),
    openapi_url="/schema",
    docs_url="/docs",
    docs=ReferencePage(settings={"persistAuthorization": False, "tryItOutEnabled": False}),
    urls_namespace="api",
)
api.add_router("", environments.router)
api.add_router("", certificates.router)
api.add_router("", requests.router)


@api.exception_handler(ApiProblem)
def _problem(request: HttpRequest, exc: ApiProblem) -> HttpResponse:
    return problem_response(exc)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem_response(
        unauthorized("Send an API token as “Authorization: Bearer <token>”.", error="")
    )


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    """Malformed input: which field and why, never the value sent (a pasted key stays out)."""
    errors: dict[str, str] = {}
    for error in exc.errors:
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        errors.setdefault(where or "request", str(error.get("msg", "is not valid")))
    summary = "; ".join(f"{where}: {message}" for where, message in errors.items())
    return problem_response(
        ApiProblem(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            f"The request is not valid: {summary}"[:2000],
            errors=errors,
        )
    )


@api.exception_handler(ServiceError)
def _refused(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    """A service's refusal, in its words; an upload that needs a decision is 409 with the
    questions, a second compromise report 409."""
    if isinstance(exc, ConfirmationNeeded):
        questions = [
            {
                "kind": question.kind,
                "message": question.message,
                "issuers": [
                    {"subject": i.subject, "fingerprint": i.fingerprint, "not_after": i.not_after}
                    for i in question.issuers
                ],
            }
            for question in exc.questions
        ]
        return problem_response(
            ApiProblem(
                HTTPStatus.CONFLICT,
                exc.message
                + " Send it again with "
                + " and ".join(f"{q.kind}: true" for q in exc.questions)
                + " to go on; nothing was stored.",
                questions=questions,
            )
        )
    status = HTTPStatus.CONFLICT if isinstance(exc, AlreadyRequested) else HTTPStatus.BAD_REQUEST
    return problem_response(ApiProblem(status, exc.message, errors=exc.errors or None))


@api.exception_handler(crypto.CryptoError)
def _crypto(request: HttpRequest, exc: crypto.CryptoError) -> HttpResponse:
    return problem_response(ApiProblem(HTTPStatus.BAD_REQUEST, str(exc)))


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return problem_response(
        ApiProblem(HTTPStatus.FORBIDDEN, str(exc) or "This token may not do this.")
    )


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(ApiProblem(HTTPStatus.NOT_FOUND, str(exc) or "Not found."))


@api.exception_handler(VaultError)
def _vault(request: HttpRequest, exc: VaultError) -> HttpResponse:
    return problem_response(
        ApiProblem(
            HTTPStatus.CONFLICT,
            "certdesk could not decrypt the stored private key with its encryption keys "
            "(CERTDESK_ENCRYPTION_KEYS). Nothing was exported: ask the administrator who runs "
            "certdesk to check the encryption keys.",
        )
    )


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return problem_response(ApiProblem(exc.status_code, str(exc)))


def _open(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    """The API's routes without the login page: a token is their credential (and the schema and
    its reference page are public), so LoginRequiredMiddleware lets them through."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            _open(entry.url_patterns)
        else:
            entry.callback.login_required = False  # type: ignore[attr-defined]
    return patterns


def _one_per_route(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    """django-ninja adds a pattern per operation; the operations of one path share one view
    (it dispatches on the method), so the first pattern of a route serves them all."""
    seen: set[str] = set()
    kept = []
    for entry in patterns:
        route = str(entry.pattern)
        if route not in seen:
            seen.add(route)
            kept.append(entry)
    return kept


def urls() -> tuple[list[URLPattern | URLResolver], str, str]:
    patterns, app_name, namespace = api.urls
    return _open(_one_per_route(list(patterns))), app_name, namespace
