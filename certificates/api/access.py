"""The API's access checks, in the browser's order and with its answers: a scope the token lacks
is 403; an object of an environment the token may not see (not among its environments, or its
owner has no role there) is 404, whether it exists or not; a role too low for the action is
403. The services check the role again (``Actor.require``), token limits included."""

from __future__ import annotations

import uuid
from http import HTTPStatus

from certificates.api.auth import Caller
from certificates.api.problems import ApiProblem
from certificates.models import Certificate, Environment, SigningRequest
from certificates.permissions import Action, user_can
from certificates.selectors import certificates_with_status

# The name space of the one-time tokens made from Idempotency-Key headers.
IDEMPOTENCY_NAMESPACE = uuid.UUID("0f4c1f8e-7e55-4f43-9a52-3c7d2b1e9a17")
IDEMPOTENCY_KEY_MAX = 255


def need_scope(caller: Caller, scope: str) -> None:
    if not caller.has_scope(scope):
        raise ApiProblem(
            HTTPStatus.FORBIDDEN,
            f"The API token “{caller.token.name}” does not have the {scope} scope; make a "
            f"token with it on your Profile page (API tokens).",
        )


def require_role(caller: Caller, action: Action, environment: Environment) -> None:
    if not user_can(caller.token.user, action, environment):
        raise ApiProblem(
            HTTPStatus.FORBIDDEN, f"Your role in {environment.name} does not allow this."
        )


def environment_for(caller: Caller, slug: str) -> Environment:
    for environment in caller.environments:
        if environment.slug == slug:
            return environment
    raise ApiProblem(
        HTTPStatus.NOT_FOUND,
        f"No environment “{slug}” for this token. GET /api/v1/environments lists its own.",
    )


def certificate_for(caller: Caller, pk: int, action: Action = Action.VIEW) -> Certificate:
    certificate = (
        certificates_with_status()
        .filter(pk=pk, signing_request__environment__in=caller.environments)
        .first()
    )
    if certificate is None:
        raise ApiProblem(HTTPStatus.NOT_FOUND, f"No certificate #{pk}.")
    require_role(caller, action, certificate.signing_request.environment)
    return certificate


def request_for(caller: Caller, pk: int, action: Action = Action.VIEW) -> SigningRequest:
    signing_request = (
        SigningRequest.objects.select_related("environment", "key", "renews")
        .filter(pk=pk, environment__in=caller.environments)
        .first()
    )
    if signing_request is None:
        raise ApiProblem(HTTPStatus.NOT_FOUND, f"No signing request #{pk}.")
    require_role(caller, action, signing_request.environment)
    return signing_request


def one_time_token(caller: Caller, operation: str, key: str | None) -> uuid.UUID | None:
    """The one-time token of an ``Idempotency-Key``: the same key from the same API token for
    the same operation is the same token, so a retried call finds the first one's result, the
    way a form submitted twice does in the browser. Another token's key never collides."""
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > IDEMPOTENCY_KEY_MAX:
        raise ApiProblem(
            HTTPStatus.BAD_REQUEST,
            f"The Idempotency-Key header must be 1 to {IDEMPOTENCY_KEY_MAX} characters (a UUID "
            "is a good choice).",
            errors={"Idempotency-Key": "1 to 255 characters"},
        )
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{caller.token.pk}:{operation}:{key}")
