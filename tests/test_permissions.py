"""The permission helper: roles per environment, superusers everything, nothing for others."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import AnonymousUser, User

from certificates.models import Environment
from certificates.permissions import Action, environments_for, user_can

pytestmark = pytest.mark.django_db

EXPECTED = {
    "viewer": {Action.VIEW},
    "requester": {Action.VIEW, Action.REQUEST},
    "custodian": {Action.VIEW, Action.REQUEST, Action.CUSTODY},
}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_each_role_allows_exactly_its_actions_in_its_environment_only(
    role: str,
    sandbox: Environment,
    production: Environment,
    make_member: Callable[[str, Environment], User],
) -> None:
    """A Sandbox member may do their role's actions in Sandbox and nothing in Production."""
    user = make_member(role, sandbox)
    for action in Action:
        assert user_can(user, action, sandbox) is (action in EXPECTED[role])
        assert user_can(user, action, production) is False
    assert list(environments_for(user)) == [sandbox]


def test_superusers_may_do_everything_and_strangers_nothing(
    admin_user: User, sandbox: Environment
) -> None:
    """Superusers hold every role; anonymous, memberless and inactive users hold none."""
    stranger = User.objects.create_user("stranger")
    inactive = User.objects.create_superuser("gone", "gone@example.com", "x", is_active=False)
    for action in Action:
        assert user_can(admin_user, action, sandbox)
        for nobody in (AnonymousUser(), stranger, inactive, None):
            assert not user_can(nobody, action, sandbox)
    assert environments_for(admin_user).count() == Environment.objects.count() == 2
    assert not environments_for(stranger).exists()
