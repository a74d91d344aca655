"""Single sign-on's writes: an SSO login and a refused one recorded, a person created by a
first SSO login, an administrator's address confirmed by the provider, and the roles a
provider's claim gives (CERTDESK_OIDC_ROLES_CLAIM) applied.

Role changes go through the memberships services (``membership_set``, ``membership_remove``),
so each is audited exactly like an administrator's, by certdesk itself under the name
"sso claim"; one ``account.sso_roles_applied`` event sums up what a login changed. Audit details
hold the issuer, the subject, the address and roles: never a token.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth.models import User
from django.db import transaction

from certificates.models import AuditEvent, Environment, Membership, Role
from certificates.services.audit import Actor, audit_record
from certificates.services.environments import membership_remove, membership_set

logger = logging.getLogger(__name__)

# The audit log's actor of the role changes a provider's claim makes.
SSO_CLAIM_ACTOR = "sso claim"
ROLES_CLAIM_PREFIX = "certdesk"
# When a claim names two roles for one environment, the stronger one holds.
ROLE_STRENGTH: dict[str, int] = {
    Role.VIEWER.value: 0,
    Role.REQUESTER.value: 1,
    Role.CUSTODIAN.value: 2,
}


@dataclass(frozen=True)
class SSOIdentity:
    """Who the provider says signed in (from a verified ID token): never a token."""

    issuer: str
    subject: str
    email: str

    def details(self) -> dict[str, str]:
        return {"issuer": self.issuer, "subject": self.subject, "email": self.email}


@dataclass(frozen=True)
class ClaimedRoles:
    roles: dict[str, str]  # environment slug -> role
    ignored: int  # values that give no role: other formats, unknown environments or roles


def parse_roles_claim(value: object, *, environment_slugs: set[str]) -> ClaimedRoles:
    """The roles in a claim's ``value``: a list of strings, or one string of space-separated
    values, each ``certdesk:<environment slug>:<viewer|requester|custodian>``.

    Anything else (another application's groups, an environment certdesk does not have) is
    counted as ignored; an absent claim gives no role.
    """
    if value is None:
        items: list[object] = []
    elif isinstance(value, str):
        items = list(value.split())
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        items = [value]
    roles: dict[str, str] = {}
    ignored = 0
    for item in items:
        parts = item.split(":") if isinstance(item, str) else []
        if (
            len(parts) != 3
            or parts[0] != ROLES_CLAIM_PREFIX
            or parts[1] not in environment_slugs
            or parts[2] not in ROLE_STRENGTH
        ):
            ignored += 1
            continue
        slug, role = parts[1], parts[2]
        if slug not in roles or ROLE_STRENGTH[role] > ROLE_STRENGTH[roles[slug]]:
            roles[slug] = role
    return ClaimedRoles(roles=roles, ignored=ignored)


def _anonymous(ip: str | None) -> Actor:
    return Actor(label="anonymous", ip=ip, origin=AuditEvent.Origin.BROWSER)


def sso_login_record(*, user: User, identity: SSOIdentity, ip: str | None) -> AuditEvent:
    """``account.sso_login``: ``user`` signed in through the provider as ``identity``."""
    return audit_record(
        actor=Actor.browser(user=user, ip=ip),
        action="account.sso_login",
        target=user,
        details=identity.details(),
    )


def sso_login_refusal_record(
    *, user: User | None, identity: SSOIdentity, reason: str, ip: str | None
) -> AuditEvent:
    """``account.sso_refused``: the provider vouched for someone certdesk did not let in
    (``reason``: what was wrong, in the words the person read)."""
    actor = Actor.browser(user=user, ip=ip) if user is not None else _anonymous(ip)
    return audit_record(
        actor=actor,
        action="account.sso_refused",
        target=user,
        details={**identity.details(), "reason": reason},
    )


def sso_person_created_record(*, user: User, identity: SSOIdentity, ip: str | None) -> AuditEvent:
    """``account.sso_person_created``: a first SSO login made ``user`` (allauth wrote the rows,
    in the caller's transaction)."""
    return audit_record(
        actor=Actor.browser(user=user, ip=ip),
        action="account.sso_person_created",
        target=user,
        details={**identity.details(), "username": user.get_username()},
    )


def sso_address_confirm(*, user: User, identity: SSOIdentity, ip: str | None) -> None:
    """Mark ``identity.email`` confirmed for ``user``, whom the provider matched by that
    verified address: allauth would otherwise take the password of an account matched through
    an unconfirmed address, and an administrator's password is the break-glass way in."""
    with transaction.atomic():
        updated = EmailAddress.objects.filter(user=user, email__iexact=identity.email).update(
            verified=True
        )
        if not updated:
            EmailAddress.objects.create(
                user=user,
                email=identity.email,
                verified=True,
                primary=not EmailAddress.objects.filter(user=user, primary=True).exists(),
            )
        audit_record(
            actor=Actor.browser(user=user, ip=ip),
            action="account.sso_address_confirmed",
            target=user,
            details=identity.details(),
        )


def sso_roles_apply(*, user: User, claim_value: object, issuer: str) -> list[dict[str, Any]]:
    """Make ``user``'s memberships exactly those the roles claim gives (added, changed,
    removed), each change audited by the memberships services as "sso claim". Administrators
    are left alone: they hold every role already. Returns the changes made."""
    if user.is_superuser:
        return []
    actor = Actor.system(SSO_CLAIM_ACTOR)
    with transaction.atomic():
        environments = {environment.slug: environment for environment in Environment.objects.all()}
        claimed = parse_roles_claim(claim_value, environment_slugs=set(environments))
        if claimed.ignored:
            # How many only: a claim's values may name other applications' groups.
            logger.info(
                "The SSO roles claim of user #%s had %d value(s) that give no certdesk role; "
                "they were ignored.",
                user.pk,
                claimed.ignored,
            )
        current = {
            membership.environment.slug: membership
            for membership in Membership.objects.select_for_update()
            .filter(user=user)
            .select_related("environment")
        }
        changes: list[dict[str, Any]] = []
        for slug, role in sorted(claimed.roles.items()):
            membership = current.get(slug)
            if membership is not None and membership.role == role:
                continue
            membership_set(actor=actor, environment=environments[slug], user=user, role=role)
            changes.append(
                {
                    "environment": slug,
                    "role": role,
                    "previous_role": membership.role if membership is not None else None,
                }
            )
        for slug, membership in sorted(current.items()):
            if slug in claimed.roles:
                continue
            previous = membership.role
            membership_remove(actor=actor, membership=membership)
            changes.append({"environment": slug, "role": None, "previous_role": previous})
        if changes:
            audit_record(
                actor=actor,
                action="account.sso_roles_applied",
                target=user,
                details={
                    "source": SSO_CLAIM_ACTOR,
                    "issuer": issuer,
                    "username": user.get_username(),
                    "changes": changes,
                    "ignored": claimed.ignored,
                },
            )
    return changes
