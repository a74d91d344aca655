"""Personal API tokens (issue 17): made by their owner (Profile, or ``create_api_token``),
revoked by the owner or an administrator, audited; the secret is shown once and only its
SHA-256 is kept. What a token may do is checked at each call (the API's auth), never more than
its owner's roles at that moment.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from certificates.models import ApiToken, Environment
from certificates.permissions import ROLE_ALLOWS, Action, environments_for, is_administrator
from certificates.selectors.api_tokens import (
    SCOPE_ACTIONS,
    SHOWN_LENGTH,
    TOKEN_PREFIX,
    token_sha256,
)
from certificates.services.admin_checks import CONTROL_CHARACTERS
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError

NAME_MAX = 100
# A token lives a year at most: a leaked one that nobody revoked dies by itself.
MAX_LIFETIME_DAYS = 365
# "Last used" is written at most this often per token: no database write on every call.
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    """A token just made, and its secret: shown once, never stored, never logged."""

    token: ApiToken
    secret: str

    def __repr__(self) -> str:  # never print the secret, even in a traceback
        return f"NewToken(token={self.token.pk}, secret=<{len(self.secret)} characters>)"


def expiry_of(day: date) -> datetime:
    """A token given the date ``day`` works until that day begins (00:00, site time zone)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def latest_expiry(today: date | None = None) -> date:
    return (today or timezone.localdate()) + timedelta(days=MAX_LIFETIME_DAYS)


def _may_manage(actor: Actor, user: User) -> bool:
    """Owners manage their own tokens; administrators (and the operator) everyone's."""
    return actor.user is None or actor.user.pk == user.pk or is_administrator(actor.user)


def _name_problem(name: str, user: User, owner: str) -> str | None:
    if not name:
        return "Give the token a name that says where it is used, such as “deploy-prod”."
    if len(name) > NAME_MAX:
        return f"The name is {len(name)} characters; keep it under {NAME_MAX}."
    if CONTROL_CHARACTERS.search(name):
        return "The name cannot hold control characters (a tab or a line break)."
    if ApiToken.objects.filter(user=user, name=name).exists():
        return f"{owner} a token called “{name}” already (active or not); choose another name."
    return None


def _roles_allow(user: User, environments: Sequence[Environment]) -> frozenset[Action]:
    """The actions ``user``'s roles allow in at least one of ``environments``."""
    if user.is_superuser:
        return frozenset(Action)
    roles = user.memberships.filter(environment__in=environments).values_list("role", flat=True)
    return frozenset(action for role in roles for action in ROLE_ALLOWS.get(role, frozenset()))


