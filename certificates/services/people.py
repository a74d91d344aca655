"""People: the password rule, deactivating and reactivating an account (its roles kept aside and
given back), resetting someone's second factor. Audited in the same transaction; never a
password in an audit detail. Accounts are created by invitation (services/invitations.py)."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from certificates.models import Invitation, Membership
from certificates.services.admin_checks import require_administrator
from certificates.services.api_tokens import api_tokens_revoke_all
from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError

# What a second-factor reset removes: the app, the passkeys, and the recovery codes that would
# otherwise still open the account without them.
SECOND_FACTOR_RECORDS = (
    Authenticator.Type.TOTP,
    Authenticator.Type.WEBAUTHN,
    Authenticator.Type.RECOVERY_CODES,
)


@sensitive_variables("password")
def password_problem(
    password: str, *, username: str, email: str, first_name: str = "", last_name: str = ""
) -> str | None:
    """None when Django's password validators accept ``password`` for this person, else what
    they say: the one password rule of every account certdesk creates (the first administrator
    and invited people alike). The password itself is never in the message."""
    candidate = get_user_model()(
        username=username, email=email, first_name=first_name, last_name=last_name
    )
    try:
        password_validation.validate_password(password, candidate)
    except ValidationError as error:
        return " ".join(error.messages)
    return None


def _user_roles(user: User) -> dict[str, str]:
    """{environment slug: role} of ``user``: what the audit event of a (re)activation shows."""
    return {
        membership.environment.slug: membership.role
        for membership in Membership.objects.filter(user=user).select_related("environment")
    }


def user_deactivate(*, actor: Actor, user: User) -> User:
    """Close ``user``'s account: no login, no session, no role, no calendar feed, no reminder,
    no invitation link, no API token (revoked). Their sessions end at once (allauth's list of
    them, each deleted from the session store), not at their next request.

    Users are never deleted (their audit events name them, and a deletion would rewrite those
    events' actor): deactivation is the way out, and ``user_reactivate`` the way back. Their
    memberships stay, inert while the account is inactive, so reactivation restores them.
    An administrator cannot deactivate themselves, and the last active administrator stays.
    """
    require_administrator(actor)
    with transaction.atomic():
        # The active administrators' rows are locked first, in one order, so that two
        # administrators deactivating each other at once cannot both succeed and leave nobody.
        administrators = list(
            get_user_model()
            .objects.select_for_update()
            .filter(is_superuser=True, is_active=True)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        current = get_user_model().objects.select_for_update().get(pk=user.pk)
        username = current.get_username()
        if not current.is_active:
            raise ServiceError(f"{username} is deactivated already.", field="user")
        if actor.user is not None and actor.user.pk == current.pk:
            raise ServiceError(
                "You cannot deactivate your own account; ask another administrator.",
                field="user",
            )
        if current.is_superuser and not set(administrators) - {current.pk}:
            raise ServiceError(
                f"{username} is the last active administrator; make someone else an "
                "administrator first, or nobody could open Settings.",
                field="user",
            )
        current.is_active = False
        current.save(update_fields=["is_active"])
        withdrawn = Invitation.objects.filter(
            user=current, accepted_at__isnull=True, withdrawn_at__isnull=True
        ).update(withdrawn_at=timezone.now())
        sessions = list(UserSession.objects.filter(user=current))
        for session in sessions:
            session.end()
        # Their API tokens stop for good (the API also refuses an inactive owner's token).
        tokens_revoked = api_tokens_revoke_all(user=current)
        audit_record(
            actor=actor,
            action="settings.user_deactivated",
            target=current,
            details={
                **_account_details(current),
                "sessions_ended": len(sessions),
                "invitation_withdrawn": bool(withdrawn),
                "api_tokens_revoked": tokens_revoked,
            },
        )
    user.is_active = False
    return current


def _account_details(user: User) -> dict[str, object]:
    """What an account change records: who, and what the account could do at that moment."""
    return {
        "username": user.get_username(),
        "email": user.email,
        "administrator": user.is_superuser,
        "roles": _user_roles(user),
    }


def user_reactivate(*, actor: Actor, user: User) -> User:
    """Open a deactivated account again, with the memberships it kept."""
    require_administrator(actor)
    with transaction.atomic():
        current = get_user_model().objects.select_for_update().get(pk=user.pk)
        username = current.get_username()
        if current.is_active:
            raise ServiceError(f"{username} is active already.", field="user")
        current.is_active = True
        current.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            action="settings.user_reactivated",
            target=current,
            details=_account_details(current),
        )
    user.is_active = True
    return current


def second_factor_reset(*, actor: Actor, user: User) -> dict[str, int]:
    """Remove ``user``'s second factors (authenticator app, passkeys, recovery codes): for a
    lost phone or key. If the policy asks them for one, they are led to enrol again at their
    next login. Not on yourself (the Profile page removes your own, one by one). Returns how
    many of each kind were removed."""
    require_administrator(actor)
    if actor.user is not None and actor.user.pk == user.pk:
        raise ServiceError(
            "You cannot reset your own second factor here; manage it on your Profile page.",
            field="user",
        )
    with transaction.atomic():
        current = get_user_model().objects.select_for_update().get(pk=user.pk)
        records = Authenticator.objects.filter(user=current, type__in=SECOND_FACTOR_RECORDS)
        removed: dict[str, int] = {}
        for kind in records.values_list("type", flat=True):
            removed[kind] = removed.get(kind, 0) + 1
        if not removed:
            raise ServiceError(
                f"{current.get_username()} has no second factor to reset.", field="user"
            )
        records.delete()
        audit_record(
            actor=actor,
            action="account.second_factor_reset",
            target=current,
            details={"username": current.get_username(), "removed": removed},
        )
    return removed
