"""Sudo mode on a role change and a key's destruction (issue 15): past five minutes since the
last authentication the action asks "Confirm it is you" (the password, or the second factor),
then is carried out by itself, without the form being submitted again.

The PKCS#12 download's own sudo tests (the sealed passphrase) are in tests/web/test_certificates.py
and, in Chromium, tests/e2e/test_accounts.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import User
from django.test import Client

from certificates.models import AuditEvent, Certificate, Environment, Key, Membership, Role
from certificates.services import Actor
from certificates.services.revocations import revocation_report_compromise
from tests.support import totp
from tests.support.accounts import certificate_with_key

pytestmark = pytest.mark.django_db


PASSWORD = "correct horse battery"  # the admin_user fixture's
REAUTHENTICATE = "/accounts/reauthenticate/"
MEMBERS = "/settings/environments/sandbox/members/"


def text(response: Any) -> str:
    return " ".join(response.content.decode().split())


@pytest.fixture
def later() -> Iterator[None]:
    """Six minutes after the login: the last authentication is too old for a sensitive action."""
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=6), tick=False):
        yield


@pytest.fixture
def viewer(sandbox: Environment) -> Membership:
    user = User.objects.create_user("vera", "vera@acme.example")
    return Membership.objects.create(user=user, environment=sandbox, role=Role.VIEWER)


def change_role(client: Client, membership: Membership, role: str) -> Any:
    return client.post(MEMBERS, {"membership": membership.pk, f"m{membership.pk}-role": role})


def test_a_role_change_within_five_minutes_of_the_login_needs_no_confirmation(
    admin_client: Client, viewer: Membership
) -> None:
    change_role(admin_client, viewer, Role.CUSTODIAN)
    viewer.refresh_from_db()
    assert viewer.role == Role.CUSTODIAN


def test_a_late_role_change_asks_for_the_password_then_applies_itself(
    admin_client: Client, viewer: Membership, later: None
) -> None:
    """The change waits for the password; once typed, the role is set, recorded once, and the
    members page says so, with no second submission of the form."""
    asked = change_role(admin_client, viewer, Role.CUSTODIAN)
    assert asked.status_code == 302
    assert asked["Location"] == REAUTHENTICATE + "?next=" + MEMBERS.replace("/", "%2F")
    viewer.refresh_from_db()
    assert viewer.role == Role.VIEWER
    page = text(admin_client.get(asked["Location"]))
    assert "Confirm it is you" in page
    assert "role changes" in page

    done = admin_client.post(REAUTHENTICATE, {"password": PASSWORD, "next": MEMBERS}, follow=True)
    viewer.refresh_from_db()
    assert viewer.role == Role.CUSTODIAN
    assert done.redirect_chain[-1][0] == MEMBERS
    assert "vera is now custodian in Sandbox." in text(done)
    (event,) = AuditEvent.objects.filter(action="settings.membership_set")
    assert event.details == {"username": "vera", "role": "custodian", "previous_role": "viewer"}
    # Done once: the stashed change is not replayed by a later confirmation.
    admin_client.post(REAUTHENTICATE, {"password": PASSWORD, "next": MEMBERS})
    assert AuditEvent.objects.filter(action="settings.membership_set").count() == 1


def test_a_wrong_password_changes_no_role(
    admin_client: Client, viewer: Membership, later: None
) -> None:
    change_role(admin_client, viewer, Role.CUSTODIAN)
    wrong = admin_client.post(REAUTHENTICATE, {"password": "not it", "next": MEMBERS})
    assert wrong.status_code == 200
    assert "Confirm it is you" in text(wrong)
    viewer.refresh_from_db()
    assert viewer.role == Role.VIEWER
    assert not AuditEvent.objects.filter(action="settings.membership_set").exists()


def test_a_late_role_change_can_be_confirmed_with_the_authenticator_app(
    admin_client: Client, admin_user: User, viewer: Membership
) -> None:
    """An administrator with a TOTP app may confirm with a code instead of the password (the
    "Or confirm with" choice), and the change applies the same way."""
    secret = generate_totp_secret()
    TOTP.activate(admin_user, secret)
    six_minutes_on = (datetime.now(UTC) + timedelta(minutes=6)).timestamp()
    with time_machine.travel(totp.next_window(six_minutes_on), tick=False):
        asked = change_role(admin_client, viewer, Role.REQUESTER)
        page = text(admin_client.get(asked["Location"]))
        assert "/accounts/2fa/reauthenticate/?next=" in page
        done = admin_client.post(
            "/accounts/2fa/reauthenticate/",
            {"code": totp.code_now(secret), "next": MEMBERS},
            follow=True,
        )
    viewer.refresh_from_db()
    assert viewer.role == Role.REQUESTER
    assert "vera is now requester in Sandbox." in text(done)


def test_a_late_destruction_asks_for_the_password_then_destroys(
    admin_client: Client, sandbox: Environment, issue: Any, later: None
) -> None:
    """Destroying a compromised key past five minutes: the password, then the key is erased
    without ticking the box again."""
    certificate: Certificate = certificate_with_key(sandbox, issue)
    revocation_report_compromise(
        actor=Actor.cli(), certificate=certificate, suspected_since=date.today()
    )
    url = f"/certificates/{certificate.pk}/destroy-key/"
    asked = admin_client.post(url, {"confirm": "destroy"})
    assert asked["Location"].startswith(REAUTHENTICATE)
    assert Key.objects.get(pk=certificate.signing_request.key_id).has_private_key

    done = admin_client.post(REAUTHENTICATE, {"password": PASSWORD, "next": url}, follow=True)
    assert "The private key material is destroyed." in text(done)
    key = Key.objects.get(pk=certificate.signing_request.key_id)
    assert not key.has_private_key
    assert key.destroyed_at is not None
    assert AuditEvent.objects.filter(action="key.destroyed").count() == 1


def test_an_administrator_without_a_factor_under_the_policy_changes_no_role(
    admin_client: Client, viewer: Membership, settings: Any
) -> None:
    """Under "custodians" an administrator must enrol before giving roles (a custodian role
    hands out keys)."""
    settings.CERTDESK_MFA_REQUIRED = "custodians"
    refused = change_role(admin_client, viewer, Role.CUSTODIAN)
    assert refused["Location"].startswith("/accounts/second-factor/?next=")
    viewer.refresh_from_db()
    assert viewer.role == Role.VIEWER
    assert "before you can change who holds a role" in text(
        admin_client.get("/accounts/second-factor/")
    )
