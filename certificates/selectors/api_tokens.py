"""API tokens (issue 17): the token a request presents, why it cannot be used, and what it may
do now. A token is a credential: only its SHA-256 is stored, so it is looked up by that."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone

from certificates.models import ApiToken, Environment
from certificates.permissions import ROLE_ALLOWS, Action, environments_for

# Every token starts with this, so that secret scanners (and people) recognise one in a log or
# a repository; the rest is secrets.token_urlsafe(32).
TOKEN_PREFIX = "certdesk_"  # noqa: S105 - a prefix, not a secret
# What a page shows of a token to tell it apart: the prefix and the first characters after it.
SHOWN_LENGTH = len(TOKEN_PREFIX) + 6
# token_urlsafe(32) is 43 characters: anything much longer is not one of ours.
TOKEN_MAX_LENGTH = 128

# What each scope lets a token do: the same three actions as the roles (permissions.Action).
SCOPE_ACTIONS: dict[str, Action] = {
    ApiToken.Scope.READ: Action.VIEW,
    ApiToken.Scope.REQUEST: Action.REQUEST,
    ApiToken.Scope.CUSTODY: Action.CUSTODY,
}


def token_sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def token_by_secret(secret: str) -> ApiToken | None:
    """The token whose secret is ``secret`` (in any state), with its owner, or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > TOKEN_MAX_LENGTH:
        return None
    return (
        ApiToken.objects.select_related("user")
        .prefetch_related("environments")
        .filter(token_sha256=token_sha256(secret))
        .first()
    )


def token_problem(token: ApiToken, *, now: datetime | None = None) -> str | None:
    """Why ``token`` cannot be used now (revoked, expired, its owner deactivated), or None."""
    now = now or timezone.now()
    if token.revoked_at is not None:
        return (
            f"This API token was revoked on {timezone.localtime(token.revoked_at):%Y-%m-%d}; "
            "make a new one on your Profile page."
        )
    if token.expires_at <= now:
        return (
            f"This API token expired on {timezone.localtime(token.expires_at):%Y-%m-%d}; "
            "make a new one on your Profile page."
        )
    if not token.user.is_active:
        return "The account this API token belongs to is deactivated."
    return None


def token_actions(token: ApiToken) -> frozenset[Action]:
    """The actions the token's scopes name (what its owner's roles allow is checked apart)."""
    return frozenset(SCOPE_ACTIONS[scope] for scope in token.scopes if scope in SCOPE_ACTIONS)


def token_environments(token: ApiToken) -> list[Environment]:
    """The environments the token may act in now: those it names where its owner still has a
    role (an administrator: every one it names)."""
    visible = {environment.pk for environment in environments_for(token.user)}
    return [
        environment
        for environment in sorted(token.environments.all(), key=lambda e: e.pk)
        if environment.pk in visible
    ]


def allowed_actions(token: ApiToken, environment: Environment) -> list[Action]:
    """What ``token`` may do in ``environment`` at this moment: its scopes, within its owner's
    role there (never more), in the order view, request, custody."""
    user = token.user
    if not user.is_active:
        return []
    if user.is_superuser:
        by_role = frozenset(Action)
    else:
        membership = user.memberships.filter(environment=environment).first()
        by_role = ROLE_ALLOWS.get(membership.role, frozenset()) if membership else frozenset()
    actions = token_actions(token)
    return [action for action in Action if action in actions and action in by_role]


@dataclass(frozen=True)
class TokenRow:
    """One line of a token list: the token and what a page says of its state."""

    token: ApiToken
    state: str  # "active", "expired", "revoked"
    shown: str  # certdesk_abc123…

    @property
    def scopes(self) -> str:
        return ", ".join(scope for scope in ApiToken.Scope.values if scope in self.token.scopes)

    @property
    def environments(self) -> str:
        return ", ".join(environment.name for environment in self.token.environments.all())


def token_state(token: ApiToken, now: datetime) -> str:
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at <= now:
        return "expired"
    return "active"


def token_rows(tokens: QuerySet[ApiToken], *, now: datetime | None = None) -> list[TokenRow]:
    """The rows of the Profile's token page or the administrators' list: active ones first."""
    now = now or timezone.now()
    rows = [
        TokenRow(token=token, state=token_state(token, now), shown=f"{token.prefix}…")
        for token in tokens.select_related("user").prefetch_related("environments")
    ]
    order = {"active": 0, "expired": 1, "revoked": 2}
    return sorted(rows, key=lambda row: order[row.state])


def tokens_of(user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user)
