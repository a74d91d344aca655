"""People and their invitations: who has an account and what they can do (Settings -> People),
and what an invitation link is worth (its page, and the service that accepts it).

An invitation token is stored as its SHA-256 only; the link carries the token itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from allauth.mfa.models import Authenticator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Prefetch
from django.utils import timezone

from certificates import mfa_policy
from certificates.models import Invitation, Membership, Role

# token_urlsafe(32) is 43 characters; anything far longer is not a token of ours.
TOKEN_MAX_LENGTH = 128


def invitation_token_sha256(token: str) -> str:
    """What the database keeps of an invitation token: its SHA-256, never the token itself."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def role_phrases(memberships: Iterable[Membership]) -> list[str]:
    """["Custodian in Production", "Viewer in Sandbox"], by environment name."""
    ordered = sorted(memberships, key=lambda membership: membership.environment.name.lower())
    return [
        f"{Role(membership.role).label} in {membership.environment.name}" for membership in ordered
    ]


def roles_text(user: User, memberships: Iterable[Membership]) -> str:
    """What ``user`` may do, in words: "Administrator", "Custodian in Production, Viewer in
    Sandbox", or "" for nobody's role."""
    if user.is_superuser:
        return "Administrator"
    return ", ".join(role_phrases(memberships))


def has_accepted(user: User) -> bool:
    """Whether ``user`` is past the invitation: they chose a password, or signed in (SSO)."""
    return user.has_usable_password() or user.last_login is not None


# --- Invitation links -------------------------------------------------------------------------


def invitation_by_token(token: str) -> Invitation | None:
    """The invitation whose link carries ``token`` (in any state), or None."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    return (
        Invitation.objects.select_related("user", "created_by")
        .filter(token_sha256=invitation_token_sha256(token))
        .first()
    )


def invitation_problem(invitation: Invitation | None, *, now: datetime | None = None) -> str | None:
    """None when the link of ``invitation`` may be accepted now; else why not, in words that
    say nothing about the account (whoever holds a stale link learns nothing from it)."""
    now = now or timezone.now()
    if invitation is None:
        return (
            "This invitation link is not valid. Check that you opened the whole link from the "
            "email, or ask a certdesk administrator for a new one."
        )
    if invitation.accepted_at is not None:
        return (
            "This invitation link was used already: it works once. Log in with the password "
            "you chose then, or use “Forgot your password?” on the login page."
        )
    if invitation.withdrawn_at is not None or not invitation.user.is_active:
        return (
            "This invitation link no longer works: a newer invitation was sent (use the link of "
            "the most recent email), or the invitation was withdrawn. Ask a certdesk "
            "administrator if you need a new one."
        )
    if invitation.expires_at <= now:
        return (
            "This invitation link has expired. Ask a certdesk administrator to send you a new one."
        )
    return None


# --- Settings -> People -----------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRow:
    """One line of the People page."""

    user: User
    roles: str
    second_factor: bool
    # Not past the invitation yet: no password chosen, never signed in.
    invited: bool
    # The open invitation (neither accepted nor withdrawn), if any.
    invitation: Invitation | None
    invitation_expired: bool
    # Invited once, but every link was withdrawn (a deactivation, say).
    invitation_withdrawn: bool

    @property
    def may_resend(self) -> bool:
        return self.user.is_active and self.invited and bool(self.user.email)


def people_rows(*, now: datetime | None = None) -> list[PersonRow]:
    """Everyone with an account, the active first, by user name: in three queries whatever
    their number (users with their second-factor flag, memberships, invitations)."""
    now = now or timezone.now()
    users = (
        get_user_model()
        .objects.annotate(
            has_second_factor=Exists(
                Authenticator.objects.filter(user=OuterRef("pk"), type__in=mfa_policy.FACTOR_TYPES)
            )
        )
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=Membership.objects.select_related("environment"),
                to_attr="role_list",
            ),
            Prefetch("invitations", queryset=Invitation.objects.all(), to_attr="invitation_list"),
        )
        .order_by("-is_active", "username")
    )
    rows = []
    for user in users:
        invitations: list[Invitation] = user.invitation_list
        invited = not has_accepted(user)
        invitation = next(
            (
                candidate
                for candidate in invitations
                if candidate.accepted_at is None and candidate.withdrawn_at is None
            ),
            None,
        )
        rows.append(
            PersonRow(
                user=user,
                roles=roles_text(user, user.role_list),
                second_factor=bool(user.has_second_factor),
                invited=invited,
                invitation=invitation if invited else None,
                invitation_expired=invited
                and invitation is not None
                and invitation.expires_at <= now,
                invitation_withdrawn=invited and invitation is None and bool(invitations),
            )
        )
    return rows
