"""Who must have a second factor (CERTDESK_MFA_REQUIRED), and whether they have one.

"custodians" (the default): administrators and the custodians of any environment, the people
who can take a private key out; "everyone"; "off". A second factor is a TOTP app or a passkey
(recovery codes alone are a fallback, not a factor). Someone under the policy without one is
led to enrol after logging in, and the views refuse them key downloads and destruction until
they have (``views.sudo``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from allauth.mfa.models import Authenticator
from django.conf import settings

from certificates.models import Membership, Role

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

FACTOR_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def policy() -> str:
    return str(settings.CERTDESK_MFA_REQUIRED)


def mfa_required_for(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Does the policy ask ``user`` for a second factor?"""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if policy() == "everyone":
        return True
    if policy() == "off":
        return False
    if getattr(user, "is_superuser", False):
        return True
    return Membership.objects.filter(user_id=user.pk, role=Role.CUSTODIAN).exists()


def has_second_factor(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return Authenticator.objects.filter(user_id=user.pk, type__in=FACTOR_TYPES).exists()


def needs_enrolment(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    """Under the policy and without a second factor: to be led to the enrolment page."""
    return mfa_required_for(user) and not has_second_factor(user)
