"""What may be done with a request's private key: the one answer of the pages and the services."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from certificates.models import Environment, Key, Revocation
from certificates.permissions import Action, roles_allowing


def key_available(key: Key) -> bool:
    """certdesk holds the key and it may be taken: not destroyed, not reported compromised."""
    return key.has_private_key and key.compromised_at is None


def key_destroyable(key: Key) -> bool:
    """The key's material may be erased: certdesk holds it, and it was reported compromised or
    a certificate of its request was revoked (a key in use would leave its certificate without
    one)."""
    if not key.has_private_key:
        return False
    return (
        key.compromised_at is not None
        or Revocation.objects.filter(certificate__signing_request__key=key).exists()
    )


@dataclass(frozen=True)
class KeyHolders:
    """Who can hand out an environment's private keys: its active custodians, or, when it has
    none, certdesk's active administrators (who may take every key). ``names`` is empty when
    nobody can."""

    custodians: bool
    names: list[str]


def key_holders(environment: Environment) -> KeyHolders:
    """The people a member who may not take a key of ``environment`` asks for it, by name."""
    users = get_user_model().objects.filter(is_active=True)
    custodians = list(
        users.filter(
            memberships__environment=environment,
            memberships__role__in=roles_allowing(Action.CUSTODY),
        )
        .order_by("username")
        .values_list("username", flat=True)
    )
    if custodians:
        return KeyHolders(custodians=True, names=custodians)
    administrators = users.filter(is_superuser=True).order_by("username")
    return KeyHolders(
        custodians=False, names=list(administrators.values_list("username", flat=True))
    )
