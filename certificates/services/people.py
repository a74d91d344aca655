"""People: creating an account, deactivating and reactivating it (its roles kept aside and given
back). Audited in the same transaction; never a password in an audit detail."""

from __future__ import annotations

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.views.decorators.debug import sensitive_variables

from certificates.models import Environment, Membership
from certificates.services.admin_checks import (
    CONTROL_CHARACTERS,
    email_validator,
    require_administrator,
)
from certificates.services.audit import Actor, audit_record
from certificates.services.environments import membership_set
from certificates.services.errors import ServiceError

# --- People -----------------------------------------------------------------------------------


def _is_email(text: str) -> bool:
    try:
        email_validator(text)
    except ValidationError:
        return False
    return True


@sensitive_variables("password")
def password_problem(password: str, *, username: str, email: str) -> str | None:
    """None when Django's password validators accept ``password`` for this person, else what
    they say: the one password rule of every account certdesk creates (the first administrator
    included). The password itself is never in the message."""
    candidate = get_user_model()(username=username, email=email)
    try:
        password_validation.validate_password(password, candidate)
    except ValidationError as error:
        return " ".join(error.messages)
    return None


@sensitive_variables("password")
def user_create(
    *,
    actor: Actor,
    username: str,
    email: str,
    password: str,
    environment: Environment | None = None,
    role: str = "",
) -> User:
    """Add a person who can log in, optionally with a role in one environment.

    The password is checked by Django's validators and stored hashed; it is never in the
    audit event, a message or a log line. Addresses are unique, so that adding a member by
    address finds one person.
    """
    require_administrator(actor)
    user_model = get_user_model()
    username = username.strip()
    email = email.strip()
    problems: dict[str, str] = {}
    if not username:
        problems["username"] = "Username is required."
    elif user_model.objects.filter(username__iexact=username).exists():
        problems["username"] = f"The username '{username}' is taken; choose another."
    existing = user_model.objects.filter(email__iexact=email).first() if email else None
    if CONTROL_CHARACTERS.search(email):
        problems["email"] = f"{email!r} is not an email address: it contains a control character."
    elif not _is_email(email):
        problems["email"] = f"'{email}' is not an email address."
    elif existing is not None:
        problems["email"] = (
            f"{existing.get_username()} already uses {email}; each person needs their own address."
        )
    if environment is not None and not role:
        problems["role"] = f"Choose their role in {environment.name}."
    elif role and environment is None:
        problems["environment"] = "Choose the environment this role is for."
    if (problem := password_problem(password, username=username, email=email)) is not None:
        problems["password1"] = problem
    if problems:
        raise ServiceError.of(problems)
    try:
        with transaction.atomic():
            user: User = user_model.objects.create_user(
                username=username, email=email, password=password
            )
            audit_record(
                actor=actor,
                action="settings.user_created",
                target=user,
                environment=environment,
                details={
                    "username": username,
                    "email": email,
                    "environment": environment.slug if environment is not None else None,
                    "role": role or None,
                },
            )
            if environment is not None:
                membership_set(actor=actor, environment=environment, user=user, role=role)
    except IntegrityError:
        raise ServiceError(
            f"The username '{username}' was just taken; choose another.", field="username"
        ) from None
    return user


def _user_roles(user: User) -> dict[str, str]:
    """{environment slug: role} of ``user``: what the audit event of a (re)activation shows."""
    return {
        membership.environment.slug: membership.role
        for membership in Membership.objects.filter(user=user).select_related("environment")
    }


def user_deactivate(*, actor: Actor, user: User) -> User:
    """Close ``user``'s account: no login, no session, no role, no calendar feed, no reminder.

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
        audit_record(
            actor=actor,
            action="settings.user_deactivated",
            target=current,
            details=_account_details(current),
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
