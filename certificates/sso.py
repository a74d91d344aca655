"""Single sign-on through OpenID Connect (allauth's openid_connect provider, provider_id "sso"),
configured by CERTDESK_OIDC_ISSUER / _CLIENT_ID / _CLIENT_SECRET (docs/guide/sso.md).

What certdesk adds to allauth 65's provider, which checks the ID token's signature, audience
and expiry, and its issuer against the discovery document only:

- a ``nonce`` in every authorization request, kept in the stashed state and compared with the
  ID token's (allauth sends none); an answer without an ID token is refused;
- the ID token's issuer must be CERTDESK_OIDC_ISSUER itself (a discovery document that names
  another issuer is refused before the person is even sent there), and the user information
  must be about the ID token's subject;
- the provider must have verified the address (``email_verified``): people are matched by it,
  so an unverified one is refused, never turned into a second account;
- a deactivated person is refused before anything is written;
- a first SSO login creates a person with no role, named after their address;
- an administrator matched by address keeps their password (the break-glass way in);
- every SSO login (issuer and subject) and every refusal is audited, and with
  CERTDESK_OIDC_ROLES_CLAIM the person's roles become those of the claim at each login.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any, NoReturn
from urllib.parse import urlsplit

import requests
from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.models import EmailAddress
from allauth.account.signals import user_logged_in
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.helpers import render_authentication_error
from allauth.socialaccount.providers.openid_connect.provider import OpenIDConnectProvider
from django.conf import settings
from django.contrib.auth.models import AbstractUser, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

from certificates.actors import client_ip
from certificates.services import sso as sso_services
from certificates.services.sso import SSOIdentity

logger = logging.getLogger(__name__)

# Set on a SocialLogin that allauth matched to an existing person by address (not by subject).
MATCHED_BY_EMAIL = "certdesk_matched_by_email"


class SSORefused(PermissionDenied):
    """A sign-in certdesk refuses; its message is shown to the person, so it never carries a
    token or a secret."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def configured_issuer() -> str:
    return str(settings.CERTDESK_OIDC_ISSUER or "").rstrip("/")


def issuer_matches(issuer: object) -> bool:
    """Whether ``issuer`` (from a discovery document or an ID token) is the configured one."""
    expected = configured_issuer()
    return bool(expected) and isinstance(issuer, str) and issuer.rstrip("/") == expected


def _other_issuer_message(name: str) -> str:
    return (
        f"{name} answered as another issuer than the one certdesk trusts, so certdesk refused "
        "the sign-in. An administrator should check CERTDESK_OIDC_ISSUER."
    )


class CertdeskOpenIDConnectProvider(OpenIDConnectProvider):
    """allauth's provider, plus a nonce in the authorization request and a check of the
    discovery document's issuer before the person is sent to it."""

    def get_oauth2_adapter(self, request: HttpRequest) -> Any:
        # One discovery fetch per login click: the issuer check and allauth's redirect share it.
        cached = getattr(self, "_certdesk_oauth2_adapter", None)
        if cached is None or cached.request is not request:
            cached = super().get_oauth2_adapter(request)
            self._certdesk_oauth2_adapter = cached
        return cached

    def redirect(
        self,
        request: HttpRequest,
        process: str,
        next_url: str | None = None,
        data: Any = None,
        **kwargs: Any,
    ) -> HttpResponse:
        try:
            discovery = self.get_oauth2_adapter(request).openid_config
            if not isinstance(discovery, dict) or "authorization_endpoint" not in discovery:
                raise ValueError("no authorization_endpoint")
        except (requests.RequestException, ValueError) as error:
            logger.warning(
                "Single sign-on: the discovery document of %s could not be read (%s).",
                configured_issuer(),
                type(error).__name__,
            )
            return _failure(
                request,
                self,
                SSORefused(
                    f"certdesk could not reach {self.name} just now. Try again in a few "
                    "minutes; if it keeps failing, tell an administrator."
                ),
            )
        announced = discovery.get("issuer")
        if not issuer_matches(announced):
            logger.warning(
                "Single sign-on refused: the discovery document names the issuer %r, not "
                "CERTDESK_OIDC_ISSUER %r.",
                announced,
                configured_issuer(),
            )
            return _failure(request, self, SSORefused(_other_issuer_message(self.name)))
        endpoint = urlsplit(str(discovery.get("authorization_endpoint", "")))
        allowed = getattr(settings, "CERTDESK_OIDC_FORM_ACTION", [])
        if f"{endpoint.scheme}://{endpoint.netloc}" not in allowed:
            # The login page's Content-Security-Policy allows the issuer's origin only.
            logger.warning(
                "Single sign-on: the authorization endpoint is not on the issuer's origin; "
                "browsers will block the redirect to it (Content-Security-Policy form-action)."
            )
        nonce = secrets.token_urlsafe(32)
        auth_params = kwargs.pop("auth_params", None)
        if auth_params is None:
            auth_params = self.get_auth_params()  # type: ignore[no-untyped-call]
        # The nonce goes to the provider, and into the state stashed in the session (allauth
        # keeps redirect()'s extra arguments there and gives them back at the callback).
        auth_params = {**auth_params, "nonce": nonce}
        response: HttpResponse = super().redirect(
            request, process, next_url, data, auth_params=auth_params, nonce=nonce, **kwargs
        )
        return response


