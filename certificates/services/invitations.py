"""Invitations: how a person gets into certdesk. An administrator gives an address and the
roles; the person receives a one-time link (CERTDESK_INVITATION_HOURS, 72 by default) where they
choose their own password. Nobody types a password for somebody else.

The account exists from the invitation on (with its roles and no usable password), so People
lists it and single sign-on can match it by address. The link's token is stored as its SHA-256:
a database reader cannot accept an invitation. The token is in the invitation email and nowhere
else: not in an audit event, a log line or a message.
"""

from __future__ import annotations

import secrets
import smtplib
from datetime import UTC, datetime, timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from certificates import emails
from certificates.models import Environment, Invitation, Membership, Role
from certificates.selectors.people import (
    has_accepted,
    invitation_problem,
    invitation_token_sha256,
    role_phrases,
)
from certificates.services.admin_checks import (
    CONTROL_CHARACTERS,
    email_validator,
    require_administrator,
)
from certificates.services.audit import Actor, audit_record
from certificates.services.environments import membership_set
from certificates.services.errors import ServiceError
from certificates.services.people import password_problem

SUBJECT = "You are invited to certdesk"
NAME_MAX = 150
# The address is the user name too, and user names hold 150 characters.
ADDRESS_MAX = 150


class InvitationLinkError(ServiceError):
    """The link itself is no good (unknown, used, withdrawn, expired): its page says so with a
    404, instead of a form to fix."""


def invitation_link(token: str) -> str:
    """The address the invited person opens (the one place the token is written)."""
    return f"{settings.CERTDESK_SITE_URL}{reverse('invitation_accept', args=[token])}"


