"""/api/v1/environments: the environments the token may act in, and what it may do in each."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from certificates.api.auth import caller_of
from certificates.api.problems import problem_responses
from certificates.api.schemas import EnvironmentOut
from certificates.permissions import Action
from certificates.selectors.api_tokens import SCOPE_ACTIONS, allowed_actions

router = Router(tags=["environments"])

SCOPE_OF: dict[Action, str] = {action: scope for scope, action in SCOPE_ACTIONS.items()}


@router.get(
    "/environments",
    response={200: list[EnvironmentOut], **problem_responses()},
    summary="The token's environments",
)
def environment_list(request: HttpRequest) -> list[EnvironmentOut]:
    """Every environment the token may act in (any scope), with the scopes it may use there at
    this moment: its own, within its owner's role (never more)."""
    caller = caller_of(request)
    return [
        EnvironmentOut(
            slug=environment.slug,
            name=environment.name,
            scopes=[SCOPE_OF[action] for action in allowed_actions(caller.token, environment)],  # type: ignore[misc]
            tam_configured=bool(environment.tam_emails),
            treezor_ca_set=bool(environment.ca_bundle.strip()),
        )
        for environment in caller.environments
    ]