def _failure(request: HttpRequest, provider: Any, error: SSORefused) -> HttpResponse:
    response: HttpResponse = render_authentication_error(request, provider, exception=error)
    return response


def _claims(sociallogin: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """(ID token claims, user information or None), as allauth stored them."""
    extra = sociallogin.account.extra_data
    extra = extra if isinstance(extra, dict) else {}
    id_token = extra.get("id_token")
    userinfo = extra.get("userinfo")
    return (
        id_token if isinstance(id_token, dict) else {},
        userinfo if isinstance(userinfo, dict) else None,
    )


def _profile(sociallogin: Any) -> dict[str, Any]:
    """The claims allauth reads the person from: the user information when there is any (it is
    fresher), else the ID token."""
    id_token, userinfo = _claims(sociallogin)
    return userinfo if userinfo else id_token


def identity_of(sociallogin: Any) -> SSOIdentity:
    id_token, _userinfo = _claims(sociallogin)
    email = _profile(sociallogin).get("email")
    return SSOIdentity(
        issuer=str(id_token.get("iss", ""))[:255],
        subject=str(sociallogin.account.uid or id_token.get("sub", ""))[:255],
        email=email.strip()[:254] if isinstance(email, str) else "",
    )


def roles_claim_value(sociallogin: Any, claim: str) -> object:
    """The roles claim, from the user information or else the ID token (providers put it in
    either); None when neither has it."""
    id_token, userinfo = _claims(sociallogin)
    if userinfo is not None and claim in userinfo:
        return userinfo[claim]
    return id_token.get(claim)


def _is_email(text: str) -> bool:
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True


def _owners_of(email: str) -> list[User]:
    """The people whose address ``email`` is, whatever its case: their account's address, or
    one they confirmed."""
    owners = {user.pk: user for user in User.objects.filter(email__iexact=email)}
    confirmed = EmailAddress.objects.filter(email__iexact=email, verified=True)
    for row in confirmed.select_related("user"):
        owners.setdefault(row.user.pk, row.user)
    return list(owners.values())


def _address_on_record(email: str) -> bool:
    """Whether any account holds ``email``, confirmed or waiting for confirmation."""
    return (
        User.objects.filter(email__iexact=email).exists()
        or EmailAddress.objects.filter(email__iexact=email).exists()
    )


def _email_verified(value: object) -> bool:
    # Some providers send the string "true".
    return value is True or (isinstance(value, str) and value.lower() == "true")


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def get_provider(
        self, request: HttpRequest, provider: str, client_id: str | None = None
    ) -> Any:
        instance = super().get_provider(request, provider, client_id=client_id)
        if type(instance) is OpenIDConnectProvider:
            instance.__class__ = CertdeskOpenIDConnectProvider
        return instance

    def is_open_for_signup(self, request: HttpRequest, sociallogin: Any) -> bool:
        # A first SSO login creates a person with no role; an administrator gives roles (or the
        # roles claim does).
        return True

    def authenticate_by_email(self, sociallogin: Any) -> tuple[AbstractUser, str] | None:
        """The one person whose address the provider verified: their account's address, or
        one they confirmed, whatever its case (certdesk keeps some as typed). An address that
        is only waiting for confirmation on someone's account matches nobody: anyone may type
        anyone's address there."""
        match: tuple[AbstractUser, str] | None = None
        for address in sociallogin.email_addresses:
            if not address.verified or not self.can_authenticate_by_email(
                sociallogin, address.email
            ):
                continue
            if len(owners := _owners_of(address.email)) == 1:
                match = (owners[0], address.email)
                break
        setattr(sociallogin, MATCHED_BY_EMAIL, match is not None)
        return match

    def pre_social_login(self, request: HttpRequest, sociallogin: Any) -> None:
        """Refuse what allauth would let through (see the module's docstring): raises
        SSORefused, which allauth shows on its authentication-error page, or answers with the
        inactive-account page."""
        name = str(sociallogin.provider.name)
        identity = identity_of(sociallogin)
        user: User | None = sociallogin.user if sociallogin.is_existing else None

        def refuse(reason: str) -> NoReturn:
            sso_services.sso_login_refusal_record(
                user=user, identity=identity, reason=reason, ip=client_ip(request)
            )
            logger.warning("Single sign-on refused: %s", reason)
            raise SSORefused(reason)

        id_token, userinfo = _claims(sociallogin)
        if not id_token:
            refuse(
                f"{name} sent no ID token, so certdesk cannot tell who signed in. Start again "
                "from certdesk's login page."
            )
        expected_nonce = (sociallogin.state or {}).get("nonce")
        nonce = id_token.get("nonce")
        if not (
            isinstance(expected_nonce, str)
            and isinstance(nonce, str)
            and hmac.compare_digest(nonce.encode(), expected_nonce.encode())
        ):
            refuse(
                f"This answer from {name} does not belong to the sign-in certdesk started (its "
                "nonce differs). Start again from certdesk's login page."
            )
        if not issuer_matches(id_token.get("iss")):
            refuse(_other_issuer_message(name))
        if userinfo is not None and userinfo.get("sub") != id_token.get("sub"):
            refuse(
                f"{name}'s user information is about someone else than its ID token, so "
                "certdesk cannot tell who signed in."
            )
        profile = _profile(sociallogin)
        if not identity.email or not _is_email(identity.email):
            refuse(
                f"{name} did not give certdesk an email address, which certdesk matches people "
                "by. Ask an administrator to let certdesk read it (the email scope)."
            )
        if not _email_verified(profile.get("email_verified")):
            refuse(
                f"{name} has not verified your email address, so certdesk cannot tell which "
                f"account is yours. Verify it at {name} (or ask its administrator), then sign "
                "in again."
            )
        if user is not None and not user.is_active:
            sso_services.sso_login_refusal_record(
                user=user, identity=identity, reason="account deactivated", ip=client_ip(request)
            )
            raise ImmediateHttpResponse(
                get_account_adapter(request).respond_user_inactive(request, user)
            )
        if user is None and _address_on_record(identity.email):
            # Not one clear owner: allauth would make a second account or offer a sign-up form
            # with another address, and nobody signs up.
            refuse(
                "certdesk already has this address on another account (or on more than one), "
                "so single sign-on cannot tell which account is yours. Ask a certdesk "
                "administrator."
            )
        if (
            user is not None
            and user.is_superuser
            and getattr(sociallogin, MATCHED_BY_EMAIL, False)
            and not EmailAddress.objects.filter(
                user=user, email__iexact=identity.email, verified=True
            ).exists()
        ):
            sso_services.sso_address_confirm(user=user, identity=identity, ip=client_ip(request))

    def save_user(self, request: HttpRequest, sociallogin: Any, form: Any = None) -> User:
        """A first SSO login: the person, named after the local part of their address (made
        unique), with no role; audited in the same transaction."""
        identity = identity_of(sociallogin)
        local_part = identity.email.partition("@")[0]
        sociallogin.user.username = get_account_adapter(request).generate_unique_username(
            [local_part, "user"]
        )
        with transaction.atomic():
            user: User = super().save_user(request, sociallogin, form)
            sso_services.sso_person_created_record(
                user=user, identity=identity, ip=client_ip(request)
            )
        return user

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: Any = None,
        exception: BaseException | None = None,
        extra_context: dict[str, Any] | None = None,
    ) -> None:
        """The page says what certdesk refused in its own words; anything else (a bad or
        expired answer, a tampered state) gets the page's general text, and the log says which
        error it was, without the answer's content."""
        if isinstance(exception, SSORefused):
            if extra_context is not None:
                extra_context["sso_refusal"] = exception.message
            return
        cause = exception.__cause__ if exception is not None else None
        logger.warning(
            "Single sign-on failed (%s%s%s).",
            error or "unknown",
            f", {type(exception).__name__}" if exception is not None else "",
            f" from {type(cause).__name__}" if cause is not None else "",
        )


@receiver(user_logged_in, dispatch_uid="certdesk-sso-logged-in")
def sso_logged_in(
    sender: object,
    request: HttpRequest,
    user: User,
    sociallogin: Any = None,
    **kwargs: Any,
) -> None:
    """At the end of an SSO login (its second factor included): the audit event and, with
    CERTDESK_OIDC_ROLES_CLAIM, the claim's roles.

    Connected when allauth first loads this adapter, which it does to handle any social login
    (the callback, or resuming one after its second factor), so always before this signal.
    """
    if sociallogin is None:
        return
    identity = identity_of(sociallogin)
    with transaction.atomic():
        sso_services.sso_login_record(user=user, identity=identity, ip=client_ip(request))
        claim = str(settings.CERTDESK_OIDC_ROLES_CLAIM or "")
        if claim:
            sso_services.sso_roles_apply(
                user=user,
                claim_value=roles_claim_value(sociallogin, claim),
                issuer=identity.issuer,
            )