def expiry_text(moment: datetime) -> str:
    """The expiry as the email, the pages and the command say it: "2026-12-04 10:00 UTC"."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, invitation_token_sha256(token)


def _inviter_name(actor: Actor) -> str:
    if actor.user is None:
        return "a certdesk administrator"
    return actor.user.get_full_name() or actor.user.get_username()


def _roles_of(user: User) -> list[str]:
    return role_phrases(Membership.objects.filter(user=user).select_related("environment"))


def role_phrases_of(roles: list[tuple[Environment, str]]) -> list[str]:
    """["Custodian in Production", ...] of roles given, saved or not."""
    return role_phrases(
        Membership(environment=environment, role=role) for environment, role in roles
    )


def _address_problem(address: str) -> str | None:
    if not address:
        return "Enter the person's email address."
    if CONTROL_CHARACTERS.search(address):
        return f"{address!r} is not an email address: it contains a control character."
    try:
        email_validator(address)
    except ValidationError:
        return f"'{address}' is not an email address."
    if len(address) > ADDRESS_MAX:
        return f"certdesk takes addresses of at most {ADDRESS_MAX} characters."
    owner = (
        get_user_model()
        .objects.filter(Q(email__iexact=address) | Q(username__iexact=address))
        .order_by("pk")
        .first()
    )
    if owner is None:
        address_row = (
            EmailAddress.objects.filter(email__iexact=address).select_related("user").first()
        )
        owner = address_row.user if address_row is not None else None
    if owner is None:
        return None
    name = owner.get_username()
    if owner.is_active and not has_accepted(owner):
        return (
            f"{address} is invited already ({name}, not accepted yet): use Resend invitation "
            "on the People page for a new link."
        )
    if not owner.is_active:
        return f"{address} belongs to {name}, whose account is deactivated: reactivate it instead."
    return f"{address} is already {name}'s address; each person needs their own."


def _name_problems(first_name: str, last_name: str) -> dict[str, str]:
    problems: dict[str, str] = {}
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if len(value) > NAME_MAX:
            problems[field] = f"At most {NAME_MAX} characters."
        elif CONTROL_CHARACTERS.search(value):
            problems[field] = "A name cannot hold control characters such as line breaks."
    return problems


def _role_problems(roles: list[tuple[Environment, str]]) -> dict[str, str]:
    problems: dict[str, str] = {}
    known = set(
        Environment.objects.filter(pk__in=[environment.pk for environment, _ in roles]).values_list(
            "pk", flat=True
        )
    )
    seen: set[int] = set()
    for environment, role in roles:
        field = f"role_{environment.slug}"
        if environment.pk not in known:
            problems[field] = f"There is no environment '{environment.slug}'."
        elif environment.pk in seen:
            problems["roles"] = (
                f"{environment.name} is given twice; choose one role per environment."
            )
        elif role not in Role.values:
            problems[field] = (
                f"'{role}' is not a role; choose one of {', '.join(Role.values)} for "
                f"{environment.name}."
            )
        seen.add(environment.pk)
    return problems


@sensitive_variables("token", "link", "body_text", "body_html")
def _send(*, invitation: Invitation, link: str, inviter: str, roles: list[str]) -> None:
    """Send the invitation now; a mail server that cannot take it is a refusal (the caller's
    transaction then keeps nothing)."""
    user = invitation.user
    body_text, body_html = emails.render(
        "invitation",
        {
            "name": user.get_full_name(),
            "inviter": inviter,
            "roles": roles,
            "username": user.get_username(),
            "link": link,
            "expires": expiry_text(invitation.expires_at),
            "hours": settings.CERTDESK_INVITATION_HOURS,
        },
    )
    message = EmailMultiAlternatives(
        subject=SUBJECT,
        body=body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.email],
    )
    message.attach_alternative(body_html, "text/html")
    try:
        sent = message.send()
    except (OSError, smtplib.SMTPException):
        sent = 0
    if not sent:
        raise ServiceError(
            "certdesk could not reach its mail server to send the invitation, so nothing was "
            "changed: nobody was invited. Try again in a few minutes, or check EMAIL_URL.",
            field="email",
        )


def _issue(*, actor: Actor, user: User, now: datetime) -> tuple[Invitation, str]:
    token, digest = _new_token()
    invitation = Invitation.objects.create(
        user=user,
        email=user.email,
        token_sha256=digest,
        created_by=actor.user if actor.user is not None and actor.user.pk else None,
        created_at=now,
        expires_at=now + timedelta(hours=settings.CERTDESK_INVITATION_HOURS),
    )
    return invitation, token


@sensitive_variables("token", "link")
def invitation_create(
    *,
    actor: Actor,
    email: str,
    roles: list[tuple[Environment, str]],
    first_name: str = "",
    last_name: str = "",
) -> tuple[Invitation, str]:
    """Invite ``email`` with ``roles`` (one per environment): the account, its roles, the
    invitation and the email, all or nothing. Returns the invitation and its link (for the
    caller's tests and nothing else: the link is not shown, printed or logged).

    Every problem is named at once, by field: ``email``, ``first_name``, ``last_name``,
    ``role_<slug>`` for one environment's role, ``roles`` for the list.
    """
    require_administrator(actor)
    address = email.strip().lower()
    first_name, last_name = first_name.strip(), last_name.strip()
    problems: dict[str, str] = {}
    if (problem := _address_problem(address)) is not None:
        problems["email"] = problem
    problems.update(_name_problems(first_name, last_name))
    problems.update(_role_problems(roles))
    if problems:
        raise ServiceError.of(problems)
    now = timezone.now()
    try:
        with transaction.atomic():
            user: User = get_user_model().objects.create_user(
                username=address, email=address, first_name=first_name, last_name=last_name
            )
            EmailAddress.objects.create(user=user, email=address, verified=False, primary=True)
            for environment, role in roles:
                membership_set(actor=actor, environment=environment, user=user, role=role)
            invitation, token = _issue(actor=actor, user=user, now=now)
            audit_record(
                actor=actor,
                action="account.invited",
                target=user,
                details={
                    "username": address,
                    "email": address,
                    "roles": {environment.slug: role for environment, role in roles},
                    "expires_at": invitation.expires_at.isoformat(),
                },
            )
            link = invitation_link(token)
            # Last: a mail server that refuses undoes everything above.
            _send(
                invitation=invitation,
                link=link,
                inviter=_inviter_name(actor),
                roles=role_phrases_of(roles),
            )
    except IntegrityError:
        raise ServiceError(
            f"{address} was invited by someone else just now; see the People page.",
            field="email",
        ) from None
    return invitation, link


@sensitive_variables("token", "link")
def invitation_resend(*, actor: Actor, user: User) -> tuple[Invitation, str]:
    """A fresh link for someone still invited: the open invitation is withdrawn (its link dies)
    and a new one, valid for CERTDESK_INVITATION_HOURS again, is emailed."""
    require_administrator(actor)
    now = timezone.now()
    with transaction.atomic():
        current: User = get_user_model().objects.select_for_update().get(pk=user.pk)
        name = current.get_username()
        if not current.is_active:
            raise ServiceError(
                f"{name}'s account is deactivated; reactivate it before inviting them again.",
                field="user",
            )
        if has_accepted(current):
            raise ServiceError(
                f"{name} has accepted their invitation already and logs in with their own "
                "password; if they forgot it, “Forgot your password?” on the login page sends "
                "them a reset link.",
                field="user",
            )
        if not current.email:
            raise ServiceError(f"{name} has no email address to send an invitation to.")
        withdrawn = Invitation.objects.filter(
            user=current, accepted_at__isnull=True, withdrawn_at__isnull=True
        ).update(withdrawn_at=now)
        invitation, token = _issue(actor=actor, user=current, now=now)
        audit_record(
            actor=actor,
            action="account.invitation_resent",
            target=current,
            details={
                "username": name,
                "email": current.email,
                "previous_link_withdrawn": bool(withdrawn),
                "expires_at": invitation.expires_at.isoformat(),
            },
        )
        link = invitation_link(token)
        _send(
            invitation=invitation,
            link=link,
            inviter=_inviter_name(actor),
            roles=["Administrator"] if current.is_superuser else _roles_of(current),
        )
    return invitation, link


@sensitive_variables("token", "password")
def invitation_accept(
    *, token: str, password: str, first_name: str, last_name: str, ip: str | None
) -> User:
    """Accept the invitation of ``token``: the person's password and name are set, their
    address is confirmed (the link reached it), and the link stops working. Once only: the
    invitation's row is locked, so a double submit accepts once and refuses the second.

    ``InvitationLinkError`` for a link that is no good; ``ServiceError`` on ``first_name``,
    ``last_name`` or ``password1`` for what the person typed (the link still works then).
    """
    first_name, last_name = first_name.strip(), last_name.strip()
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .select_related("user")
            .filter(token_sha256=invitation_token_sha256(token))
            .first()
            if token
            else None
        )
        link_problem = invitation_problem(invitation)
        if invitation is None or link_problem is not None:
            raise InvitationLinkError(link_problem or "This invitation link is not valid.")
        user = invitation.user
        problems = _name_problems(first_name, last_name)
        candidate = get_user_model()(
            username=user.get_username(),
            email=user.email,
            first_name=first_name,
            last_name=last_name,
        )
        if (problem := _password_problem(password, candidate)) is not None:
            problems["password1"] = problem
        if problems:
            raise ServiceError.of(problems)
        now = timezone.now()
        user.set_password(password)
        user.first_name, user.last_name = first_name, last_name
        user.save(update_fields=["password", "first_name", "last_name"])
        confirmed = EmailAddress.objects.filter(user=user, email__iexact=invitation.email).update(
            verified=True
        )
        if not confirmed:
            EmailAddress.objects.create(
                user=user,
                email=invitation.email,
                verified=True,
                primary=not EmailAddress.objects.filter(user=user, primary=True).exists(),
            )
        invitation.accepted_at = now
        invitation.save(update_fields=["accepted_at"])
        audit_record(
            actor=Actor.browser(user=user, ip=ip),
            action="account.invitation_accepted",
            target=user,
            details={"username": user.get_username(), "email": invitation.email},
        )
    return user


@sensitive_variables("password")
def _password_problem(password: str, candidate: User) -> str | None:
    if not password:
        return "Choose a password."
    return password_problem(
        password,
        username=candidate.get_username(),
        email=candidate.email,
        first_name=candidate.first_name,
        last_name=candidate.last_name,
    )
