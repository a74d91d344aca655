"""Who may do what in which environment; the one answer views, commands and tests ask."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

from certificates.models import Environment, Membership, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
    from django.db.models import QuerySet


class Action(StrEnum):
    VIEW = "view"  # see certificates, download CSRs and certificates
    REQUEST = "request"  # create requests, upload certificates, send to the TAM
    CUSTODY = "custody"  # download private keys, report a compromise


ROLE_ALLOWS: dict[str, frozenset[Action]] = {
    Role.VIEWER: frozenset({Action.VIEW}),
    Role.REQUESTER: frozenset({Action.VIEW, Action.REQUEST}),
    Role.CUSTODIAN: frozenset({Action.VIEW, Action.REQUEST, Action.CUSTODY}),
}


def roles_allowing(action: Action) -> list[str]:
    return [role for role, actions in ROLE_ALLOWS.items() if action in actions]


def user_can(
    user: AbstractBaseUser | AnonymousUser | None, action: Action, environment: Environment
) -> bool:
    """May ``user`` do ``action`` in ``environment``? Superusers may do everything."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if getattr(user, "is_superuser", False):
        return True
    return Membership.objects.filter(
        user_id=user.pk, environment=environment, role__in=roles_allowing(action)
    ).exists()


def require(
    user: AbstractBaseUser | AnonymousUser | None, action: Action, environment: Environment
) -> None:
    if not user_can(user, action, environment):
        raise PermissionDenied(f"Your role in {environment.name} does not allow this.")


def is_administrator(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Administrators (active superusers) alone change what certdesk trusts and who may act."""
    return (
        user is not None
        and user.is_authenticated
        and user.is_active
        and bool(getattr(user, "is_superuser", False))
    )


def environments_for(
    user: AbstractBaseUser | AnonymousUser | None, action: Action = Action.VIEW
) -> QuerySet[Environment]:
    """The environments in which ``user`` may do ``action``, in one query."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Environment.objects.none()
    if getattr(user, "is_superuser", False):
        return Environment.objects.all()
    return Environment.objects.filter(
        memberships__user_id=user.pk, memberships__role__in=roles_allowing(action)
    ).distinct()


def may_read_audit_log(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Administrators read every event; custodians the events of the environments they hold keys
    in (the people who may take keys answer for what happens to them); nobody else. The menu's
    link and the page ask this."""
    return is_administrator(user) or environments_for(user, Action.CUSTODY).exists()
