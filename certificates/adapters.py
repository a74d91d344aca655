"""certdesk's hooks into django-allauth: who may sign up, where a login leads, how the second
factors' secrets are kept, and the password-login switch.

- ``AccountAdapter``: nobody signs up (people are invited, or arrive by SSO); after a login,
  someone the second-factor policy covers and who has none is led to enrol; a mail server that
  fails does not turn a password-reset page into a 500.
- ``MFAAdapter``: TOTP secrets are encrypted at rest with certdesk's encryption keys (allauth
  would store them in clear); the last factor of someone under the policy cannot be removed.
- ``UserSessionsAdapter``: "sign out everywhere else" is audited.
- ``PasswordLoginBackend``: with CERTDESK_PASSWORD_LOGIN=false only superusers log in with a
  password (break-glass); everyone else signs in through SSO.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable
from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.auth_backends import AuthenticationBackend
from allauth.core import context
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from allauth.usersessions.adapter import DefaultUserSessionsAdapter
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import urlencode

from certificates import mfa_policy, receivers, vault
from certificates.services.audit import Actor, audit_record

logger = logging.getLogger(__name__)

# Bound into the ciphertext's associated data: a TOTP secret cannot be passed off as a key.
TOTP_BOUND_TO = vault.TOTP_BOUND_TO


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request: HttpRequest) -> bool:
        # Invitations (their own page) and SSO (SocialAccountAdapter) are the ways in.
        return False

    def is_reauthentication_required(self, *, app: str, **kwargs: Any) -> bool:
        """One rule of recency for allauth's sensitive pages and certdesk's: a login, or a
        password or second factor typed again, in the last five minutes (allauth alone would
        ask again right after the login for, say, enrolling the second factor)."""
        if not super().is_reauthentication_required(app=app, **kwargs):
            return False
        request = context.request
        return request is None or not receivers.authenticated_recently(request)

    def get_reauthentication_methods(self, user: Any) -> list[dict[str, Any]]:
        """Without password login (CERTDESK_PASSWORD_LOGIN=false), a non-superuser's password
        cannot confirm anything (the backend refuses it, and each try would count towards the
        lockout): sudo mode offers their second factor only."""
        methods: list[dict[str, Any]] = super().get_reauthentication_methods(user)
        if settings.CERTDESK_PASSWORD_LOGIN or getattr(user, "is_superuser", False):
            return methods
        return [method for method in methods if method["id"] != "reauthenticate"]

    def post_login(
        self, request: HttpRequest, user: AbstractBaseUser, **kwargs: Any
    ) -> HttpResponse:
        response = super().post_login(request, user, **kwargs)
        if mfa_policy.needs_enrolment(user) and isinstance(response, HttpResponseRedirect):
            then = response["Location"]
            return HttpResponseRedirect(
                reverse("second_factor_required") + "?" + urlencode({"next": then})
            )
        return response

    def send_password_reset_mail(
        self, user: AbstractBaseUser, email: str, context: dict[str, Any]
    ) -> None:
        """With CERTDESK_PASSWORD_LOGIN=false only administrators get a reset link (a password
        would not let anyone else in); the page answers the same either way, so it tells
        nobody which accounts are administrators'."""
        if not settings.CERTDESK_PASSWORD_LOGIN and not getattr(user, "is_superuser", False):
            logger.info("Password reset not sent: password login is off for user #%s.", user.pk)
            return
        super().send_password_reset_mail(user, email, context)

    def send_mail(self, template_prefix: str, email: str, context: dict[str, Any]) -> None:
        """allauth's emails (password reset, address confirmation) through the outgoing guard;
        a mail server that is down is logged, and the page answers as if sent (a reset page
        must not say whether an address has an account, nor fail with a 500)."""
        try:
            super().send_mail(template_prefix, email, context)
        except (OSError, smtplib.SMTPException) as error:
            logger.warning("Could not send the %s email: %s", template_prefix, error)
            request = context.get("request")
            if isinstance(request, HttpRequest) and hasattr(request, "_messages"):
                messages.warning(
                    request,
                    "certdesk could not reach its mail server just now; if no email arrives "
                    "within a few minutes, try again later or ask an administrator.",
                )


class MFAAdapter(DefaultMFAAdapter):
    def encrypt(self, text: str) -> str:
        return vault.seal_text(text, bound_to=TOTP_BOUND_TO)

    def decrypt(self, encrypted_text: str) -> str:
        return vault.unseal_text(encrypted_text, bound_to=TOTP_BOUND_TO)

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        """Someone the policy covers keeps at least one TOTP app or passkey."""
        if authenticator.type not in mfa_policy.FACTOR_TYPES:
            return True
        user = authenticator.user
        if not mfa_policy.mfa_required_for(user):
            return True
        return (
            Authenticator.objects.filter(user=user, type__in=mfa_policy.FACTOR_TYPES)
            .exclude(pk=authenticator.pk)
            .exists()
        )

    def get_public_key_credential_rp_entity(self) -> dict[str, str]:
        entity = super().get_public_key_credential_rp_entity()
        entity["name"] = "certdesk"
        return entity


class UserSessionsAdapter(DefaultUserSessionsAdapter):
    def end_sessions(self, sessions: Iterable[UserSession]) -> None:
        """ "Sign out everywhere else" (Profile -> Sessions), audited with how many ended."""
        ended = list(sessions)
        super().end_sessions(ended)
        request = context.request
        if not ended or request is None or not request.user.is_authenticated:
            return
        audit_record(
            actor=Actor.from_request(request),
            action="account.sessions_ended",
            target=request.user,
            details={"sessions": len(ended)},
        )


class PasswordLoginBackend(AuthenticationBackend):
    """allauth's backend (user name or address), refusing non-superusers when password login
    is off; a refused attempt counts as a failure, like a wrong password."""

    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, **credentials: Any
    ) -> AbstractBaseUser | None:
        user: AbstractBaseUser | None = super().authenticate(request, **credentials)
        if (
            user is not None
            and not settings.CERTDESK_PASSWORD_LOGIN
            and not getattr(user, "is_superuser", False)
        ):
            return None
        return user
