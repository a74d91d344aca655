"""Sudo mode for removing a member (role changes themselves: test_sudo.py): past five minutes
since the last authentication, the removal asks for the password, then goes through by itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.models import User
from django.test import Client

from certificates.models import Environment, Membership, Role

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


@pytest.fixture
def admin(client: Client, admin_user: User) -> Client:
    assert client.post("/login/", {"login": "admin", "password": PASSWORD}).status_code == 302
    return client


def test_removing_a_member_past_five_minutes_asks_the_password_first(
    admin: Client, sandbox: Environment
) -> None:
    member = User.objects.create_user("wes", "wes@example.com")
    membership = Membership.objects.create(user=member, environment=sandbox, role=Role.VIEWER)
    url = f"/settings/environments/sandbox/members/{membership.pk}/remove/"
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=6), tick=False):
        asked = admin.post(url, {"confirm": "yes"})
        assert asked["Location"].startswith("/accounts/reauthenticate/")
        assert Membership.objects.filter(pk=membership.pk).exists()
        admin.post("/accounts/reauthenticate/", {"password": PASSWORD, "next": url})
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_without_password_login_sudo_mode_offers_the_second_factor_only(
    client: Client, sandbox: Environment, settings: object
) -> None:
    """CERTDESK_PASSWORD_LOGIN=false: a custodian's password can confirm nothing (the login
    backend refuses it), so sudo mode does not offer it; with no second factor either, they are
    asked to sign in again (by SSO) instead of being sent to a form that can only fail."""
    custodian = User.objects.create_user("cora", "cora@example.com", "cora's long password")
    Membership.objects.create(user=custodian, environment=sandbox, role=Role.CUSTODIAN)
    client.force_login(custodian)
    settings.CERTDESK_PASSWORD_LOGIN = False  # type: ignore[attr-defined]
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=6), tick=False):
        asked = client.get("/accounts/2fa/totp/activate/")
        # Nothing can confirm it is them here: refused, not sent to a password form.
        assert asked.status_code == 403
        settings.CERTDESK_PASSWORD_LOGIN = True  # type: ignore[attr-defined]
        assert client.get("/accounts/2fa/totp/activate/")["Location"].startswith(
            "/accounts/reauthenticate/"
        )
