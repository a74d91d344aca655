"""Who calls the API: ``Authorization: Bearer <token>``, checked at every call.

A missing, unknown, expired or revoked token, or one whose owner is deactivated, is a 401 with
``WWW-Authenticate: Bearer``. Session cookies are never looked at: the browser's login does not
open the API (and so the API needs no CSRF protection). Each token has its own rate limit,
``CERTDESK_API_RATE_LIMIT`` calls a minute, counted in the cache: past it, 429 with
``Retry-After``. "Last used" is written at most once a minute per token.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from http import HTTPStatus

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from ninja.security.http import HttpBearer

from certificates.actors import client_ip
from certificates.api.problems import ApiProblem, unauthorized
from certificates.models import ApiToken, Environment
from certificates.permissions import Action
from certificates.selectors.api_tokens import (
    token_actions,
    token_by_secret,
    token_environments,
    token_problem,
)
from certificates.services.api_tokens import api_token_touch
from certificates.services.audit import Actor

logger = logging.getLogger(__name__)

RATE_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Caller:
    """The token of this call, the actor the services get (the owner, narrowed to the token),
    and the environments the token may act in now (where its owner still has a role)."""

    token: ApiToken
    actor: Actor
    environments: list[Environment]

    def has_scope(self, scope: str) -> bool:
        return scope in self.token.scopes

    def may(self, action: Action, environment: Environment) -> bool:
        return self.actor.may(action, environment)


def _rate_limit(token: ApiToken) -> None:
    """Count this call in the token's current minute; past the limit, 429 until the next one.
    A cache that cannot be reached lets the call through (logged): the token was checked."""
    limit: int = settings.CERTDESK_API_RATE_LIMIT
    if limit <= 0:
        return
    now = time.time()
    window = int(now // RATE_WINDOW_SECONDS)
    # Keyed by the token's hash (random), never its id: ids come back after a restore.
    key = f"certdesk:api-rate:{token.token_sha256[:32]}:{window}"
    try:
        cache.add(key, 0, timeout=RATE_WINDOW_SECONDS * 2)
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=RATE_WINDOW_SECONDS * 2)
        count = 1
    except Exception as error:
        logger.warning("API rate limit not counted (cache unavailable): %s", error)
        return
    if count > limit:
        retry_after = max(1, int((window + 1) * RATE_WINDOW_SECONDS - now + 0.999))
        raise ApiProblem(
            HTTPStatus.TOO_MANY_REQUESTS,
            f"This API token made more than {limit} calls this minute; wait {retry_after} "
            "seconds (Retry-After) and try again.",
            headers={"Retry-After": str(retry_after)},
        )


class TokenAuth(HttpBearer):
    """certdesk's personal API tokens, as ``Authorization: Bearer certdesk_...``."""

    def __call__(self, request: HttpRequest) -> Caller:
        header = request.headers.get(self.header, "")
        if not header.strip():
            raise unauthorized(
                "This API needs a token: send it as “Authorization: Bearer <token>” (make one "
                "on your Profile page, API tokens).",
                error="",
            )
        scheme, _, secret = header.strip().partition(" ")
        if scheme.lower() != self.openapi_scheme or not secret.strip():
            raise unauthorized(
                "Send the token as “Authorization: Bearer <token>”.", error="invalid_request"
            )
        return self.authenticate(request, secret.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Caller:
        api_token = token_by_secret(token)
        if api_token is None:
            raise unauthorized("This API token is not valid.")
        if (problem := token_problem(api_token)) is not None:
            raise unauthorized(problem)
        _rate_limit(api_token)
        ip = client_ip(request)
        api_token_touch(token=api_token, ip=ip)
        environments = token_environments(api_token)
        actor = Actor.api(
            user=api_token.user,
            ip=ip,
            token_name=api_token.name,
            actions=token_actions(api_token),
            environment_ids=frozenset(environment.pk for environment in environments),
        )
        return Caller(token=api_token, actor=actor, environments=environments)


def caller_of(request: HttpRequest) -> Caller:
    """The caller the auth found (every operation of the API is authenticated)."""
    caller = getattr(request, "auth", None)
    assert isinstance(caller, Caller)
    return caller
