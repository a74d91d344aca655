"""What django-allauth does to an account, written to the audit log (issue 15: "everything
recorded"): password changes and resets, address changes, second factors added, removed or
regenerated, other sessions signed out. Connected by ``CertificatesConfig.ready``.

A wrong second-factor code at login counts as a failed login for django-axes, so the per-account
lockout covers the second step too; at the lockout the half-finished login is dropped, and the
next attempt starts from the password, which axes then refuses.
"""

from __future__ import annotations

from typing import Any

from allauth.account import signals as account_signals
from allauth.account.internal.stagekit import clear_login
from allauth.mfa import signals as mfa_signals
from allauth.mfa.models import Authenticator
from django.contrib.auth import logout
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from certificates.services.audit import Actor, audit_record


def _actor(request: HttpRequest | None, user: User) -> Actor:
    if request is None:
        return Actor.browser(user=user, ip=None)
    actor = Actor.from_request(request)
    # During a password reset or a login's second step nobody is logged in yet: the person
    # acting is the account's owner.
    return actor if actor.user is not None else Actor.browser(user=user, ip=actor.ip)


def _record(request: HttpRequest | None, user: User, action: str, **details: Any) -> None:
    audit_record(actor=_actor(request, user), action=action, target=user, details=details)


@receiver(account_signals.password_changed, dispatch_uid="certdesk-audit-password-changed")
def password_changed(sender: object, request: HttpRequest, user: User, **kwargs: Any) -> None:
    _record(request, user, "account.password_changed")


@receiver(account_signals.password_set, dispatch_uid="certdesk-audit-password-set")
def password_set(sender: object, request: HttpRequest, user: User, **kwargs: Any) -> None:
    _record(request, user, "account.password_set")


@receiver(account_signals.password_reset, dispatch_uid="certdesk-audit-password-reset")
def password_reset(sender: object, request: HttpRequest, user: User, **kwargs: Any) -> None:
    _record(request, user, "account.password_reset")


@receiver(account_signals.email_changed, dispatch_uid="certdesk-audit-email-changed")
def email_changed(
    sender: object,
    request: HttpRequest,
    user: User,
    from_email_address: Any,
    to_email_address: Any,
    **kwargs: Any,
) -> None:
    _record(
        request,
        user,
        "account.email_changed",
        previous=getattr(from_email_address, "email", None),
        email=to_email_address.email,
    )


@receiver(account_signals.email_confirmed, dispatch_uid="certdesk-audit-email-confirmed")
def email_confirmed(
    sender: object, request: HttpRequest, email_address: Any, **kwargs: Any
) -> None:
    _record(request, email_address.user, "account.email_confirmed", email=email_address.email)


def _factor(authenticator: Authenticator) -> dict[str, Any]:
    details: dict[str, Any] = {"type": authenticator.type}
    name = (authenticator.data or {}).get("name") if authenticator.type == "webauthn" else None
    if name:
        details["name"] = str(name)
    return details


@receiver(mfa_signals.authenticator_added, dispatch_uid="certdesk-audit-factor-added")
def factor_added(
    sender: object, request: HttpRequest, user: User, authenticator: Authenticator, **kwargs: Any
) -> None:
    _record(request, user, "account.second_factor_added", **_factor(authenticator))


@receiver(mfa_signals.authenticator_removed, dispatch_uid="certdesk-audit-factor-removed")
def factor_removed(
    sender: object, request: HttpRequest, user: User, authenticator: Authenticator, **kwargs: Any
) -> None:
    _record(request, user, "account.second_factor_removed", **_factor(authenticator))


@receiver(mfa_signals.authenticator_reset, dispatch_uid="certdesk-audit-factor-reset")
def factor_reset(
    sender: object, request: HttpRequest, user: User, authenticator: Authenticator, **kwargs: Any
) -> None:
    # allauth sends this when the recovery codes are generated anew.
    _record(request, user, "account.recovery_codes_regenerated", type=authenticator.type)


@receiver(mfa_signals.authentication_failed, dispatch_uid="certdesk-axes-second-factor-failed")
def second_factor_failed(
    sender: object, request: HttpRequest, user: User, reauthentication: bool = False, **kwargs: Any
) -> None:
    """A wrong code or key at the second step (or at sudo mode's check): one more failure of the
    account for axes; at the lockout the login in progress, or the session, ends."""
    user_login_failed.send(
        sender=__name__, credentials={"username": user.get_username()}, request=request
    )
    if not getattr(request, "axes_locked_out", False):
        return
    if reauthentication:
        logout(request)
    else:
        clear_login(request)
