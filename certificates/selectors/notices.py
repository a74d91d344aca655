"""Who hears about an environment (issue 16): the custodians and team told at once of a
compromised key, and the environments whose reminders would reach nobody."""

from __future__ import annotations

from collections.abc import Iterable

from certificates import emails
from certificates.models import Environment, Membership, Role
from certificates.selectors.reminders import owner_recipients_for


def compromise_notice_recipients(environment: Environment) -> list[str]:
    """The environment's custodians (active, with an address), then its team addresses; each
    address once, whatever its case. Custodians hear even if they turned expiry reminders
    off: this is not a reminder."""
    custodians = (
        Membership.objects.filter(
            environment=environment, role=Role.CUSTODIAN, user__is_active=True
        )
        .exclude(user__email="")
        .order_by("user__username")
        .values_list("user__email", flat=True)
    )
    return emails.unique_addresses(custodians, environment.team_emails)


def reminding_nobody(environments: Iterable[Environment]) -> set[int]:
    """The ids of the environments whose expiry reminders would reach nobody: no requester or
    custodian (nor administrator) who receives them, and no team address (Settings warns)."""
    return {pk for pk, addresses in owner_recipients_for(environments).items() if not addresses}