@sensitive_variables("secret")
def api_token_create(
    *,
    actor: Actor,
    user: User,
    name: str,
    environments: Sequence[Environment],
    scopes: Sequence[str],
    expires_on: date | None,
) -> NewToken:
    """Make a token for ``user`` (the actor themselves; an administrator or the operator for
    anyone), for some of the environments they have a role in, with scopes their roles allow in
    at least one of them, expiring on ``expires_on`` (within a year). Every problem at once."""
    if not _may_manage(actor, user):
        raise ServiceError("You can only make API tokens for yourself.")
    if not user.is_active:
        raise ServiceError(f"{user.get_username()}'s account is deactivated.", field="user")
    name = name.strip()
    owner = (
        "You have"
        if actor.user is not None and actor.user.pk == user.pk
        else (f"{user.get_username()} has")
    )
    problems: dict[str, str] = {}
    if (problem := _name_problem(name, user, owner)) is not None:
        problems["name"] = problem
    visible = {environment.pk for environment in environments_for(user)}
    chosen = list({environment.pk: environment for environment in environments}.values())
    if not chosen:
        problems["environments"] = "Choose at least one environment the token may act in."
    elif outside := [e.name for e in chosen if e.pk not in visible]:
        problems["environments"] = (
            f"{user.get_username()} has no role in {', '.join(outside)}: a token can only act "
            "where its owner may."
        )
    wanted = [scope for scope in ApiToken.Scope.values if scope in set(scopes)]
    if unknown := sorted(set(scopes) - set(ApiToken.Scope.values)):
        problems["scopes"] = (
            f"Unknown scope {', '.join(unknown)}; choose among {', '.join(ApiToken.Scope.values)}."
        )
    elif not wanted:
        problems["scopes"] = "Choose at least one scope: read, request or custody."
    elif chosen and "environments" not in problems:
        allowed = _roles_allow(user, chosen)
        beyond = [scope for scope in wanted if SCOPE_ACTIONS[scope] not in allowed]
        if beyond:
            where = ", ".join(e.name for e in chosen)
            problems["scopes"] = (
                f"{user.get_username()}'s roles in {where} do not allow {', '.join(beyond)}; a "
                "token never does more than its owner's roles."
            )
    today = timezone.localdate()
    if expires_on is None:
        problems["expires_on"] = "Give the date the token stops working (within a year)."
    elif expires_on <= today:
        problems["expires_on"] = "The expiry date must be after today."
    elif expires_on > latest_expiry(today):
        problems["expires_on"] = (
            f"A token lives a year at most: choose {latest_expiry(today):%Y-%m-%d} or earlier."
        )
    if problems:
        raise ServiceError.of(problems)
    assert expires_on is not None
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            token = ApiToken.objects.create(
                user=user,
                name=name,
                prefix=secret[:SHOWN_LENGTH],
                token_sha256=token_sha256(secret),
                scopes=wanted,
                expires_at=expiry_of(expires_on),
            )
            token.environments.set(chosen)
            audit_record(
                actor=actor,
                action="api_token.created",
                target=token,
                details={
                    "name": name,
                    "owner": user.get_username(),
                    "prefix": token.prefix,
                    "scopes": wanted,
                    "environments": sorted(e.slug for e in chosen),
                    "expires_at": token.expires_at.isoformat(),
                },
            )
    except IntegrityError:
        # The same name submitted twice at once: the unique constraint lets one through.
        raise ServiceError(
            f"{owner} a token called “{name}” already; choose another name.", field="name"
        ) from None
    return NewToken(token=token, secret=secret)


def api_token_revoke(*, actor: Actor, token: ApiToken) -> ApiToken:
    """Stop a token now, for good: by its owner, or an administrator (People)."""
    if not _may_manage(actor, token.user):
        raise ServiceError("You can only revoke your own API tokens.")
    now = timezone.now()
    with transaction.atomic():
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if not updated:
            raise ServiceError(f"The token “{token.name}” was revoked already.")
        audit_record(
            actor=actor,
            action="api_token.revoked",
            target=token,
            details={
                "name": token.name,
                "owner": token.user.get_username(),
                "prefix": token.prefix,
            },
        )
    token.refresh_from_db()
    return token


def api_tokens_revoke_all(*, user: User) -> list[str]:
    """Revoke every live token of ``user`` inside the caller's transaction (a deactivation,
    which records them in its own event); the names revoked."""
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    names = list(live.order_by("name").values_list("name", flat=True))
    live.update(revoked_at=timezone.now())
    return names


def api_token_touch(*, token: ApiToken, ip: str | None, now: datetime | None = None) -> None:
    """Note when and from where ``token`` was last used: at most once a minute per token (a
    compare-and-set, so concurrent calls write once). Not audited: the calls themselves are."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_EVERY:
        return
    stale = now - LAST_USED_EVERY
    query = ApiToken.objects.filter(pk=token.pk)
    if token.last_used_at is None:
        query = query.filter(last_used_at__isnull=True)
    else:
        query = query.filter(last_used_at__lte=stale)
    if query.update(last_used_at=now, last_used_ip=ip):
        token.last_used_at, token.last_used_ip = now, ip
